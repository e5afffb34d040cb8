"""Signed, per-approver approval tokens.

A token is ``apr-`` followed by 24 base32 characters (lower case in
addresses, upper case in subjects; decoding ignores case, since some mail
systems fold local parts). It packs 15 bytes:

    notification id   5 bytes   which approver's notification it was issued for
    expiry            3 bytes   hours since 2024-01-01 UTC
    signature         7 bytes   HMAC-SHA256(secret, id | request | approver | expiry), truncated

The notification id lets the engine find the request and approver; the
signature binds all three and the expiry to the secret, so a token cannot be
moved to another request or approver, or extended. 56 bits of signature are
ample for a channel where every guess costs an email.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from approvals.errors import ExpiredToken, InvalidToken

PREFIX = "apr-"
_NOT_AFTER = r"[a-z0-9]"  # a token is not the end of a longer word
_TOKEN = r"apr-([a-z2-7]{24})(?![a-z0-9])"
TOKEN_PATTERN = re.compile(rf"(?<!{_NOT_AFTER}){_TOKEN}", re.IGNORECASE)

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_ID_BYTES, _EXPIRY_BYTES, _MAC_BYTES = 5, 3, 7


@dataclass(frozen=True)
class TokenClaims:
    """What a token says before its signature is checked against the database."""

    notification_id: int
    expires_at: datetime
    signature: bytes

    def __repr__(self) -> str:  # the signature is a credential: keep it out of logs
        return f"TokenClaims(notification_id={self.notification_id}, expires_at={self.expires_at})"


def _signature(
    secret: str, notification_id: int, request_id: str, approver: str, hours: int
) -> bytes:
    message = f"apr1|{notification_id}|{request_id}|{approver.strip().lower()}|{hours}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def _hours_since_epoch(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() // 3600) + 1  # round up: never expire early


def issue_token(
    secret: str, notification_id: int, request_id: str, approver: str, expires_at: datetime
) -> str:
    """Return the token for one approver's notification."""
    if not 0 < notification_id < 2 ** (8 * _ID_BYTES):
        raise ValueError(f"notification id out of range: {notification_id}")
    hours = min(_hours_since_epoch(expires_at), 2 ** (8 * _EXPIRY_BYTES) - 1)
    packed = (
        notification_id.to_bytes(_ID_BYTES, "big")
        + hours.to_bytes(_EXPIRY_BYTES, "big")
        + _signature(secret, notification_id, request_id, approver, hours)
    )
    return PREFIX + base64.b32encode(packed).decode().lower()


def decode_token(token: str) -> TokenClaims:
    """Unpack a token without trusting it. Raises InvalidToken if it is malformed."""
    match = TOKEN_PATTERN.fullmatch(token.strip())
    if not match:
        raise InvalidToken("token is not of the form apr-<24 base32 characters>")
    packed = base64.b32decode(match.group(1).upper())
    notification_id = int.from_bytes(packed[:_ID_BYTES], "big")
    hours = int.from_bytes(packed[_ID_BYTES : _ID_BYTES + _EXPIRY_BYTES], "big")
    return TokenClaims(
        notification_id=notification_id,
        expires_at=_EPOCH + timedelta(hours=hours),
        signature=packed[_ID_BYTES + _EXPIRY_BYTES :],
    )


def verify_token(
    secret: str, claims: TokenClaims, request_id: str, approver: str, now: datetime
) -> None:
    """Check the signature against what the database says, then the expiry.

    Raises InvalidToken when the signature does not match (forged, or moved to
    another request or approver) and ExpiredToken when it is past its expiry.
    """
    hours = _hours_since_epoch(claims.expires_at) - 1
    expected = _signature(secret, claims.notification_id, request_id, approver, hours)
    if not hmac.compare_digest(expected, claims.signature):
        raise InvalidToken("token signature does not match its request and approver")
    if now >= claims.expires_at:
        raise ExpiredToken(f"token expired at {claims.expires_at:%Y-%m-%d %H:%M} UTC")


# TOKEN_PATTERN without its lookbehind, tried only where a token can start: at one of the
# eight spellings of "apr-" (no other character matches these four ignoring case), found
# with str.find. A case-insensitive search steps through every character: a megabyte of
# log, or an attachment's text, costs several times more. find_tokens checks the lookbehind.
_TOKEN_AT = re.compile(_TOKEN, re.IGNORECASE)
_TOKEN_PRECEDER = re.compile(_NOT_AFTER, re.IGNORECASE)
_OPENINGS = tuple(f"{a}{p}{r}-" for a in "aA" for p in "pP" for r in "rR")


def find_tokens(text: str) -> list[str]:
    """Every distinct token in ``text``, in order of appearance, normalised to lower case."""
    seen: dict[str, None] = {}
    # Where each spelling next occurs at or after ``position`` (-1: nowhere).
    upcoming = [text.find(opening) for opening in _OPENINGS]
    while starts := [at for at in upcoming if at >= 0]:
        start = min(starts)
        match = _TOKEN_AT.match(text, start)
        if match is None or (start and _TOKEN_PRECEDER.match(text, start - 1)):
            position = start + 1  # as TOKEN_PATTERN: go on right after the rejected start
        else:
            seen.setdefault(PREFIX + match.group(1).lower(), None)
            position = match.end()
        upcoming = [
            text.find(opening, position) if 0 <= at < position else at
            for opening, at in zip(_OPENINGS, upcoming, strict=True)
        ]
    return list(seen)
