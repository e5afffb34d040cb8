"""Is the engine healthy? Its last cycles, the reply folder's backlog, the outbox, the
canary: what ``approvals status`` shows, and its exit status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals.cycles import Cycle, CycleKind, last_cycle
from approvals.models import NotificationRow, NotificationStatus
from approvals.settings import EngineSettings, mailbox_table
from approvals.store import reading
from mailio.errors import MailIOError
from mailio.inbound.base import Mailbox

MailboxFactory = Callable[[EngineSettings], Mailbox]
STALE_INTERVALS = 3  # no poll cycle for this many intervals: unhealthy


@dataclass(frozen=True)
class OutboxCounts:
    queued: int  # waiting for their first or next attempt
    retrying: int  # of those queued, the ones that failed at least once
    failed: int


@dataclass(frozen=True)
class MailboxStatus:
    """One reply folder's health: its last poll cycle and what waits in it."""

    name: str  # "default": the [inbound] table; else its [inbound.NAME]
    table: str  # "[inbound]", "[inbound.sales]"
    server: str
    folder: str
    mode: str  # "poll" or "idle"
    interval_minutes: float
    poll: Cycle | None
    next_poll_at: datetime | None  # idle mode: the latest safety poll (sooner on new mail)
    waiting: int | None  # messages in the folder; None: it could not be opened
    waiting_error: str | None


@dataclass(frozen=True)
class EngineStatus:
    """``approvals status``: healthy when ``problems`` is empty."""

    checked_at: datetime
    mailboxes: tuple[MailboxStatus, ...]  # [inbound] first
    dispatch: Cycle | None
    timers: Cycle | None
    canary: Cycle | None  # None: no canary has run yet
    reload: Cycle | None  # the last reload that changed something or failed
    outbox: OutboxCounts
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems


def outbox_counts(db: Engine) -> OutboxCounts:
    with reading(db) as session:
        counted = session.exec(
            select(
                NotificationRow.status,
                col(NotificationRow.attempts) > 0,
                func.count(),
            ).group_by(col(NotificationRow.status), col(NotificationRow.attempts) > 0)
        ).all()
    queued = retrying = failed = 0
    for status, tried, count in counted:
        if status == NotificationStatus.QUEUED:
            queued += count
            retrying += count if tried else 0
        elif status == NotificationStatus.FAILED:
            failed += count
    return OutboxCounts(queued, retrying, failed)


def engine_status(
    db: Engine, settings: EngineSettings, mailbox_factory: MailboxFactory, now: datetime
) -> EngineStatus:
    """Each mailbox's last cycle and backlog, the other cycles, the outbox; StoreError
    when the store cannot be read (that is unhealthy too)."""
    mailboxes = tuple(
        mailbox_status(db, settings, name, mailbox_factory, now) for name in settings.mailboxes
    )
    several = len(mailboxes) > 1
    problems = [
        f"{mailbox.table}: {problem}" if several else problem
        for mailbox in mailboxes
        for problem in _poll_problems(mailbox, now)
    ]
    reload = last_cycle(db, CycleKind.RELOAD)
    if reload is not None and not reload.ok:
        problems.append(f"the config did not reload, the last good one is in use: {reload.error}")
    canary = last_cycle(db, CycleKind.CANARY)
    if canary is not None and not canary.ok:
        problems.append(f"the last canary failed: {canary.error}")
    return EngineStatus(
        checked_at=now,
        mailboxes=mailboxes,
        dispatch=last_cycle(db, CycleKind.DISPATCH),
        timers=last_cycle(db, CycleKind.TIMERS),
        canary=canary,
        reload=reload,
        outbox=outbox_counts(db),
        problems=tuple(problems),
    )


def mailbox_status(
    db: Engine,
    settings: EngineSettings,
    name: str,
    mailbox_factory: MailboxFactory,
    now: datetime,
) -> MailboxStatus:
    mine = settings.for_mailbox(name)
    inbound = mine.inbound
    poll = last_cycle(db, CycleKind.POLL, name)
    interval = timedelta(minutes=inbound.interval_minutes)
    waiting, waiting_error = _waiting(mine, mailbox_factory)
    return MailboxStatus(
        name=name,
        table=mailbox_table(name),
        server=inbound.server,
        folder=inbound.folder,
        mode=inbound.mode,
        interval_minutes=inbound.interval_minutes,
        poll=poll,
        next_poll_at=None if poll is None else poll.started_at + interval,
        waiting=waiting,
        waiting_error=waiting_error,
    )


def _poll_problems(mailbox: MailboxStatus, now: datetime) -> list[str]:
    poll, interval = mailbox.poll, mailbox.interval_minutes
    if poll is None:
        return ["no poll cycle recorded yet"]
    if not poll.ok:
        return [f"the last poll cycle failed: {poll.error}"]
    if now - poll.started_at > timedelta(minutes=STALE_INTERVALS * interval):
        minutes = (now - poll.started_at).total_seconds() / 60
        return [
            f"no poll cycle for {minutes:.0f} minutes "
            f"({STALE_INTERVALS} intervals of {interval:g} minutes)"
        ]
    return []


def _waiting(
    settings: EngineSettings, mailbox_factory: MailboxFactory
) -> tuple[int | None, str | None]:
    try:
        mailbox = mailbox_factory(settings)
        try:
            return mailbox.count(), None
        finally:
            mailbox.close()
    except MailIOError as exc:
        return None, str(exc)
