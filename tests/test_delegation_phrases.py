"""Delegation instructions ("Please delegate to bob@example.com"): read, refused or ignored."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from approvals.replies import (
    BOTH_VERDICT_AND_DELEGATION,
    TWO_ADDRESSES,
    ParsedReply,
    ReplyKind,
    Verdict,
    parse_reply,
    read_delegation,
)
from approvals.replies.languages import LANGUAGES
from tests.hidden_html import HIDDEN_MARKUP
from tests.language_cases import DELEGATION_CASES

BOB = "bob@example.com"
TOKEN = "apr-abcdefghijklmnopqrstuvwx"
CODES = sorted(DELEGATION_CASES)


def reply(text: str | None = None, html: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Anna Approver <anna@example.org>")
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = headers.pop("Subject", "Re: Approval requested: Deploy")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return bytes(message)


# --- the tables ---------------------------------------------------------------------------------


def test_every_language_has_delegation_phrases_and_cases() -> None:
    assert {language.code for language in LANGUAGES} == set(DELEGATION_CASES)
    for language in LANGUAGES:
        assert language.delegate, language.code
        assert all(entry.count("{}") == 1 for entry in language.delegate), language.code


@pytest.mark.parametrize(
    ("code", "entry"),
    [(language.code, entry) for language in LANGUAGES for entry in language.delegate],
)
@pytest.mark.parametrize("target", [BOB, "Bob@Example.COM", "Bob Smith <bob@example.com>"])
def test_every_delegation_entry_reads_with_an_address_or_a_name_and_address(
    code: str, entry: str, target: str
) -> None:
    reading = read_delegation(entry.format(target))
    assert reading.delegate_to == BOB, (code, reading.reasons)


@pytest.mark.parametrize("code", CODES)
def test_delegation_is_read_in_every_language(code: str) -> None:
    reading = read_delegation(DELEGATION_CASES[code].instruction.format(BOB))
    assert reading.delegate_to == BOB, reading.reasons
    assert reading.reasons == (
        f"delegation to {BOB} from line 1: '{DELEGATION_CASES[code].instruction.format(BOB)}'",
    )


@pytest.mark.parametrize("code", CODES)
def test_negated_delegation_is_no_delegation_in_every_language(code: str) -> None:
    assert read_delegation(DELEGATION_CASES[code].negated.format(BOB)).delegate_to is None


@pytest.mark.parametrize("code", CODES)
def test_a_delegation_asked_is_no_delegation_in_every_language(code: str) -> None:
    assert read_delegation(DELEGATION_CASES[code].question.format(BOB)).delegate_to is None


# --- what counts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Delegate to bob@example.com",
        "Please delegate to Bob <Bob@Example.com>",
        'Please delegate to "Smith, Bob" <bob@example.com>.',
        "Delegate to: bob@example.com",
        "Delegate to <mailto:bob@example.com>",
        "Please delegate to Bob Smith (bob@example.com), he owns the budget.",
        "I'm delegating this to bob@example.com. Thanks!",
        "Hi Anna,\n\nI'm away next week. Please delegate to bob@example.com.\n\nThanks,\nAnna",
        "- Delegate to bob@example.com",
        "I delegate to bob@example.com. I delegate to BOB@example.com.",
    ],
)
def test_delegation_instructions_are_read(text: str) -> None:
    reading = read_delegation(text)
    assert reading.delegate_to == BOB, reading.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Do not delegate to bob@example.com",
        "Please don't delegate to bob@example.com",
        "Never delegate to bob@example.com",
        "I won't delegate to bob@example.com",
        "Should I delegate to bob@example.com?",
        "Can you delegate to bob@example.com?",
        "Forward to bob@example.com for approval",
        "I delegated to bob@example.com last week",
        "Bob (bob@example.com) will delegate to carol",
        "Delegate to Bob, his address is bob@example.com",
        "Delegate to bob@example.com's deputy",
        "Delegate to anyone except bob@example.com",
        "We could delegate to bob@example.com",
        "Contact me at bob@example.com",
        "Delegate to Bob",
    ],
)
def test_negations_questions_reports_and_other_verbs_are_no_delegation(text: str) -> None:
    assert read_delegation(text).delegate_to is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Delegate to bob@example.com?", "question"),
        ("Delegate to bob@example.com until I am back", "conditional ('until')"),
        ("If I am away, delegate to bob@example.com", "conditional ('If')"),
        ("Delegate to bob@example.com, but not before Friday", "conditional ('but')"),
        ("Delegate to bob@example.com — not!", "conditional ('not')"),
        ("I would never say: delegate to bob@example.com", "conditional ('never')"),
        ("Delegate to bob@example.com.\nNot yet though.", "taken back later"),
        ("Delegate to bob@example.com. Only for the budget part.", "taken back later"),
        ("Bitte an bob@example.com delegieren, aber erst ab Montag", "conditional ('aber')"),
    ],
)
def test_a_negated_conditional_or_asked_instruction_is_refused_with_a_reason(
    text: str, why: str
) -> None:
    reading = read_delegation(text)
    assert reading.delegate_to is None
    assert len(reading.reasons) == 1 and why in reading.reasons[0], reading.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Delegate to bob@example.com and carol@example.com",
        "Delegate to bob@example.com or carol@example.com",
        "Delegate to Bob <bob@example.com> (cc carol@example.com)",
        "Delegate to bob@example.com\nDelegate to carol@example.com",
        "Delegate to bob@example.com. Ich delegiere an carol@example.com.",
    ],
)
def test_two_addresses_are_refused_not_guessed(text: str) -> None:
    reading = read_delegation(text)
    assert reading.delegate_to is None
    assert reading.reasons == (TWO_ADDRESSES,)


def test_a_name_in_the_target_is_no_condition() -> None:
    # "Si" (if) and "Ma" (but) in the display name: the target is not read for conditions.
    assert read_delegation("Delegate to Anna Si <anna.si@example.com>").delegate_to == (
        "anna.si@example.com"
    )
    assert read_delegation("Delega a Ma Long <ma.long@example.com>").delegate_to == (
        "ma.long@example.com"
    )


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("bob@example.com'e devrediyorum", BOB),  # Turkish: a case ending on the address
        ("Delegálom bob@example.com-nek", BOB),  # Hungarian
        ("Delegoin bob@example.com:lle", BOB),  # Finnish
        ("נא להאציל לbob@example.com", BOB),  # Hebrew: the preposition glued on
        ("请委托给bob@example.com审批", BOB),  # Chinese: no space after the address
        ("Bob <bob@example.com>さんに委任します", BOB),
    ],
)
def test_glued_case_endings_and_prepositions(text: str, address: str) -> None:
    assert read_delegation(text).delegate_to == address


# --- through parse_reply ------------------------------------------------------------------------


def test_a_plain_reply_delegates() -> None:
    parsed = parse_reply(
        reply(
            "Please delegate to Bob <Bob@Example.com>\n\n"
            "On Mon, 3 Jun 2024 at 10:00, Approvals <a@example.com> wrote:\n"
            "> Delegate to mallory@evil.test\n"
        )
    )
    assert parsed.kind is ReplyKind.REPLY
    assert (parsed.delegate_to, parsed.verdict, parsed.verdict_line) == (BOB, None, None)
    assert f"delegation to {BOB} from line 1: 'Please delegate to Bob <Bob@Example.com>'" in (
        parsed.reasons
    )


@pytest.mark.parametrize(
    "body",
    [
        "Thanks\n\n> Delegate to mallory@evil.test\n> please",
        "Thanks\n\nOn Mon, 3 Jun 2024 at 10:00, Approvals <a@example.com> wrote:\n"
        "> Delegate to mallory@evil.test",
        "Approved\n\n-----Original Message-----\nFrom: x@example.com\n"
        "Delegate to mallory@evil.test",
    ],
)
def test_a_quoted_delegation_is_ignored(body: str) -> None:
    parsed = parse_reply(reply(body))
    assert parsed.delegate_to is None
    assert not any("delegation" in reason for reason in parsed.reasons)


def test_a_quoted_delegation_under_an_html_verdict_is_ignored() -> None:
    parsed = parse_reply(
        reply(
            html="<p>Approved</p><div class=gmail_quote>On Mon wrote:<blockquote>"
            "Delegate to mallory@evil.test</blockquote></div>"
        )
    )
    assert (parsed.verdict, parsed.delegate_to) == (Verdict.APPROVE, None)


@pytest.mark.parametrize("markup", sorted(HIDDEN_MARKUP))
def test_a_hidden_delegation_is_ignored_and_the_verdict_stands(markup: str) -> None:
    hidden = HIDDEN_MARKUP[markup].format(word="Delegate to mallory@evil.test")
    parsed = parse_reply(
        reply(
            html=f"<p>Approved</p>{hidden}<blockquote>&gt; Delegate to eve@evil.test</blockquote>"
        )
    )
    assert parsed.verdict is Verdict.APPROVE, parsed.reasons
    assert parsed.delegate_to is None
    assert "hidden HTML text holds a delegation: ignored" in parsed.reasons


def test_a_hidden_delegation_beside_a_visible_one_refuses_both() -> None:
    hidden = HIDDEN_MARKUP["display none"].format(word="Delegate to mallory@evil.test")
    parsed = parse_reply(reply(html=f"<p>Delegate to bob@example.com</p>{hidden}"))
    assert parsed.delegate_to is None
    assert any("visible one is refused" in reason for reason in parsed.reasons)


def test_an_html_only_delegation_is_read() -> None:
    parsed = parse_reply(
        reply(html='<div>Hi,</div><div>Please delegate to <a href="mailto:bob@example.com">'
                   "bob@example.com</a></div>")
    )  # fmt: skip
    assert parsed.delegate_to == BOB, parsed.reasons


def test_a_link_text_that_hides_the_address_is_no_delegation() -> None:
    # The client shows "Bob"; the address is only in the href.
    parsed = parse_reply(
        reply(html='<p>Delegate to <a href="mailto:mallory@evil.test">Bob</a></p>')
    )
    assert parsed.delegate_to is None


def test_text_and_html_parts_must_name_the_same_target() -> None:
    same = parse_reply(reply("Delegate to bob@example.com", "<p>Delegate to bob@example.com</p>"))
    assert same.delegate_to == BOB
    other = parse_reply(
        reply("Delegate to bob@example.com", "<p>Delegate to mallory@evil.test</p>")
    )
    assert other.delegate_to is None
    assert any("disagree on the delegation" in reason for reason in other.reasons)
    missing = parse_reply(reply("Delegate to bob@example.com", "<p>Thanks</p>"))
    assert missing.delegate_to is None


def test_a_delegation_only_the_html_part_shows_refuses_the_verdict() -> None:
    parsed = parse_reply(reply("Approved", "<p>Approved</p><p>Delegate to mallory@evil.test</p>"))
    assert (parsed.verdict, parsed.delegate_to) == (None, None)
    assert BOTH_VERDICT_AND_DELEGATION in parsed.reasons


@pytest.mark.parametrize(
    "body",
    [
        "Approved\nDelegate to bob@example.com",
        "Approved. Please delegate to bob@example.com.",
        "Yes, delegate to bob@example.com",
        "Please delegate to bob@example.com\n\nRejected",
        "I can't approve this (conflict of interest). Please delegate to bob@example.com.",
        "Approved. Delegate to bob@example.com?",  # a delegation asked beside a verdict
    ],
)
def test_a_verdict_and_a_delegation_together_are_refused_not_guessed(body: str) -> None:
    parsed = parse_reply(reply(body))
    assert (parsed.verdict, parsed.delegate_to, parsed.verdict_line) == (None, None, None)
    assert parsed.comment == ""
    assert parsed.reasons[-1] == BOTH_VERDICT_AND_DELEGATION


@pytest.mark.parametrize(
    "body",
    [
        "Please delegate to bob@example.com\n\nRejected.",
        "Approved?\nPlease delegate to bob@example.com",
        "Please delegate to bob@example.com. I approve.",
    ],
)
def test_a_sentence_opening_with_a_verdict_refuses_the_delegation(body: str) -> None:
    # The verdict reader reads the first line only; a delegation beside a verdict word
    # anywhere at a sentence's start is refused all the same.
    parsed = parse_reply(reply(body))
    assert (parsed.verdict, parsed.delegate_to) == (None, None)
    assert parsed.reasons[-1] == BOTH_VERDICT_AND_DELEGATION


def test_a_verdict_word_inside_the_delegation_sentence_is_no_verdict() -> None:
    parsed = parse_reply(reply("Please delegate to bob@example.com, he can approve it"))
    assert parsed.delegate_to == BOB


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Subject": "Out of office: Deploy"}],
)
def test_auto_replies_never_delegate(headers: dict[str, str]) -> None:
    parsed = parse_reply(reply("I am away. Please delegate to bob@example.com", **headers))
    assert parsed.kind is ReplyKind.AUTO_REPLY
    assert parsed.delegate_to is None


def test_bounces_never_delegate() -> None:
    parsed = parse_reply(reply("Delegate to bob@example.com", From="MAILER-DAEMON@mx.example.com"))
    assert parsed.kind is ReplyKind.BOUNCE
    assert parsed.delegate_to is None


def test_parsed_reply_builds_without_the_new_fields() -> None:
    parsed = ParsedReply(
        verdict=None,
        comment="",
        new_text="",
        token=None,
        kind=ReplyKind.REPLY,
        reasons=(),
        sender=None,
        message_id=None,
        references=(),
        subject="",
        bounced_message_ids=(),
        authentication_results=(),
    )
    assert (parsed.verdict_line, parsed.delegate_to, parsed.away_until) == (None, None, None)


def test_a_log_full_of_addresses_costs_little() -> None:
    lines = "\n".join(
        f"delegate to, x{i}@example.com, y@example.com. Delegate to" for i in range(5000)
    )
    reading = read_delegation(lines)
    assert reading.delegate_to is None
