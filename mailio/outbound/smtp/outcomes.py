"""What SMTP replies and failures mean for a message: retry or give up. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from aiosmtplib import SMTPRecipientRefused

from mailio.errors import (
    AuthenticationError,
    ConfigError,
    MailIOError,
    PermanentSendError,
    SecurityError,
    SendError,
    TemporarySendError,
)
from mailio.outbound.base import SendResult


def reply_error(code: int | None, text: str) -> SendError:
    """A refusal: 5xx is permanent, anything else (4xx, no code) temporary."""
    if code is not None and 500 <= code < 600:
        return PermanentSendError(f"refused: {code} {text}", code)
    return TemporarySendError(f"refused: {code} {text}", code)


def all_recipients_refused(refusals: Sequence[SMTPRecipientRefused]) -> SendError:
    """Every RCPT TO was refused."""
    codes = [refusal.code for refusal in refusals]
    # Retry when any refusal was temporary: the permanent ones fail again harmlessly.
    code = next((c for c in codes if 400 <= c < 500), codes[0] if codes else None)
    text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refusals)
    return reply_error(code, f"all recipients refused ({text})")


def closes_connection(result: SendResult) -> bool:
    """421: the server is closing this connection; the message was not taken."""
    return result.error is not None and result.error.code == 421


def failed(message_id: str, error: SendError, cause: BaseException) -> SendResult:
    """``error`` as the message's result, with the library's exception as its cause."""
    error.__cause__ = cause  # for logs and for callers who care
    return SendResult(message_id, error)


def connection_failure(exc: MailIOError) -> SendError:
    """What a failed connect/TLS/login means for the messages that were not sent.

    Timeouts and refused connections pass: retry. A TLS refusal, refused
    credentials or a broken token configuration will not fix themselves: permanent
    until someone changes the configuration (except a 4xx AUTH reply, which the
    server says is temporary).
    """
    code = getattr(exc.__cause__, "code", None)
    error: SendError
    if isinstance(exc, SecurityError | ConfigError):
        error = PermanentSendError(f"not sent: {exc}")
    elif isinstance(exc, AuthenticationError):
        cls = (
            TemporarySendError
            if isinstance(code, int) and 400 <= code < 500
            else PermanentSendError
        )
        error = cls(f"not sent: {exc}", code)
    else:
        error = TemporarySendError(f"not sent: {exc}")
    error.__cause__ = exc
    return error
