"""``/metrics``, ``/healthz`` and ``/readyz``: the console's routes for machines.

The contract with the app: ``create_app(engine, web)`` mounts :data:`routes` and sets
``app.state.engine`` to the :class:`~approvals.engine.ApprovalEngine` they read; each
endpoint takes it from ``request.app.state.engine`` at request time.

None of them asks for a login: they are meant for a Prometheus scraper and a load
balancer or orchestrator on the internal network (block them at a public reverse
proxy if the console is exposed). They show counts, durations and times only: no
secrets, no addresses, no subjects. ``/readyz`` shows the problems ``approvals
status`` shows (a failed cycle's error may name a server or a folder, never a
password).

The endpoints are plain functions: Starlette runs them on its thread pool, so the
store and mailbox queries do not block the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from approvals.cycles import CycleKind
from approvals.engine import ApprovalEngine
from approvals.errors import ApprovalError
from approvals.health import EngineStatus
from approvals.models import (
    CycleRow,
    DecisionRow,
    InboxRecordRow,
    NotificationRow,
    NotificationStatus,
    ReplyStatus,
    RequestRow,
    RequestStatus,
)
from approvals.replies.verdicts import Verdict
from approvals.store import reading
from approvals.workflow.timers import due_counts

PREFIX = "approvals"


def metrics(request: Request) -> Response:
    """The store's counts and the last cycles, read now, in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(_engine(request)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def healthz(request: Request) -> Response:
    """The process is up and answers (a liveness probe): always 200."""
    return PlainTextResponse("ok\n")


def readyz(request: Request) -> Response:
    """200 when ``approvals status`` would say healthy, else 503 with its problems."""
    try:
        status = _engine(request).operations.status()
    except ApprovalError as exc:  # the store cannot be read
        return JSONResponse({"healthy": False, "problems": [f"store: {exc}"]}, status_code=503)
    return JSONResponse(
        {"healthy": status.healthy, "problems": list(status.problems)},
        status_code=200 if status.healthy else 503,
    )


routes: list[Route] = [
    Route("/metrics", metrics, methods=["GET"], name="metrics"),
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
]


def _engine(request: Request) -> ApprovalEngine:
    engine: ApprovalEngine = request.app.state.engine
    return engine


