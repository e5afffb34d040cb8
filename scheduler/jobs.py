"""The scheduled work: one poll cycle every ``interval_minutes``.

Each cycle re-reads the config file first, so an admin's change to the
interval, the message count or a server takes effect at the next cycle
without a restart; a broken edit is logged and the last good settings stay
in force. A cycle sends due notifications, reads replies, then sends the
answers and receipts those replies produced. Cycles never
overlap (max_instances=1) and missed ones are not run in a burst (coalesce).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from approvals.engine import ApprovalEngine
from approvals.errors import ApprovalError
from mailio.errors import ConfigError, MailIOError

log = logging.getLogger(__name__)

POLL_JOB_ID = "approvals-poll"
TIMERS_JOB_ID = "approvals-timers"
TIMERS_SECONDS = 60  # deadlines, escalations and reminders, whatever the poll interval


def run_cycle(engine: ApprovalEngine, scheduler: BaseScheduler | None = None) -> None:
    """Reload settings, dispatch, poll. Errors are logged; the next cycle tries again."""
    before = engine.settings.inbound.interval_minutes
    try:
        settings = engine.reload()
    except ConfigError as exc:
        log.error("config not reloaded, keeping the last good settings: %s", exc)
        settings = engine.settings
    if scheduler is not None and settings.inbound.interval_minutes != before:
        scheduler.reschedule_job(POLL_JOB_ID, trigger=_trigger(settings.inbound.interval_minutes))
        log.info("poll interval is now %s minutes", settings.inbound.interval_minutes)
    _dispatch(engine)
    try:
        report = engine.process_replies()
        log.info("poll: %s", report)
    except (MailIOError, ApprovalError) as exc:
        log.error("poll failed, next cycle tries again: %s", exc)
    else:
        if report.decided or report.failed:  # answers and receipts go out now, not next cycle
            _dispatch(engine)


def run_timers(engine: ApprovalEngine) -> None:
    """Deadlines, escalations and reminders that are due, then send what they queued."""
    try:
        report = engine.run_timers()
    except (MailIOError, ApprovalError) as exc:
        log.error("timers failed, the next minute tries again: %s", exc)
        return
    if report.reminded or report.escalated or report.expired:
        log.info("timers: %s", report)
        _dispatch(engine)


def _dispatch(engine: ApprovalEngine) -> None:
    try:
        report = engine.dispatch_pending()
    except (MailIOError, ApprovalError) as exc:
        log.error("dispatch failed, next cycle tries again: %s", exc)
    else:
        if report.sent or report.retrying or report.failed:
            log.info("dispatch: %s", report)


def _trigger(minutes: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=minutes * 60, timezone=UTC)


def add_poll_job(scheduler: BaseScheduler, engine: ApprovalEngine) -> None:
    # One job at a time: the engine's sender pool and mailbox are not shared across threads.
    one_at_a_time = threading.Lock()

    def locked(job: Callable[..., None]) -> Callable[..., None]:
        def run(*args: object) -> None:
            with one_at_a_time:
                job(*args)

        return run

    scheduler.add_job(
        locked(run_cycle),
        trigger=_trigger(engine.settings.inbound.interval_minutes),
        args=(engine, scheduler),
        id=POLL_JOB_ID,
        name="dispatch notifications and poll replies",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # first cycle at start-up
    )
    scheduler.add_job(
        locked(run_timers),
        trigger=IntervalTrigger(seconds=TIMERS_SECONDS, timezone=UTC),
        args=(engine,),
        id=TIMERS_JOB_ID,
        name="deadlines, escalations and reminders",
        max_instances=1,
        coalesce=True,
    )


def serve(engine: ApprovalEngine) -> None:
    """Run cycles in the foreground until Ctrl-C or SIGTERM."""
    scheduler = BlockingScheduler(timezone=UTC)
    add_poll_job(scheduler, engine)
    log.info(
        "serving: polling %s every %s minutes, at most %d messages",
        engine.settings.inbound.folder,
        engine.settings.inbound.interval_minutes,
        engine.settings.inbound.max_messages,
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping")
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
