"""What every sender needs from a message: its envelope and its bytes on the wire.

:class:`StoredMessage` is how the outbox hands over a finished message: only
its headers are parsed (for the envelope and the ids); its bytes go out
exactly as they were stored. Re-parsing and re-flattening a stored message
costs more than sending it (the stdlib compiles a regular expression per
multipart boundary and refolds every header), and could only change it.
"""

from __future__ import annotations

import copy
import re
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, make_msgid

_LINE_ENDS = re.compile(rb"\r?\n")


class StoredMessage(Message):
    """A finished message: parsed headers, and the exact bytes in :attr:`raw`."""

    raw: bytes = b""

    @classmethod
    def from_bytes(cls, raw: bytes) -> StoredMessage:
        message = BytesHeaderParser(_class=cls, policy=compat32).parsebytes(raw)
        assert isinstance(message, StoredMessage)
        message.raw = raw
        return message


def addresses(message: Message, *fields: str) -> list[tuple[str, str]]:
    """(display name, address) pairs from the given header fields, empty ones dropped."""
    values = [str(v) for name in fields for v in message.get_all(name, [])]
    return [(name, addr) for name, addr in getaddresses(values) if addr]


def new_message_id(message: Message) -> str:
    """A fresh Message-ID in the domain of the message's From address (else this host's)."""
    senders = addresses(message, "From")
    domain = senders[0][1].rpartition("@")[2] if senders else ""
    return make_msgid(domain=domain or None)


def envelope_recipients(message: Message) -> list[str]:
    """Every To, Cc and Bcc address, once each, in order."""
    return list(dict.fromkeys(addr for _, addr in addresses(message, "To", "Cc", "Bcc")))


def envelope_sender(message: Message, override: str | None = None) -> str:
    """MAIL FROM: ``override`` (JavaMail's mail.smtp.from) or the Sender/From address."""
    if override:
        return override
    found = addresses(message, "Sender") or addresses(message, "From")
    return found[0][1] if found else ""


def mime_bytes(message: Message, *, without_bcc: bool = False) -> bytes:
    """The message as sent on the wire (CRLF line ends).

    ``without_bcc``: for APIs that take the recipients separately, Bcc must not
    reach the other recipients in the headers (as :meth:`smtplib.SMTP.send_message` does).
    A :class:`StoredMessage` without Bcc goes out byte for byte.
    """
    if isinstance(message, StoredMessage) and "Bcc" not in message:
        return _LINE_ENDS.sub(b"\r\n", message.raw)
    if without_bcc and "Bcc" in message:
        message = copy.deepcopy(message)
        del message["Bcc"]
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
