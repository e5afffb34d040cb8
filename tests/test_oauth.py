"""OAuth2 client-credentials tokens through msal, and the XOAUTH2 encoders.

Microsoft Entra ID cannot run here, so these tests serve its two documented
endpoints (the tenant's OpenID configuration and the v2.0 token endpoint) from
a local HTTPS server on 127.0.0.1 with a trustme certificate: msal accepts only
https authorities. The real msal code path runs end to end; only the
identity provider is a stand-in.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailio.config import GRAPH_SCOPE, OAuth2Settings
from mailio.errors import AuthenticationError, ConfigError, TransportError
from mailio.oauth import (
    OAuth2TokenProvider,
    default_scope,
)

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cr3t-Value~with.odd_chars"


@dataclass
class TokenEndpoint:
    """What the fake Entra ID answers, and what it was asked."""

    responses: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    token_requests: list[tuple[dict[str, str], dict[str, list[str]]]] = field(default_factory=list)
    base_url: str = ""


def _handler(state: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
            pass

        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith(f"/{TENANT}/v2.0/.well-known/openid-configuration"):
                root = f"{state.base_url}/{TENANT}"
                self._reply(
                    200,
                    {
                        "issuer": f"{root}/v2.0",
                        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                        "token_endpoint": f"{root}/oauth2/v2.0/token",
                    },
                )
            else:
                self._reply(400, {"error": "invalid_tenant", "error_description": "no tenant"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != f"/{TENANT}/oauth2/v2.0/token":
                self._reply(404, {"error": "not_found"})
                return
            state.token_requests.append((dict(self.headers.items()), form))
            self._reply(*state.responses.pop(0))

    return Handler


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def entra(ca: trustme.CA) -> Iterator[TokenEndpoint]:
    state = TokenEndpoint()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    # A short poll interval only makes shutdown() prompt; requests are served at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _client(ca: trustme.CA) -> httpx.Client:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return httpx.Client(verify=context, timeout=5)


def _provider(entra: TokenEndpoint, ca: trustme.CA, **credential: object) -> OAuth2TokenProvider:
    settings = OAuth2Settings.model_validate(
        {
            "tenant": TENANT,
            "client_id": CLIENT_ID,
            "authority_host": entra.base_url,
            **(credential or {"client_secret": SECRET}),
        }
    )
    return OAuth2TokenProvider(settings, GRAPH_SCOPE, http_client=_client(ca))


def _token(value: str, expires_in: int = 3600) -> tuple[int, dict[str, object]]:
    return 200, {"token_type": "Bearer", "expires_in": expires_in, "access_token": value}


def _sent_secret(headers: dict[str, str], form: dict[str, list[str]]) -> str:
    """msal sends the secret by HTTP Basic (RFC 6749 2.3.1) or, older, in the form."""
    basic = headers.get("Authorization", "")
    if basic.startswith("Basic "):
        client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        assert client_id == CLIENT_ID
        return secret
    assert form["client_id"] == [CLIENT_ID]
    return form["client_secret"][0]


def test_first_call_fetches_and_second_is_served_from_msal_cache(entra, ca):
    entra.responses.append(_token("token-one"))
    provider = _provider(entra, ca)

    assert provider.token() == "token-one"
    assert provider.token() == "token-one"

    assert len(entra.token_requests) == 1
    headers, form = entra.token_requests[0]
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == [GRAPH_SCOPE]
    assert _sent_secret(headers, form) == SECRET
    provider.close()


def test_token_with_less_than_five_minutes_left_is_refreshed(entra, ca):
    entra.responses += [_token("short-lived", expires_in=120), _token("fresh")]
    provider = _provider(entra, ca)

    assert provider.token() == "short-lived"
    assert provider.token() == "fresh"
    assert provider.token() == "fresh"  # the fresh one lives an hour: cached again
    assert len(entra.token_requests) == 2
    provider.close()


def test_refused_credentials_raise_authentication_error_without_the_secret(entra, ca):
    entra.responses.append(
        (
            401,
            {
                "error": "invalid_client",
                # A server echoing the secret back must not get it into our message.
                "error_description": f"AADSTS7000215: Invalid client secret provided: {SECRET}",
            },
        )
    )
    provider = _provider(entra, ca)

    with pytest.raises(AuthenticationError) as caught:
        provider.token()

    text = str(caught.value)
    assert "invalid_client" in text and "AADSTS7000215" in text
    assert CLIENT_ID in text
    assert SECRET not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    provider.close()


def test_unknown_tenant_names_the_settings_to_check(entra, ca):
    settings = OAuth2Settings(
        tenant="no-such-tenant",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        authority_host=entra.base_url,
    )
    provider = OAuth2TokenProvider(settings, GRAPH_SCOPE, http_client=_client(ca))

    with pytest.raises(AuthenticationError, match="tenant and authority_host"):
        provider.token()
    assert entra.token_requests == []
    provider.close()


def test_unreachable_token_endpoint_is_a_transport_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = OAuth2Settings(
        tenant=TENANT,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        authority_host=f"https://127.0.0.1:{port}",
    )
    provider = OAuth2TokenProvider(settings, GRAPH_SCOPE, http_client=httpx.Client(timeout=5))

    with pytest.raises(TransportError) as caught:
        provider.token()
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None
    provider.close()


def test_certificate_credential_sends_a_signed_client_assertion(entra, ca, tmp_path: Path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_file = tmp_path / "app.pem"
    pem_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    entra.responses.append(_token("cert-token"))
    provider = _provider(
        entra, ca, certificate_file=pem_file, certificate_thumbprint="A1B2C3D4E5F60718293A"
    )

    assert provider.token() == "cert-token"

    _, form = entra.token_requests[0]
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    header_b64, payload_b64, signature = form["client_assertion"][0].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    assert header["alg"] == "RS256" and "x5t" in header
    assert signature
    assert "client_secret" not in form
    provider.close()


def test_unreadable_certificate_file_is_a_config_error(entra, ca, tmp_path: Path):
    provider = _provider(
        entra, ca, certificate_file=tmp_path / "missing.pem", certificate_thumbprint="AB"
    )
    with pytest.raises(ConfigError, match="certificate_file"):
        provider.token()
    provider.close()


def test_repr_masks_the_secret(entra, ca):
    provider = _provider(entra, ca)
    text = repr(provider)
    assert CLIENT_ID in text and "client_secret" in text
    assert SECRET not in text
    provider.close()


def test_scope_from_settings_wins_over_the_default():
    settings = OAuth2Settings(
        tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET, scope="api://custom/.default"
    )
    assert OAuth2TokenProvider(settings, GRAPH_SCOPE).scope == "api://custom/.default"
    assert default_scope("graph") == GRAPH_SCOPE
    assert default_scope("imap") == "https://outlook.office365.com/.default"
