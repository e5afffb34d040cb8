"""Properties of parse_reply on generated input: it never fails, and quotes never decide.

"Never raises" is checked strictly: parse_reply has a last-resort guard that
turns an internal error into "message could not be parsed", and these tests
fail if that guard is ever reached, so a crash cannot hide behind it.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import compat32

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.replies import ParsedReply, Verdict, parse_reply, read_message
from tests.hidden_html import HIDDEN_MARKUP

TOKEN = "apr-abcdefghijklmnopqrstuvwx"
UNPARSEABLE = "could not be parsed"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_parsed_cleanly(parsed: ParsedReply) -> None:
    assert isinstance(parsed, ParsedReply)
    assert not any(UNPARSEABLE in reason for reason in parsed.reasons), parsed.reasons
    assert isinstance(parsed.new_text, str) and isinstance(parsed.comment, str)


# --- never raises ---------------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert_parsed_cleanly(parse_reply(raw))


HEADER_NAMES = st.sampled_from(
    [
        "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Return-Path",
        "Auto-Submitted", "Precedence", "X-Autoreply", "Authentication-Results", "Content-Type",
        "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version", "Delivered-To", "Date",
    ]
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.text(max_size=80).map(lambda text: text.replace("\r", " ").replace("\n", " ")),
    st.sampled_from(
        [
            "=?utf-8?q?=C3=A9?=", "=?x-unknown?b?////?=", "=?utf-8?b?!!!?=", "<>", "<<a>>",
            '"unterminated', "a@b, c@d; (comment", "multipart/mixed; boundary=",
            "text/plain; charset=",
            "text/plain; charset=x-nope", "base64", "quoted-printable", "x-uuencode",
            "mx.example.com; dmarc=pass", "auto-replied", "(((", ";;;", "\\",
        ]
    ),
)  # fmt: skip


@FAST
@given(
    st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12),
    st.binary(max_size=300),
)
def test_random_headers_never_raise(headers: list[tuple[str, str]], body: bytes) -> None:
    head = b"".join(
        name.encode() + b": " + value.encode("utf-8", "surrogateescape") + b"\r\n"
        for name, value in headers
    )
    assert_parsed_cleanly(parse_reply(head + b"\r\n" + body))


LEAF_TYPES = st.sampled_from(
    [
        "text/plain", "text/html", "text/rfc822-headers", "message/delivery-status",
        "application/octet-stream", "text/plain; charset=iso-8859-1", "text/plain; charset=bogus",
        "text/html; charset=utf-16", "image/png",
    ]
)  # fmt: skip
ENCODINGS = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "binary", "x-weird"])
TEXTS = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "Approved\n\n> REJECT", "<p>ok</p><blockquote>no</blockquote>", "<div><div><div>",
            "Reporting-MTA: dns; x\n\nAction: failed", "Message-ID: <m@x>", "=ZZ=\n=", "====",
        ]
    ),
)  # fmt: skip


def leaf(content_type: str, encoding: str, text: str) -> bytes:
    return (
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n".encode()
        + text.encode("utf-8", "surrogateescape")
    )


def multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    return head + body + b"--" + boundary.encode() + b"--\r\n"


def attached_message(part: bytes) -> bytes:
    return b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n" + part


MIME_TREES = st.recursive(
    st.builds(leaf, LEAF_TYPES, ENCODINGS, TEXTS),
    lambda children: st.one_of(
        st.builds(
            multipart,
            st.sampled_from(["mixed", "alternative", "report", "related"]),
            st.sampled_from(["b1", "b2", "=_x", "a b", ""]),
            st.lists(children, max_size=4),
        ),
        st.builds(attached_message, children),
    ),
    max_leaves=8,
)


@FAST
@given(
    MIME_TREES, st.sampled_from([b"", b"From: a@b.c\r\nSubject: Re: x\r\nMIME-Version: 1.0\r\n"])
)
def test_random_mime_trees_never_raise(tree: bytes, headers: bytes) -> None:
    assert_parsed_cleanly(parse_reply(headers + tree))


# --- quotes never decide -------------------------------------------------------------------

NEUTRAL_WORDS = st.sampled_from(
    ["please", "check", "the", "numbers", "tomorrow", "meeting", "budget", "Bob", "release"]
    + ["notes", "finance", "later", "Monday", "team", "call", "deploy", "window", "draft"]
    + ["question", "see", "attached"]
)
NEUTRAL_LINES = st.lists(NEUTRAL_WORDS, min_size=3, max_size=12).map(" ".join)
NEUTRAL_TEXT = st.lists(NEUTRAL_LINES, min_size=1, max_size=3).map("\n".join)
VERDICT_WORDS = st.sampled_from(
    ["APPROVE", "Approved", "REJECT", "Rejected", "yes", "no", "ok", "Genehmigt", "abgelehnt",
     "Approuvé", "refusé", "Aprobado", "rechazado", "Akkoord", "Respinto", "Aprovado", "LGTM"]
)  # fmt: skip
QUOTED_LINES = st.lists(
    st.tuples(VERDICT_WORDS, st.lists(NEUTRAL_WORDS, max_size=5).map(" ".join)).map(" ".join),
    min_size=1,
    max_size=6,
)


def plain_quote(style: int, lines: list[str]) -> str:
    if style == 0:
        return "\n".join("> " + line for line in lines)
    if style == 1:
        return (
            "On Mon, 3 Jun 2024 at 10:00, Approvals <approvals@example.com> wrote:\n\n"
            + "\n".join("> " + line for line in lines)
        )
    if style == 2:
        return (
            "From: Approvals <approvals@example.com>\nSent: Monday, June 3, 2024 10:00 AM\n"
            "To: Anna\nSubject: Approval requested\n\n" + "\n".join(lines)
        )
    if style == 3:
        return "-----Ursprüngliche Nachricht-----\nVon: Approvals\n\n" + "\n".join(lines)
    return "Le lun. 3 juin 2024 à 10:00, Approvals <approvals@example.com> a écrit :\n" + "\n".join(
        lines
    )


def html_quote(style: int, lines: list[str]) -> str:
    inner = "<br>".join(lines)
    if style == 0:
        attribution = "<div>On Mon, 3 Jun 2024 at 10:00, Approvals wrote:</div>"
        return f'<div class="gmail_quote">{attribution}<blockquote>{inner}</blockquote></div>'
    if style == 1:
        return f'<blockquote type="cite">{inner}</blockquote>'
    if style == 2:
        return f'<div id="divRplyFwdMsg"><b>From:</b> Approvals</div><div>{inner}</div>'
    return f"<hr><b>From:</b> approvals@example.com<br><b>Sent:</b> Monday<br>{inner}"


def message(body: str, *, html: bool) -> bytes:
    mail = EmailMessage()
    mail["From"] = "anna@example.org"
    mail["To"] = f"approvals+{TOKEN}@example.com"
    mail["Subject"] = "Re: Approval requested: Deploy [APR-ABCDEFGHIJKLMNOPQRSTUVWX]"
    mail.set_content(body, subtype="html" if html else "plain")
    return bytes(mail)


@FAST
@given(NEUTRAL_TEXT | st.just(""), QUOTED_LINES, st.integers(0, 4))
def test_verdict_words_only_in_a_plain_quote_give_no_verdict(
    new_text: str, quoted: list[str], style: int
) -> None:
    parsed = parse_reply(message(f"{new_text}\n\n{plain_quote(style, quoted)}\n", html=False))
    assert parsed.verdict is None, (parsed.new_text, parsed.reasons)
    assert parsed.token == TOKEN


@FAST
@given(NEUTRAL_TEXT | st.just(""), QUOTED_LINES, st.integers(0, 3))
def test_verdict_words_only_in_an_html_quote_give_no_verdict(
    new_text: str, quoted: list[str], style: int
) -> None:
    body = "".join(f"<div>{line}</div>" for line in new_text.split("\n")) + html_quote(
        style, quoted
    )
    parsed = parse_reply(message(body, html=True))
    assert parsed.verdict is None, (parsed.new_text, parsed.reasons)


@FAST
@given(
    st.sampled_from([("Approved", Verdict.APPROVE), ("REJECT: no", Verdict.REJECT)]),
    NEUTRAL_TEXT,
    QUOTED_LINES,
    st.integers(0, 4),
)
def test_verdict_above_the_quote_wins_over_quoted_words(
    line: tuple[str, Verdict], comment: str, quoted: list[str], style: int
) -> None:
    text, verdict = line
    body = f"{text}\n{comment}\n\n{plain_quote(style, quoted)}\n"
    assert parse_reply(message(body, html=False)).verdict is verdict


# --- hidden HTML never decides ----------------------------------------------------------------

VISIBLE_WRAPPERS = st.sampled_from(
    ["{x}", "<div>{x}</div>", '<p class="MsoNormal">{x}</p>',
     "<table><tr><td>{x}</td></tr></table>",
     '<div dir="ltr"><span style="color:#1F497D">{x}</span></div>', "<b>{x}</b>",
     "<blockquote class=gmail_quote>{x}</blockquote>"]
)  # fmt: skip
VERDICT_WORDS = st.sampled_from(
    ["APPROVE", "Approved", "REJECT", "Rejected", "Genehmigt", "ok", "yes", "Refusé", "LGTM"]
)
VISIBLE_TEXT = st.sampled_from(
    ["", "Why 4.2?", "Can you explain the change?", "See the ticket", "Hi Anna,", "Thanks"]
)


@FAST
@given(
    rule=st.sampled_from(sorted(HIDDEN_MARKUP)),
    word=VERDICT_WORDS,
    outer=VISIBLE_WRAPPERS,
    inner=VISIBLE_WRAPPERS,
    before=VISIBLE_TEXT,
    after=VISIBLE_TEXT,
)
def test_a_verdict_only_in_hidden_elements_never_decides(
    rule: str, word: str, outer: str, inner: str, before: str, after: str
) -> None:
    hidden = inner.format(x=HIDDEN_MARKUP[rule].format(word=word))
    body = outer.format(x=f"{before}{hidden}<p>{after}</p>")
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = "Re: Approval requested"
    message.set_content(f"<html><body>{body}</body></html>", subtype="html")
    parsed = parse_reply(bytes(message))
    assert_parsed_cleanly(parsed)
    assert parsed.verdict is None, (body, parsed.reasons)


# --- a single-part body is not split into lines -------------------------------------------------

BODY_LINES = st.lists(
    st.sampled_from(["Approved", "", "> quoted", "\r", "From: x", "--b", "=E2=82=AC", " cont"]),
    max_size=12,
)


@FAST
@given(
    headers=st.lists(st.tuples(HEADER_NAMES, st.text(max_size=40)), max_size=6),
    body=BODY_LINES,
    newline=st.sampled_from(["\r\n", "\n"]),
    gap=st.sampled_from(["\r\n\r\n", "\n\n", "\n\r\n", ""]),
)
def test_read_message_reads_what_the_email_package_reads(
    headers: list[tuple[str, str]], body: list[str], newline: str, gap: str
) -> None:
    head = newline.join(
        f"{name}: {value}".replace("\r", "").replace("\n", "") for name, value in headers
    )
    raw = (head + gap + newline.join(body)).encode("utf-8", "surrogateescape")
    ours, theirs = read_message(raw), BytesParser(policy=compat32).parsebytes(raw)
    assert ours.items() == theirs.items()
    assert ours.get_payload() == theirs.get_payload() or ours.is_multipart()
    assert ours.get_payload(decode=True) == theirs.get_payload(decode=True)
