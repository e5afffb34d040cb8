"""Tell the workflow system about final statuses: at least once, normally exactly once.

A final status is committed together with the decision that caused it.
Delivery happens after the commit, from a durable mark on the request row: an
instance claims an undelivered status with a guarded UPDATE, calls the
``on_decision`` callbacks (and the webhook, if configured), and marks it
delivered. If it dies in between, the claim lapses after CLAIM_SECONDS and a
later cycle, in any instance, delivers it. When one consumer fails, the
status is tried again later, but within a process only for the consumers that
have not had it yet. An engine with no callback and no webhook leaves
statuses for one that has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals.models import ApprovalRequest, EventKind, RequestRow, RequestStatus
from approvals.requests import snapshot
from approvals.settings import CallbackSettings, EngineSettings
from approvals.store import reading, transaction
from approvals.workflow.history import record_event
from mailio.config import TimeoutSettings
from mailio.errors import MailIOError
from mailio.http import post_json

log = logging.getLogger(__name__)

CLAIM_SECONDS = 300
DecisionCallback = Callable[[ApprovalRequest], None]


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
        webhook = settings.callback
        if not self._callbacks and not webhook.url:
            return 0
        now = self._clock()
        claimable = (
            col(RequestRow.status) != RequestStatus.PENDING,
            col(RequestRow.callback_delivered_at).is_(None),
            or_(
                col(RequestRow.callback_claimed_at).is_(None),
                col(RequestRow.callback_claimed_at) < now - timedelta(seconds=CLAIM_SECONDS),
            ),
        )
        with reading(self._db) as session:
            query = select(RequestRow.id).where(*claimable)
            if only is not None:
                query = query.where(RequestRow.id == only)
            candidates = session.exec(query.limit(500)).all()
        delivered = 0
        for request_id in candidates:
            with transaction(self._db) as session:
                claimed = session.execute(
                    update(RequestRow)
                    .where(col(RequestRow.id) == request_id, *claimable)
                    .values(callback_claimed_at=now)
                ).rowcount  # type: ignore[attr-defined]
                if claimed != 1:
                    continue
                request = snapshot(
                    session,
                    session.get(RequestRow, request_id),  # type: ignore[arg-type]
                    settings.policy.mode,
                )  # type: ignore[arg-type]
            if not self._call_everyone(request, webhook):
                continue  # the claim lapses and a later cycle tries again
            with transaction(self._db) as session:
                session.execute(
                    update(RequestRow)
                    .where(col(RequestRow.id) == request_id)
                    .values(callback_delivered_at=now)
                )
                record_event(
                    session.connection(),
                    request_id,
                    EventKind.OUTCOME,
                    now,
                    actor="engine",
                    detail=f"{request.status} told to the workflow system",
                )
            delivered += 1
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
