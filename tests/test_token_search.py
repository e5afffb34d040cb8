"""tokens.find_tokens: what TOKEN_PATTERN finds, found faster. Pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from approvals.tokens import PREFIX, TOKEN_PATTERN, find_tokens

TOKEN = "apr-abcdefghijklmnopqrstuvwx"
PIECES = [TOKEN, TOKEN.upper(), "apr-", "APR-", "x", "7", " ", "-", "abcdefghijklmnopqrstuvwx2"]
PIECES += ["\u212a", "\u017f", "\u0130", "é", "+", "[", "]"]  # letters that fold into a-z


def _reference(text: str) -> list[str]:
    return list(dict.fromkeys(PREFIX + m.group(1).lower() for m in TOKEN_PATTERN.finditer(text)))


@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join))
def test_find_tokens_finds_what_the_pattern_finds(text: str) -> None:
    assert find_tokens(text) == _reference(text)


def test_a_token_inside_a_longer_word_is_none_and_the_search_goes_on() -> None:
    assert find_tokens(f"x{TOKEN} reply to approvals+{TOKEN}@example.com") == [TOKEN]
    assert find_tokens(f"7{TOKEN} {TOKEN}7") == []
