"""Build the sender or mailbox a server's settings describe.

The one place that maps a ``type`` to a class; everything above it speaks to
the Sender and Mailbox interfaces only.
"""

from __future__ import annotations

from collections.abc import Callable

from mailio.config import ServerSettings
from mailio.errors import ConfigError
from mailio.inbound.base import Mailbox
from mailio.outbound.base import Sender


def _token_provider(server: ServerSettings) -> Callable[[], str] | None:
    """XOAUTH2 tokens for SMTP and IMAP when the server says ``auth = "oauth2"``."""
    oauth2 = getattr(server, "oauth2", None)
    if oauth2 is None or getattr(server, "auth_method", None) != "oauth2":
        return None
    from mailio.oauth import OAuth2TokenProvider, default_scope

    return OAuth2TokenProvider(oauth2, default_scope(server.type)).token


def build_sender(server: ServerSettings) -> Sender:
    if server.type == "smtp":
        from mailio.outbound.smtp import SmtpSender

        return SmtpSender(server, token_provider=_token_provider(server))
    if server.type in ("graph", "ses", "sendgrid", "mailgun"):
        from mailio.outbound.api import build_api_sender

        return build_api_sender(server)  # Graph builds its token provider over its own client
    raise ConfigError(f"[servers.{server.name}] type: {server.type} servers cannot send mail")


def build_mailbox(server: ServerSettings, folder: str) -> Mailbox:
    if server.type == "imap":
        from mailio.inbound.imap import ImapMailbox

        return ImapMailbox(server, folder, token_provider=_token_provider(server))
    if server.type == "graph":
        from mailio.inbound.graph import GraphMailbox

        return GraphMailbox.from_settings(server, folder)
    raise ConfigError(f"[servers.{server.name}] type: {server.type} servers cannot read mail")
