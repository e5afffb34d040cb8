"""SendGrid v3 Mail Send: POST {base_url}/v3/mail/send with the documented JSON.

SendGrid takes the parts of a message, not MIME, so the message is taken apart:
recipients into ``personalizations``, ``from``, ``reply_to``, ``subject``,
``content`` (text/plain first, then text/html, as SendGrid requires),
attachments, and the remaining headers (Message-ID, In-Reply-To, References,
Auto-Submitted, X-...) as custom ``headers``. 202 means accepted; errors come
as {"errors": [{"message": ..., "field": ...}]}.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage, Message

import httpx

from mailio.config import SendGridServer
from mailio.errors import PermanentSendError
from mailio.http import send_error_for, short_text
from mailio.outbound.base import modern
from mailio.outbound.envelope import addresses
from mailio.outbound.web import ApiSender

# Expressed by the JSON fields themselves, reserved by SendGrid ("you may not
# overwrite"), or describing the MIME structure SendGrid builds on its own.
_NOT_CUSTOM = frozenset(
    {
        "to", "cc", "bcc", "from", "reply-to", "subject", "sender",
        "content-type", "content-transfer-encoding", "mime-version", "date",
        "received", "dkim-signature", "x-sg-id", "x-sg-eid",
    }
)  # fmt: skip


def sendgrid_error_text(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return short_text(response)
    if not isinstance(errors, list):
        return short_text(response)
    parts = []
    for error in errors:
        if isinstance(error, dict):
            field = error.get("field")
            text = str(error.get("message", ""))
            parts.append(f"{field}: {text}" if field else text)
    return "; ".join(parts) or short_text(response)


def _person(name: str, address: str) -> dict[str, str]:
    return {"email": address, "name": name} if name else {"email": address}


def sendgrid_request_body(message: EmailMessage) -> dict[str, object]:
    """The Mail Send JSON for one message."""
    senders = addresses(message, "From")
    if not senders:
        raise PermanentSendError("SendGrid needs a From address; the message has none")
    personalization = {
        key: [_person(*pair) for pair in addresses(message, field)]
        for key, field in (("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"))
    }
    body: dict[str, object] = {
        "personalizations": [{k: v for k, v in personalization.items() if v}],
        "from": _person(*senders[0]),
        "subject": str(message["Subject"] or ""),
    }
    reply_to = addresses(message, "Reply-To")
    if reply_to:
        body["reply_to"] = _person(*reply_to[0])
    content = []
    for subtype in ("plain", "html"):
        part = message.get_body(preferencelist=(subtype,))
        if part is not None and part.get_content_subtype() == subtype:
            content.append({"type": f"text/{subtype}", "value": part.get_content()})
    if content:
        body["content"] = content
    attachments = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        attachments.append(
            {
                "content": base64.b64encode(data if isinstance(data, bytes) else b"").decode(),
                "type": part.get_content_type(),
                "filename": part.get_filename() or "attachment",
                "disposition": part.get_content_disposition() or "attachment",
            }
        )
    if attachments:
        body["attachments"] = attachments
    headers = {
        name: str(value) for name, value in message.items() if name.lower() not in _NOT_CUSTOM
    }
    if headers:
        body["headers"] = headers
    return body


class SendGridSender(ApiSender):
    """Sends through SendGrid's v3 API with one API key."""

    def __init__(self, server: SendGridServer, http_client: httpx.Client) -> None:
        self.name = server.name or "sendgrid"
        self._url = f"{server.base_url.rstrip('/')}/v3/mail/send"
        self._api_key = server.api_key
        self._client = http_client

    def _send_one(self, message: Message) -> None:
        response = self._client.post(
            self._url,
            json=sendgrid_request_body(modern(message)),
            headers={"Authorization": f"Bearer {self._api_key.get_secret_value()}"},
        )
        if not response.is_success:
            raise send_error_for(response, f"SendGrid ({self.name})", sendgrid_error_text(response))

    def __repr__(self) -> str:
        return f"SendGridSender(name={self.name!r}, url={self._url!r})"
