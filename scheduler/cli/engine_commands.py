"""Commands that run the engine: serve, poll, dispatch, timers, outbox, test-config.

(``approvals reprocess``, the older name of ``approvals replies reprocess``, is in
replies_commands.)
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from approvals.engine import ApprovalEngine

EngineCommand = Callable[[ApprovalEngine, argparse.Namespace], int]


def engine_command(
    parsers: Any, common: argparse.ArgumentParser, name: str, run: EngineCommand, **kw: Any
) -> argparse.ArgumentParser:
    """A sub-command that opens the engine of --config, runs ``run`` and closes it."""
    parser: argparse.ArgumentParser = parsers.add_parser(name, parents=[common], **kw)
    parser.set_defaults(run=lambda args: with_engine(args, run))
    return parser


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    def command(name: str, run: EngineCommand, **kw: Any) -> argparse.ArgumentParser:
        return engine_command(commands, common, name, run, **kw)

    serve = command(
        "serve",
        _serve,
        help="run the scheduler in the foreground",
        epilog="example: approvals serve --config /etc/approvals/approvals.toml "
        "(or --app deploy.hooks:engine)",
    )
    serve.add_argument(
        "--app",
        metavar="MODULE:ENGINE",
        help="import MODULE and serve its ApprovalEngine, on_decision callbacks included, "
        "instead of one built from --config",
    )
    serve.set_defaults(run=_serve_command)
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
        help="the notification log (list, the default), or queue failed notifications again",
        epilog="example: approvals outbox --limit 20; approvals outbox retry --failed",
    )
    outbox.add_argument(
        "action",
        nargs="?",
        choices=("list", "retry"),
        default="list",
        help="list: the log, newest first (default); retry ID or retry --failed: queue "
        "failed notifications again, due now",
    )
    outbox.add_argument("id", nargs="?", type=int, help="retry: the notification's id")
    outbox.add_argument("--failed", action="store_true", help="retry: every failed notification")
    outbox.add_argument("--request", help="list: only this request's notifications")
    outbox.add_argument(
        "--limit", type=int, default=50, help="list: at most this many (default 50)"
    )
    test = command(
        "test-config",
        _test_config,
        help="try the configured servers",
        epilog="example: approvals test-config --round-trip",
    )
    test.add_argument("--to", help="send the test message here (default: the from address)")
    test.add_argument(
        "--round-trip",
        action="store_true",
        help="also send a signed probe to the reply address and wait until the reply "
        "folder shows it (then delete it), naming the step that failed",
    )


def with_engine(args: argparse.Namespace, run: EngineCommand) -> int:
    engine = ApprovalEngine.from_config(args.config)
    try:
        return run(engine, args)
    finally:
        engine.close()


def _print(report: object) -> int:
    print(report)
    return 0


def _serve_command(args: argparse.Namespace) -> int:
    if args.app is None:
        return with_engine(args, _serve)
    from scheduler.app_loading import load_app

    engine = load_app(args.app)
    try:
        return _serve(engine, args)
    finally:
        engine.close()


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
    if args.action == "retry":
        return _retry(engine, args)
    for entry in engine.outbox(request_id=args.request, limit=args.limit):
        print(
            f"{entry.id:>6} {entry.status:13} attempts={entry.attempts} "
            f"{entry.approver} request={entry.request_id} server={entry.server or '-'}"
            + (f" error={entry.last_error}" if entry.last_error else "")
        )
    return 0


def _retry(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    if (args.id is None) == (not args.failed):
        print("outbox retry: give a notification id or --failed (not both)", file=sys.stderr)
        return 2
    queued = engine.operations.retry_notifications(None if args.failed else [args.id])
    if args.id is not None and not queued:
        print(
            f"notification {args.id} is not a failed notification that can be sent "
            "(see approvals outbox)",
            file=sys.stderr,
        )
        return 1
    print(f"queued again: {len(queued)} ({', '.join(map(str, queued)) or 'none'})")
    return 0


def _test_config(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    results = engine.test_configuration(to=args.to, round_trip=args.round_trip)
    for step in results:
        print(step)
    return 0 if all(step.ok for step in results) else 1


def _exit_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(0)
