"""mailparts.decode_header: the standard library's result, in linear time. Pure."""

from __future__ import annotations

import email.header

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvals.replies.mailparts import decode_header, decode_words

PIECES = [
    "=?utf-8?q?caf=C3=A9?=",
    "=?UTF-8?B?w6k=?=",
    "=?utf-8?b?w6?=",  # padding missing
    "=?utf-8?b?@@@?=",  # not base64
    "=?iso-8859-1?q?a_b?=",
    "=?utf-8?q? ?=",
    "=?utf-8?q?=E2=82?=",  # a character split over two words
    "=?utf-8?q?=AC?=",
    "=?x?Q??=",
    "=?",
    "?=",
    " ",
    "\t",
    "\n",
    "\r\n ",
    "plain",
    "é",
]


def _stdlib(header: str) -> object:
    try:
        return email.header.decode_header(header)
    except Exception as error:  # noqa: BLE001 - the error is part of what must agree
        return type(error)


def _ours(header: str) -> object:
    try:
        return decode_header(header)
    except Exception as error:  # noqa: BLE001
        return type(error)


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join))
def test_decode_header_agrees_with_the_standard_library(header: str) -> None:
    assert _ours(header) == _stdlib(header)


@given(st.text(alphabet="=?qQbB_ aé\t\nutf-8", max_size=40))
def test_decode_header_agrees_on_arbitrary_text(header: str) -> None:
    assert _ours(header) == _stdlib(header)


@pytest.mark.parametrize("count", [1, 2, 20_000])
def test_a_subject_of_many_encoded_words_decodes_whole(count: int) -> None:
    subject = " ".join(["=?utf-8?q?caf=C3=A9?="] * count)
    assert decode_words(subject) == "café" * count
