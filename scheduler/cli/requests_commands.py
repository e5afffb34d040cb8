"""approvals requests list | show | cancel: the approval requests in the store."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from approvals.engine import ApprovalEngine
from approvals.models import RequestStatus
from approvals.operations import RequestDetail
from scheduler.cli.engine_commands import EngineCommand, engine_command


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "requests",
        help="list, show or cancel approval requests",
        epilog="example: approvals requests list --status pending",
    )
    actions = group.add_subparsers(dest="action", required=True, help="list, show or cancel")

    def action(name: str, run: EngineCommand, **kw: Any) -> argparse.ArgumentParser:
        return engine_command(actions, common, name, run, **kw)

    listing = action(
        "list",
        _list,
        help="requests, newest first",
        epilog="example: approvals requests list --status pending --search deploy --limit 20",
    )
    listing.add_argument(
        "--status", choices=[s.value for s in RequestStatus], help="only requests in this status"
    )
    listing.add_argument("--search", help="only requests whose title or external id holds this")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many first (paging)")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of lines")
    show = action(
        "show",
        _show,
        help="one request: approvers, stages, decisions, notifications, replies, history",
        epilog="example: approvals requests show run-8812",
    )
    show.add_argument("request", help="the request's id or its external id")
    show.add_argument("--json", action="store_true", help="one JSON object instead of text")
    cancel = action(
        "cancel",
        _cancel,
        help="cancel a pending request (queued mails are not sent, waiting approvers told)",
        epilog="example: approvals requests cancel run-8812",
    )
    cancel.add_argument("request", help="the request's id or its external id")


def print_json(value: Any) -> None:
    """Frozen dataclasses (lists of them too) as JSON; times in ISO 8601."""
    print(json.dumps(_plain(value), indent=2, default=str, ensure_ascii=False))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("healthy", "seconds"):  # computed values worth having in JSON too
            if hasattr(type(value), name):
                plain[name] = getattr(value, name)
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _list(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    found = engine.operations.requests(
        status=args.status, search=args.search, limit=args.limit, offset=args.offset
    )
    if args.json:
        print_json(found)
        return 0
    for request in found:
        print(
            f"{request.id}  {request.status:9}  {request.created_at:%Y-%m-%d %H:%M}  "
            f"{request.external_id or '-'}  {request.title}"
        )
    return 0


def _show(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    detail = engine.operations.request(args.request)
    if args.json:
        print_json(detail)
    else:
        print("\n".join(describe(detail)))
    return 0


def describe(detail: RequestDetail) -> list[str]:
    """``requests show`` as lines of text."""
    request = detail.request
    due = f"{request.due_at:%Y-%m-%d %H:%M %Z}" if request.due_at else "-"
    lines = [
        f"request   {request.id}" + (f" ({request.external_id})" if request.external_id else ""),
        f"title     {request.title}",
        f"status    {request.status}"
        + (f" at {request.closed_at:%Y-%m-%d %H:%M %Z}" if request.closed_at else ""),
        f"created   {request.created_at:%Y-%m-%d %H:%M %Z}, due {due}",
        f"approvers {', '.join(request.approvers) or '-'} (may decide now)",
        "stages",
    ]
    for number, stage in enumerate(request.stages, 1):
        current = " (current)" if number - 1 == request.current_stage else ""
        lines.append(
            f"  {number}. {stage.policy:9} {stage.status:9} {', '.join(stage.approvers)}{current}"
        )
    lines.append("decisions" + ("" if request.decisions else "  none"))
    for decision in request.decisions:
        seat = (
            f" for {decision.seat}" if decision.seat and decision.seat != decision.approver else ""
        )
        lines += [
            f"  {decision.decided_at:%Y-%m-%d %H:%M} stage {decision.stage + 1}: "
            f"{decision.approver}{seat} {decision.verdict}"
            + (f" ({decision.comment})" if decision.comment else ""),
            f"    line: {decision.evidence_line or '-'}",
            f"    authenticated: {decision.authenticated_by or '-'}; message {decision.message_id}",
        ]
    lines.append("notifications" + ("" if detail.notifications else "  none"))
    for entry in detail.notifications:
        when = f" sent {entry.sent_at:%Y-%m-%d %H:%M}" if entry.sent_at else ""
        lines.append(
            f"  {entry.id:>6} {entry.kind:9} {entry.approver} {entry.status} "
            f"attempts={entry.attempts} server={entry.server or '-'}{when}"
            + (f" error={entry.last_error}" if entry.last_error else "")
        )
    lines.append("replies" + ("" if detail.replies else "  none"))
    for reply in detail.replies:
        lines.append(
            f"  {reply.seen_at:%Y-%m-%d %H:%M} {reply.status:9} {reply.sender or '-'} "
            f"<{reply.message_id}>: {reply.reason}"
        )
    lines.append("history")
    for event in detail.events:
        lines.append(
            f"  {event.at:%Y-%m-%d %H:%M} {event.kind:10} {event.actor or '-'}"
            + (f": {event.detail}" if event.detail else "")
        )
    return lines


def _cancel(engine: ApprovalEngine, args: argparse.Namespace) -> int:
    request = engine.cancel(engine.operations.resolve(args.request))
    print(f"{request.id} {request.status}")
    return 0
