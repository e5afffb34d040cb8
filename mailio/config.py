"""Typed settings for mail servers and web-API mail services.

These are the values after ``$<<VAR>>`` templating and after a server's
``properties_file`` has been merged in (explicit TOML keys win). Loading,
templating and error formatting live in :mod:`mailio.loading` and
:mod:`mailio.properties`; this module only says what a valid setting is.

Secrets are :class:`pydantic.SecretStr`: their ``repr`` and ``str`` are
masked, and only the code that hands them to a server calls
``get_secret_value()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Security = Literal["none", "starttls-if-available", "starttls-required", "tls"]
TlsVersion = Literal["TLSv1.2", "TLSv1.3"]
AuthMethod = Literal["none", "password", "oauth2"]

EXCHANGE_ONLINE_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PoolSettings(_Settings):
    """How many connections a sender keeps, and how long each lives."""

    max_connections: int = Field(default=4, ge=1, le=64)
    max_messages_per_connection: int = Field(default=100, ge=1)


class TimeoutSettings(_Settings):
    """Seconds. ``greeting`` is the wait for the server's first line after connecting."""

    connect: float = Field(default=30.0, gt=0)
    greeting: float = Field(default=30.0, gt=0)
    socket: float = Field(default=60.0, gt=0)


class RetrySettings(_Settings):
    """Temporary failures (4xx, dropped connections) are retried with exponential backoff."""

    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=30.0, ge=0)
    max_backoff_seconds: float = Field(default=3600.0, ge=0)


class OAuth2Settings(_Settings):
    """Client-credentials flow through msal (Microsoft Entra ID)."""

    tenant: str
    client_id: str
    client_secret: SecretStr | None = None
    certificate_file: Path | None = None
    certificate_thumbprint: str | None = None
    scope: str | None = None  # default depends on the server type
    authority_host: str = "https://login.microsoftonline.com"

    @model_validator(mode="after")
    def _one_credential(self) -> OAuth2Settings:
        if (self.client_secret is None) == (self.certificate_file is None):
            raise ValueError("give exactly one of client_secret or certificate_file")
        if self.certificate_file is not None and not self.certificate_thumbprint:
            raise ValueError("certificate_file needs certificate_thumbprint")
        return self


def _masked_repr_args(settings: BaseModel) -> Iterator[tuple[str | None, Any]]:
    # A proxy URL may carry a password; reprs end up in logs.
    from mailio.loading import mask_url_password

    for name, value in BaseModel.__repr_args__(settings):
        yield name, mask_url_password(value) if name == "proxy" and value else value


def _check_proxy(proxy: str | None) -> None:
    if proxy is None:
        return
    parts = urlsplit(proxy)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("socks5", "http") or not parts.hostname or port is None:
        raise ValueError(
            "proxy must be socks5://[user:password@]host:port or http://[user:password@]host:port"
        )


class _MailServer(_Settings):
    """Fields shared by SMTP and IMAP servers."""

    __repr_args__ = _masked_repr_args

    name: str = ""
    host: str
    port: int = Field(ge=1, le=65535)
    security: Security = "starttls-required"
    username: str | None = None
    password: SecretStr | None = None
    auth: AuthMethod | None = None  # None: "password" when a username is set, else "none"
    oauth2: OAuth2Settings | None = None
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify: bool = True
    tls_min_version: TlsVersion = "TLSv1.2"
    timeouts: TimeoutSettings = TimeoutSettings()
    proxy: str | None = None  # socks5://host:port or http://host:port (CONNECT)
    properties_file: Path | None = None

    @property
    def auth_method(self) -> AuthMethod:
        if self.auth is not None:
            return self.auth
        return "password" if self.username else "none"

    @model_validator(mode="after")
    def _auth_complete(self) -> _MailServer:
        method = self.auth_method
        if method == "password" and (not self.username or self.password is None):
            raise ValueError('auth = "password" needs username and password')
        if method == "oauth2" and (not self.username or self.oauth2 is None):
            raise ValueError('auth = "oauth2" needs username and an [oauth2] table')
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key needs client_cert")
        _check_proxy(self.proxy)
        return self


class SmtpServer(_MailServer):
    type: Literal["smtp"] = "smtp"
    from_address: str | None = None  # mail.smtp.from
    local_hostname: str | None = None
    pool: PoolSettings = PoolSettings()
    retry: RetrySettings = RetrySettings()


class ImapServer(_MailServer):
    type: Literal["imap"] = "imap"


class _ApiServer(_Settings):
    __repr_args__ = _masked_repr_args
    name: str = ""
    timeouts: TimeoutSettings = TimeoutSettings()
    proxy: str | None = None
    retry: RetrySettings = RetrySettings()

    @model_validator(mode="after")
    def _proxy_complete(self) -> _ApiServer:
        _check_proxy(self.proxy)
        return self


class GraphServer(_ApiServer):
    """Microsoft Graph: sends with sendMail, reads a mail folder. ``mailbox`` is a UPN or id."""

    type: Literal["graph"] = "graph"
    mailbox: str
    oauth2: OAuth2Settings
    base_url: str = "https://graph.microsoft.com/v1.0"


class SesServer(_ApiServer):
    """AWS SES v2 SendEmail with raw MIME, signed with SigV4."""

    type: Literal["ses"] = "ses"
    region: str
    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr | None = None
    endpoint: str | None = None  # default https://email.{region}.amazonaws.com


class SendGridServer(_ApiServer):
    type: Literal["sendgrid"] = "sendgrid"
    api_key: SecretStr
    base_url: str = "https://api.sendgrid.com"


class MailgunServer(_ApiServer):
    type: Literal["mailgun"] = "mailgun"
    domain: str
    api_key: SecretStr
    base_url: str = "https://api.mailgun.net"


class MemoryServer(_Settings):
    """Sends and reads in memory (mailio.outbound.memory, mailio.inbound.memory): for tests
    of an integration without mail servers, as Django's locmem backend."""

    type: Literal["memory"] = "memory"
    name: str = ""
    retry: RetrySettings = RetrySettings()


ServerSettings = Annotated[
    SmtpServer
    | ImapServer
    | GraphServer
    | SesServer
    | SendGridServer
    | MailgunServer
    | MemoryServer,
    Field(discriminator="type"),
]
SENDER_TYPES = frozenset({"smtp", "graph", "ses", "sendgrid", "mailgun", "memory"})
READER_TYPES = frozenset({"imap", "graph", "memory"})
