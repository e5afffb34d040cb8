"""OAuth2 access tokens for Exchange Online (IMAP/SMTP) and Microsoft Graph.

:class:`OAuth2TokenProvider` runs the client-credentials flow through msal's
:class:`~msal.ConfidentialClientApplication` with a client secret or a
certificate. msal keeps the tokens in its own cache and treats one with less
than five minutes left as expired, so :meth:`OAuth2TokenProvider.token` returns
the cached token until then and fetches a fresh one after: the caller never
starts a session with a token about to lapse.

msal talks HTTP through our httpx client (adapted to the small interface msal
documents), so tokens use the same proxy, timeouts and CA settings as the rest.

The SASL XOAUTH2 exchange itself is imapclient's ``oauth2_login`` and
aiosmtplib's ``auth_xoauth2``; they take :meth:`OAuth2TokenProvider.token`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import httpx
import msal

from mailio.config import (
    EXCHANGE_ONLINE_SCOPE,
    GRAPH_SCOPE,
    OAuth2Settings,
    TimeoutSettings,
)
from mailio.errors import AuthenticationError, ConfigError, TransportError
from mailio.http import build_http_client, mapped_http_errors


def default_scope(server_type: str) -> str:
    """Graph needs a Graph token; IMAP and SMTP need an Exchange Online one."""
    return GRAPH_SCOPE if server_type == "graph" else EXCHANGE_ONLINE_SCOPE


class _MsalHttpClient:
    """The requests-like ``post``/``get``/``close`` msal calls, served by httpx.

    msal wraps this in its own throttling layer, which reads only
    ``status_code``, ``text`` and ``headers`` of the httpx response.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @staticmethod
    def _headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
        # msal passes optional headers (client-request-id) as None when it has no value.
        return {k: str(v) for k, v in (headers or {}).items() if v is not None}

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: Mapping[str, Any] | None = None,
        **_: Any,  # requests-only options msal may add (none that change the request)
    ) -> httpx.Response:
        if isinstance(data, str | bytes):
            return self._client.post(
                url, params=params, content=data, headers=self._headers(headers)
            )
        # requests form-encodes bytes values as their text; httpx would send "b'...'"
        # (msal hands over the signed client assertion as bytes).
        form = {k: v.decode() if isinstance(v, bytes) else v for k, v in (data or {}).items()}
        return self._client.post(url, params=params, data=form, headers=self._headers(headers))

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._client.get(url, params=params, headers=self._headers(headers))

    def close(self) -> None:
        self._client.close()


class OAuth2TokenProvider:
    """Client-credentials tokens for one app registration and one scope.

    ``default_scope`` applies when the settings name none (see :func:`default_scope`).
    ``http_client`` is owned by the provider afterwards; without one, a client
    with default timeouts is built. The first :meth:`token` call fetches the
    authority's OpenID configuration, so constructing a provider is offline.
    """

    def __init__(
        self,
        settings: OAuth2Settings,
        default_scope: str,
        *,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._settings = settings
        self.scope = settings.scope or default_scope
        self.authority = f"{settings.authority_host.rstrip('/')}/{settings.tenant}"
        self._http = http_client or build_http_client(TimeoutSettings())
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _credential(self) -> str | dict[str, str]:
        settings = self._settings
        if settings.client_secret is not None:
            return settings.client_secret.get_secret_value()
        path = settings.certificate_file
        assert path is not None and settings.certificate_thumbprint  # the model guarantees it
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"[oauth2] certificate_file {str(path)!r}: cannot read it ({exc}); "
                "give a PEM file holding the app's private key"
            ) from None
        return {"private_key": pem, "thumbprint": settings.certificate_thumbprint}

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(
                    self._settings.client_id,
                    client_credential=self._credential(),
                    authority=self.authority,
                    http_client=_MsalHttpClient(self._http),
                    # The authority comes from our own configuration, not from a
                    # user: no need to ask login.microsoftonline.com to vouch for it.
                    instance_discovery=False,
                )
            return self._app

    def token(self) -> str:
        """A valid access token: the cached one, or a new one when it has < 5 minutes left."""
        try:
            with mapped_http_errors(f"token request to {self.authority}", kind="transport"):
                result = self._application().acquire_token_for_client(scopes=[self.scope])
        except msal.exceptions.MsalServiceError as exc:
            # msal raises this for 5xx answers from the token endpoint.
            raise TransportError(
                f"token endpoint of {self.authority} failed: {self._scrub(str(exc))}; try later"
            ) from None
        except ConfigError:
            raise
        except ValueError as exc:
            # msal's OpenID discovery failed: usually a wrong tenant or authority_host.
            raise AuthenticationError(
                f"cannot use authority {self.authority}: {self._scrub(str(exc))}; "
                "check [oauth2] tenant and authority_host"
            ) from None
        if "access_token" in result:
            return str(result["access_token"])
        error = result.get("error", "unknown_error")
        description = result.get("error_description", "no description")
        raise AuthenticationError(
            self._scrub(
                f"{self.authority} refused a token for client {self._settings.client_id} "
                f"(scope {self.scope}): {error}: {description}"
            )
        )

    def _scrub(self, text: str) -> str:
        # Belt and braces: a token endpoint echoing the secret must not put it in our logs.
        secret = self._settings.client_secret
        if secret is not None and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "**********")
        return text

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        credential = "client_secret" if self._settings.client_secret else "certificate"
        return (
            f"OAuth2TokenProvider(authority={self.authority!r}, "
            f"client_id={self._settings.client_id!r}, scope={self.scope!r}, "
            f"credential={credential})"
        )
