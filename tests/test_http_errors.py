"""The one boundary where httpx's exceptions become ours (mailio.http.mapped_http_errors)."""

from __future__ import annotations

import socket

import httpx
import pytest

from mailio.config import TimeoutSettings
from mailio.errors import TemporaryApiError, TransportError, TransportTimeout
from mailio.http import HttpErrorKind, http_error, mapped_http_errors, post_json

SECRET_URL = "https://hooks.example.test/services/T0/B0/s3cretPath?key=s3cretKey"
TOKEN = "eyJ0eXAi.bearer-token"


def _request() -> httpx.Request:
    return httpx.Request("POST", SECRET_URL, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.mark.parametrize(
    ("exc_class", "kind", "expected", "not_expected", "wording"),
    [
        (httpx.ConnectTimeout, "send", TemporaryApiError, None, "timed out"),
        (httpx.ReadTimeout, "send", TemporaryApiError, None, "timed out"),
        (httpx.ConnectError, "send", TemporaryApiError, None, "failed"),
        (httpx.RemoteProtocolError, "send", TemporaryApiError, None, "failed"),
        (httpx.ConnectTimeout, "transport", TransportTimeout, None, "timed out"),
        (httpx.PoolTimeout, "transport", TransportTimeout, None, "timed out"),
        (httpx.ConnectError, "transport", TransportError, TransportTimeout, "failed"),
        (httpx.ReadError, "transport", TransportError, TransportTimeout, "failed"),
        (httpx.ProxyError, "transport", TransportError, TransportTimeout, "failed"),
        (httpx.DecodingError, "transport", TransportError, TransportTimeout, "failed"),
    ],
)
def test_each_httpx_error_becomes_the_callers_error(
    exc_class: type[httpx.RequestError],
    kind: HttpErrorKind,
    expected: type[Exception],
    not_expected: type[Exception] | None,
    wording: str,
) -> None:
    with pytest.raises(expected) as caught, mapped_http_errors("the call", kind=kind):
        raise exc_class(f"cannot reach {SECRET_URL}", request=_request())

    error = caught.value
    assert not_expected is None or not isinstance(error, not_expected)
    assert str(error).startswith(f"the call {wording}") and exc_class.__name__ in str(error)
    assert error.__cause__ is None and error.__suppress_context__
    for secret in ("s3cretPath", "s3cretKey", TOKEN):
        assert secret not in str(error)


def test_the_message_keeps_the_libraries_reason_and_the_host() -> None:
    exc = httpx.ConnectError(f"[Errno 111] Connection refused: {SECRET_URL}", request=_request())

    error = http_error(exc, "graph: connection", kind="send")

    assert str(error) == (
        "graph: connection failed: ConnectError: [Errno 111] Connection refused: "
        "https://hooks.example.test/…"
    )


def test_an_error_raised_without_its_request_is_mapped_too() -> None:
    error = http_error(httpx.ConnectError("refused"), "token request", kind="transport")

    assert type(error) is TransportError
    assert str(error) == "token request failed: ConnectError: refused"


def test_built_errors_hold_no_link_to_the_request() -> None:
    error = http_error(httpx.ReadTimeout("slow", request=_request()), "ses", kind="send")

    assert error.__cause__ is None and error.__context__ is None


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), mapped_http_errors("the call", kind="transport"):
        raise KeyError("not ours to map")
    with pytest.raises(TransportError, match="already ours"), mapped_http_errors("x", kind="send"):
        raise TransportError("already ours")


def test_an_unreachable_webhook_is_temporary_and_its_url_stays_out_of_the_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(TemporaryApiError) as caught:
        post_json(
            f"http://127.0.0.1:{port}/hooks/s3cretPath?key=s3cretKey",
            {"status": "approved"},
            service="callback",
            timeouts=TimeoutSettings(connect=5),
        )

    assert str(caught.value).startswith("callback: connection failed: ConnectError")
    assert "s3cretPath" not in str(caught.value) and "s3cretKey" not in str(caught.value)
