"""The reader's shortcuts give what the long way gives, and keep nothing past a message. Pure.

Each message's headers, part types and part texts are worked out once
(``mailparts.IndexedMessage``); plain From headers skip ``getaddresses``; the
token is unpacked once per reply; style sheets kept across messages are
bounded by the size of their CSS and collect no message's matches.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import compat32

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvals.inbox import BatchView, KnownNotification
from approvals.inbox.identify import notification_for
from approvals.replies import Verdict, mailparts, parse_reply, read_message
from approvals.replies import parsing as parsing_module
from approvals.replies.visibility import StyleBlock, _SheetCache, parse_stylesheet
from approvals.settings import EngineSettings
from approvals.tokens import PREFIX, TOKEN_PATTERN, TokenClaims, find_tokens, issue_token

# --- From headers: the fast path reads what getaddresses reads ----------------------------------

PIECES = [
    "Anna Approver", "anna@example.org", "<anna@example.org>", "A. Smith", "O'Brien-Jones",
    "alice@corp.com", "<bob@evil.com>", '"Smith, Bob"', "(comment)", ",", ";", ":", " ", "\t",
    "<", ">", "@", ".", "..", "a..b@x.org", "x@y", "=?utf-8?q?anna=40example.org?=",
    "undisclosed-recipients:;", "\\", "é", "_", "+tag",
]  # fmt: skip


def _library(value: str) -> list[str]:
    pairs = email.utils.getaddresses([value])
    return [address.strip().lower() for _, address in pairs if "@" in address]


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join))
def test_addresses_agree_with_getaddresses_on_pieces(value: str) -> None:
    assert mailparts.addresses([value]) == _library(value)


@given(st.text(alphabet="aZ09 .'-_+@<>\"(),;:\\\t", max_size=40))
def test_addresses_agree_with_getaddresses_on_arbitrary_text(value: str) -> None:
    assert mailparts.addresses([value]) == _library(value)


@pytest.mark.parametrize(
    "value",
    [
        "alice@corp.com <bob@evil.com>",  # CVE-2023-27043: two addresses, not the first
        "Alice <alice@corp.com>, Bob <bob@evil.com>",
    ],
)
def test_a_from_header_naming_two_addresses_has_no_sender(value: str) -> None:
    raw = f"From: {value}\r\nTo: approvals@example.test\r\n\r\nApproved\r\n".encode()
    assert parse_reply(raw).sender is None


# --- each part is read once per message ----------------------------------------------------------


def _alternative_reply() -> bytes:
    message = EmailMessage()
    message["From"] = "Anna <anna@example.org>"
    message["To"] = "approvals@example.test"
    message["Subject"] = "Re: Deploy"
    message.set_content("Approved\n")
    message.add_alternative("<p>Approved</p>", subtype="html", cte="base64")
    return message.as_bytes()


def test_each_part_is_decoded_once_per_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real = mailparts._decoded_text

    def counting(part: EmailMessage) -> str:
        decoded.append(mailparts.content_type(part))
        return real(part)

    monkeypatch.setattr(mailparts, "_decoded_text", counting)
    reply = parse_reply(_alternative_reply())
    assert reply.verdict is Verdict.APPROVE  # the HTML part was read, and agrees
    assert sorted(decoded) == ["multipart/alternative", "text/html", "text/plain"]


def test_read_message_keeps_what_the_email_package_reads() -> None:
    raw = _alternative_reply()
    ours, theirs = read_message(raw), BytesParser(policy=compat32).parsebytes(raw)
    assert [part.items() for part in ours.walk()] == [part.items() for part in theirs.walk()]
    assert all(isinstance(part, mailparts.IndexedMessage) for part in ours.walk())


def test_messages_from_elsewhere_are_read_without_keeping_anything() -> None:
    message = BytesParser(policy=compat32).parsebytes(_alternative_reply())
    assert mailparts.header(message, "FROM") == "Anna <anna@example.org>"
    assert mailparts.content_type(message) == "multipart/alternative"
    assert not isinstance(message, mailparts.IndexedMessage)


# --- the token: unpacked once per reply ----------------------------------------------------------

SECRET = "fast-path-secret-0123456789"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANNA = "anna@example.org"


def test_the_token_is_unpacked_once_per_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_token(SECRET, 7, "r" * 32, ANNA, NOW + timedelta(days=7))
    raw = f"From: {ANNA}\r\nTo: approvals+{token}@example.test\r\n\r\nApproved\r\n".encode()
    reply = parse_reply(raw)
    unpacked: list[str] = []
    real = parsing_module.decode_token

    def counting(text: str) -> TokenClaims:
        unpacked.append(text)
        return real(text)

    monkeypatch.setattr(parsing_module, "decode_token", counting)
    monkeypatch.setattr("approvals.inbox.identify.decode_token", _not_again)
    view = BatchView()
    view.add_notification(
        KnownNotification(
            id=7,
            request_id="r" * 32,
            kind="approval",
            approver=ANNA,
            message_id="n7@approvals.example.test",
            status="sent",
            created_at=NOW - timedelta(hours=1),
            mime=b"",
            seat=ANNA,
        )
    )
    settings = EngineSettings.model_validate(
        {
            "store": {"url": "sqlite://"},
            "tokens": {"secret": SECRET},
            "outbound": {"server": "m", "from": "Approvals <approvals@example.test>"},
            "inbound": {"server": "m"},
            "servers": {"m": {"type": "memory"}},
        }
    )
    assert reply.token_claims is not None and reply.token_claims.notification_id == 7
    assert notification_for(reply, view, settings, NOW).id == 7
    assert reply.token_claims is reply.token_claims
    assert unpacked == [token]


def _not_again(token: str) -> object:
    raise AssertionError("the token was unpacked a second time")


def test_a_reply_without_a_token_claims_nothing() -> None:
    assert parse_reply(b"From: a@b.example\r\n\r\nApproved\r\n").token_claims is None


# --- style sheets kept across messages -----------------------------------------------------------


def test_each_reading_of_a_kept_sheet_has_a_memo_of_its_own() -> None:
    blocks = [StyleBlock(".x { display: none }")]
    first, second = parse_stylesheet(blocks), parse_stylesheet(blocks)
    assert first.selectors is second.selectors  # parsed once
    assert first.matched is not second.matched


def test_kept_sheets_are_bounded_by_the_size_of_their_css() -> None:
    cache = _SheetCache(total_chars=100, sheet_chars=60)
    sheets = [(StyleBlock(f".c{n} {{ color: red; margin: {n}px }}"),) for n in range(20)]
    for blocks in sheets:
        cache.read(blocks)
    kept = cache._sheets
    assert 0 < sum(chars for _, chars in kept.values()) <= 100
    assert list(kept)[-1] == sheets[-1]  # the newest stays, the oldest went
    big = (StyleBlock(".big { color: red }" + " " * 100),)
    assert cache.read(big).selectors and big not in cache._sheets


# --- tokens: found at the spellings of "apr-", as the pattern finds them -------------------------

TOKEN_PIECES = [
    "apr-abcdefghijklmnopqrstuvwx", "aPr-ABCDEFGHIJKLMNOPQRSTUVWX", "ApR-", "apr-", "APR-", "aPR",
    "-", "x", "7", " ", "abcdefghijklmnopqrstuvwx", "\u212a", "\u017f", "é", "\ufffd",
]  # fmt: skip


@given(st.lists(st.sampled_from(TOKEN_PIECES), max_size=12).map("".join))
def test_find_tokens_finds_every_spelling_the_pattern_finds(text: str) -> None:
    expected = [PREFIX + m.group(1).lower() for m in TOKEN_PATTERN.finditer(text)]
    assert find_tokens(text) == list(dict.fromkeys(expected))
