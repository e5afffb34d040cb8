"""The reply corpus (/work/shared/corpus/replies): new-text extraction and verdicts built on it.

Scoring follows the corpus README: each case's "compare" rule; cases flagged
expected_keeps_signature (talon keeps signatures, we cut them) pass when our
text is a non-empty prefix of the expected text after that rule. Cases with
raw_eml go through parse_reply, the rest through extract_new_text.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest

from approvals.replies import Verdict, extract_new_text, parse_reply
from tests.hidden_html import HIDDEN_MARKUP
from tests.language_cases import VERDICT_LINES_BY_LANGUAGE

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "replies"
MIN_PASS_RATE = 0.95

TOKEN = "apr-abcdefghijklmnopqrstuvwx"
LINK = f"mailto:approvals+{TOKEN}@example.com"
REFERENCE = "APR-ABCDEFGHIJKLMNOPQRSTUVWX"
NOTIFICATION_LINES = (
    "Approval requested: Deploy release 1.2",
    "To approve, reply with APPROVE on the first line. To reject, reply with REJECT and a reason.",
    f"Approve: {LINK}?subject=APPROVE%20%5B{REFERENCE}%5D&body=APPROVE",
    f"Reject: {LINK}?subject=REJECT%20%5B{REFERENCE}%5D&body=REJECT",
    f"Approval reference: {REFERENCE}",
)
VERDICT_LINES = (
    ("APPROVE", Verdict.APPROVE),
    ("REJECT", Verdict.REJECT),
    ("Approved, ship it", Verdict.APPROVE),
    ("Reject: wrong version", Verdict.REJECT),
    ("Genehmigt.", Verdict.APPROVE),
    ("Nein, abgelehnt – falsche Version", Verdict.REJECT),
    ("Oui, approuvé", Verdict.APPROVE),
    ("Refusé : mauvaise version", Verdict.REJECT),
    ("Sí, aprobado", Verdict.APPROVE),
    ("No aprobado, falta el presupuesto", Verdict.REJECT),
    ("Akkoord", Verdict.APPROVE),
    ("Afgewezen", Verdict.REJECT),
    ("Approvato!", Verdict.APPROVE),
    ("Rifiutato - versione sbagliata", Verdict.REJECT),
    ("Aprovado", Verdict.APPROVE),
    ("Não aprovado", Verdict.REJECT),
    ("LGTM", Verdict.APPROVE),
    ("not approved", Verdict.REJECT),
    ("ok", Verdict.APPROVE),
    ("Declined.", Verdict.REJECT),
)


@dataclass(frozen=True)
class Case:
    name: str
    data: dict[str, object]

    @property
    def body(self) -> str:
        return str(self.data["body"])

    @property
    def expected(self) -> str:
        return str(self.data["expected_new_text"])

    @property
    def is_html(self) -> bool:
        return self.data.get("format") == "html"

    @property
    def flags(self) -> list[str]:
        flags = self.data.get("flags") or []
        return [str(flag) for flag in flags] if isinstance(flags, list) else []


@cache
def load_cases() -> tuple[Case, ...]:
    cases_dir = CORPUS / "cases"
    if not cases_dir.is_dir():
        pytest.fail(
            f"reply corpus not found at {cases_dir}: it is expected beside the repository, "
            "at <repo>/../shared/corpus/replies/cases/*.json"
        )
    cases = tuple(
        Case(path.name, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(cases_dir.glob("*.json"))
    )
    if not cases:
        pytest.fail(f"reply corpus at {cases_dir} holds no *.json cases")
    return cases


def normalise(case: Case, text: str) -> str:
    rule = str(case.data.get("compare", ""))
    text = text.replace("\r\n", "\n")
    if "whitespace-insensitive" in rule:
        return re.sub(r"\s+", "", text)
    if "normalize CRLF" in rule:
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()
    if "strip" in rule:
        return text.strip()
    return text


def our_new_text(case: Case) -> str:
    raw = case.data.get("raw_eml")
    if isinstance(raw, str):
        return parse_reply(raw.encode("utf-8")).new_text
    return extract_new_text(case.body, html=case.is_html)


def case_passes(case: Case, got: str) -> bool:
    ours, expected = normalise(case, got), normalise(case, case.expected)
    if "expected_keeps_signature" in case.flags:
        return bool(ours) and expected.startswith(ours)
    return ours == expected


# Where our rule differs from talon's on purpose; these must give what we say here.
DELIBERATE = {
    # A forwarded message is not the approver's words: it must never be read as a verdict or
    # stored as the comment. talon keeps it as new text.
    "070.json": "FYI",
    "089.json": "",
}


def test_corpus_new_text_pass_rate() -> None:
    cases = load_cases()
    failures = []
    for case in cases:
        got = our_new_text(case)
        if case.name in DELIBERATE:
            assert got == DELIBERATE[case.name], f"{case.name}: {got!r}"
            assert not case_passes(case, got), f"{case.name} is no longer a deliberate difference"
            continue
        if not case_passes(case, got):
            failures.append(f"{case.name}: got {got[:160]!r}, expected {case.expected[:160]!r}")
    compared = len(cases) - len(DELIBERATE)
    rate = (compared - len(failures)) / compared
    print(
        f"\nreply corpus: {compared - len(failures)}/{compared} cases pass ({rate:.1%}); "
        f"{len(DELIBERATE)} differ from talon on purpose"
    )
    for failure in failures:
        print("  FAIL", failure)
    assert rate >= MIN_PASS_RATE, f"pass rate {rate:.1%} below {MIN_PASS_RATE:.0%}:\n" + "\n".join(
        failures
    )


# --- decisions built from the corpus ------------------------------------------------------------


def raw_reply(body: str, *, html: bool) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Approver <Anna@Example.org>"
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = f"Re: Approval requested: Deploy release 1.2 [{REFERENCE}]"
    message["Message-ID"] = "<reply-1@example.org>"
    message["In-Reply-To"] = "<notification-1@example.com>"
    message.set_content(body, subtype="html" if html else "plain")
    return bytes(message)


def quoted_notification() -> str:
    return "\n".join("> " + line for line in NOTIFICATION_LINES)


def with_verdict_line(case: Case, line: str) -> str:
    """``line`` above the case's reply, our notification quoted below it."""
    if case.is_html:
        quote = "<br>".join(NOTIFICATION_LINES)
        body = re.sub(r"(<body[^>]*>)", rf"\1<p>{line}</p>", case.body, count=1, flags=re.I)
        if body == case.body:
            body = f"<p>{line}</p>{case.body}"
        return f'{body}<blockquote type="cite">{quote}</blockquote>'
    return f"{line}\n\n{case.body}\n\n{quoted_notification()}\n"


