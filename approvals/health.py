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
from approvals.settings import EngineSettings
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
class EngineStatus:
    """``approvals status``: healthy when ``problems`` is empty."""

    checked_at: datetime
    interval_minutes: float
    poll: Cycle | None
    next_poll_at: datetime | None
    dispatch: Cycle | None
    timers: Cycle | None
    canary: Cycle | None  # None: no canary has run yet
    reload: Cycle | None  # the last reload that changed something or failed
    waiting: int | None  # messages in the reply folder; None: it could not be opened
    waiting_error: str | None
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
    """Last cycles, the reply folder's backlog, the outbox; StoreError when the store
    cannot be read (that is unhealthy too)."""
    interval = settings.inbound.interval_minutes
    poll = last_cycle(db, CycleKind.POLL)
    problems = []
    if poll is None:
        problems.append("no poll cycle recorded yet")
    elif not poll.ok:
        problems.append(f"the last poll cycle failed: {poll.error}")
    elif now - poll.started_at > timedelta(minutes=STALE_INTERVALS * interval):
        minutes = (now - poll.started_at).total_seconds() / 60
        problems.append(
            f"no poll cycle for {minutes:.0f} minutes "
            f"({STALE_INTERVALS} intervals of {interval:g} minutes)"
        )
    reload = last_cycle(db, CycleKind.RELOAD)
    if reload is not None and not reload.ok:
        problems.append(f"the config did not reload, the last good one is in use: {reload.error}")
    canary = last_cycle(db, CycleKind.CANARY)
    if canary is not None and not canary.ok:
        problems.append(f"the last canary failed: {canary.error}")
    waiting, waiting_error = _waiting(settings, mailbox_factory)
    return EngineStatus(
        checked_at=now,
        interval_minutes=interval,
        poll=poll,
        next_poll_at=None if poll is None else poll.started_at + timedelta(minutes=interval),
        dispatch=last_cycle(db, CycleKind.DISPATCH),
        timers=last_cycle(db, CycleKind.TIMERS),
        canary=canary,
        reload=reload,
        waiting=waiting,
        waiting_error=waiting_error,
        outbox=outbox_counts(db),
        problems=tuple(problems),
    )


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
