"""What every web-API transport shares: building the httpx client, reading an
HTTP answer as "accepted", "try again later" or "rejected", and the one place
where httpx's exceptions become ours (:func:`mapped_http_errors`).

Error messages carry the service's own error text but never the request: its
headers hold the API key or bearer token.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, overload

import httpx

from mailio.config import TimeoutSettings
from mailio.errors import (
    ConfigError,
    MailIOError,
    PermanentSendError,
    SendError,
    TemporaryApiError,
    TransportError,
    TransportTimeout,
)
from mailio.loading import mask_url_password

HttpErrorKind = Literal["send", "transport"]


def build_http_client(
    timeouts: TimeoutSettings,
    proxy: str | None = None,
    *,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """An httpx client with the configured timeouts and proxy (http:// or socks5://)."""
    timeout = httpx.Timeout(
        connect=timeouts.connect, read=timeouts.socket, write=timeouts.socket, pool=timeouts.connect
    )
    try:
        return httpx.Client(timeout=timeout, proxy=proxy, verify=verify)
    except ImportError:
        # httpx imports its SOCKS support lazily and only names the missing extra.
        raise ConfigError(
            f"proxy {mask_url_password(proxy or '')!r}: SOCKS proxies for web APIs need the "
            "socksio package "
            "(pip install 'httpx[socks]'), or use an http:// proxy"
        ) from None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_temporary_status(status: int) -> bool:
    """429 and 5xx are worth retrying; other 4xx will fail the same way again."""
    return status == 429 or status >= 500


def send_error_for(response: httpx.Response, service: str, detail: str) -> SendError:
    """Map a refused API call to the send-error tree. ``detail``: the service's error text."""
    status = response.status_code
    text = f"{service} refused the message: HTTP {status}"
    if detail:
        text += f": {detail}"
    if is_temporary_status(status):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            text += f" (retry after {retry_after:g}s)"
        return TemporaryApiError(text, status, retry_after)
    if status in (401, 403):
        text += " (check the API key or token and its permissions)"
    return PermanentSendError(text, status)


def json_field(response: httpx.Response, *path: str | int) -> str:
    """A nested string from a JSON error body, or "" when the body has no such field."""
    try:
        node: object = response.json()
    except ValueError:
        return ""
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return ""
    return node if isinstance(node, str) else ""


def short_text(response: httpx.Response, limit: int = 300) -> str:
    """The body of a non-JSON error, trimmed to something fit for a log line."""
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# What a request that got no answer becomes, by caller: (timed out, failed otherwise).
# A sent message may or may not have arrived, so "send" is a temporary send failure;
# a read or a token request could not talk to the server: a TransportError.
_UNANSWERED: dict[HttpErrorKind, tuple[type[MailIOError], type[MailIOError]]] = {
    "send": (TemporaryApiError, TemporaryApiError),
    "transport": (TransportTimeout, TransportError),
}


@overload
def http_error(
    exc: httpx.RequestError, what: str, *, kind: Literal["send"]
) -> TemporaryApiError: ...
@overload
def http_error(
    exc: httpx.RequestError, what: str, *, kind: Literal["transport"]
) -> TransportError: ...
def http_error(exc: httpx.RequestError, what: str, *, kind: HttpErrorKind) -> MailIOError:
    """Our error for an httpx request that got no answer; ``what`` names the call for a person.

    ``kind`` says what the caller raises: "send" a :class:`TemporaryApiError`,
    "transport" a :class:`TransportTimeout` or :class:`TransportError`. The message
    names the exception but never its request: the headers hold the API key or
    token, and a URL's path or query may be the credential itself.
    """
    timed_out, failed = _UNANSWERED[kind]
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return timed_out(f"{what} timed out ({name})")
    return failed(f"{what} failed: {name}: {_text_without_url(exc)}")


@contextmanager
def mapped_http_errors(what: str, *, kind: HttpErrorKind) -> Iterator[None]:
    """Raise :func:`http_error`'s error for an httpx request error inside the block.

    Not chained (``from None``): the httpx error's request carries the credentials.
    """
    try:
        yield
    except httpx.RequestError as exc:
        raise http_error(exc, what, kind=kind) from None


def shown_url(url: httpx.URL) -> str:
    """``url`` as logs and messages may show it: scheme, host and port. User info, path
    and query may hold credentials (a webhook's token, an API key)."""
    return str(url.copy_with(userinfo=b"", path="/", query=None, fragment=None)) + "…"


def _text_without_url(exc: httpx.RequestError) -> str:
    text = str(exc)
    try:
        url = exc.request.url
    except RuntimeError:  # raised without its request, as a custom transport may
        return text
    return text.replace(str(url), shown_url(url))


class _HideUrlPaths(logging.Filter):
    """httpx logs each request's full URL at INFO; only :func:`shown_url` of it is left."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                shown_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_HideUrlPaths())


def post_json(
    url: str,
    payload: Mapping[str, object],
    *,
    service: str,
    timeouts: TimeoutSettings,
    proxy: str | None = None,
) -> None:
    """POST ``payload`` as JSON; raise a SendError that never contains the URL.

    Webhook URLs often are the credential (a token in the path), so neither the
    error nor httpx's own request log (see ``_HideUrlPaths``) carries them.
    """
    with (
        build_http_client(timeouts, proxy) as client,
        mapped_http_errors(f"{service}: connection", kind="send"),
    ):
        response = client.post(url, json=payload)
    if not response.is_success:
        raise send_error_for(response, service, short_text(response))
