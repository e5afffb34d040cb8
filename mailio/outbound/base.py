"""The sender interface every outbound transport implements.

Modelled on Django's mail backends: a sender is opened, sends batches of
ready-made :class:`email.message.EmailMessage` objects, and is closed. Each
message gets its own :class:`SendResult`, so one refused recipient does not
fail a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from mailio.errors import SendError


@dataclass(frozen=True)
class SendResult:
    """What happened to one message. ``error`` is None when it was accepted."""

    message_id: str
    error: SendError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Sender(Protocol):
    """Sends messages through one configured server or API."""

    name: str

    def send_messages(self, messages: Sequence[EmailMessage]) -> list[SendResult]:
        """Send each message; never raises for a single message's failure."""
        ...

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        ...
