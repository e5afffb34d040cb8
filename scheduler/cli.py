"""The ``approvals`` command.

    approvals serve          run the scheduler in the foreground (Ctrl-C stops it cleanly)
    approvals poll           one poll cycle; prints the report
    approvals dispatch       send queued notifications
    approvals outbox         the outgoing notification log
    approvals reprocess ID   read a refused reply again (after moving it back to the folder)
    approvals check-config   validate and print the resolved config, secrets masked
    approvals db status      the store's schema revision against the code's (exit 1: upgrade)
    approvals db upgrade     bring the store's schema to the code's revision
    approvals test-config    connect, secure, authenticate and send a test message
    approvals demo           the whole loop against local mail servers

``--config PATH`` everywhere (default: $APPROVALS_CONFIG, else config/approvals.toml).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from approvals.engine import ApprovalEngine, check_settings
from approvals.errors import ApprovalError
from approvals.settings import EngineSettings
from approvals.store import SchemaStatus, open_database, schema_state, upgrade_database
from mailio.errors import ConfigError, MailIOError


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("APPROVALS_CONFIG", "config/approvals.toml")),
        help="the engine's TOML config (default: $APPROVALS_CONFIG or config/approvals.toml)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser = argparse.ArgumentParser(prog="approvals", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", parents=[common], help="run the scheduler in the foreground")
    commands.add_parser("poll", parents=[common], help="one poll cycle; print the report")
    commands.add_parser("dispatch", parents=[common], help="send queued notifications")
    commands.add_parser(
        "timers",
        parents=[common],
        help="deadlines, escalations and reminders that are due, once (serve: every minute)",
    )
    outbox = commands.add_parser("outbox", parents=[common], help="the notification log")
    outbox.add_argument("--request", help="only this request's notifications")
    outbox.add_argument("--limit", type=int, default=50)
    reprocess = commands.add_parser(
        "reprocess", parents=[common], help="read a refused reply again at the next poll"
    )
    reprocess.add_argument("message_id", help="the reply's Message-ID (as `approvals poll` shows)")
    commands.add_parser("check-config", parents=[common], help="validate and print the config")
    _add_db_commands(commands, common)
    test = commands.add_parser("test-config", parents=[common], help="try the configured servers")
    test.add_argument("--to", help="send the test message here (default: the from address)")
    demo = commands.add_parser("demo", help="the whole loop against local mail servers")
    demo.add_argument("--keep", action="store_true", help="keep the demo folder afterwards")
    demo.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    return parser


def _add_db_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser("db", help="the store's schema: status, upgrade")
    actions = db.add_subparsers(dest="db_command", required=True)
    actions.add_parser(
        "status",
        parents=[common],
        help="the store's schema revision and the code's; exit 1 when they differ",
        description="Print the schema revision of the database in [store] url, the code's "
        "revision and whether `approvals db upgrade` is needed. Exit status 0 when the "
        "database is current (or has no tables yet), 1 when it is behind or ahead.",
        epilog="example: approvals db status --config /etc/approvals/approvals.toml",
    )
    actions.add_parser(
        "upgrade",
        parents=[common],
        help="bring the store's schema to the code's revision",
        description="Upgrade the database in [store] url to the code's schema revision, in "
        "one transaction; a database made before revisions is taken as 0001. Back the "
        "database up first. Only the database is used: mail servers need not answer.",
        epilog="example: approvals db upgrade --config /etc/approvals/approvals.toml",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = logging.WARNING if args.command == "demo" else logging.INFO  # the demo narrates
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else quiet,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per HTTP request is noise
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except (MailIOError, ApprovalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from scheduler.demo import run_demo

        return run_demo(keep=args.keep)
    if args.command == "db":
        return _run_db(args)
    if args.command == "check-config":
        from mailio.loading import describe_config

        settings = EngineSettings.load(args.config)
        check_settings(settings)  # the theme and the store, creating nothing
        print(describe_config(settings))
        for notice in settings.notices:
            print(f"notice: {notice}")
        print(f"ok: {args.config} is valid")
        return 0
    engine = ApprovalEngine.from_config(args.config)
    try:
        if args.command == "serve":
            from scheduler.jobs import serve

            signal.signal(signal.SIGTERM, _exit_on_sigterm)
            serve(engine)
        elif args.command == "poll":
            report = engine.process_replies()
            for message in report.messages:
                print(f"{message.status:8} {message.key}: {message.reason}")
            print(report)
        elif args.command == "dispatch":
            print(engine.dispatch_pending())
        elif args.command == "timers":
            print(engine.run_timers())
        elif args.command == "outbox":
            for entry in engine.outbox(request_id=args.request, limit=args.limit):
                print(
                    f"{entry.id:>6} {entry.status:13} attempts={entry.attempts} "
                    f"{entry.approver} request={entry.request_id} server={entry.server or '-'}"
                    + (f" error={entry.last_error}" if entry.last_error else "")
                )
        elif args.command == "reprocess":
            if not engine.reprocess(args.message_id):
                print(f"no refused reply with Message-ID {args.message_id}", file=sys.stderr)
                return 1
            print(
                f"{args.message_id} will be read again at the next poll if it is in "
                f"{engine.settings.inbound.folder} (move it back from "
                f"{engine.settings.inbound.failure_folder})"
            )
        elif args.command == "test-config":
            results = engine.test_configuration(to=args.to)
            for step in results:
                print(step)
            return 0 if all(step.ok for step in results) else 1
    finally:
        engine.close()
    return 0


def _run_db(args: argparse.Namespace) -> int:
    settings = EngineSettings.load(args.config)
    db = open_database(settings.store.url, base_dir=settings.base_dir, create=False)
    try:
        if args.db_command == "upgrade":
            before, after = upgrade_database(db)
            if before.revision == after.revision:
                print(f"{after.database}: at {after.revision} already, nothing to do")
            else:
                print(f"{after.database}: {before.revision_text} -> {after.revision}")
            return 0
        state = schema_state(db)
        print(f"store     {state.database}")
        print(f"database  {state.revision_text}")
        print(f"code      {state.head}")
        if state.status is SchemaStatus.CURRENT:
            print("current: no upgrade needed")
        elif state.status is SchemaStatus.EMPTY:
            print(f"empty: the engine creates the tables at {state.head} when it first opens it")
        else:
            print(f"{state.status}: {state.refusal(args.config)}")
            return 1
        return 0
    finally:
        db.dispose()


def _exit_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
