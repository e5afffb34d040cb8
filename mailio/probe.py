"""Try a configured server step by step and say, for a person, what failed.

Used by ``approvals test-config`` and ``engine.test_configuration``. The probe
does the real work (a real test message, a real login and folder select) and
reads which step failed from the error the transport raised: every transport
raises SecurityError for TLS trouble, AuthenticationError for refused
credentials, another TransportError for connecting, MailboxError for folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from mailio.config import ServerSettings
from mailio.errors import (
    AuthenticationError,
    MailboxError,
    SecurityError,
    TransportError,
    error_chain,
)
from mailio.inbound.base import Mailbox
from mailio.outbound.base import Sender


@dataclass(frozen=True)
class ProbeStep:
    server: str
    step: str
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        state = "ok" if self.ok else "FAILED"
        return f"[{self.server}] {self.step:<12} {state}" + (
            f": {self.detail}" if self.detail else ""
        )


def _steps(server: ServerSettings, last: str) -> list[str]:
    if server.type in ("smtp", "imap"):
        return ["connect", "secure", "authenticate", last]
    if server.type == "memory":
        return [last]
    return ["authenticate", last]


def _failed_step(error: BaseException, steps: list[str]) -> str:
    for link in error_chain(error):
        if isinstance(link, SecurityError):
            return "secure" if "secure" in steps else steps[0]
        if isinstance(link, AuthenticationError):
            return "authenticate"
        if isinstance(link, MailboxError):
            return steps[-1]
        if isinstance(link, TransportError):
            return steps[0]
    return steps[-1]


def _advice(error: BaseException, server: ServerSettings) -> str:
    text = str(error)
    if any(isinstance(link, ConnectionRefusedError) for link in error_chain(error)):
        host = getattr(server, "host", "?")
        port = getattr(server, "port", "?")
        return f"port closed: nothing accepts connections at {host}:{port} ({text})"
    return text


def _report(
    server: ServerSettings, steps: list[str], error: BaseException | None, success: str
) -> list[ProbeStep]:
    failed = _failed_step(error, steps) if error is not None else None
    report = []
    for step in steps:
        if step == failed:
            report.append(ProbeStep(server.name, step, False, _advice(error, server)))  # type: ignore[arg-type]
            break
        detail = ""
        if step == "secure" and getattr(server, "security", None) == "none":
            detail = "skipped (security = none: nothing is encrypted)"
        elif step == steps[-1]:
            detail = success
        report.append(ProbeStep(server.name, step, True, detail))
    return report


def probe_sender(sender: Sender, server: ServerSettings, message: Message) -> list[ProbeStep]:
    (result,) = sender.send_messages([message])
    return _report(
        server, _steps(server, "send"), result.error, f"test message sent to {message['To']}"
    )


def probe_mailbox(mailbox: Mailbox, server: ServerSettings, folder: str) -> list[ProbeStep]:
    try:
        count = mailbox.count()
    except (TransportError, MailboxError) as exc:
        return _report(server, _steps(server, "open folder"), exc, "")
    finally:
        mailbox.close()
    return _report(
        server, _steps(server, "open folder"), None, f'"{folder}" holds {count} message(s)'
    )
