"""Outbound throughput: the engine's notification path against raw aiosmtplib, same run.

A sink SMTP server (aiosmtpd, accepts and discards) runs in another process.

  (a) raw floor: aiosmtplib, 4 concurrent connections, sending the very MIME
      bytes the engine queued (pre-built: no rendering, no database);
  (b) engine: ``request_approval`` N times (jinja2 render, token, outbox row in
      SQLite, a durable commit each) then ``dispatch_pending`` until the outbox is
      empty (claim, send through the pooled SmtpSender with 4 connections, record
      the result a group at a time);
  (c) the same with ``request_approvals``, ``--batch`` specs per transaction.

Prints the rates, the ratios (engine / raw) and, per phase, wall and CPU time per
message (CPU: this process only, so a busy machine moves it less than the wall
clock). Usage: python bench/outbound.py [-n 2000] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from approvals.engine import ApprovalEngine  # noqa: E402
from approvals.mails import PACKAGED_TEMPLATES  # noqa: E402
from approvals.settings import EngineSettings  # noqa: E402
from mailio.devservers.ports import free_port, wait_for_greeting  # noqa: E402

CONNECTIONS = 4


def start_sink(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    if not wait_for_greeting("127.0.0.1", port, b"220", time.monotonic() + 15):
        process.kill()
        raise SystemExit("the sink SMTP server did not start")
    return process


def settings(port: int, db: Path) -> EngineSettings:
    return EngineSettings.model_validate(
        {
            "store": {"url": f"sqlite:///{db}"},
            "tokens": {"secret": "bench-secret-0123456789abcdef"},
            "outbound": {
                "server": "sink",
                "from": "Approvals <approvals@example.test>",
                "reply_to": "approvals@example.test",
                "templates_dir": str(PACKAGED_TEMPLATES),
            },
            "inbound": {"server": "imap"},
            "servers": {
                "sink": {
                    "type": "smtp",
                    "host": "127.0.0.1",
                    "port": port,
                    "security": "none",
                    "pool": {"max_connections": CONNECTIONS, "max_messages_per_connection": 100000},
                },
                "imap": {"type": "imap", "host": "127.0.0.1", "port": 1, "security": "none"},
            },
        }
    )


async def raw_send(port: int, messages: list[tuple[str, str, bytes]]) -> int:
    queue = list(reversed(messages))
    sent = 0

    async def worker() -> None:
        nonlocal sent
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
        await smtp.connect()
        while queue:
            sender, recipient, raw = queue.pop()
            await smtp.sendmail(sender, [recipient], raw)
            sent += 1
        await smtp.quit()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return sent


@dataclass(frozen=True)
class EngineRun:
    """One engine phase: wall and CPU seconds (this process, all threads) per phase."""

    sent: int
    asking: tuple[float, float]  # request_approval(s): render, token, outbox commit
    dispatching: tuple[float, float]  # dispatch_pending until the outbox is empty
    prebuilt: list[tuple[str, str, bytes]]  # what was queued, for the raw floor

    @property
    def seconds(self) -> float:
        return self.asking[0] + self.dispatching[0]


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def run_engine(port: int, n: int, batch: int | None) -> EngineRun:
    """``batch`` None: one request_approval per notification; else request_approvals
    with that many specs per call."""
    specs: list[dict[str, Any]] = [
        {
            "title": f"Deploy build {i}",
            "approvers": [f"approver{i}@example.test"],
            "details": {"pipeline": "web", "build": str(i)},
        }
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory(prefix="bench-outbound-") as folder:
        engine = ApprovalEngine(settings(port, Path(folder) / "bench.db"))
        started = _clocks()
        if batch is None:
            for spec in specs:
                engine.request_approval(**spec)
        else:
            for first in range(0, n, batch):
                engine.request_approvals(specs[first : first + batch])
        asking = _since(started)
        started = _clocks()
        sent = 0
        while True:
            report = engine.dispatch_pending()
            if not (report.sent or report.retrying or report.failed):
                break
            sent += report.sent
        dispatching = _since(started)
        prebuilt = [
            ("approvals@example.test", entry.approver, engine.notification_message(entry.id))
            for entry in engine.outbox(limit=n)
        ]
        engine.close()
    return EngineRun(sent, asking, dispatching, prebuilt)


def report(label: str, run: EngineRun, raw_rate: float, raw_seconds: float) -> None:
    rate = run.sent / run.seconds
    per = 1000 / run.sent
    print(f"engine, {label:<21}: {run.sent} msgs in {run.seconds:.2f} s = {rate:,.0f} msg/s")
    print(f"  ratio engine/raw              : {rate / raw_rate:.1%}")
    print(
        f"  asking                        : {run.asking[0] * per:.2f} ms/msg wall, "
        f"{run.asking[1] * per:.2f} ms/msg CPU (render, token, outbox commit)"
    )
    print(
        f"  dispatch_pending              : {run.dispatching[0] * per:.2f} ms/msg wall, "
        f"{run.dispatching[1] * per:.2f} ms/msg CPU "
        f"(send path alone: {raw_seconds / run.dispatching[0]:.1%} of raw)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="notifications (default 2000)")
    parser.add_argument(
        "--batch",
        type=int,
        default=100,
        help="specs per request_approvals call (default 100; 0: skip that run)",
    )
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    try:
        single = run_engine(port, args.n, None)
        batched = run_engine(port, args.n, args.batch) if args.batch else None
        started = time.perf_counter()
        raw_sent = asyncio.run(raw_send(port, single.prebuilt))
        raw_seconds = time.perf_counter() - started
    finally:
        sink.terminate()
        sink.wait()

    raw_rate = raw_sent / raw_seconds
    print(
        f"raw aiosmtplib, {CONNECTIONS} connections : {raw_sent} msgs in {raw_seconds:.2f} s "
        f"= {raw_rate:,.0f} msg/s"
    )
    report("request_approval", single, raw_rate, raw_seconds)
    if batched is not None:
        report(f"request_approvals/{args.batch}", batched, raw_rate, raw_seconds)
    complete = single.sent == raw_sent == args.n and (batched is None or batched.sent == args.n)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
