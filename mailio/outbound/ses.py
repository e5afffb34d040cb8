"""AWS SES v2 ``SendEmail`` with raw MIME content, signed with SigV4.

POST {endpoint}/v2/email/outbound-emails with
{"Content": {"Raw": {"Data": <base64 MIME>}}, "Destination": {...}}. The
recipients go in Destination (Bcc is taken out of the MIME), so SES does not
have to guess them from the headers. 200 with {"MessageId": ...} means accepted.
Errors carry the type in the X-Amzn-ErrorType header and {"message": ...} in the body.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from email.message import Message

import httpx

from mailio.config import SesServer
from mailio.http import json_field, send_error_for, short_text
from mailio.outbound.envelope import addresses, mime_bytes
from mailio.outbound.web import ApiSender
from mailio.sigv4 import AwsCredentials, sign_request

SERVICE = "ses"  # SigV4 signing name of SES (v1 and v2)


def ses_endpoint(server: SesServer) -> str:
    return (server.endpoint or f"https://email.{server.region}.amazonaws.com").rstrip("/")


def ses_error_text(response: httpx.Response) -> str:
    # X-Amzn-ErrorType looks like "MessageRejected:http://internal.amazon.com/...".
    kind = response.headers.get("X-Amzn-ErrorType", "").split(":", 1)[0]
    message = json_field(response, "message") or json_field(response, "Message")
    if not message and not kind:
        return short_text(response)
    return ": ".join(part for part in (kind, message) if part)


def ses_request_body(message: Message) -> dict[str, object]:
    """The SendEmail request for one raw message."""
    destination = {
        key: [addr for _, addr in addresses(message, field)]
        for key, field in (("ToAddresses", "To"), ("CcAddresses", "Cc"), ("BccAddresses", "Bcc"))
    }
    raw = base64.b64encode(mime_bytes(message, without_bcc=True)).decode("ascii")
    return {
        "Content": {"Raw": {"Data": raw}},
        "Destination": {key: value for key, value in destination.items() if value},
    }


class SesSender(ApiSender):
    """Sends through SES v2 in one region with one access key."""

    def __init__(
        self,
        server: SesServer,
        http_client: httpx.Client,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = server.name or "ses"
        self._url = f"{ses_endpoint(server)}/v2/email/outbound-emails"
        self._region = server.region
        self._credentials = AwsCredentials(
            server.access_key_id,
            server.secret_access_key.get_secret_value(),
            server.session_token.get_secret_value() if server.session_token else None,
        )
        self._client = http_client
        self._clock = clock  # None: now; tests pin the date of the signature

    def _send_one(self, message: Message) -> None:
        body = json.dumps(ses_request_body(message)).encode()
        headers = sign_request(
            "POST",
            self._url,
            {"Content-Type": "application/json"},
            body,
            credentials=self._credentials,
            region=self._region,
            service=SERVICE,
            now=self._clock() if self._clock else None,
        )
        response = self._client.post(self._url, content=body, headers=headers)
        if not response.is_success:
            raise send_error_for(response, f"AWS SES ({self.name})", ses_error_text(response))

    def __repr__(self) -> str:
        return (
            f"SesSender(name={self.name!r}, url={self._url!r}, "
            f"access_key_id={self._credentials.access_key_id!r})"
        )
