"""approvals: ask for approvals by email, read the replies, tell the workflow system.

    approvals serve          run the scheduler in the foreground (Ctrl-C stops it cleanly)
    approvals poll           one poll cycle; prints the report
    approvals dispatch       send queued notifications
    approvals timers         deadlines, escalations and reminders that are due, once
    approvals outbox         the outgoing notification log; outbox retry ID|--failed
    approvals requests       list | show ID | cancel ID: the approval requests
    approvals replies        list [--failed] | reprocess MESSAGE_ID (moves it back, reads again)
    approvals reprocess ID   the same as replies reprocess
    approvals status         last/next poll, backlog, outbox, canary (exit 1: unhealthy)
    approvals check-config   validate and print the resolved config, secrets masked
    approvals test-config    connect, secure, authenticate and send a test message
    approvals db status      the store's schema revision against the code's (exit 1: upgrade)
    approvals db upgrade     bring the store's schema to the code's revision
    approvals demo           the whole loop against local mail servers
    approvals init [DIR]     write a commented approvals.toml (--templates: the theme too)
    approvals web            the admin console; web hash-password: a hash for [web] admins

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
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from approvals.errors import ApprovalError
from mailio.errors import ConfigError, MailIOError
from scheduler.cli import (
    config_commands,
    db_commands,
    demo_command,
    engine_commands,
    init_command,
    replies_commands,
    requests_commands,
    status_command,
    web_commands,
)
from scheduler.logs import LOG_FORMATS, configure_logging

COMMAND_MODULES = (
    engine_commands,
    requests_commands,
    replies_commands,
    status_command,
    config_commands,
    db_commands,
    demo_command,
    init_command,
    web_commands,
)
DISTRIBUTION = "email-approvals"  # pyproject.toml [project] name


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("APPROVALS_CONFIG", "config/approvals.toml")),
        help="the engine's TOML config (default: $APPROVALS_CONFIG or config/approvals.toml)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    common.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text lines, or one JSON object per line (time, level, logger, message, fields)",
    )
    common.add_argument(
        "--log-file", type=Path, help="write the log here instead of stderr (reopened on rotation)"
    )
    result = argparse.ArgumentParser(prog="approvals", description=__doc__.split("\n")[0])
    result.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = result.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add(commands, common)
    return result


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet = logging.WARNING if args.command == "demo" else logging.INFO  # the demo narrates
    configure_logging(  # demo and init take no --config, nor the logging options
        level=quiet,
        log_format=getattr(args, "log_format", "text"),
        log_file=getattr(args, "log_file", None),
        verbose=getattr(args, "verbose", False),
    )
    try:
        status: int = args.run(args)
        return status
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except (MailIOError, ApprovalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
