"""The scheduled work: each mailbox's cycles, the timers every minute, the canary.

Each mailbox is read by its watcher thread (:mod:`scheduler.watchers`): in ``poll``
mode a cycle every ``interval_minutes``, in ``idle`` mode a cycle as soon as the server
announces new mail. Each cycle re-reads the config file first, so an admin's change to
the interval, the mode, the message count, a server or a mailbox takes effect at the
next cycle without a restart; a broken edit is logged and the last good settings stay
in force. A cycle sends due notifications, reads replies, then sends the answers and
receipts those replies produced, and logs one summary line (a line per changed setting
before it). Cycles, timers and the canary run one at a time. :func:`serve` runs the
jobs in the foreground; :func:`run_in_background` inside a caller's process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import SecretStr

from approvals.cycles import CycleKind, record_cycle
from approvals.engine import ApprovalEngine
from approvals.errors import ApprovalError
from approvals.reports import DispatchReport, ProcessReport
from approvals.settings import DEFAULT_MAILBOX, EngineSettings, mailbox_table
from mailio.errors import ConfigError, MailIOError
from mailio.loading import describe_config, mask_url_password
from mailio.probe import ProbeStep
from scheduler.watchers import Watchers

log = logging.getLogger(__name__)

TIMERS_JOB_ID = "approvals-timers"
CANARY_JOB_ID = "approvals-canary"
_Result = TypeVar("_Result")
TIMERS_SECONDS = 60  # deadlines, escalations and reminders, whatever the poll interval


def run_cycle(
    engine: ApprovalEngine,
    mailbox: str | None = None,
    after_reload: Callable[[], None] | None = None,
) -> ProcessReport | None:
    """Reload settings, dispatch, poll ``mailbox`` (every mailbox: None); one summary line.
    Errors are logged; the next cycle tries again. Returns the poll's report, None when
    the poll failed. ``after_reload`` is called when the reload changed something."""
    started = time.monotonic()
    if _reload(engine) and after_reload is not None:
        after_reload()
    if mailbox is not None and mailbox not in engine.settings.mailboxes:
        return None  # a reload removed it; its watcher stops
    sent = _dispatch(engine)
    names = [mailbox] if mailbox is not None else list(engine.settings.mailboxes)
    report: ProcessReport | None = None
    try:
        report = engine.process_replies(mailbox)
    except (MailIOError, ApprovalError) as exc:
        log.error(
            "poll of %s failed, next cycle tries again: %s",
            ", ".join(_mailbox_label(engine, name) for name in names),
            exc,
            extra={"server": engine.settings.for_mailbox(names[0]).inbound.server},
        )
    if report is not None and (report.decided or report.failed or report.delegated):
        sent = _added(sent, _dispatch(engine))  # answers and receipts go out now, not next cycle
    polled = (
        "poll: failed"
        if report is None
        else (
            f"poll: fetched {report.fetched}, decided {report.decided}, "
            f"delegated {report.delegated}, ignored {report.ignored}, failed {report.failed}"
        )
    )
    if mailbox is not None and len(engine.settings.mailboxes) > 1:
        polled = f"{mailbox_table(mailbox)} {polled}"
    seconds = time.monotonic() - started
    log.info(
        "%s; dispatch: %s; %.2fs",
        polled,
        sent if sent is not None else "failed",
        seconds,
        extra=_fields(report, sent, seconds),
    )
    return report


def _mailbox_label(engine: ApprovalEngine, name: str) -> str:
    """``[servers.imap-main] folder INBOX``, prefixed by the table when it is a named one."""
    inbound = engine.settings.mailboxes.get(name)
    if inbound is None:
        return mailbox_table(name)
    where = f"[servers.{inbound.server}] folder {inbound.folder}"
    return where if name == DEFAULT_MAILBOX else f"{mailbox_table(name)} {where}"


def run_timers(engine: ApprovalEngine) -> None:
    """Deadlines, escalations and reminders that are due, then send what they queued.

    Logs a line only when something was due: the job runs every minute."""
    started = time.monotonic()
    try:
        report = engine.run_timers()
    except (MailIOError, ApprovalError) as exc:
        log.error("timers failed, the next minute tries again: %s", exc)
        return
    if report.reminded or report.escalated or report.expired:
        sent = _dispatch(engine)
        seconds = time.monotonic() - started
        log.info(
            "timers: %s; dispatch: %s; %.2fs",
            report,
            sent if sent is not None else "failed",
            seconds,
            extra={**_fields(None, sent, seconds), **asdict(report)},
        )


def _reload(engine: ApprovalEngine) -> bool:
    """Re-read the config, a line per changed setting; True when something changed."""
    before = engine.settings
    started = engine.operations.clock()
    try:
        after = engine.reload()
    except ConfigError as exc:
        log.error("config not reloaded, keeping the last good settings: %s", exc)
        _record_reload(engine, started, "", str(exc))
        return False
    changes = setting_changes(before, after)
    for change in changes:
        log.info("config reloaded: %s", change)
    if changes:
        _record_reload(engine, started, "; ".join(changes), None)
    return bool(changes)


def _record_reload(
    engine: ApprovalEngine, started: datetime, summary: str, error: str | None
) -> None:
    """For status and the console: a reload that changed something, or was refused."""
    try:
        record_cycle(
            engine.operations.db,
            CycleKind.RELOAD,
            started,
            engine.operations.clock(),
            summary=summary,
            error=error,
        )
    except ApprovalError as exc:  # the store's trouble is the poll's to report
        log.error("could not record the reload: %s", exc)


def setting_changes(before: EngineSettings, after: EngineSettings) -> list[str]:
    """``[inbound] interval_minutes: 5 -> 2`` for each key that differs, values shown as
    ``check-config`` shows them; a changed secret is named, never shown."""
    old, new = _described(before), _described(after)
    changes = [
        f"{key}: {old.get(key, '(not set)')} -> {new.get(key, '(not set)')}"
        for key in [*old, *(key for key in new if key not in old)]
        if old.get(key) != new.get(key)
    ]
    old_secrets, new_secrets = _secrets(before), _secrets(after)
    changes.extend(
        f"{key}: changed (secret, not shown)"
        for key in old_secrets
        if key in new_secrets and old_secrets[key] != new_secrets[key]
    )
    return changes


def _described(settings: EngineSettings) -> dict[str, str]:
    """describe_config's lines as {"[table] key": masked value}."""
    values, table = {}, ""
    for line in describe_config(settings).splitlines():
        if line.startswith("["):
            table = line
        elif " = " in line:
            key, value = line.split(" = ", 1)
            values[f"{table} {key}".strip()] = value
    return values


