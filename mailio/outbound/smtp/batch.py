"""The bookkeeping of one send_messages call: which messages wait, which are done. Pure."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from email.message import Message

from mailio.errors import SendError, TemporarySendError
from mailio.outbound.base import SendResult


@dataclass
class Batch:
    """Shared by the call's connections; touched only from the event loop's thread."""

    messages: list[Message]
    pending: deque[int] = field(init=False)
    done: dict[int, SendResult] = field(default_factory=dict)
    resent: set[int] = field(default_factory=set)  # given a second connection after a 421
    connection_failures: list[SendError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pending = deque(range(len(self.messages)))

    def results(self) -> list[SendResult]:
        """One result per message, in order; the unsent get the last connection failure."""
        leftover_error = (
            self.connection_failures[-1]
            if self.connection_failures
            else TemporarySendError("not sent: no connection was available")
        )
        return [
            self.done.get(index) or SendResult(message.get("Message-ID") or "", leftover_error)
            for index, message in enumerate(self.messages)
        ]
