"""Commands that run the engine: serve, poll, dispatch, timers, outbox, reprocess, test-config."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from approvals.engine import ApprovalEngine

EngineCommand = Callable[[ApprovalEngine, argparse.Namespace], int]


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    def command(name: str, run: EngineCommand, **kw: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, parents=[common], **kw)
        parser.set_defaults(run=lambda args: _with_engine(args, run))
        return parser

    command(
        "serve",
        _serve,
        help="run the scheduler in the foreground",
        epilog="example: approvals serve --config /etc/approvals/approvals.toml",
    )
    command(
        "poll",
        _poll,
        help="one poll cycle; print the report",
        epilog="example: approvals poll --config /etc/approvals/approvals.toml",
    )
    command(
        "dispatch",
        lambda engine, args: _print(engine.dispatch_pending()),
        help="send queued notifications",
        epilog="example: approvals dispatch",
    )
    command(
        "timers",
        lambda engine, args: _print(engine.run_timers()),
        help="deadlines, escalations and reminders that are due, once (serve: every minute)",
        epilog="example: approvals timers",
    )
    outbox = command(
        "outbox",
        _outbox,
        help="the notification log",
        epilog="example: approvals outbox --limit 20",
    )
    outbox.add_argument("--request", help="only this request's notifications")
    outbox.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    reprocess = command(
        "reprocess",
        _reprocess,
        help="read a refused reply again at the next poll",
        epilog="example: approvals reprocess 'CAF=abc@mail.example.com'",
    )
    reprocess.add_argument("message_id", help="the reply's Message-ID (as `approvals poll` shows)")
    test = command(
        "test-config",
        _test_config,
        help="try the configured servers",
        epilog="example: approvals test-config --to me@example.com",
    )
    test.add_argument("--to", help="send the test message here (default: the from address)")


def _with_engine(args: argparse.Namespace, run: EngineCommand) -> int:
    engine = ApprovalEngine.from_config(args.config)
    try:
        return run(engine, args)
    finally:
        engine.close()


def _print(report: object) -> int:
    print(report)
    return 0


def _serve(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    from scheduler.jobs import serve

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    serve(engine)
    return 0


def _poll(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    report = engine.process_replies()
    for message in report.messages:
        print(f"{message.status:8} {message.key}: {message.reason}")
    print(report)
    return 0


def _outbox(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    for entry in engine.outbox(request_id=args.request, limit=args.limit):
        print(
            f"{entry.id:>6} {entry.status:13} attempts={entry.attempts} "
            f"{entry.approver} request={entry.request_id} server={entry.server or '-'}"
            + (f" error={entry.last_error}" if entry.last_error else "")
        )
    return 0


def _reprocess(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    if not engine.reprocess(args.message_id):
        print(f"no refused reply with Message-ID {args.message_id}", file=sys.stderr)
        return 1
    inbound = engine.settings.inbound
    print(
        f"{args.message_id} will be read again at the next poll if it is in "
        f"{inbound.folder} (move it back from {inbound.failure_folder})"
    )
    return 0


def _test_config(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    results = engine.test_configuration(to=args.to)
    for step in results:
        print(step)
    return 0 if all(step.ok for step in results) else 1


def _exit_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(0)
