"""Tell the workflow system about final statuses: at least once, normally exactly once.

A final status is committed together with the decision that caused it.
Delivery happens after the commit, from a durable mark on the request row: an
instance claims up to GROUP_SIZE undelivered statuses with a guarded UPDATE, on
a short lease (LEASE_SECONDS), calls the ``on_decision`` callbacks (and the
webhook, if configured) for one status at a time, and marks each delivered as
soon as it is; that write also renews the lease on the rest of the group. If
the instance dies, the status in flight may be delivered again, and the rest
of its group waits at most LEASE_SECONDS before a later cycle, in any
instance, delivers it. A status whose consumer failed waits RETRY_SECONDS;
it is then tried again, but within a process only for the consumers that
have not had it yet. An engine with no callback and no webhook leaves
statuses for one that has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from approvals.models import ApprovalRequest, EventKind, RequestRow, RequestStatus
from approvals.requests import snapshot
from approvals.settings import CallbackSettings, EngineSettings
from approvals.store import reading, transaction
from approvals.workflow.history import record_event
from mailio.config import TimeoutSettings
from mailio.errors import MailIOError
from mailio.http import post_json

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
GROUP_SIZE = 10  # statuses claimed at once: what waits out the lease after a crash
RETRY_SECONDS = 300  # after a consumer failed
DecisionCallback = Callable[[ApprovalRequest], None]


@dataclass(frozen=True)
class _Claim:
    """Statuses one instance is delivering. ``at`` (``callback_claimed_at``, the time
    of the claim or its last renewal) also identifies the claim: a status is marked
    delivered, or its lease renewed, only while its row still carries it."""

    at: datetime
    requests: list[ApprovalRequest]


class CallbackDelivery:
    """Tells the callbacks and the webhook of one engine about final statuses.

    Owns its bookkeeping: which consumers already had which request's status in
    this process (``_called``), so that a retry after one consumer failed does
    not call the others twice.
    """

    def __init__(self, db: Engine, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock
        self._callbacks: list[DecisionCallback] = []
        self._called: set[tuple[str, int]] = set()  # (request id, consumer); 0 = webhook

    def add(self, callback: DecisionCallback) -> None:
        self._callbacks.append(callback)

    def deliver(self, settings: EngineSettings, only: str | None = None) -> int:
        """Deliver undelivered final statuses (or just request ``only``); returns how many."""
        if not self._callbacks and not settings.callback.url:
            return 0
        with reading(self._db) as session:
            query = select(RequestRow.id).where(*_claimable(self._clock()))
            if only is not None:
                query = query.where(RequestRow.id == only)
            candidates = list(
                session.exec(query.order_by(col(RequestRow.closed_at)).limit(500)).all()
            )
        delivered = 0
        for first in range(0, len(candidates), GROUP_SIZE):
            claim = self._claim(candidates[first : first + GROUP_SIZE], settings)
            delivered += self._deliver_claimed(claim, settings.callback)
        return delivered

    def _claim(self, ids: Sequence[str], settings: EngineSettings) -> _Claim:
        """Claim those of ``ids`` nobody holds; returns their snapshots."""
        at = self._clock()
        with transaction(self._db) as session:
            session.execute(
                update(RequestRow)
                .where(col(RequestRow.id).in_(ids), *_claimable(at))
                .values(callback_claimed_at=at)
            )
            rows = session.exec(
                select(RequestRow).where(
                    col(RequestRow.id).in_(ids), col(RequestRow.callback_claimed_at) == at
                )
            ).all()
            ours = {row.id: snapshot(session, row, settings.policy.mode) for row in rows}
        return _Claim(at, [ours[request_id] for request_id in ids if request_id in ours])

    def _deliver_claimed(self, claim: _Claim, webhook: CallbackSettings) -> int:
        """One status at a time; each result is written at once, renewing the lease on
        the rest of the claim."""
        delivered = 0
        while claim.requests:
            request, rest = claim.requests[0], claim.requests[1:]
            ok = self._call_everyone(request, webhook)
            now = self._clock()
            with transaction(self._db) as session:
                if ok:
                    delivered += _mark_delivered(session, request, claim.at, now)
                else:  # held back RETRY_SECONDS instead of LEASE_SECONDS
                    _hold(session, [request.id], claim.at, now, RETRY_SECONDS - LEASE_SECONDS)
                claim = _Claim(now, _renewed(session, rest, claim.at, now))
        return delivered

    def _call_everyone(self, request: ApprovalRequest, webhook: CallbackSettings) -> bool:
        """Give the status to each consumer that has not had it; True when all have."""
        called = self._called
        ok = True
        for callback in self._callbacks:
            if (request.id, id(callback)) in called:
                continue
            try:
                callback(request)
            except Exception:  # a caller's bug must not stop the poll cycle; it is retried
                log.exception("on_decision callback %r failed for request %s", callback, request.id)
                ok = False
            else:
                called.add((request.id, id(callback)))
        if webhook.url and (request.id, 0) not in called:
            try:
                post_json(
                    webhook.url.get_secret_value(),
                    webhook_payload(request),
                    service="decision webhook",
                    timeouts=TimeoutSettings(
                        connect=webhook.timeout_seconds, socket=webhook.timeout_seconds
                    ),
                )
            except MailIOError as exc:
                log.error("decision webhook failed for request %s: %s", request.id, exc)
                ok = False
            else:
                called.add((request.id, 0))
        if ok:
            called.difference_update({key for key in called if key[0] == request.id})
        return ok


def _claimable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Final, undelivered, and claimed by nobody or on a lease that lapsed."""
    return (
        col(RequestRow.status) != RequestStatus.PENDING,
        col(RequestRow.callback_delivered_at).is_(None),
        or_(
            col(RequestRow.callback_claimed_at).is_(None),
            col(RequestRow.callback_claimed_at) < now - timedelta(seconds=LEASE_SECONDS),
        ),
    )


