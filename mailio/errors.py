"""Errors raised by mail I/O.

One tree, rooted at :class:`MailIOError`. Where a built-in fits, the class
subclasses it too, so ``except ConnectionError`` keeps working for callers who
know nothing of this package.

    MailIOError
    ├── ConfigError                 bad or missing configuration (names file, key, what to do)
    │   └── TemplateVariableError   undefined or cyclic $<<VAR>>
    ├── TransportError              could not talk to a server     (also ConnectionError)
    │   ├── TransportTimeout        connect / greeting / socket timeout (also TimeoutError)
    │   ├── SecurityError           TLS refused: STARTTLS missing, untrusted or wrong-host cert
    │   └── AuthenticationError     the server refused our credentials
    ├── SendError                   a message was not accepted
    │   ├── TemporarySendError      4xx / connection trouble: retry later
    │   │   └── TemporaryApiError   a web API said 429 / 5xx or dropped the call (``retry_after``)
    │   └── PermanentSendError      5xx / rejected by an API: do not retry
    └── MailboxError                reading, moving or deleting in the reply folder failed

Messages never contain passwords, client secrets or tokens.
"""

from __future__ import annotations

from collections.abc import Iterator


class MailIOError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(MailIOError, ValueError):
    """Configuration is missing or malformed; the message names file, key and fix."""


class TemplateVariableError(ConfigError):
    """A ``$<<VAR>>`` reference is undefined or cyclic."""


class TransportError(MailIOError, ConnectionError):
    """Could not establish or keep a connection to a mail server or API."""


class TransportTimeout(TransportError, TimeoutError):
    """A connect, greeting or socket read timed out."""


class SecurityError(TransportError):
    """The connection could not be secured the way the configuration demands."""


class AuthenticationError(TransportError):
    """The server refused the credentials (the credentials are never in the message)."""


class SendError(MailIOError):
    """A message was not accepted. ``code`` is the server's reply code or HTTP status."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporarySendError(SendError):
    """Worth retrying: 4xx replies, 429/5xx from APIs, dropped connections."""


class TemporaryApiError(TemporarySendError):
    """A web API asked us to come back later (429, 5xx, dropped connection).

    ``retry_after`` is the server's Retry-After in seconds, when it sent one.
    """

    def __init__(
        self, message: str, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Not worth retrying: 5xx SMTP replies, 4xx API rejections."""


class MailboxError(MailIOError):
    """A mailbox operation (select, fetch, move, expunge) failed."""


def error_chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what it was raised from or during (``__cause__``, else
    ``__context__``), and so on; each once, so a cycle ends the chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
