"""Outbound throughput: the engine's notification path against raw aiosmtplib, same run.

A sink SMTP server (aiosmtpd, accepts and discards) runs in another process.

  (a) raw floor: aiosmtplib, 4 concurrent connections, sending the very MIME
      bytes the engine queued (pre-built: no rendering, no database);
  (b) engine: ``request_approval`` N times (jinja2 render, token, outbox row in
      SQLite) then ``dispatch_pending`` until the outbox is empty (claim, send
      through the pooled SmtpSender with 4 connections, record the result).

Prints both rates and the ratio (engine / raw). Usage: python bench/outbound.py [-n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="notifications (default 2000)")
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-outbound-") as folder:
            engine = ApprovalEngine(settings(port, Path(folder) / "bench.db"))
            started = time.perf_counter()
            for i in range(args.n):
                engine.request_approval(
                    f"Deploy build {i}",
                    [f"approver{i}@example.test"],
                    details={"pipeline": "web", "build": str(i)},
                )
            queued_at = time.perf_counter()
            sent = 0
            while True:
                report = engine.dispatch_pending()
                if not (report.sent or report.retrying or report.failed):
                    break
                sent += report.sent
            engine_seconds = time.perf_counter() - started
            dispatch_seconds = time.perf_counter() - queued_at
            prebuilt = [
                ("approvals@example.test", entry.approver, engine.notification_message(entry.id))
                for entry in engine.outbox(limit=args.n)
            ]
            engine.close()

        started = time.perf_counter()
        raw_sent = asyncio.run(raw_send(port, prebuilt))
        raw_seconds = time.perf_counter() - started
    finally:
        sink.terminate()
        sink.wait()

    raw_rate, engine_rate = raw_sent / raw_seconds, sent / engine_seconds
    print(
        f"raw aiosmtplib, {CONNECTIONS} connections : {raw_sent} msgs in {raw_seconds:.2f} s "
        f"= {raw_rate:,.0f} msg/s"
    )
    print(
        f"engine render+outbox+send     : {sent} msgs in {engine_seconds:.2f} s "
        f"= {engine_rate:,.0f} msg/s"
    )
    print(f"ratio engine/raw              : {engine_rate / raw_rate:.1%}")
    print(
        "  of which request_approval   : "
        f"{(engine_seconds - dispatch_seconds) / sent * 1000:.2f} ms/msg"
        " (render, token, outbox commit)"
    )
    print(
        f"  of which dispatch_pending   : {dispatch_seconds / sent * 1000:.2f} ms/msg"
        f" (send path alone: {raw_seconds / dispatch_seconds:.1%} of raw)"
    )
    return 0 if sent == raw_sent == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
