"""When to try a refused message again: exponential backoff with a cap.

Pure functions of the attempt number and :class:`mailio.config.RetrySettings`,
so every sender (SMTP or web API) and the outbox share one policy.
"""

from __future__ import annotations

from mailio.config import RetrySettings
from mailio.errors import SendError, TemporarySendError


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


def is_retryable(error: SendError) -> bool:
    """True for temporary failures (4xx, dropped connections, timeouts)."""
    return isinstance(error, TemporarySendError)


def should_retry(error: SendError, attempt: int, settings: RetrySettings) -> bool:
    """True when ``error`` is temporary and attempt ``attempt`` was not the last allowed."""
    return is_retryable(error) and attempt < settings.max_attempts
