"""Every kind of mail from the theme's templates, in English and German. No mail server.

The token's three places in every mail that asks for a decision, the reader
finding token and verdict in a reply quoting a German mail, threading of
reminders and notices, the language and theme fallbacks, start-up checks of
incomplete themes, template errors and HTML escaping; answers and receipts
through ``answers.compose``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from approvals.inbox import answers
from approvals.inbox.view import KnownNotification
from approvals.mails import (
    PACKAGED_TEMPLATES,
    MailKind,
    language_folders,
    missing_mail_templates,
    render_mail,
    render_notice_mail,
    render_request_mail,
)
from approvals.models import NotificationKind
from approvals.replies import parse_reply
from approvals.replies.verdicts import Verdict
from approvals.settings import OutboundSettings
from approvals.tokens import issue_token
from mailio.devservers.approver import compose_reply
from mailio.errors import ConfigError
from tests.engine_setup import SECRET
from tests.memory_setup import memory_engine_settings

TEMPLATES = PACKAGED_TEMPLATES
ENGINE = "approvals@example.test"
ALICE, BOB = "alice@example.test", "bob@example.test"
EXPIRES = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 4, 28, 17, 30, tzinfo=UTC)
OUTBOUND = OutboundSettings.model_validate(
    {"server": "smtp", "from": f"Approvals <{ENGINE}>", "reply_to": ENGINE}
)
DECISION_KINDS = [MailKind.APPROVAL, MailKind.REMINDER, MailKind.ESCALATION, MailKind.DELEGATION]
TOKEN = issue_token(SECRET, 41, "req-7", BOB, EXPIRES)
REFERENCE = TOKEN.upper()


@dataclass(frozen=True)
class Sample:
    """What a mail of one kind in one language says, and how it is called."""

    english: str
    german: str
    notice_context: Mapping[str, Any] | None = None  # None: a mail asking for a decision


SAMPLES = {
    MailKind.APPROVAL: Sample("Your approval is requested for:", "Ihre Genehmigung wird angefragt"),
    MailKind.REMINDER: Sample("This is a reminder (number 2)", "dies ist eine Erinnerung (Nr. 2)"),
    MailKind.ESCALATION: Sample("escalated to you", "an Sie eskaliert"),
    MailKind.DELEGATION: Sample(
        f"You decide on behalf of {ALICE}, who is away.",
        f"Sie entscheiden in Vertretung für {ALICE} (abwesend).",
    ),
    MailKind.CLOSED: Sample(
        "It was approved without your decision.",
        "Sie wurde ohne Ihre Entscheidung genehmigt.",
        {"status": "approved"},
    ),
    MailKind.ANSWER: Sample(
        "Your reply could not be recorded:\n\n    no verdict in the first line",
        "Ihre Antwort konnte nicht erfasst werden:\n\n    no verdict in the first line",
        {"reason": "no verdict in the first line"},
    ),
    MailKind.RECEIPT: Sample(
        f"Recorded: rejected by {BOB}.\nYour comment: not before Monday\n",
        f"Ihre Entscheidung wurde erfasst: abgelehnt von {BOB}.\n"
        "Ihr Kommentar: not before Monday\n",
        {"approver": BOB, "verdict": "reject", "comment": "not before Monday"},
    ),
}


def _parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str | None:
    part = message.get_body(("html",))
    return None if part is None else str(part.get_content())


def _request_mail(
    kind: MailKind,
    language: str | None,
    *,
    templates_dir: Path = TEMPLATES,
    theme: str = "default",
    title: str = "Deploy 4.2 to Köln",
    outbound: OutboundSettings = OUTBOUND,
) -> EmailMessage:
    return _parsed(
        render_request_mail(
            kind,
            outbound=outbound,
            templates_dir=templates_dir,
            theme=theme,
            language=language,
            request_id="req-7",
            title=title,
            details={"Version": "4.2.0", "Kosten": "1.200 €"},
            approver=BOB,
            approver_name="Bob Builder",
            token=TOKEN,
            expires_at=EXPIRES,
            message_id="apr.reminder@example.test",
            due_at=DUE if kind is MailKind.ESCALATION else None,
            on_behalf_of=ALICE if kind is MailKind.DELEGATION else None,
            delegation_reason="away" if kind is MailKind.DELEGATION else None,
            reminder_number=2 if kind is MailKind.REMINDER else None,
            in_reply_to="apr.first@example.test" if kind is MailKind.REMINDER else None,
        )
    )


def _notice_mail(
    kind: MailKind, language: str | None, context: Mapping[str, Any], **headers: Any
) -> EmailMessage:
    return _parsed(
        render_notice_mail(
            kind,
            outbound=OUTBOUND,
            templates_dir=TEMPLATES,
            theme="default",
            language=language,
            to=BOB,
            title="Deploy 4.2 to Köln",
            request_id="req-7",
            message_id="apr.notice@example.test",
            context=context,
            **headers,
        )
    )


def _mail(kind: MailKind, language: str | None) -> EmailMessage:
    context = SAMPLES[kind].notice_context
    if context is None:
        return _request_mail(kind, language)
    return _notice_mail(kind, language, context, in_reply_to="apr.first@example.test")


@pytest.mark.parametrize("language", [None, "de"])
@pytest.mark.parametrize("kind", list(MailKind))
def test_every_kind_renders_in_english_and_german(kind: MailKind, language: str | None) -> None:
    message = _mail(kind, language)

    sample = SAMPLES[kind]
    expected, other = (sample.german, sample.english) if language else (sample.english, None)
    assert expected in _text(message)
    assert other is None or other not in _text(message)
    html = _html(message)
    if kind in (MailKind.ANSWER, MailKind.RECEIPT):  # replies in a thread: text only
        assert html is None and message.get_content_type() == "text/plain"
    else:
        assert html is not None and " ".join(expected.split()) in " ".join(html.split())
        assert f'<html lang="{language or "en"}">' in html


@pytest.mark.parametrize("language", [None, "de"])
@pytest.mark.parametrize("kind", DECISION_KINDS)
def test_a_mail_asking_for_a_decision_keeps_the_token_in_its_three_places(
    kind: MailKind, language: str | None
) -> None:
    message = _request_mail(kind, language)

    assert message["Subject"].endswith(f"[{REFERENCE}]")
    assert message["Reply-To"] == f"approvals+{TOKEN}@example.test"
    assert f"\nApproval reference: {REFERENCE}\n" in _text(message)
    html = _html(message)
    assert html is not None and f"Approval reference: {REFERENCE}" in html
    assert message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("answer", ["Approved", "Genehmigt", "Abgelehnt - der Changelog fehlt"])
@pytest.mark.parametrize("kind", DECISION_KINDS)
def test_a_reply_quoting_the_german_mail_gives_the_token_and_the_verdict(
    kind: MailKind, answer: str
) -> None:
    reply = compose_reply(_request_mail(kind, "de"), BOB, answer)

    parsed = parse_reply(reply.as_bytes())

    assert parsed.token == TOKEN
    expected = Verdict.REJECT if answer.startswith("Abgelehnt") else Verdict.APPROVE
    assert parsed.verdict is expected


@pytest.mark.parametrize("language", [None, "de"])
@pytest.mark.parametrize("kind", DECISION_KINDS)
def test_an_empty_reply_reads_no_verdict_from_the_subject(
    kind: MailKind, language: str | None
) -> None:
    """No subject of ours holds a verdict word: an empty reply decides nothing."""
    reply = compose_reply(_request_mail(kind, language), BOB, "", quote=False)

    parsed = parse_reply(reply.as_bytes())

    assert parsed.token == TOKEN and parsed.verdict is None


def test_a_reminder_threads_under_the_notification() -> None:
    reminder = _request_mail(MailKind.REMINDER, "de")

    assert reminder["In-Reply-To"] == "<apr.first@example.test>"
    assert reminder["References"] == "<apr.first@example.test>"
    assert reminder["Subject"].startswith("Erinnerung: ")


def test_a_notice_threads_and_carries_no_token() -> None:
    closed = _notice_mail(
        MailKind.CLOSED,
        None,
        {"status": "cancelled", "reason": "The release was called off."},
        in_reply_to="apr.first@example.test",
    )

    assert closed["In-Reply-To"] == "<apr.first@example.test>"
    assert closed["Subject"] == "No action needed: Deploy 4.2 to Köln"
    assert closed["Reply-To"] is None and closed["Auto-Submitted"] == "auto-generated"
    assert "It was cancelled.\n\n    The release was called off.\n" in _text(closed)
    assert parse_reply(closed.as_bytes()).token is None


@pytest.mark.parametrize(
    ("language", "greeting"),
    [("de-CH", "Guten Tag Bob Builder,"), ("de_ch", "Guten Tag"), ("DE", "Guten Tag"),
     ("fr", "Hello Bob Builder,"), ("fr-CA", "Hello"), (None, "Hello"), ("", "Hello")],
)  # fmt: skip
def test_a_language_falls_back_to_its_parent_then_to_english(
    language: str | None, greeting: str
) -> None:
    assert _text(_request_mail(MailKind.APPROVAL, language)).startswith(greeting)


@pytest.mark.parametrize(
    ("language", "folders"),
    [("de", ("de",)), ("de-CH", ("de-CH", "de")), ("zh-hant-tw", ("zh-Hant-TW", "zh-Hant", "zh")),
     (None, ())],
)  # fmt: skip
def test_language_folders_are_tried_most_specific_first(
    language: str | None, folders: tuple[str, ...]
) -> None:
    assert language_folders(language) == folders


@pytest.mark.parametrize("language", ["../de", "de/../../etc", "d", "deutsch", "de CH"])
def test_a_language_that_is_no_tag_is_refused(language: str) -> None:
    with pytest.raises(ValueError, match="is not a language tag"):
        _request_mail(MailKind.APPROVAL, language)


def _theme(templates_dir: Path, name: str, files: Mapping[str, str]) -> None:
    for path, text in files.items():
        (templates_dir / name / path).parent.mkdir(parents=True, exist_ok=True)
        (templates_dir / name / path).write_text(text, encoding="utf-8")


BRAND_APPROVAL = {
    "subject.txt": "[ACME] {{ title }} [{{ reference }}]",
    "body.txt": "ACME approval: {{ title }}\nApproval reference: {{ reference }}\n",
    "body.html": "<p>ACME approval: {{ title }}</p>",
}


def test_a_theme_without_a_kind_is_reported_by_every_missing_path(tmp_path: Path) -> None:
    _theme(tmp_path, "brand", BRAND_APPROVAL | {"reminder/subject.txt": "Reminder"})
    (tmp_path / "default").mkdir()  # an own default/, even empty, replaces the packaged one

    missing = missing_mail_templates(tmp_path, "brand")

    brand = tmp_path / "brand"
    expected = [brand / "reminder" / "body.txt", brand / "reminder" / "body.html"]
    for kind in ("escalation", "delegation", "closed"):
        expected += [brand / kind / name for name in ("subject.txt", "body.txt", "body.html")]
    for kind in ("answer", "receipt"):
        expected += [brand / kind / name for name in ("subject.txt", "body.txt")]
    assert missing == [str(path) for path in expected]
    assert missing_mail_templates(tmp_path, "nowhere")[:3] == [
        str(tmp_path / "nowhere" / name) for name in ("subject.txt", "body.txt", "body.html")
    ]


def test_plain_text_only_needs_no_html_template(tmp_path: Path) -> None:
    _theme(tmp_path, "brand", {"subject.txt": "{{ title }}", "body.txt": "{{ reference }}"})

    missing = missing_mail_templates(tmp_path, "brand", plain_text_only=True)

    assert str(tmp_path / "brand" / "body.html") not in missing
    assert not [path for path in missing if path.endswith(".html")]


def test_the_shipped_default_theme_is_complete() -> None:
    assert missing_mail_templates(TEMPLATES, "default") == []
    assert missing_mail_templates(TEMPLATES, "default", plain_text_only=True) == []


def test_a_theme_borrows_the_kinds_it_lacks_from_the_default_beside_it(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES / "default", tmp_path / "default")
    _theme(tmp_path, "brand", BRAND_APPROVAL)

    assert missing_mail_templates(tmp_path, "brand") == []
    approval = _request_mail(MailKind.APPROVAL, "de", templates_dir=tmp_path, theme="brand")
    reminder = _request_mail(MailKind.REMINDER, "de", templates_dir=tmp_path, theme="brand")
    assert approval["Subject"].startswith("[ACME] ")  # the theme's own, in its only language
    assert reminder["Subject"].startswith("Erinnerung: ")  # the default's, in German


def test_a_half_translated_folder_is_reported_and_never_mixed(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES / "default", tmp_path / "default")
    _theme(tmp_path, "default", {"fr/reminder/subject.txt": "Rappel : {{ title }}"})

    assert missing_mail_templates(tmp_path, "default") == [
        str(tmp_path / "default" / "fr" / "reminder" / name) for name in ("body.txt", "body.html")
    ]
    with pytest.raises(
        ConfigError, match=r"fr/reminder/body\.(txt|html): template file is missing"
    ):
        _request_mail(MailKind.REMINDER, "fr", templates_dir=tmp_path)


def test_a_region_folder_is_chosen_before_its_language(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES / "default", tmp_path / "default")
    shutil.copytree(TEMPLATES / "default" / "de" / "answer", tmp_path / "default/de-CH/answer")
    (tmp_path / "default/de-CH/answer/body.txt").write_text("Grüezi: {{ reason }}\n")

    parts = render_mail(
        MailKind.ANSWER,
        templates_dir=tmp_path,
        theme="default",
        language="de-CH",
        context={"reason": "kein Entscheid", "thread_subject": "Re: x"},
    )

    assert parts.text == "Grüezi: kein Entscheid\n" and parts.html is None


def test_a_kind_found_nowhere_names_every_folder_looked_in(tmp_path: Path) -> None:
    _theme(tmp_path, "brand", BRAND_APPROVAL)
    (tmp_path / "default").mkdir()  # an own default/, even empty, replaces the packaged one

    with pytest.raises(ConfigError) as refused:
        _request_mail(MailKind.ESCALATION, "de", templates_dir=tmp_path, theme="brand")

    message = str(refused.value)
    for folder in ("brand/de/escalation", "brand/escalation", "default/escalation"):
        assert str(tmp_path / folder) in message


@pytest.mark.parametrize(
    ("text", "line", "error"),
    [("Hello,\n\n{{ approver_nme }}\n", 3, "'approver_nme' is undefined"),
     ("Hello,\n{% if due_at %}\n", 2, "Unexpected end of template")],
)  # fmt: skip
def test_a_template_error_names_the_file_and_the_line(
    tmp_path: Path, text: str, line: int, error: str
) -> None:
    shutil.copytree(TEMPLATES / "default", tmp_path / "default")
    (tmp_path / "default" / "de" / "reminder" / "body.txt").write_text(text)

    with pytest.raises(ConfigError) as refused:
        _request_mail(MailKind.REMINDER, "de", templates_dir=tmp_path)

    path = tmp_path / "default" / "de" / "reminder" / "body.txt"
    assert str(refused.value).startswith(f"{path}, line {line}: ")
    assert error in str(refused.value)


@pytest.mark.parametrize("language", [None, "de"])
def test_html_escapes_a_title_the_text_keeps_it(language: str | None) -> None:
    title = "<script>alert('x')</script> & more"

    message = _request_mail(MailKind.DELEGATION, language, title=title)

    html = _html(message)
    assert html is not None and "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in html
    assert title in _text(message) and title in message["Subject"]


def test_plain_text_only_sends_no_html() -> None:
    outbound = OUTBOUND.model_copy(update={"plain_text_only": True})

    message = _request_mail(MailKind.ESCALATION, "de", outbound=outbound)

    assert message.get_content_type() == "text/plain"
    assert "Approval reference: " + REFERENCE in _text(message)


@pytest.mark.parametrize(
    ("kind", "changes", "error"),
    [(MailKind.CLOSED, {}, "asks for no decision"),
     (MailKind.DELEGATION, {"on_behalf_of": None}, "give on_behalf_of"),
     (MailKind.DELEGATION, {"delegation_reason": "holiday"}, "delegation_reason")],
)  # fmt: skip
def test_a_request_mail_refuses_what_it_cannot_say(
    kind: MailKind, changes: dict[str, Any], error: str
) -> None:
    arguments: dict[str, Any] = {
        "outbound": OUTBOUND,
        "templates_dir": TEMPLATES,
        "theme": "default",
        "language": None,
        "request_id": "req-7",
        "title": "Deploy",
        "details": {},
        "approver": BOB,
        "approver_name": "",
        "token": TOKEN,
        "expires_at": EXPIRES,
        "message_id": "apr.x@example.test",
        "on_behalf_of": ALICE,
    }
    with pytest.raises(ValueError, match=error):
        render_request_mail(kind, **(arguments | changes))


@pytest.mark.parametrize(
    ("kind", "context", "error"),
    [(MailKind.REMINDER, {}, "asks for a decision"),
     (MailKind.CLOSED, {}, "needs status"),
     (MailKind.CLOSED, {"status": "pending"}, "not \"pending\""),
     (MailKind.RECEIPT, {"approver": BOB, "verdict": "maybe"}, "not \"maybe\"")],
)  # fmt: skip
def test_a_notice_refuses_a_context_it_cannot_say(
    kind: MailKind, context: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        _notice_mail(kind, None, context)


def test_an_approval_mail_without_a_deadline_names_the_tokens_expiry() -> None:
    raw = render_request_mail(
        MailKind.APPROVAL,
        outbound=OUTBOUND,
        templates_dir=TEMPLATES,
        theme="default",
        language=None,
        request_id="req-7",
        title="Deploy",
        details={},
        approver=BOB,
        approver_name="",
        token=TOKEN,
        expires_at=EXPIRES,
        message_id="apr.first@example.test",
    )

    message = _parsed(raw)
    assert message["Subject"] == f"Approval requested: Deploy [{REFERENCE}]"
    assert message["In-Reply-To"] is None
    assert "This request expires on 2026-05-01 12:00 UTC." in _text(message)


def _answered(language: str | None, text: answers.NoticeText) -> EmailMessage:
    """``answers.compose`` for Bob's reply "Hmm?" to his German notification."""
    notification = _request_mail(MailKind.APPROVAL, "de")
    reply = parse_reply(compose_reply(notification, BOB, "Hmm?").as_bytes())
    known = KnownNotification(
        id=41,
        request_id="req-7",
        kind=NotificationKind.APPROVAL.value,
        approver=BOB,
        message_id="apr.reminder@example.test",
        status="sent",
        created_at=EXPIRES,
        mime=notification.as_bytes(),
    )
    settings = memory_engine_settings("sqlite://")
    kind = NotificationKind(text.kind.value)
    row = answers.compose(settings, known, reply, kind, text, EXPIRES, language=language)
    assert row["kind"] == kind.value and row["request_id"] == "req-7"
    message = _parsed(row["mime"])
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Reply-To"] == notification["Reply-To"]
    assert message["In-Reply-To"] == f"<{reply.message_id}>"
    assert message["References"] == f"<apr.reminder@example.test> <{reply.message_id}>"
    assert message["Subject"] == f"Re: {notification['Subject']}"
    return message


@pytest.mark.parametrize(
    ("language", "expected"),
    [(None, "Your reply could not be recorded:\n\n    no verdict\n\nTo decide, reply"),
     ("de", "Ihre Antwort konnte nicht erfasst werden:\n\n    no verdict\n\nUm zu entscheiden")],
)  # fmt: skip
def test_an_answer_is_rendered_in_the_language_of_the_request(
    language: str | None, expected: str
) -> None:
    message = _answered(language, answers.answer_text("no verdict"))

    assert message.get_content_type() == "text/plain"
    assert _text(message).startswith(expected)


def test_a_receipt_says_the_verdict_and_the_comment() -> None:
    english = _answered(None, answers.receipt_text(BOB, "approve", "ship it Monday"))
    german = _answered("de", answers.receipt_text(BOB, "approve", ""))

    assert _text(english) == f"Recorded: approved by {BOB}.\nYour comment: ship it Monday\n"
    assert _text(german) == f"Ihre Entscheidung wurde erfasst: genehmigt von {BOB}.\n"
