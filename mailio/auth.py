"""Logging in to IMAP and SMTP servers: what a login needs, and what to say when refused."""

from __future__ import annotations

from collections.abc import Callable

from mailio.config import ImapServer, SmtpServer
from mailio.errors import AuthenticationError, ConfigError
from mailio.tls import server_label

_OAUTH2_USE = {"imap": "use this mailbox over IMAP", "smtp": "send as this mailbox over SMTP"}


def login_refused(server: SmtpServer | ImapServer, reply: str) -> AuthenticationError:
    """The error for a refused login: who, where, what to check and what the server said.

    ``reply`` is the server's text; servers never echo the password or token.
    """
    if server.auth_method == "password":
        advice = "check username and password"
    else:
        advice = (
            f"check that the app registration may {_OAUTH2_USE[server.type]} and that the "
            "token is for this account"
        )
    return AuthenticationError(
        f"{server.type.upper()} login refused for {server.username or ''} at "
        f"{server.host}:{server.port}: {advice} (server said: {reply})"
    )


def check_token_provider(
    server: SmtpServer | ImapServer, token_provider: Callable[[], str] | None
) -> None:
    """``auth = "oauth2"`` cannot log in without something that fetches tokens."""
    if server.auth_method == "oauth2" and token_provider is None:
        raise ConfigError(
            f'{server_label(server)}: auth = "oauth2" needs a token provider '
            "(build one from the server's [oauth2] table)"
        )
