"""The sender interface every outbound transport implements.

Modelled on Django's mail backends: a sender is opened, sends batches of
ready-made messages, and is closed. Each message gets its own
:class:`SendResult`, so one refused recipient does not fail a batch.

Messages are :class:`email.message.Message` objects of any policy: the outbox
parses stored MIME with ``compat32``, which is ten times cheaper than the
modern policy; a sender that needs the modern API (``get_body``…) converts
with :func:`modern`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage, Message
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

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        """Send each message; never raises for a single message's failure."""
        ...

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        ...


def modern(message: Message) -> EmailMessage:
    """The same message with the modern ``email.policy.default`` API."""
    if isinstance(message, EmailMessage):
        return message
    return message_from_bytes(message.as_bytes(), policy=email_policy.default)  # type: ignore[return-value]