def without_new_text(case: Case) -> str | None:
    """The case's body with its new text removed and our notification quoted, or None."""
    body = case.body.replace("\r\n", "\n")
    expected = case.expected.replace("\r\n", "\n").strip()
    if case.is_html or not expected or not body.lstrip().startswith(expected):
        return None
    rest = body.lstrip()[len(expected) :]
    if not rest.strip():
        return None
    return f"{rest}\n\n{quoted_notification()}\n"


def test_verdict_line_above_every_corpus_reply_is_read() -> None:
    wrong = []
    for index, case in enumerate(load_cases()):
        line, expected = VERDICT_LINES[index % len(VERDICT_LINES)]
        parsed = parse_reply(raw_reply(with_verdict_line(case, line), html=case.is_html))
        if parsed.verdict is not expected or parsed.token != TOKEN:
            wrong.append(f"{case.name} {line!r}: {parsed.verdict} {parsed.reasons}")
    assert not wrong, "\n".join(wrong)


def test_quoted_notification_alone_is_never_a_verdict() -> None:
    checked = 0
    wrong = []
    for case in load_cases():
        body = without_new_text(case)
        if body is None:
            continue
        checked += 1
        parsed = parse_reply(raw_reply(body, html=False))
        if parsed.verdict is not None:
            wrong.append(f"{case.name}: {parsed.verdict} {parsed.reasons} new={parsed.new_text!r}")
    print(f"\n{checked} corpus quotes checked with an empty new text")
    assert checked > 100
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\n\n" + quoted_notification(),
        "-- \nAnna Approver\nACME Corp\n\n" + quoted_notification(),
        "Sent from my iPhone\n\nOn 3 Jun 2024, at 10:00, Approvals <approvals@example.com>"
        " wrote:\n\n" + quoted_notification(),
        "\n\nFrom: Approvals <approvals@example.com>\nSent: Monday, June 3, 2024 10:00\n"
        "To: Anna\nSubject: Approval requested: Deploy release 1.2\n\n"
        + "\n".join(NOTIFICATION_LINES),
        "\n".join(NOTIFICATION_LINES),  # a client that quotes without any marker
    ],
)
def test_reply_with_only_our_notification_quoted_has_no_verdict(body: str) -> None:
    parsed = parse_reply(raw_reply(body, html=False))
    assert parsed.verdict is None, parsed.reasons
    assert parsed.token == TOKEN


