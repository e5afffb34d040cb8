"""approvals status: is the engine healthy? Exit 0 yes, 1 no (a container health check)."""

from __future__ import annotations

import argparse
from typing import Any

from approvals.cycles import Cycle
from approvals.engine import ApprovalEngine
from approvals.errors import ApprovalError
from approvals.health import STALE_INTERVALS, EngineStatus, MailboxStatus
from scheduler.cli.requests_commands import print_json


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "status",
        parents=[common],
        help="last and next poll cycle, reply folder backlog, outbox, canary; exit 1 unhealthy",
        description=(
            "Unhealthy (exit 1) when a mailbox's last poll cycle failed, when it had none "
            f"for {STALE_INTERVALS} poll intervals, or when the store cannot be read."
        ),
        epilog="example: approvals status --json --config /etc/approvals/approvals.toml",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.set_defaults(run=_status)


def _status(args: argparse.Namespace) -> int:
    try:
        engine = ApprovalEngine.from_config(args.config)
        try:
            status = engine.operations.status()
        finally:
            engine.close()
    except ApprovalError as exc:  # the store cannot be opened or read
        if args.json:
            print_json({"healthy": False, "problems": [f"store: {exc}"]})
        else:
            print(f"unhealthy\n  store: {exc}")
        return 1
    if args.json:
        print_json(status)
    else:
        print("\n".join(describe(status)))
    return 0 if status.healthy else 1


def describe(status: EngineStatus) -> list[str]:
    """``approvals status`` as lines of text."""
    lines = ["healthy" if status.healthy else "unhealthy"]
    lines += [f"  {problem}" for problem in status.problems]
    for mailbox in status.mailboxes:
        if len(status.mailboxes) > 1:
            lines.append(f"{mailbox.table} folder {mailbox.folder} on [servers.{mailbox.server}]")
        lines += _mailbox_lines(mailbox)
    outbox = status.outbox
    lines.append(
        f"outbox        queued {outbox.queued} (retrying {outbox.retrying}), failed {outbox.failed}"
    )
    lines.append(f"last dispatch {_cycle(status.dispatch, 'none yet')}")
    lines.append(f"last timers   {_cycle(status.timers, 'none yet')}")
    lines.append(f"last canary   {_cycle(status.canary, 'no canary yet')}")
    return lines


def _mailbox_lines(mailbox: MailboxStatus) -> list[str]:
    lines = [f"last poll     {_cycle(mailbox.poll, 'no poll cycle yet')}"]
    at = f"{mailbox.next_poll_at:%Y-%m-%d %H:%M:%S %Z}" if mailbox.next_poll_at else "-"
    if mailbox.mode == "idle":
        lines.append(f"next poll     on new mail (IDLE), at the latest {at}")
    else:
        lines.append(f"next poll     {at} (every {mailbox.interval_minutes:g} minutes)")
    waiting = (
        f"{mailbox.waiting} message(s) waiting"
        if mailbox.waiting is not None
        else f"unknown: {mailbox.waiting_error}"
    )
    lines.append(f"reply folder  {waiting}")
    return lines


def _cycle(cycle: Cycle | None, never: str) -> str:
    if cycle is None:
        return never
    result = "ok" if cycle.ok else "FAILED"
    what = cycle.summary.replace("\n", "; ") if cycle.ok else cycle.error
    return f"{cycle.started_at:%Y-%m-%d %H:%M:%S %Z} {result} in {cycle.seconds:.1f} s: {what}"
