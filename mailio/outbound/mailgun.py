"""Mailgun: POST {base_url}/v3/{domain}/messages.mime, multipart form with the
recipients in ``to`` and the MIME message as the file field ``message``.

Basic auth ``api:{api_key}``. 200 with {"id": ..., "message": "Queued. ..."}
means accepted; errors come as {"message": ...} (or plain text for 401).
"""

from __future__ import annotations

from email.message import Message
from urllib.parse import quote

import httpx

from mailio.config import MailgunServer
from mailio.http import json_field, send_error_for, short_text
from mailio.outbound.envelope import envelope_recipients, mime_bytes
from mailio.outbound.web import ApiSender


def mailgun_error_text(response: httpx.Response) -> str:
    return json_field(response, "message") or short_text(response)


class MailgunSender(ApiSender):
    """Sends raw MIME through one Mailgun sending domain."""

    def __init__(self, server: MailgunServer, http_client: httpx.Client) -> None:
        self.name = server.name or "mailgun"
        self._url = f"{server.base_url.rstrip('/')}/v3/{quote(server.domain)}/messages.mime"
        self._api_key = server.api_key
        self._client = http_client

    def _send_one(self, message: Message) -> None:
        response = self._client.post(
            self._url,
            data={"to": envelope_recipients(message)},
            files={
                "message": ("message.mime", mime_bytes(message, without_bcc=True), "message/rfc822")
            },
            auth=("api", self._api_key.get_secret_value()),
        )
        if not response.is_success:
            raise send_error_for(response, f"Mailgun ({self.name})", mailgun_error_text(response))

    def __repr__(self) -> str:
        return f"MailgunSender(name={self.name!r}, url={self._url!r})"
