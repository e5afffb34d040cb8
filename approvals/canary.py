"""Probes: mails the engine sends to its own reply address to prove the round trip works.

A probe carries ``X-Approvals-Canary: <sent-at>.<nonce>.<signature>``, the
signature an HMAC of the rest under the token secret, so only this engine can
make one. The poller reads a probe as a probe (recorded, deleted, never a
reply); a header that does not verify is just a header, and the message is
judged like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from approvals.mails import new_message_id, sender_domain
from approvals.settings import EngineSettings
from mailio.compose import RenderedParts, build_message
from mailio.errors import MailboxError, TransportError
from mailio.inbound.base import Mailbox
from mailio.probe import ProbeStep

HEADER = "X-Approvals-Canary"
_SIGNATURE_CHARS = 32


def probe_message(
    settings: EngineSettings,
    sent_at: datetime,
    *,
    to: str | None = None,
    subject: str = "Approvals canary",
    text: str | None = None,
) -> Message:
    """A signed probe from the outbound address to the reply address (or ``to``)."""
    outbound = settings.outbound
    return build_message(
        parts=RenderedParts(
            subject=subject,
            text=text
            or "This message checks that mail sent by the approvals engine comes back to "
            "its reply folder. The engine deletes it when it reads it; nothing to do.\n",
            html=None,
        ),
        sender=outbound.from_address,
        to=to or outbound.reply_to or outbound.from_address,
        message_id=new_message_id(sender_domain(outbound)),
        headers={"Auto-Submitted": "auto-generated", HEADER: sign(settings, sent_at)},
    )


def sign(settings: EngineSettings, sent_at: datetime) -> str:
    body = f"{int(sent_at.timestamp())}.{secrets.token_hex(6)}"
    return f"{body}.{_signature(settings, body)}"


def verify(settings: EngineSettings, header: str | None) -> datetime | None:
    """When the probe was sent, if ``header`` is one of ours; None otherwise."""
    if not header:
        return None
    body, _, signature = header.strip().rpartition(".")
    seconds = body.partition(".")[0]
    if not seconds.isdigit() or not hmac.compare_digest(signature, _signature(settings, body)):
        return None
    return datetime.fromtimestamp(int(seconds), UTC)


def _signature(settings: EngineSettings, body: str) -> str:
    key = settings.tokens.secret.get_secret_value().encode()
    digest = hmac.new(key, f"canary|{body}".encode(), hashlib.sha256).hexdigest()
    return digest[:_SIGNATURE_CHARS]


@dataclass(frozen=True)
class Waiting:
    timeout_seconds: float = 120
    every_seconds: float = 2


def read_back(
    settings: EngineSettings,
    mailbox_factory: Callable[[], Mailbox],
    probe: Message,
    server: str,
    waiting: Waiting = Waiting(),
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeStep:
    """Wait until ``probe`` is in the reply folder, then delete it: the last step."""
    wanted = str(probe[HEADER])
    started = time.monotonic()
    while True:
        mailbox = mailbox_factory()
        try:
            batch = mailbox.fetch_batch(settings.inbound.max_messages)
            found = [m.key for m in batch if _canary_of(m.raw) == wanted]
            if found:
                mailbox.delete(found)
                took = time.monotonic() - started
                return ProbeStep(server, "read back", True, f"the probe came back in {took:.1f} s")
        except (TransportError, MailboxError) as exc:
            return ProbeStep(server, "read back", False, str(exc))
        finally:
            mailbox.close()
        if time.monotonic() - started >= waiting.timeout_seconds:
            return ProbeStep(
                server,
                "read back",
                False,
                f"the probe did not reach {settings.inbound.folder} within "
                f"{waiting.timeout_seconds:.0f} s (sent to {probe['To']})",
            )
        sleep(waiting.every_seconds)


def _canary_of(raw: bytes) -> str | None:
    """The canary header of a raw message, read from its header block only."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    marker = HEADER.lower().encode() + b":"
    for line in head.splitlines():
        if line.lower().startswith(marker):
            return line[len(marker) :].strip().decode("ascii", "replace")
    return None