class EngineCollector(Collector):
    """Reads the store (and counts the reply folder) at each scrape: no state of its own,
    so several engines sharing one store report the same numbers."""

    def __init__(self, engine: ApprovalEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        operations = self._engine.operations
        store_up = GaugeMetricFamily(
            f"{PREFIX}_store_up", "1 when the store could be read for this scrape, else 0"
        )
        try:
            status = operations.status()
            families = [*_status_metrics(status), *_store_metrics(operations.db, status.checked_at)]
        except ApprovalError:  # the store cannot be read: say so, rather than fail the scrape
            store_up.add_metric([], 0)
            yield store_up
            return
        store_up.add_metric([], 1)
        yield store_up
        yield from families


def _status_metrics(status: EngineStatus) -> Iterator[Metric]:
    healthy = GaugeMetricFamily(
        f"{PREFIX}_healthy", "1 when `approvals status` says healthy (see /readyz), else 0"
    )
    healthy.add_metric([], 1 if status.healthy else 0)
    yield healthy
    waiting = GaugeMetricFamily(
        f"{PREFIX}_reply_folder_messages",
        "messages waiting in each reply folder (absent when it could not be opened)",
        labels=["mailbox"],
    )
    readable = GaugeMetricFamily(
        f"{PREFIX}_reply_folder_up",
        "1 when the reply folder could be opened and counted",
        labels=["mailbox"],
    )
    for mailbox in status.mailboxes:
        if mailbox.waiting is not None:
            waiting.add_metric([mailbox.name], mailbox.waiting)
        readable.add_metric([mailbox.name], 0 if mailbox.waiting is None else 1)
    yield waiting
    yield readable
    outbox = GaugeMetricFamily(
        f"{PREFIX}_outbox_notifications",
        "notifications queued (retrying: queued after a failed attempt) or failed for good",
        labels=["state"],
    )
    outbox.add_metric(["queued"], status.outbox.queued)
    outbox.add_metric(["retrying"], status.outbox.retrying)
    outbox.add_metric(["failed"], status.outbox.failed)
    yield outbox
    duration = GaugeMetricFamily(
        f"{PREFIX}_cycle_last_duration_seconds",
        "how long the last cycle of each kind (and each mailbox's poll) ran, ok or failed",
        labels=["kind", "mailbox"],
    )
    last_ok = GaugeMetricFamily(
        f"{PREFIX}_cycle_last_ok",
        "1 when the last cycle of each kind (and each mailbox's poll) went well",
        labels=["kind", "mailbox"],
    )
    for kind, name, cycle in (
        *((CycleKind.POLL, box.name, box.poll) for box in status.mailboxes),
        (CycleKind.DISPATCH, "", status.dispatch),
        (CycleKind.TIMERS, "", status.timers),
        (CycleKind.CANARY, "", status.canary),
    ):
        if cycle is not None:
            duration.add_metric([kind.value, name], cycle.seconds)
            last_ok.add_metric([kind.value, name], 1 if cycle.ok else 0)
    yield duration
    yield last_ok


def _store_metrics(db: Engine, now: datetime) -> Iterator[Metric]:
    with reading(db) as session:
        requests = dict(
            session.exec(
                select(RequestRow.status, func.count()).group_by(col(RequestRow.status))
            ).all()
        )
        replies = dict(
            session.exec(
                select(InboxRecordRow.status, func.count()).group_by(col(InboxRecordRow.status))
            ).all()
        )
        decisions = dict(
            session.exec(
                select(DecisionRow.verdict, func.count()).group_by(col(DecisionRow.verdict))
            ).all()
        )
        notifications = dict(
            session.exec(
                select(NotificationRow.status, func.count()).group_by(col(NotificationRow.status))
            ).all()
        )
        succeeded = {
            (kind, mailbox or ""): finished
            for kind, mailbox, finished in session.exec(
                select(CycleRow.kind, CycleRow.mailbox, func.max(CycleRow.finished_at))
                .where(col(CycleRow.ok))
                .group_by(col(CycleRow.kind), col(CycleRow.mailbox))
            ).all()
        }
    yield _by_label(
        "requests", "approval requests by status", "status", requests, list(RequestStatus)
    )
    yield _by_label(
        "replies", "recorded replies (inbox records) by status", "status", replies,
        list(ReplyStatus),
    )  # fmt: skip
    yield _by_label(
        "decisions", "recorded decisions by verdict", "verdict", decisions, list(Verdict)
    )
    yield _by_label(
        "notifications", "notifications (all kinds) by status", "status", notifications,
        list(NotificationStatus),
    )  # fmt: skip
    success = GaugeMetricFamily(
        f"{PREFIX}_cycle_last_success_timestamp_seconds",
        "when the last successful cycle of each kind (and each mailbox's poll) ended "
        "(Unix time; kept 7 days)",
        labels=["kind", "mailbox"],
    )
    since = GaugeMetricFamily(
        f"{PREFIX}_cycle_seconds_since_last_success",
        "seconds since the last successful cycle of each kind (and each mailbox's poll) "
        "ended (poll, dispatch, timers, canary, reload); absent when none in 7 days",
        labels=["kind", "mailbox"],
    )
    for (kind, mailbox), finished in sorted(succeeded.items()):
        success.add_metric([kind, mailbox], finished.timestamp())
        since.add_metric([kind, mailbox], max(0.0, (now - finished).total_seconds()))
    yield success
    yield since
    due = GaugeMetricFamily(
        f"{PREFIX}_timers_due",
        "work the timers job would do now: pending requests past their deadline, "
        "escalations and reminders due",
        labels=["timer"],
    )
    counts = due_counts(db, now)
    due.add_metric(["deadline"], counts.deadlines)
    due.add_metric(["escalation"], counts.escalations)
    due.add_metric(["reminder"], counts.reminders)
    yield due


def _by_label(
    name: str, documentation: str, label: str, counts: dict[str, int], known: list[str]
) -> GaugeMetricFamily:
    """One sample per value; the known values appear with 0, so alerts see a series."""
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=[label])
    for value in sorted({*map(str, known), *counts}):
        family.add_metric([value], counts.get(value, 0))
    return family
