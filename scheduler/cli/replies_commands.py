"""approvals replies list | reprocess: the replies the engine has recorded."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from approvals.engine import ApprovalEngine
from approvals.models import ReplyStatus
from scheduler.cli.engine_commands import EngineCommand, engine_command
from scheduler.cli.requests_commands import print_json


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "replies",
        help="list recorded replies, or read a refused one again",
        epilog="example: approvals replies list --failed",
    )
    actions = group.add_subparsers(dest="action", required=True, help="list or reprocess")

    def action(name: str, run: EngineCommand, **kw: Any) -> argparse.ArgumentParser:
        return engine_command(actions, common, name, run, **kw)

    listing = action(
        "list",
        _list,
        help="recorded replies, newest first: sender, subject, time, status and reason",
        epilog="example: approvals replies list --failed --limit 20",
    )
    listing.add_argument("--failed", action="store_true", help="only refused replies")
    listing.add_argument(
        "--status", choices=[s.value for s in ReplyStatus], help="only replies in this status"
    )
    listing.add_argument("--search", help="only replies whose sender or subject holds this")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many first (paging)")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of lines")
    add_reprocess(action("reprocess", reprocess, **REPROCESS_HELP))
    alias = engine_command(
        commands,
        common,
        "reprocess",
        reprocess,
        help="the same as `approvals replies reprocess`",
        epilog="example: approvals reprocess 'CAF=abc@mail.example.com'",
    )
    add_reprocess(alias)


REPROCESS_HELP: dict[str, str] = {
    "help": "move a refused reply back from the failure folder and read it at the next poll",
    "epilog": "example: approvals replies reprocess 'CAF=abc@mail.example.com'",
}


def add_reprocess(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "message_id", help="the reply's Message-ID (as `approvals replies list` shows it)"
    )


def _list(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    status = ReplyStatus.FAILED if args.failed else args.status
    found = engine.operations.replies(
        status=status, search=args.search, limit=args.limit, offset=args.offset
    )
    if args.json:
        print_json(found)
        return 0
    for reply in found:
        print(
            f"{reply.seen_at:%Y-%m-%d %H:%M}  {reply.status:9}  {reply.sender or '-'}  "
            f"{reply.subject!r}  <{reply.message_id}>  {reply.reason}"
        )
    return 0


def reprocess(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    """Also ``approvals reprocess`` (the older name)."""
    inbound = engine.settings.inbound
    done = engine.operations.reprocess(args.message_id)
    if not done.forgotten:
        print(f"no refused reply with Message-ID {args.message_id}", file=sys.stderr)
        return 1
    where = (
        f"moved back from {inbound.failure_folder} to {inbound.folder}"
        if done.moved
        else f"not in {inbound.failure_folder} (moved back already?)"
    )
    print(f"{done.message_id}: {where}; it will be read again at the next poll")
    return 0
