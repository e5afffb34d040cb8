"""Microsoft Graph ``sendMail`` with the message in MIME form.

POST {base_url}/users/{mailbox}/sendMail, body = the MIME message base64-encoded,
Content-Type: text/plain (Graph's documented MIME variant). 202 means accepted.
The bearer token comes from a callable, normally :meth:`OAuth2TokenProvider.token`
with the scope https://graph.microsoft.com/.default.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from email.message import Message
from urllib.parse import quote

import httpx

from mailio.config import GraphServer
from mailio.http import json_field, send_error_for, short_text
from mailio.outbound.envelope import mime_bytes
from mailio.outbound.web import ApiSender


def graph_error_text(response: httpx.Response) -> str:
    """Graph's documented error body: {"error": {"code": ..., "message": ...}}."""
    code = json_field(response, "error", "code")
    message = json_field(response, "error", "message")
    if code or message:
        return ": ".join(part for part in (code, message) if part)
    return short_text(response)


def user_url(server: GraphServer) -> str:
    """{base_url}/users/{mailbox}, the root of every per-mailbox Graph call."""
    return f"{server.base_url.rstrip('/')}/users/{quote(server.mailbox, safe='@')}"


class GraphSender(ApiSender):
    """Sends through one mailbox's ``sendMail``; the copy lands in its Sent Items."""

    def __init__(
        self,
        server: GraphServer,
        http_client: httpx.Client,
        token_provider: Callable[[], str],
    ) -> None:
        self.name = server.name or "graph"
        self._url = f"{user_url(server)}/sendMail"
        self._client = http_client
        self._token = token_provider

    def _send_one(self, message: Message) -> None:
        response = self._client.post(
            self._url,
            content=base64.b64encode(mime_bytes(message)),
            headers={
                "Authorization": f"Bearer {self._token()}",
                "Content-Type": "text/plain",
            },
        )
        if not response.is_success:
            raise send_error_for(
                response, f"Microsoft Graph ({self.name})", graph_error_text(response)
            )

    def __repr__(self) -> str:
        return f"GraphSender(name={self.name!r}, url={self._url!r})"
