"""AWS Signature Version 4 for JSON APIs such as SES v2.  [pure]

Only what a header-signed request needs: canonical request, string to sign,
signing key, ``Authorization`` header. Paths are taken decoded (as
:attr:`httpx.URL.path` gives them) and encoded once, which is what non-S3
services expect; dot segments are not normalised because our endpoints have
none. Checked against AWS's published Signature Version 4 test suite.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
_SPACES = re.compile(r" +")


@dataclass(frozen=True)
class AwsCredentials:
    """An access key pair; ``session_token`` comes with temporary (STS) credentials."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def _encode(value: str, safe: str = "") -> str:
    # RFC 3986 unreserved characters stay as they are; everything else is %XX of its UTF-8.
    return quote(value, safe="-_.~" + safe)


def canonical_query(query: str) -> str:
    """Parameters sorted by encoded name, then value; ``a`` becomes ``a=``."""
    pairs = [(_encode(k), _encode(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    merged: dict[str, list[str]] = {}
    for name, value in headers.items():
        merged.setdefault(name.lower().strip(), []).append(_SPACES.sub(" ", value.strip()))
    names = sorted(merged)
    lines = "".join(f"{name}:{','.join(merged[name])}\n" for name in names)
    return lines, ";".join(names)


def canonical_request(
    method: str, url: str, headers: Mapping[str, str], payload: bytes
) -> tuple[str, str]:
    """Return (canonical request, signed header list). ``headers`` must include Host."""
    parts = urlsplit(url)
    path = _encode(parts.path or "/", safe="/")
    header_lines, signed = _canonical_headers(headers)
    text = "\n".join(
        [
            method.upper(),
            path,
            canonical_query(parts.query),
            header_lines,
            signed,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    return text, signed


def credential_scope(when: datetime, region: str, service: str) -> str:
    return f"{when:%Y%m%d}/{region}/{service}/aws4_request"


def string_to_sign(when: datetime, scope: str, request: str) -> str:
    digest = hashlib.sha256(request.encode()).hexdigest()
    return f"{ALGORITHM}\n{when:%Y%m%dT%H%M%SZ}\n{scope}\n{digest}"


def signing_key(secret_access_key: str, when: datetime, region: str, service: str) -> bytes:
    key = f"AWS4{secret_access_key}".encode()
    for part in (f"{when:%Y%m%d}", region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload: bytes,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return ``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token and Authorization.

    Every header given is signed, so pass only those that go on the wire unchanged.
    """
    when = (now or datetime.now(UTC)).astimezone(UTC)
    signed_headers = dict(headers)
    if not any(name.lower() == "host" for name in signed_headers):
        signed_headers["Host"] = urlsplit(url).netloc
    signed_headers["X-Amz-Date"] = f"{when:%Y%m%dT%H%M%SZ}"
    if credentials.session_token:
        # Signed, not appended afterwards: SES validates it as part of the signature.
        signed_headers["X-Amz-Security-Token"] = credentials.session_token
    request, signed_names = canonical_request(method, url, signed_headers, payload)
    scope = credential_scope(when, region, service)
    key = signing_key(credentials.secret_access_key, when, region, service)
    signature = hmac.new(
        key, string_to_sign(when, scope, request).encode(), hashlib.sha256
    ).hexdigest()
    signed_headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return signed_headers