def _mark_delivered(
    session: Session, request: ApprovalRequest, claimed_at: datetime, now: datetime
) -> int:
    """1 when the status is marked delivered; 0 when the lease lapsed and another instance
    took it over (it writes the mark, and may have called the consumers again)."""
    marked = session.execute(
        update(RequestRow)
        .where(col(RequestRow.id) == request.id, col(RequestRow.callback_claimed_at) == claimed_at)
        .values(callback_delivered_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not marked:
        _log_lapsed(1)
        return 0
    record_event(
        session.connection(),
        request.id,
        EventKind.OUTCOME,
        now,
        actor="engine",
        detail=f"{request.status} told to the workflow system",
    )
    return 1


def _hold(
    session: Session, ids: Sequence[str], claimed_at: datetime, now: datetime, extra: float = 0
) -> int:
    """Renew the lease on ``ids`` still claimed at ``claimed_at``: it lapses LEASE_SECONDS
    (+ ``extra``) after ``now``. Returns how many were still ours."""
    if not ids:
        return 0
    held: int = session.execute(
        update(RequestRow)
        .where(col(RequestRow.id).in_(ids), col(RequestRow.callback_claimed_at) == claimed_at)
        .values(callback_claimed_at=now + timedelta(seconds=extra))
    ).rowcount  # type: ignore[attr-defined]
    return held


def _renewed(
    session: Session, rest: list[ApprovalRequest], claimed_at: datetime, now: datetime
) -> list[ApprovalRequest]:
    """The rest of a claim, its lease renewed from ``now``: those still ours."""
    ids = [request.id for request in rest]
    held = _hold(session, ids, claimed_at, now)
    if held == len(ids):
        return rest
    _log_lapsed(len(ids) - held)
    kept = set(
        session.exec(
            select(RequestRow.id).where(
                col(RequestRow.id).in_(ids), col(RequestRow.callback_claimed_at) == now
            )
        ).all()
    )
    return [request for request in rest if request.id in kept]


def _log_lapsed(count: int) -> None:
    log.warning(
        "%d final status(es) outlived the %d s callback lease and were taken over by "
        "another instance; it marks them (its consumers may be told twice)",
        count,
        LEASE_SECONDS,
    )


def webhook_payload(request: ApprovalRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "external_id": request.external_id,
        "title": request.title,
        "status": request.status.value,
        "closed_at": request.closed_at.isoformat() if request.closed_at else None,
        "decisions": [
            {
                "approver": decision.approver,
                "verdict": decision.verdict,
                "comment": decision.comment,
                "decided_at": decision.decided_at.isoformat(),
                "message_id": decision.message_id,
            }
            for decision in request.decisions
        ],
    }
