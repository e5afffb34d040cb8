"""When to try a refused message again: exponential backoff with a cap.

Pure functions of the attempt number and :class:`mailio.config.RetrySettings`,
so every sender (SMTP or web API) and the outbox share one policy.

A refusal for security (STARTTLS missing or stripped, an untrusted certificate, a
TLS version refused) is retried with backoff however many attempts it took: it is
usually a server or a network path being fixed, and the sender never falls back to
clear text meanwhile, so trying again is safe. Callers log it loudly.
"""

from __future__ import annotations

from mailio.config import RetrySettings
from mailio.errors import SecurityError, SendError, TemporarySendError, error_chain


def next_attempt_delay(attempt: int, settings: RetrySettings) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first try).

    ``backoff_seconds`` doubles with each attempt and never exceeds
    ``max_backoff_seconds``: 30, 60, 120, … with the defaults.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    # Cap the exponent too: 2**attempt for a large attempt would overflow a float.
    exponent = min(attempt - 1, 64)
    return min(settings.backoff_seconds * 2.0**exponent, settings.max_backoff_seconds)


def is_security_refusal(error: SendError) -> bool:
    """True when ``error`` was caused by a connection that could not be secured."""
    return any(isinstance(cause, SecurityError) for cause in error_chain(error))


def is_retryable(error: SendError) -> bool:
    """True for temporary failures (4xx, dropped connections, timeouts) and security refusals."""
    return isinstance(error, TemporarySendError) or is_security_refusal(error)


def should_retry(error: SendError, attempt: int, settings: RetrySettings) -> bool:
    """True when ``error`` is temporary and attempt ``attempt`` was not the last allowed,
    and for every security refusal (see the module's docstring)."""
    if is_security_refusal(error):
        return True
    return is_retryable(error) and attempt < settings.max_attempts
