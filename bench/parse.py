"""Throughput of parse_reply, single core: ``python bench/parse.py``.

Two sections. The corpus: every corpus case becomes a raw message (its
raw_eml, or the body wrapped in a reply with our headers), and the whole set
is parsed repeatedly for about ``--seconds`` seconds; prints messages per
second, and
the same against the email package alone (``raw_library``: parse with the
default policy, walk the parts, decode each one's content), in alternating
rounds so that a busy machine slows both alike; the ratio is the figure to
compare between runs. Hostile input (``--sizes``, MB): replies whose body is megabytes of
pasted log lines (with ">" lines, "On … wrote"- and "From:"-looking lines and
very long lines without a newline) in 8bit, base64 and quoted-printable, and
an HTML reply with deeply nested tags and huge attribute values; each is
built in memory and parsed ``--repeats`` times (fewer once one parse took
longer than ``--budget`` seconds); prints min/median/max seconds and MB/s.
The aim: a 20 MB message in under 2 s on one core.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email
import email.policy
import json
import quopri
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from approvals.replies import parse_reply  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "replies" / "cases"
MB = 1024 * 1024
HEADER = (
    "From: Anna Approver <anna@example.org>\r\n"
    "To: approvals+apr-abcdefghijklmnopqrstuvwx@example.com\r\n"
    "Subject: Re: Approval requested: Deploy [APR-ABCDEFGHIJKLMNOPQRSTUVWX]\r\n"
    "Message-ID: <hostile-{name}@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: {content_type}; charset=utf-8\r\n"
    "Content-Transfer-Encoding: {encoding}\r\n"
    "\r\n"
)


def corpus_messages() -> list[bytes]:
    if not CORPUS.is_dir():
        raise SystemExit(f"reply corpus not found at {CORPUS}")
    messages = []
    for path in sorted(CORPUS.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(case.get("raw_eml"), str):
            messages.append(case["raw_eml"].encode("utf-8"))
            continue
        message = EmailMessage()
        message["From"] = "Anna Approver <anna@example.org>"
        message["To"] = "approvals+apr-abcdefghijklmnopqrstuvwx@example.com"
        message["Subject"] = "Re: Approval requested: Deploy [APR-ABCDEFGHIJKLMNOPQRSTUVWX]"
        message["Message-ID"] = f"<{path.stem}@example.org>"
        message.set_content(
            case["body"], subtype="html" if case.get("format") == "html" else "plain"
        )
        messages.append(bytes(message))
    return messages


# --- hostile input ------------------------------------------------------------------------------


def log_lines(rng: random.Random) -> Iterator[str]:
    """Pasted application log, endless: mostly log lines, now and then a line that looks like
    a quote, an attribution or a header without being one, and a very long line."""
    levels = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
    methods = ("GET", "GET", "POST", "PUT", "DELETE")
    number = 0
    while True:
        number += 1
        line = (
            f"2024-05-01 {10 + number // 360000 % 14:02d}:{number // 6000 % 60:02d}:"
            f"{number // 100 % 60:02d},{number % 1000:03d} {rng.choice(levels)} "
            f"[worker-{rng.randrange(16)}] {rng.choice(methods)} /api/v1/items/"
            f"{rng.randrange(100000)} {rng.choice((200, 200, 201, 204, 404, 500))} "
            f"{rng.randrange(1, 900)}ms"
        )
        if number % 37 == 0:
            yield "> " + line  # a lone ">" line between the writer's own
        elif number % 211 == 0:
            yield "> " + line  # a run of two: a quote the parser skips, then goes on
            yield ">> " + line
        elif number % 97 == 0:  # an attribution inside a line, text after it: no quote
            yield (
                f"{line[:23]} INFO [mailer] On 2024-05-01 10:00:{number % 60:02d}, worker-"
                f"{number % 16} <ops@example.com> wrote: 512 bytes queued for retry"
            )
        elif number % 151 == 0:
            yield f"From: scheduler job {number} (cron)"
        elif number % 5003 == 0:
            yield '{"trace": "' + "ab12cd34" * rng.randrange(4000, 12000) + '"}'  # no newline
        else:
            yield line


def plain_body(size: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    lines = ["Approved, the log is below.", ""]
    total = 0
    for line in log_lines(rng):
        if total >= size:
            break
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def html_body(size: int, seed: int = 2) -> str:
    """Approved on top, then nested divs and spans with huge style and data attributes
    around log lines, nested thousands deep, with blockquotes and <pre> now and then."""
    rng = random.Random(seed)
    parts = ["<html><body><div>Approved, the log is below.</div>"]
    total = 0
    lines = log_lines(rng)
    depth = 0
    while total < size:
        roll = rng.randrange(1000)
        if roll < 1:
            value = "x" * rng.randrange(20_000, 100_000)
            text = f'<div style="{value}" data-blob="{value}">'
            depth += 1
        elif roll < 370 and depth < 5000:
            text = '<div class="log"><span>'
            depth += 1
        elif roll < 420:
            text = f"<blockquote>{next(lines)}</blockquote>"
        elif roll < 450:
            text = "<pre>" + "\n".join(next(lines) for _ in range(20)) + "</pre>"
        else:
            text = f"<span>{next(lines)}</span><br>"
        parts.append(text)
        total += len(text)
    parts.append("</span></div>" * depth + "</body></html>")
    return "".join(parts)


def hostile_messages(size: int) -> list[tuple[str, bytes]]:
    """(name, raw message) of about ``size`` bytes each."""
    plain = plain_body(size).replace("\n", "\r\n").encode()
    # base64 with its line breaks is 4/3 * 77/76 of the text: scale so the message is ``size``
    plain_for_base64 = plain_body(int(size * 0.74)).replace("\n", "\r\n").encode()
    html = html_body(size).encode()

    def message(name: str, content_type: str, encoding: str, body: bytes) -> bytes:
        head = HEADER.format(name=name, content_type=content_type, encoding=encoding)
        return head.encode() + body

    return [
        ("plain 8bit", message("8bit", "text/plain", "8bit", plain)),
        (
            "plain base64",
            message("b64", "text/plain", "base64", base64.encodebytes(plain_for_base64)),
        ),
        (
            "plain quoted-printable",
            message("qp", "text/plain", "quoted-printable", quopri.encodestring(plain)),
        ),
        ("html nested", message("html", "text/html", "8bit", html)),
        ("plain blank lines", message("blank", "text/plain", "8bit", b"\r\n" * (size // 2))),
        # a line that is no header ends the header early: the body starts above the gap
        (
            "blank lines, odd header",
            b"no colon here\r\n" + message("odd", "text/plain", "8bit", b"\r\n" * (size // 2)),
        ),
        ("html <br> flood", message("br", "text/html", "8bit", br_flood(size))),
        ("multipart tiny parts", tiny_parts(size)),
    ]


def br_flood(size: int) -> bytes:
    """<br> runs then empty paragraphs: each block edge used to count every blank line."""
    half = size // 2
    return b"<p>Approved</p>" + b"<br>" * (half // 4) + b"<p></p>" * (half // 7)


def tiny_parts(size: int) -> bytes:
    """A multipart message of tiny parts: the parser pays per part, not per byte."""
    head = (
        b"From: Anna <anna@example.org>\r\nSubject: Re: Deploy\r\nMessage-ID: <parts@x>\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    )
    part = b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (
        head
        + b"--b\r\nContent-Type: text/plain\r\n\r\nApproved\r\n"
        + part * (size // len(part))
        + b"--b--\r\n"
    )


def timed(parse: Callable[[bytes], object], raw: bytes, repeats: int, budget: float) -> list[float]:
    times: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        parse(raw)
        times.append(time.perf_counter() - started)
        if times[-1] > budget:
            break
    return times


def hostile(sizes: list[float], repeats: int, budget: float) -> None:
    print("parse_reply on hostile input (single core):")
    print(
        f"  {'case':<24}{'size':>9}  {'min s':>7} {'median s':>8} {'max s':>7}  {'MB/s':>6}  runs"
    )
    for size_mb in sizes:
        for name, raw in hostile_messages(int(size_mb * MB)):
            times = timed(parse_reply, raw, repeats, budget)
            median = statistics.median(times)
            print(
                f"  {name:<24}{len(raw) / MB:>7.1f}MB  {min(times):>7.2f} {median:>8.2f} "
                f"{max(times):>7.2f}  {len(raw) / MB / median:>6.2f}  {len(times)}",
                flush=True,
            )


def raw_library(raw: bytes) -> None:
    """What the email package alone does with a message: parse, walk, decode every part."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if not part.is_multipart() and isinstance(part, EmailMessage):
            with contextlib.suppress(LookupError, ValueError, KeyError):  # hostile parts
                part.get_content()


