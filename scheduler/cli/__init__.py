"""approvals: ask for approvals by email, read the replies, tell the workflow system.

    approvals serve          run the scheduler in the foreground (Ctrl-C stops it cleanly)
    approvals poll           one poll cycle; prints the report
    approvals dispatch       send queued notifications
    approvals timers         deadlines, escalations and reminders that are due, once
    approvals outbox         the outgoing notification log
    approvals reprocess ID   read a refused reply again (after moving it back to the folder)
    approvals check-config   validate and print the resolved config, secrets masked
    approvals test-config    connect, secure, authenticate and send a test message
    approvals db status      the store's schema revision against the code's (exit 1: upgrade)
    approvals db upgrade     bring the store's schema to the code's revision
    approvals demo           the whole loop against local mail servers

``--config PATH`` everywhere (default: $APPROVALS_CONFIG, else config/approvals.toml).
Each command module has ``add(commands, common)``, which registers its parsers
with ``set_defaults(run=…)``; ``run(args) -> exit status``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from approvals.errors import ApprovalError
from mailio.errors import ConfigError, MailIOError
from scheduler.cli import config_commands, db_commands, demo_command, engine_commands

COMMAND_MODULES = (engine_commands, config_commands, db_commands, demo_command)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("APPROVALS_CONFIG", "config/approvals.toml")),
        help="the engine's TOML config (default: $APPROVALS_CONFIG or config/approvals.toml)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    result = argparse.ArgumentParser(prog="approvals", description=__doc__.split("\n")[0])
    commands = result.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add(commands, common)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet = logging.WARNING if args.command == "demo" else logging.INFO  # the demo narrates
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else quiet,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per HTTP request is noise
    try:
        status: int = args.run(args)
        return status
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except (MailIOError, ApprovalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
