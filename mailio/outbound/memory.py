"""A sender that keeps messages in memory, for tests of your own integration.

Like Django's locmem backend: ``type = "memory"`` in a ``[servers.NAME]``
table, and every message "sent" through that server lands in
``outbox(NAME)``. Failures can be scripted, one per message, in order:
``script(NAME, "4xx", "5xx", "disconnect", "security")`` makes the next four
messages fail with a temporary error, a permanent error, a dropped connection and
a security refusal (STARTTLS stripped, as an SMTP sender reports it: not sent,
caused by a :class:`mailio.errors.SecurityError`).

The outboxes live for the life of the process; :func:`reset` empties them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Literal

from mailio.errors import PermanentSendError, SecurityError, SendError, TemporarySendError
from mailio.outbound.base import SendResult

Failure = Literal["4xx", "5xx", "disconnect", "security"]


@dataclass
class _Outbox:
    sent: list[Message] = field(default_factory=list)
    failures: deque[Failure] = field(default_factory=deque)


_OUTBOXES: dict[str, _Outbox] = {}


def outbox(server: str) -> list[Message]:
    """The messages accepted so far by the memory server ``server``, oldest first."""
    return _OUTBOXES.setdefault(server, _Outbox()).sent


def script(server: str, *failures: Failure) -> None:
    """Fail the next messages sent through ``server``, one failure per message."""
    _OUTBOXES.setdefault(server, _Outbox()).failures.extend(failures)


def reset() -> None:
    """Forget every memory outbox and scripted failure."""
    _OUTBOXES.clear()


def _error(server: str, failure: Failure) -> SendError:
    if failure == "security":
        cause = SecurityError(f"memory server {server}: scripted: STARTTLS was not offered")
        error = PermanentSendError(f"not sent: {cause}")
        error.__cause__ = cause
        return error
    if failure == "4xx":
        return TemporarySendError("451 4.3.0 scripted temporary failure", code=451)
    if failure == "5xx":
        return PermanentSendError("550 5.1.1 scripted permanent failure", code=550)
    return TemporarySendError("scripted disconnect: the connection was dropped")


class MemorySender:
    """Sends into :func:`outbox` ``(name)``; never raises for one message's failure."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        box = _OUTBOXES.setdefault(self.name, _Outbox())
        results = []
        for message in messages:
            message_id = str(message.get("Message-ID", "")).strip("<> ")
            if box.failures:
                results.append(SendResult(message_id, _error(self.name, box.failures.popleft())))
                continue
            box.sent.append(message)
            results.append(SendResult(message_id))
        return results

    def close(self) -> None:
        pass