def _round(parse: Callable[[bytes], object], messages: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in messages:
        parse(raw)
    return time.perf_counter() - started


def corpus(seconds: float) -> None:
    messages = corpus_messages()
    for raw in messages:  # warm up caches (regexes, codecs) outside the timing
        parse_reply(raw)
        raw_library(raw)
    ours = floor = 0.0
    rounds = 0
    while ours < seconds:
        ours += _round(parse_reply, messages)
        floor += _round(raw_library, messages)
        rounds += 1
    parsed = rounds * len(messages)
    size = sum(len(raw) for raw in messages) / len(messages)
    print(
        f"parse_reply: {parsed / ours:,.0f} messages/second "
        f"({parsed} messages from {len(messages)} corpus cases, mean {size:,.0f} bytes, "
        f"{ours:.1f} s, single core)\n"
        f"email package alone: {parsed / floor:,.0f} messages/second; "
        f"parse_reply takes {ours / floor:.2f}x its time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="corpus: how long (default 5)")
    parser.add_argument(
        "--sizes", type=float, nargs="*", default=[4, 20], help="hostile: MB (default 4 20)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="hostile: parses per case")
    parser.add_argument(
        "--budget", type=float, default=30.0, help="hostile: stop repeating after a parse this slow"
    )
    parser.add_argument("--no-corpus", action="store_true", help="hostile input only")
    args = parser.parse_args()
    if not args.no_corpus:
        corpus(args.seconds)
    if args.sizes:
        hostile(args.sizes, args.repeats, args.budget)


if __name__ == "__main__":
    main()
