"""Approval tokens: bound to notification, request, approver and expiry by the secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approvals.errors import ExpiredToken, InvalidToken
from approvals.tokens import decode_token, find_tokens, issue_token, verify_token

SECRET = "a-test-secret-of-some-length"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=14)


def test_token_verifies_for_its_own_request_and_approver() -> None:
    token = issue_token(SECRET, 42, "req-1", "Alice@Example.com", LATER)
    claims = decode_token(token)
    assert claims.notification_id == 42
    verify_token(SECRET, claims, "req-1", "alice@example.com", NOW)


@pytest.mark.parametrize(
    ("request_id", "approver", "secret"),
    [
        ("req-2", "alice@example.com", SECRET),
        ("req-1", "mallory@example.com", SECRET),
        ("req-1", "alice@example.com", "another-secret-entirely"),
    ],
)
def test_token_moved_to_other_request_approver_or_secret_is_invalid(
    request_id: str, approver: str, secret: str
) -> None:
    claims = decode_token(issue_token(SECRET, 42, "req-1", "alice@example.com", LATER))
    with pytest.raises(InvalidToken):
        verify_token(secret, claims, request_id, approver, NOW)


def test_token_with_a_flipped_character_is_invalid() -> None:
    token = issue_token(SECRET, 42, "req-1", "alice@example.com", LATER)
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, decode_token(flipped), "req-1", "alice@example.com", NOW)


def test_token_with_extended_expiry_is_invalid() -> None:
    token = issue_token(SECRET, 42, "req-1", "alice@example.com", LATER)
    forged = issue_token("guessed-secret-xxxxxxxx", 42, "req-1", "alice@example.com", LATER)
    # Same id and expiry layout, other signature: the signature part differs.
    assert token[:16] == forged[:16] and token != forged
    with pytest.raises(InvalidToken):
        verify_token(SECRET, decode_token(forged), "req-1", "alice@example.com", NOW)


def test_token_past_its_expiry_is_expired() -> None:
    claims = decode_token(issue_token(SECRET, 42, "req-1", "alice@example.com", LATER))
    with pytest.raises(ExpiredToken):
        verify_token(SECRET, claims, "req-1", "alice@example.com", LATER + timedelta(hours=2))


def test_malformed_token_is_invalid() -> None:
    with pytest.raises(InvalidToken):
        decode_token("apr-not-a-token")


def test_tokens_are_found_in_any_case_and_deduplicated() -> None:
    token = issue_token(SECRET, 7, "r", "a@b.example", LATER)
    text = f"Re: x [{token.upper()}]\nTo: approvals+{token}@example.com\nref {token}"
    assert find_tokens(text) == [token]
    assert len(token) <= 64 - len("approvals+")  # fits a local part
