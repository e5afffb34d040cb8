"""What SMTP replies and connection failures mean for a message (pure, no server)."""

from __future__ import annotations

import aiosmtplib
import pytest

from mailio.errors import (
    AuthenticationError,
    ConfigError,
    MailIOError,
    PermanentSendError,
    SecurityError,
    SendError,
    TemporarySendError,
    TransportTimeout,
)
from mailio.outbound.base import SendResult
from mailio.outbound.smtp.outcomes import (
    all_recipients_refused,
    closes_connection,
    connection_failure,
    reply_error,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [(450, TemporarySendError), (421, TemporarySendError), (None, TemporarySendError),
     (550, PermanentSendError), (554, PermanentSendError)],
)  # fmt: skip
def test_5xx_replies_are_permanent_and_the_rest_temporary(
    code: int | None, expected: type[SendError]
) -> None:
    error = reply_error(code, "mailbox busy")
    assert type(error) is expected and error.code == code


def test_any_temporary_refusal_makes_refusing_all_recipients_temporary() -> None:
    refusals = [
        aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@example.test"),
        aiosmtplib.SMTPRecipientRefused(452, "mailbox full", "b@example.test"),
    ]
    error = all_recipients_refused(refusals)
    assert isinstance(error, TemporarySendError) and error.code == 452
    assert "a@example.test: 550 no such user" in str(error)


def _auth_refused(code: int) -> AuthenticationError:
    error = AuthenticationError("login refused")
    error.__cause__ = aiosmtplib.SMTPAuthenticationError(code, "no")
    return error


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (TransportTimeout("no greeting"), TemporarySendError),
        (SecurityError("untrusted certificate"), PermanentSendError),
        (ConfigError("no token provider"), PermanentSendError),
        (_auth_refused(535), PermanentSendError),
        (_auth_refused(454), TemporarySendError),
    ],
)
def test_a_failed_connection_is_permanent_only_when_configuration_must_change(
    failure: MailIOError, expected: type[SendError]
) -> None:
    error = connection_failure(failure)
    assert type(error) is expected and error.__cause__ is failure
    assert str(error) == f"not sent: {failure}"


def test_only_a_421_closes_the_connection() -> None:
    assert closes_connection(SendResult("<a@x>", TemporarySendError("bye", 421)))
    assert not closes_connection(SendResult("<a@x>", TemporarySendError("busy", 450)))
    assert not closes_connection(SendResult("<a@x>"))
