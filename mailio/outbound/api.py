"""Build the sender for a web-API server from its settings (SMTP is built elsewhere)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from mailio.config import (
    GRAPH_SCOPE,
    GraphServer,
    MailgunServer,
    SendGridServer,
    ServerSettings,
    SesServer,
)
from mailio.errors import ConfigError
from mailio.http import build_http_client
from mailio.oauth import OAuth2TokenProvider
from mailio.outbound.base import Sender
from mailio.outbound.graph import GraphSender
from mailio.outbound.mailgun import MailgunSender
from mailio.outbound.sendgrid import SendGridSender
from mailio.outbound.ses import SesSender

API_SENDER_TYPES = frozenset({"graph", "ses", "sendgrid", "mailgun"})


def build_api_sender(
    server: ServerSettings,
    *,
    http_client: httpx.Client | None = None,
    token_provider: Callable[[], str] | None = None,
) -> Sender:
    """The sender for a graph, ses, sendgrid or mailgun server.

    The sender owns ``http_client`` (its ``close()`` closes it), so give each
    sender its own; without one, a client with the server's timeouts and proxy
    is built. For Graph without ``token_provider``, tokens come from an
    :class:`OAuth2TokenProvider` for the server's ``[oauth2]`` settings, over the same client.
    """
    if not isinstance(server, GraphServer | SesServer | SendGridServer | MailgunServer):
        raise ConfigError(
            f"server {server.name or server.type!r}: type {server.type!r} is not a web API; "
            f"build_api_sender takes one of {sorted(API_SENDER_TYPES)}"
        )
    client = http_client or build_http_client(server.timeouts, server.proxy)
    if isinstance(server, GraphServer):
        if token_provider is None:
            token_provider = OAuth2TokenProvider(
                server.oauth2, GRAPH_SCOPE, http_client=client
            ).token
        return GraphSender(server, client, token_provider)
    if isinstance(server, SesServer):
        return SesSender(server, client)
    if isinstance(server, SendGridServer):
        return SendGridSender(server, client)
    return MailgunSender(server, client)
