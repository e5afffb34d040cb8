"""Decision latency: from a reply delivered by SMTP to its decision committed, per mode.

A local Dovecot with an SMTP relay in front (LMTP delivery) and the engine serving in
the background (``run_in_background``, as ``approvals serve``), on SQLite. For each
mode, N requests are asked and dispatched, then the approver answers them one by one
at random moments, and the time from the relay accepting a reply (it has delivered it
to Dovecot by then) to the engine's on_decision callback (called after the commit) is
recorded:

  poll, interval_minutes = 5   (the default; replies spread over one interval)
  poll, interval 5 seconds
  idle                         (the server announces each delivery: IMAP IDLE)

Beside them, in the same run, the floor: raw imapclient waiting in IDLE on the folder
while another connection APPENDs a message (APPEND -> EXISTS), and while the relay
delivers one by SMTP (SMTP accepted -> EXISTS), N times each. Each mode's IMAP logins
(and the minutes it ran) come from Dovecot's log.

Prints p50, p95 and max for each, and idle's p50 minus the floor's.
Usage: python bench/latency.py [-n 50] [--skip-default] (the default interval's phase
takes about ten minutes: replies spread over 5-minute polls).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from approvals.engine import ApprovalEngine  # noqa: E402
from approvals.models import ApprovalRequest  # noqa: E402
from mailio.devservers import approver as client  # noqa: E402
from mailio.devservers.stack import MailStack, local_mail_stack  # noqa: E402
from scheduler.demo import config_for_stack  # noqa: E402
from scheduler.jobs import run_in_background  # noqa: E402

PASSWORD = "secret"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {p50:7.3f} s   p95 {p95:7.3f} s   max {ordered[-1]:7.3f} s   (n={len(ordered)})"


def floor(stack: MailStack, n: int, by_smtp: bool) -> list[float]:
    """Raw imapclient in IDLE: seconds from APPEND (or SMTP accepted) to EXISTS."""
    user = stack.new_address("floor")
    sender = stack.new_address("sender")
    samples = []
    with (
        IMAPClient(stack.host, port=stack.imap_port, ssl=False) as idler,
        IMAPClient(stack.host, port=stack.imap_port, ssl=False) as writer,
    ):
        idler.login(user, PASSWORD)
        writer.login(user, PASSWORD)
        idler.select_folder("INBOX")
        for index in range(n):
            idler.idle()
            message = EmailMessage()
            message["From"], message["To"] = sender, user
            message["Subject"], message["Message-ID"] = f"floor {index}", f"<f{index}@bench>"
            message.set_content("Approved")
            started = time.monotonic()
            if by_smtp:
                client.send(stack.host, stack.smtp_port, message, sender, PASSWORD)
                started = time.monotonic()
            else:
                writer.append("INBOX", message.as_bytes())
            while not any(r[1:2] == (b"EXISTS",) for r in idler.idle_check(timeout=30)):
                pass
            samples.append(time.monotonic() - started)
            idler.idle_done()
    return samples


def logins(stack_dir: Path, user: str) -> int:
    log = (stack_dir / "dovecot.log").read_text("utf-8", "replace")
    return log.count(f"Login: user=<{user}>")


def measure_mode(
    stack: MailStack,
    stack_dir: Path,
    folder: Path,
    n: int,
    *,
    mode: str,
    interval_minutes: float,
    spread_seconds: float,
) -> tuple[list[float], str]:
    """Latencies of N replies, and the engine's IMAP logins meanwhile ("1 in 0.8 min")."""
    address = stack.new_address("approvals")
    approver = stack.new_address("alice")
    folder.mkdir(parents=True)
    config = folder / "approvals.toml"
    config.write_text(
        config_for_stack(stack, folder, address, interval_minutes=interval_minutes, mode=mode)
    )
    engine = ApprovalEngine.from_config(config)
    decided: dict[str, float] = {}
    done = threading.Condition()

    @engine.on_decision
    def committed(request: ApprovalRequest) -> None:
        with done:
            decided[request.id] = time.monotonic()
            done.notify_all()

    requests = [engine.request_approval(f"Deploy #{index}", [approver]) for index in range(n)]
    while engine.dispatch_pending().sent:
        pass
    by_subject = {
        str(message["Subject"]): message
        for message in client.read_inbox(stack.host, stack.imap_port, approver, PASSWORD)
    }
    replies = [
        (request.id, client.compose_reply(_notification(by_subject, index), approver, "Approved"))
        for index, request in enumerate(requests)
    ]
    logins_before = logins(stack_dir, address)
    runner = run_in_background(engine)
    began = time.monotonic()
    delivered: dict[str, float] = {}
    try:
        time.sleep(1)  # the first cycle (and, idle, the wait) has begun
        for request_id, reply in replies:
            time.sleep(random.uniform(0, 2 * spread_seconds / n))
            client.send(stack.host, stack.smtp_port, reply, approver, PASSWORD)
            delivered[request_id] = time.monotonic()
        with done:
            limit = 3 * interval_minutes * 60 + 60
            if not done.wait_for(lambda: len(decided) >= n, timeout=limit):
                raise SystemExit(f"{mode}: {len(decided)} of {n} decided within {limit:.0f} s")
    finally:
        runner.stop()
        minutes = (time.monotonic() - began) / 60
        engine.close()
    used = logins(stack_dir, address) - logins_before
    return [decided[key] - delivered[key] for key in delivered], f"{used} in {minutes:.1f} min"