@pytest.mark.parametrize(
    "html",
    [
        '<div dir="ltr"><br></div><div class="gmail_quote"><div>On Mon wrote:</div>'
        '<blockquote class="gmail_quote">{quote}</blockquote></div>',
        '<html><body><div><br></div><blockquote type="cite">{quote}</blockquote></body></html>',
        '<div>-- <br>Anna</div><div id="divRplyFwdMsg"><b>From:</b> Approvals</div>'
        "<div>{quote}</div>",
        "<p>Thanks</p><hr><b>From:</b> approvals@example.com<br><b>Sent:</b> Monday<br>{quote}",
    ],
)
def test_html_reply_with_only_our_notification_quoted_has_no_verdict(html: str) -> None:
    body = html.format(quote="<br>".join(NOTIFICATION_LINES))
    assert parse_reply(raw_reply(body, html=True)).verdict is None


def as_html(case: Case) -> str:
    if case.is_html:
        return case.body
    return "<br>".join(html.escape(line) for line in case.body.replace("\r\n", "\n").split("\n"))


def test_hidden_verdict_above_every_corpus_reply_never_decides() -> None:
    """Each corpus reply as HTML, a verdict above it that a client does not show, our
    notification quoted below: no decision, whatever the reply says."""
    rules = sorted(HIDDEN_MARKUP)
    decided = []
    for index, case in enumerate(load_cases()):
        for word in ("APPROVE", "Rejected"):
            rule = rules[index % len(rules)]
            hidden = HIDDEN_MARKUP[rule].format(word=word)
            quote = "<br>".join(html.escape(line) for line in NOTIFICATION_LINES)
            body = f'<div>{hidden}</div>{as_html(case)}<blockquote type="cite">{quote}</blockquote>'
            parsed = parse_reply(raw_reply(body, html=True))
            if parsed.verdict is not None:
                decided.append(f"{case.name} {rule} {word}: {parsed.verdict} {parsed.reasons}")
    assert not decided, "\n".join(decided)


def test_verdict_line_in_every_language_above_every_corpus_reply_is_read() -> None:
    """Every corpus reply gets, in turn, a verdict line in each supported language above it
    and our notification quoted below it: every verdict read, none wrong."""
    cases = load_cases()
    wrong = []
    read: dict[str, int] = {}
    for language, lines in sorted(VERDICT_LINES_BY_LANGUAGE.items()):
        for index, case in enumerate(cases):
            line, expected = lines[index % len(lines)]
            parsed = parse_reply(raw_reply(with_verdict_line(case, line), html=case.is_html))
            if parsed.verdict is expected:
                read[language] = read.get(language, 0) + 1
            else:
                wrong.append(f"{language} {case.name} {line!r}: {parsed.verdict} {parsed.reasons}")
    print(f"\ndecision cases per language ({len(cases)} corpus replies each):")
    print("  " + ", ".join(f"{language} {count}" for language, count in sorted(read.items())))
    assert len(read) == len(VERDICT_LINES_BY_LANGUAGE) >= 25
    assert not wrong, "\n".join(wrong[:50])
