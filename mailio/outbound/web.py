"""What the web-API senders (Graph, SES, SendGrid, Mailgun) share: one loop that
turns per-message failures into results, and the message facts each API needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import Message

import httpx

from mailio.errors import MailIOError, SendError, TemporarySendError
from mailio.http import http_error
from mailio.outbound.base import SendResult
from mailio.outbound.envelope import new_message_id


class ApiSender:
    """A sender over one HTTP API: subclasses set ``name`` and ``_client`` and implement
    ``_send_one``, which raises a SendError for a refused message."""

    name: str
    _client: httpx.Client

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        return send_each(messages, self._send_one, self.name)

    def _send_one(self, message: Message) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._client.close()


def send_each(
    messages: Sequence[Message],
    send_one: Callable[[Message], None],
    service: str,
) -> list[SendResult]:
    """Call ``send_one`` per message; any failure fails only that one, never the batch.

    A token that cannot be had (AuthenticationError, TransportError from the
    token endpoint) is a temporary failure of this message: raising would lose
    the results of the messages already accepted and send them again.
    """
    results = []
    for message in messages:
        message_id = ensure_message_id(message)
        try:
            send_one(message)
        except SendError as exc:
            results.append(SendResult(message_id, exc))
        except httpx.RequestError as exc:
            # Built, not raised: a raised error would keep the httpx one as its context,
            # and that one's request carries the credentials.
            error = http_error(exc, f"{service}: connection", kind="send")
            results.append(SendResult(message_id, error))
        except MailIOError as exc:
            results.append(SendResult(message_id, TemporarySendError(f"{service}: {exc}")))
        else:
            results.append(SendResult(message_id))
    return results


def ensure_message_id(message: Message) -> str:
    """The message's Message-ID, adding one first if it has none, so results can be matched."""
    existing = message["Message-ID"]
    if existing:
        return str(existing)
    message["Message-ID"] = new_message_id(message)
    return str(message["Message-ID"])
