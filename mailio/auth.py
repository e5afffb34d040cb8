"""What to tell a person when a server refuses our login (IMAP and SMTP alike)."""

from __future__ import annotations

from mailio.config import ImapServer, SmtpServer
from mailio.errors import AuthenticationError

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
