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
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from approvals.engine import ApprovalEngine
from approvals.errors import ApprovalError
from mailio.errors import ConfigError, MailIOError

log = logging.getLogger(__name__)

POLL_JOB_ID = "approvals-poll"


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
    scheduler.add_job(
        run_cycle,
        trigger=_trigger(engine.settings.inbound.interval_minutes),
        args=(engine, scheduler),
        id=POLL_JOB_ID,
        name="dispatch notifications and poll replies",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # first cycle at start-up
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