def _secrets(settings: EngineSettings) -> dict[str, str]:
    """The values describe_config masks (secrets, URL passwords), by the same names."""
    found: dict[str, str] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, SecretStr):
            found[f"[{'.'.join(path[:-1])}] {path[-1]}"] = value.get_secret_value()
        elif isinstance(value, str) and mask_url_password(value) != value:
            found[f"[{'.'.join(path[:-1])}] {path[-1]}"] = value

    walk(settings.model_dump(mode="python", by_alias=True, exclude_none=True), ())
    return found


def _dispatch(engine: ApprovalEngine) -> DispatchReport | None:
    """Send what is due; None when the servers could not be used (the error is logged)."""
    try:
        return engine.dispatch_pending()
    except (MailIOError, ApprovalError) as exc:
        names = engine.settings.outbound.server_names
        log.error(
            "dispatch through %s failed, next cycle tries again: %s",
            ", ".join(f"[servers.{name}]" for name in names),
            exc,
            extra={"server": names[0]},
        )
        return None


def _added(first: DispatchReport | None, second: DispatchReport | None) -> DispatchReport | None:
    if first is None or second is None:
        return first or second
    return DispatchReport(
        first.sent + second.sent, first.retrying + second.retrying, first.failed + second.failed
    )


def _fields(
    report: ProcessReport | None, sent: DispatchReport | None, seconds: float
) -> dict[str, Any]:
    """The summary's numbers as fields of the record (``--log-format json`` shows them)."""
    fields: dict[str, Any] = {"seconds": round(seconds, 3)}
    if report is not None:
        fields.update(
            fetched=report.fetched,
            decided=report.decided,
            delegated=report.delegated,
            ignored=report.ignored,
            failed=report.failed,
        )
    if sent is not None:
        fields.update(sent=sent.sent, retrying=sent.retrying, send_failed=sent.failed)
    return fields


def _trigger(minutes: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=minutes * 60, timezone=UTC)


