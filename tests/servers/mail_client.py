"""Send and read mail on a MailStack the way a mail client would.

Reading is :func:`mailio.devservers.approver.read_inbox` (the demo's approver
client) pointed at a stack; sending here also takes raw bytes and stacks that
want no AUTH (GreenMail), which ``approver.send`` does not.
"""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP
from email.utils import getaddresses

from mailio.devservers import MailStack
from mailio.devservers.approver import read_inbox

POLL_INTERVAL = 0.05


def send_as(
    stack: MailStack,
    from_addr: str,
    message: bytes | EmailMessage,
    to: list[str] | None = None,
) -> list[str]:
    """Submit ``message`` over SMTP as ``from_addr`` (logging in when the stack wants it).

    Recipients default to the message's To/Cc/Bcc headers; returns them.
    """
    if to is None:
        headers = (
            message
            if isinstance(message, EmailMessage)
            else BytesHeaderParser().parsebytes(message)
        )
        fields = [str(v) for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])]
        to = [address for _, address in getaddresses(fields) if address]
    if not to:
        raise ValueError("send_as: no recipients (give to= or To/Cc/Bcc headers)")
    # SMTP wants CRLF lines; with bare LF, dot-stuffing goes wrong on the far side
    raw = message.as_bytes(policy=SMTP) if isinstance(message, EmailMessage) else message
    with smtplib.SMTP(stack.host, stack.smtp_port, timeout=30) as smtp:
        if stack.smtp_requires_auth:
            smtp.login(from_addr, stack.password)
        smtp.sendmail(from_addr, to, raw)
    return to


def read_mailbox(stack: MailStack, address: str, folder: str = "INBOX") -> list[EmailMessage]:
    """Every message in ``folder`` of ``address``, oldest first, without marking them seen."""
    return read_inbox(stack.host, stack.imap_port, address, stack.password, folder)


def wait_for_messages(
    stack: MailStack, address: str, count: int, timeout: float = 10, folder: str = "INBOX"
) -> list[EmailMessage]:
    """Poll until ``folder`` holds at least ``count`` messages; returns them.

    With the Dovecot stack delivery is synchronous (the relay answers DATA only
    after LMTP stored the mail), so the first read already sees it; other
    servers (GreenMail) and the engine's own sends may need the wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        messages = read_mailbox(stack, address, folder)
        if len(messages) >= count:
            return messages
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{address} {folder}: expected {count} message(s) within {timeout}s, "
                f"found {len(messages)}"
            )
        time.sleep(POLL_INTERVAL)  # another process stores the mail: nothing to await
