"""Build the sender or mailbox a server's settings describe.

The one place that maps a ``type`` to a class; everything above it speaks to
the Sender and Mailbox interfaces only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from mailio.config import MemoryServer, OAuth2Settings, ServerSettings, TimeoutSettings
from mailio.errors import ConfigError
from mailio.inbound.base import CursorStore, Mailbox
from mailio.outbound.base import Sender

if TYPE_CHECKING:
    from mailio.oauth import OAuth2TokenProvider


def _token_provider(server: ServerSettings) -> Callable[[], str] | None:
    """OAuth2 tokens: for Graph always, for SMTP and IMAP when ``auth = "oauth2"``.

    One provider per server configuration for the life of the process, so its
    token cache outlives the mailbox of one poll cycle; its requests go through
    the server's own proxy and timeouts.
    """
    if isinstance(server, MemoryServer):
        return None
    oauth2 = getattr(server, "oauth2", None)
    if oauth2 is None or (
        server.type != "graph" and getattr(server, "auth_method", "") != "oauth2"
    ):
        return None
    from mailio.oauth import default_scope

    provider = _provider(oauth2, default_scope(server.type), server.timeouts, server.proxy)
    return provider.token


@lru_cache(maxsize=32)
def _provider(
    oauth2: OAuth2Settings, scope: str, timeouts: TimeoutSettings, proxy: str | None
) -> OAuth2TokenProvider:
    from mailio.http import build_http_client
    from mailio.oauth import OAuth2TokenProvider

    return OAuth2TokenProvider(oauth2, scope, http_client=build_http_client(timeouts, proxy))


def build_sender(server: ServerSettings) -> Sender:
    if server.type == "smtp":
        from mailio.outbound.smtp import SmtpSender

        return SmtpSender(server, token_provider=_token_provider(server))
    if server.type in ("graph", "ses", "sendgrid", "mailgun"):
        from mailio.outbound.api import build_api_sender

        return build_api_sender(server, token_provider=_token_provider(server))
    if server.type == "memory":
        from mailio.outbound.memory import MemorySender

        return MemorySender(server.name)
    raise ConfigError(f"[servers.{server.name}] type: {server.type} servers cannot send mail")


def build_mailbox(
    server: ServerSettings, folder: str, cursors: CursorStore | None = None
) -> Mailbox:
    """The mailbox of ``folder`` on ``server``; ``cursors`` keeps a Graph mailbox's delta
    link from run to run."""
    if server.type == "imap":
        from mailio.inbound.imap import ImapMailbox

        return ImapMailbox(server, folder, token_provider=_token_provider(server))
    if server.type == "graph":
        from mailio.inbound.graph import GraphMailbox

        return GraphMailbox.from_settings(
            server, folder, token_provider=_token_provider(server), cursors=cursors
        )
    if server.type == "memory":
        from mailio.inbound.memory import MemoryMailbox

        return MemoryMailbox(server.name, folder)
    raise ConfigError(f"[servers.{server.name}] type: {server.type} servers cannot read mail")
