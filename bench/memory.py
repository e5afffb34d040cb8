"""Memory of a long drain: does the worker's RSS stay flat? ``python bench/memory.py``.

A stream of mixed replies, fuzzed so that no two are alike (unique words, style
sheets, style attributes, attachment bytes): small top-posted replies, bodies of
several MB (8bit, base64, quoted-printable), multiparts nested dozens deep with
attached messages, HTML-heavy alternatives with their own style sheets, and
attachments. The same stream (same seed) goes through three phases, one after
the other, in this process:

  raw      the email package alone: ``message_from_bytes(policy=default)``, every
           part walked and its content decoded; the floor;
  parse    ``approvals.replies.parse_reply`` on each message;
  engine   the engine's record path: each message answers a notification the
           engine sent (memory transports, SQLite file), is delivered to the
           memory reply folder and read by ``process_replies`` in batches.

RSS (``/proc/self/statm``) is sampled every ``--every`` messages. Per phase it
prints RSS after warm-up (the first ``--warmup`` messages), the maximum, the
final value and the growth (final − after warm-up; the aim: within 20 MB), and
the time per message against the raw phase. The phases share the process, and
with it whatever the one before left in module caches: ``--phases engine`` shows
the engine path alone. ``--trace`` takes tracemalloc snapshots after warm-up and
at the end of the parse and engine phases and prints where memory grew, by line
(slow: for finding a cause, not for figures).
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import gc
import os
import quopri
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from parse import raw_library  # noqa: E402  (bench/, the script's own folder)

from approvals.engine import ApprovalEngine  # noqa: E402
from approvals.replies import parse_reply  # noqa: E402
from mailio.inbound import memory as folders  # noqa: E402
from mailio.outbound import memory as outboxes  # noqa: E402
from mailio.outbound.envelope import mime_bytes  # noqa: E402
from tests.engine_setup import Clock  # noqa: E402
from tests.memory_setup import (  # noqa: E402
    ENGINE_ADDRESS,
    INCOMING,
    OUTGOING,
    memory_engine_settings,
)

MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident set size now (not the peak that ``resource`` reports), in MB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE / MB


# --- the stream -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    """What a reply needs of the notification it answers."""

    sender: str
    to: str
    subject: str
    in_reply_to: str
    quote: str  # the notification's plain text, quoted with "> "


FAKE_THREAD = Thread(
    sender="anna@example.org",
    to="approvals+apr-abcdefghijklmnopqrstuvwx@example.com",
    subject="Re: Approval requested: Deploy [APR-ABCDEFGHIJKLMNOPQRSTUVWX]",
    in_reply_to="<notification@example.com>",
    quote="> Approval requested: Deploy 1.4.2\n> To approve, reply with APPROVE.\n",
)
VERDICTS = ("Approved, ship it", "Approve", "LGTM, go ahead", "Reject: wrong version", "Approved.")
WORDS = (
    "deploy", "release", "build", "pipeline", "staging", "production", "rollback", "version",
    "ticket", "change", "window", "database", "migration", "service", "cluster", "region",
    "customer", "invoice", "budget", "review",
)  # fmt: skip


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) + (str(rng.randrange(10**6)) if rng.random() < 0.2 else "")
                    for _ in range(count))  # fmt: skip


def log_block(rng: random.Random, size: int) -> str:
    """About ``size`` characters of pasted log, a unique number on every line."""
    lines: list[str] = []
    total = 0
    while total < size:
        line = (
            f"2024-05-01 10:{rng.randrange(60):02d}:{rng.randrange(60):02d} "
            f"{rng.choice(('INFO', 'WARN', 'ERROR'))} [w-{rng.randrange(16)}] "
            f"{rng.choice(('GET', 'POST'))} /api/items/{rng.randrange(10**9)} {words(rng, 4)}"
        )
        if rng.random() < 0.02:
            line = "> " + line
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def head(thread: Thread, index: int, content_type: str, extra: str = "") -> str:
    return (
        f"From: Anna Approver <{thread.sender}>\r\nTo: {thread.to}\r\n"
        f"Subject: {thread.subject}\r\n"
        f"Message-ID: <drain-{index}-{random.random()}@example.org>\r\n"
        f"In-Reply-To: {thread.in_reply_to}\r\nReferences: {thread.in_reply_to}\r\n"
        f"Date: Wed, 01 May 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n{extra}"
    )


def reply_text(rng: random.Random, thread: Thread) -> str:
    return (
        f"{rng.choice(VERDICTS)}, {words(rng, rng.randrange(3, 30))}\n\nRegards,\nAnna\n\n"
        f"On Wed, 1 May 2024 at 09:00, Approvals <{ENGINE_ADDRESS}> wrote:\n{thread.quote}"
    )


def small(rng: random.Random, thread: Thread, index: int) -> bytes:
    text = reply_text(rng, thread).replace("\n", "\r\n")
    return (head(thread, index, "text/plain; charset=utf-8") + "\r\n" + text).encode()


def large(rng: random.Random, thread: Thread, index: int) -> bytes:
    """A reply with several MB of pasted log under the verdict, in one of three encodings."""
    text = reply_text(rng, thread) + "\n" + log_block(rng, rng.randrange(2 * MB, 5 * MB))
    data = text.replace("\n", "\r\n").encode()
    encoding = ("8bit", "base64", "quoted-printable")[index % 3]
    if encoding == "base64":
        data = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        data = quopri.encodestring(data)
    cte = f"Content-Transfer-Encoding: {encoding}\r\n"
    return (head(thread, index, "text/plain; charset=utf-8", cte) + "\r\n").encode() + data


def nested(rng: random.Random, thread: Thread, index: int) -> bytes:
    """The reply on top, then multiparts and attached messages nested 20 to 80 deep."""
    depth = rng.randrange(20, 80)
    inner = (
        f'Content-Type: multipart/alternative; boundary="alt-{index}"\r\n\r\n'
        f"--alt-{index}\r\nContent-Type: text/plain\r\n\r\n{words(rng, 40)}\r\n"
        f"--alt-{index}\r\nContent-Type: text/html\r\n\r\n<p>{words(rng, 40)}</p>\r\n"
        f"--alt-{index}--\r\n"
    )
    for level in range(depth):
        boundary = f"n{index}-{level}"
        if level % 3 == 2:
            inner = (
                "Content-Type: message/rfc822\r\n\r\n"
                f"From: x{level}@example.net\r\nSubject: {words(rng, 3)}\r\n{inner}"
            )
        else:
            inner = (
                f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
                f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n{words(rng, 8)}\r\n"
                f"--{boundary}\r\n{inner}\r\n--{boundary}--\r\n"
            )
    top = f"top-{index}"
    body = (
        f"--{top}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{reply_text(rng, thread)}\r\n--{top}\r\n{inner}\r\n--{top}--\r\n"
    )
    return (head(thread, index, f'multipart/mixed; boundary="{top}"') + "\r\n" + body).encode()


def html_heavy(rng: random.Random, thread: Thread, index: int) -> bytes:
    """Text and HTML alternatives; the HTML has a style sheet and style attributes of its own."""
    rules = "\n".join(
        f".c{index}-{k} {{ color: #{rng.randrange(1 << 24):06x}; margin: {rng.randrange(40)}px; "
        f"font-family: f{rng.randrange(10**6)}, sans-serif }}"
        for k in range(rng.randrange(50, 800))
    )
    elements = "".join(
        f'<div class="c{index}-{k}" style="color:#{rng.randrange(1 << 24):06x};'
        f'padding:{rng.randrange(30)}px {rng.randrange(30)}px;font-size:{rng.randrange(9, 20)}px">'
        f"<span>{words(rng, 12)}</span></div>"
        for k in range(rng.randrange(100, 2000))
    )
    verdict = rng.choice(VERDICTS)
    quote = thread.quote.replace("\n", "<br>")
    html = (
        f"<html><head><style>{rules}</style></head><body><div>{verdict}</div>{elements}"
        f'<div class="gmail_quote"><blockquote>{quote}</blockquote></div></body></html>'
    )
    boundary = f"alt-{index}"
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{verdict}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
        f"--{boundary}--\r\n"
    )
    ctype = f'multipart/alternative; boundary="{boundary}"'
    return (head(thread, index, ctype) + "\r\n" + body).encode()


def attachments(rng: random.Random, thread: Thread, index: int) -> bytes:
    """The reply, a binary attachment of up to 3 MB, a CSV and an inline image."""
    blob = base64.encodebytes(rng.randbytes(rng.randrange(100_000, 3 * MB))).decode()
    csv = "\r\n".join(f"{n},{words(rng, 3)},{rng.random()}" for n in range(rng.randrange(10, 2000)))
    image = base64.encodebytes(rng.randbytes(rng.randrange(1000, 50_000))).decode()
    boundary = f"mix-{index}"
    parts = (
        ("text/plain; charset=utf-8", "", reply_text(rng, thread).replace("\n", "\r\n")),
        ("application/pdf", "attachment; filename=spec.pdf", blob),
        ("text/csv", "attachment; filename=items.csv", csv),
        ("image/png", "inline; filename=logo.png", image),
    )
    body = "".join(
        f"--{boundary}\r\nContent-Type: {ctype}\r\n"
        + (f"Content-Disposition: {disposition}\r\n" if disposition else "")
        + ("Content-Transfer-Encoding: base64\r\n" if ctype.startswith(("app", "image")) else "")
        + f"\r\n{payload}\r\n"
        for ctype, disposition, payload in parts
    )
    ctype = f'multipart/mixed; boundary="{boundary}"'
    return (head(thread, index, ctype) + "\r\n" + body + f"--{boundary}--\r\n").encode()


Builder = Callable[[random.Random, Thread, int], bytes]
# One in ten of each heavy kind, the rest small: a busy approvals folder, fuzzed.
MIX: tuple[Builder, ...] = (
    *(small,) * 6,
    large,
    nested,
    html_heavy,
    attachments,
)


def stream(count: int, seed: int, threads: Callable[[int], Thread]) -> Iterator[bytes]:
    rng = random.Random(seed)
    for index in range(count):
        yield rng.choice(MIX)(rng, threads(index), index)


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    warmup: int
    samples: list[float] = field(default_factory=list)
    seconds: float = 0.0  # spent in the work itself, not in building messages
    count: int = 0
    after_warmup: float = 0.0
    final: float = 0.0

    def sample(self, every: int) -> None:
        if self.count == self.warmup:
            gc.collect()
            self.after_warmup = rss_mb()
        if self.count % every == 0 or self.count == self.warmup:
            self.samples.append(rss_mb())

    def finish(self) -> None:
        """The final RSS, taken while what did the work (the engine) is still open."""
        gc.collect()
        self.final = rss_mb()
        self.samples.append(self.final)

    def report(self, floor: Phase | None) -> str:
        final = self.final
        per_message = self.seconds / self.count * 1000
        ratio = ""
        if floor is not None and floor.seconds:
            ratio = f"  {per_message / (floor.seconds / floor.count * 1000):.2f}x raw"
        return (
            f"  {self.name:<7} {self.count:>6} msgs  {per_message:>7.2f} ms/msg{ratio}\n"
            f"          RSS after warm-up {self.after_warmup:7.1f} MB  "
            f"max {max(self.samples):7.1f} MB  final {final:7.1f} MB  "
            f"growth {final - self.after_warmup:+7.1f} MB"
        )


def run_phase(
    name: str,
    messages: Iterator[bytes],
    work: Callable[[bytes], object],
    warmup: int,
    every: int,
    trace: bool = False,
) -> Phase:
    phase = Phase(name, warmup)
    first: tracemalloc.Snapshot | None = None
    for raw in messages:
        started = time.perf_counter()
        work(raw)
        phase.seconds += time.perf_counter() - started
        del raw  # not held while RSS is sampled
        phase.count += 1
        phase.sample(every)
        if trace and phase.count == warmup:
            tracemalloc.start(8)
            first = tracemalloc.take_snapshot()
    phase.finish()
    if first is not None:
        gc.collect()
        grown = tracemalloc.take_snapshot().compare_to(first, "traceback")
        tracemalloc.stop()
        print(f"  {name}: where memory grew after warm-up (tracemalloc, top 8)")
        for stat in grown[:8]:
            print(f"    {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+6d} blocks")
            for line in stat.traceback.format()[-6:]:
                print(f"      {line}")
    return phase


class EngineDrain:
    """The engine on memory transports: each message answers a fresh notification of its own."""

    def __init__(self, folder: Path, batch: int) -> None:
        outboxes.reset()
        folders.reset()
        settings = memory_engine_settings(f"sqlite:///{folder / 'drain.db'}", max_messages=batch)
        self.engine = ApprovalEngine(settings, clock=Clock())
        self.batch = batch
        self.pending: list[bytes] = []
        self.seconds = 0.0

    def threads(self, count: int) -> list[Thread]:
        """Ask ``count`` approvers (one request each) and read the notifications sent."""
        outboxes.reset()
        for n in range(count):
            self.engine.request_approval(f"Deploy build {n}", [f"approver{n}@example.test"])
        self.engine.dispatch_pending()
        found = []
        for message in outboxes.outbox(OUTGOING):
            parsed = email.message_from_bytes(mime_bytes(message), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            body = parsed.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            found.append(
                Thread(
                    sender=str(parsed["To"]),
                    to=str(parsed["Reply-To"] or parsed["From"]),
                    subject="Re: " + str(parsed["Subject"]),
                    in_reply_to=str(parsed["Message-ID"]),
                    quote="".join(f"> {line}\n" for line in text.splitlines()),
                )
            )
        outboxes.reset()
        return found

    def drain(self) -> None:
        for raw in self.pending:
            folders.deliver(INCOMING, raw)
        self.pending.clear()
        started = time.perf_counter()
        report = self.engine.process_replies()
        self.seconds += time.perf_counter() - started
        assert report.fetched, report
        folders.reset()  # the failure folder: a long drain must not keep what it refused
        outboxes.reset()  # answers the engine sent to late or refused replies


def engine_phase(
    count: int, seed: int, batch: int, warmup: int, every: int, trace: bool = False
) -> Phase:
    with tempfile.TemporaryDirectory() as folder:
        drain = EngineDrain(Path(folder), batch)
        queue: list[Thread] = []

        def thread_for(_: int) -> Thread:
            if not queue:
                queue.extend(drain.threads(batch))
            return queue.pop()

        def work(raw: bytes) -> None:
            drain.pending.append(raw)
            if len(drain.pending) == batch:
                drain.drain()

        messages = stream(count, seed, thread_for)
        phase = run_phase("engine", messages, work, warmup, every, trace)
        if drain.pending:
            drain.drain()
        phase.seconds = drain.seconds  # the poll cycles only, not asking or delivering
        phase.finish()
        drain.engine.close()
    return phase


PHASES = ("raw", "parse", "engine")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--messages", type=int, default=2000, help="per phase (2000)")
    parser.add_argument("--warmup", type=int, default=300, help="messages before the baseline")
    parser.add_argument("--every", type=int, default=100, help="sample RSS every N messages")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--batch", type=int, default=30, help="engine: messages per poll cycle")
    parser.add_argument(
        "--phases", nargs="*", default=list(PHASES), choices=PHASES, help="(all three)"
    )
    parser.add_argument("--trace", action="store_true", help="tracemalloc diffs (parse, engine)")
    args = parser.parse_args(argv)
    print(
        f"memory of a drain of {args.messages} mixed messages per phase "
        f"(seed {args.seed}; warm-up {args.warmup}; RSS every {args.every}); start "
        f"{rss_mb():.1f} MB"
    )
    phases: dict[str, Phase] = {}
    fake: Callable[[int], Thread] = lambda _: FAKE_THREAD  # noqa: E731
    for name in args.phases:
        if name == "raw":
            messages = stream(args.messages, args.seed, fake)
            phases[name] = run_phase(name, messages, raw_library, args.warmup, args.every)
        elif name == "parse":
            messages = stream(args.messages, args.seed, fake)
            phases[name] = run_phase(
                name, messages, parse_reply, args.warmup, args.every, args.trace
            )
        else:
            phases[name] = engine_phase(
                args.messages, args.seed, args.batch, args.warmup, args.every, args.trace
            )
        print(phases[name].report(phases.get("raw") if name != "raw" else None), flush=True)


if __name__ == "__main__":
    main()