def _notification(by_subject: dict[str, EmailMessage], index: int) -> EmailMessage:
    """Request ``index``'s notification ("Approval requested: Deploy #3 [APR-…]")."""
    return next(message for subject, message in by_subject.items() if f"#{index} [" in subject)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="replies per mode (default 50)")
    parser.add_argument("--skip-default", action="store_true", help="no 5-minute poll phase")
    args = parser.parse_args()
    os.environ.setdefault("APPROVALS_SECRET", "bench-secret-0123456789abcdef")
    os.environ.setdefault("MAIL_PASSWORD", PASSWORD)
    random.seed(12)
    with tempfile.TemporaryDirectory(prefix="latency-") as tmp:
        base = Path(tmp)
        with local_mail_stack(base / "dovecot", PASSWORD) as stack:
            rows: list[tuple[str, list[float], str]] = []
            rows.append(("floor: APPEND -> IDLE EXISTS", floor(stack, args.n, False), ""))
            rows.append(("floor: SMTP -> IDLE EXISTS", floor(stack, args.n, True), ""))
            # (label, mode, interval in minutes, seconds over which the replies are spread)
            phases = [
                ("idle (interval 5 min)", "idle", 5.0, 5.0 * args.n / 10),
                ("poll, interval 5 s", "poll", 5 / 60, 5.0 * args.n / 10),
            ]
            if not args.skip_default:
                phases.append(("poll, interval 5 min (default)", "poll", 5.0, 300.0))
            for label, mode, minutes, spread in phases:
                samples, used = measure_mode(
                    stack,
                    base / "dovecot",
                    base / f"engine-{len(rows)}",
                    args.n,
                    mode=mode,
                    interval_minutes=minutes,
                    spread_seconds=spread,
                )
                rows.append((label, samples, used))
    width = max(len(label) for label, _, _ in rows)
    for label, samples, used in rows:
        print(
            f"{label:<{width}}  {percentiles(samples)}" + (f"   IMAP logins {used}" if used else "")
        )
    idle = next(samples for label, samples, _ in rows if label.startswith("idle"))
    smtp_floor = next(samples for label, samples, _ in rows if "SMTP" in label)
    print(
        f"idle p50 - floor (SMTP -> EXISTS) p50: "
        f"{statistics.median(idle) - statistics.median(smtp_floor):+.3f} s"
    )


if __name__ == "__main__":
    main()