def add_jobs(scheduler: BaseScheduler, engine: ApprovalEngine) -> Watchers:
    """Add the timers (and canary) jobs; returns the mailboxes' watchers, to start.

    One cycle or job at a time: the engine's sender pool is not shared across threads.
    """
    one_at_a_time = threading.Lock()

    def locked(job: Callable[..., _Result]) -> Callable[..., _Result]:
        def run(*args: object) -> _Result:
            with one_at_a_time:
                return job(*args)

        return run

    scheduler.add_job(
        locked(run_timers),
        trigger=IntervalTrigger(seconds=TIMERS_SECONDS, timezone=UTC),
        args=(engine,),
        id=TIMERS_JOB_ID,
        name="deadlines, escalations and reminders",
        max_instances=1,
        coalesce=True,
    )
    canary_minutes = engine.settings.health.canary_minutes
    if canary_minutes is not None:
        # Under the same lock: a poll running meanwhile would take the probe as its own.
        scheduler.add_job(
            locked(run_canary),
            trigger=_trigger(canary_minutes),
            args=(engine,),
            id=CANARY_JOB_ID,
            name="canary: a probe to the reply folder and back",
            max_instances=1,
            coalesce=True,
        )
    cycle = locked(run_cycle)
    watchers = Watchers(engine, lambda name: cycle(engine, name, watchers.reconcile))
    return watchers


def run_canary(engine: ApprovalEngine) -> bool:
    """Send a signed probe to the reply address and read it back; recorded for status."""
    db, started = engine.operations.db, engine.operations.clock()
    try:
        steps = engine.test_configuration(probe_only=True)
    except (MailIOError, ApprovalError) as exc:
        steps = [ProbeStep("engine", "canary", False, str(exc))]
    failed = next((step for step in steps if not step.ok), None)
    summary = "; ".join(f"{step.step}: {step.detail or 'ok'}" for step in steps)
    record_cycle(
        db,
        CycleKind.CANARY,
        started,
        engine.operations.clock(),
        summary=summary,
        error=None if failed is None else str(failed),
    )
    if failed is None:
        log.info("canary: %s", summary)
    else:
        log.error("canary failed at %s", failed)
    return failed is None


def serve(engine: ApprovalEngine) -> None:
    """Run cycles in the foreground until Ctrl-C or SIGTERM; with ``[web] enabled``, the
    admin console too, else with ``[metrics] listen`` the metrics and probes alone, on a
    thread (stopped after the scheduler)."""
    from scheduler.web.server import ConsoleThread, console_server, metrics_server

    settings = engine.settings
    console = None
    if settings.web.enabled:  # the console serves /metrics and the probes too
        console = ConsoleThread(console_server(engine, settings.web)).start()
    elif settings.metrics.listen is not None:
        console = ConsoleThread(metrics_server(engine, settings.metrics.listen)).start()
    scheduler = BlockingScheduler(timezone=UTC)
    watchers = add_jobs(scheduler, engine)
    _log_start(engine, "serving")
    watchers.start()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping")
    finally:
        watchers.stop()
        if scheduler.running:
            scheduler.shutdown(wait=True)
        if console is not None:
            console.stop()


class Runner:
    """``serve``'s jobs on background threads of the caller's process (see
    :func:`run_in_background`). Also a context manager that stops on exit."""

    def __init__(self, scheduler: BackgroundScheduler, watchers: Watchers) -> None:
        self._scheduler = scheduler
        self._watchers = watchers

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running) or self._watchers.running

    def wake(self) -> None:
        """Run a cycle of every mailbox now (it sends what ``request_approval`` queued),
        not at the next interval; after the cycle running now, if one is."""
        self._watchers.wake()

    def stop(self) -> None:
        """Stop the jobs, waiting for a running cycle to finish. The engine stays open."""
        self._watchers.stop()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
            log.info("background jobs stopped")

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_background(engine: ApprovalEngine) -> Runner:
    """Poll, dispatch and run the timers inside this process, as ``approvals serve`` does:
    the first cycle at once, then as each mailbox's mode says; timers every minute.

    ``on_decision`` and ``on_event`` callbacks registered on ``engine`` are called here,
    on a background thread. Call ``.stop()`` before ``engine.close()``.
    """
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    watchers = add_jobs(scheduler, engine)
    scheduler.start()
    watchers.start()
    _log_start(engine, "running in the background")
    return Runner(scheduler, watchers)


def _log_start(engine: ApprovalEngine, how: str) -> None:
    settings = engine.settings
    for name, mailbox in settings.mailboxes.items():
        waits = (
            "waiting for new mail (IDLE), at the latest every"
            if mailbox.mode == "idle"
            else "polling every"
        )
        log.info(
            "%s: %s %s %s minutes, at most %d messages a batch",
            how,
            _mailbox_label(engine, name),
            waits,
            f"{mailbox.interval_minutes:g}",
            mailbox.max_messages,
        )
    log.info(
        "%s: sending through %s",
        how,
        ", ".join(f"[servers.{name}]" for name in settings.outbound.server_names),
    )
