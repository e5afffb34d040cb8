"""Send queued notifications, at least once each, normally exactly once.

A dispatcher claims due notifications with a guarded UPDATE (PostgreSQL:
``FOR UPDATE SKIP LOCKED``), so several instances never send the same row at
the same time. The claim is a short lease (LEASE_SECONDS): the dispatcher sends
GROUP_SIZE messages at a time, and writing a group's results also renews the
lease on what it has not sent yet, so a dispatcher killed mid-batch re-sends at
most the group in flight, and another takes over once the lease lapses.
Temporary failures go to the next fallback server, then back to the queue with
backoff; permanent ones end the row. A security refusal (TLS could not be set
up as configured) is never final: it goes back to the queue with backoff,
logged at ERROR each time, until the server or the path is fixed
(mailio.outbound.retry). An operator puts failed rows back in the queue with
:func:`requeue_failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from approvals.models import (
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    RequestRow,
    RequestStatus,
)
from approvals.reports import DispatchReport
from approvals.settings import EngineSettings
from approvals.store import transaction
from mailio.config import RetrySettings
from mailio.errors import SendError, TemporarySendError
from mailio.outbound.base import Sender, SendResult
from mailio.outbound.envelope import StoredMessage
from mailio.outbound.retry import (
    is_retryable,
    is_security_refusal,
    next_attempt_delay,
    should_retry,
)

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
GROUP_SIZE = 20  # messages in flight at once: what a crash may send twice
_ASKING = (NotificationKind.APPROVAL, NotificationKind.REMINDER)


@dataclass(frozen=True)
class Attempt:
    """What the last server tried did with one notification: ``error`` None = accepted."""

    server: str | None
    error: SendError | None


@dataclass(frozen=True)
class Claim:
    """Notifications one dispatcher is sending. ``until`` also identifies the claim:
    a result is written (or the lease renewed) only while the row still carries it,
    so a dispatcher whose lease lapsed and was taken over cannot overwrite what the
    new owner records, nor send the rows it lost again."""

    until: datetime
    rows: list[NotificationRow]


def claim_due(db: Engine, now: datetime, limit: int) -> Claim:
    """Mark up to ``limit`` due notifications as being sent by us, and return them."""
    until = now + timedelta(seconds=LEASE_SECONDS)
    due = or_(
        col(NotificationRow.status) == NotificationStatus.QUEUED,
        (col(NotificationRow.status) == NotificationStatus.SENDING)
        & (col(NotificationRow.claimed_until) < now),
    )
    with transaction(db) as session:
        found = session.exec(
            select(NotificationRow, RequestRow.status)
            .join(RequestRow, col(RequestRow.id) == col(NotificationRow.request_id))
            .where(due, col(NotificationRow.next_attempt_at) <= now)
            .order_by(col(NotificationRow.id))
            .limit(limit)
            .with_for_update(of=NotificationRow, skip_locked=True)  # type: ignore[arg-type]
        ).all()
        # An approval or reminder of a request that closed while queued is not sent.
        closed = [
            row.id
            for row, status in found
            if row.kind in _ASKING and status != RequestStatus.PENDING
        ]
        rows = [row for row, _ in found if row.id not in closed]
        # Locked (PostgreSQL) or alone in a write transaction (SQLite): nobody else
        # can claim these between the select and these updates.
        session.execute(
            update(NotificationRow)
            .where(col(NotificationRow.id).in_(closed))
            .values(status=NotificationStatus.FAILED, last_error="not sent: request closed")
        )
        session.execute(
            update(NotificationRow)
            .where(col(NotificationRow.id).in_([row.id for row in rows]))
            .values(status=NotificationStatus.SENDING, claimed_until=until)
        )
        return Claim(until=until, rows=rows)


def send_claimed(rows: Sequence[NotificationRow], senders: Sequence[Sender]) -> dict[int, Attempt]:
    """Try each sender in order for what is still undelivered; row id -> last attempt."""
    messages: dict[int, Message] = {
        row.id: StoredMessage.from_bytes(row.mime)  # type: ignore[misc]
        for row in rows
    }
    attempts: dict[int, Attempt] = {}
    pending = list(messages)
    for sender in senders:
        if not pending:
            break
        try:
            results = sender.send_messages([messages[row_id] for row_id in pending])
        except Exception as exc:  # a sender's bug must not leave the claim unsettled
            log.exception("sender %s failed as a whole", sender.name)
            error = TemporarySendError(f"{sender.name} failed: {type(exc).__name__}")
            results = [
                SendResult(messages[row_id]["Message-ID"] or "", error) for row_id in pending
            ]
        still_pending = []
        for row_id, result in zip(pending, results, strict=True):
            attempts[row_id] = Attempt(sender.name, result.error)
            if result.error is not None and is_retryable(result.error):
                still_pending.append(row_id)  # the next fallback server may take it
        pending = still_pending
    return attempts


def settle(
    db: Engine,
    claim: Claim,
    attempts: dict[int, Attempt],
    retry: RetrySettings,
    now: datetime,
) -> tuple[DispatchReport, Claim]:
    """Write each attempted row's result (sent, queued again with backoff, or failed)
    and renew the lease on the claim's other rows, in one transaction. Returns what
    was written and the claim on the rows still ours, not yet attempted."""
    delivered = [row_id for row_id, attempt in attempts.items() if attempt.error is None]
    sent = retrying = failed = 0
    ours = col(NotificationRow.claimed_until) == claim.until
    with transaction(db) as session:
        for server in {attempts[row_id].server for row_id in delivered}:
            sent_by_server = [row_id for row_id in delivered if attempts[row_id].server == server]
            written = session.execute(
                update(NotificationRow)
                .where(col(NotificationRow.id).in_(sent_by_server), ours)
                .values(
                    status=NotificationStatus.SENT,
                    attempts=NotificationRow.attempts + 1,
                    server=server,
                    sent_at=now,
                    last_error=None,
                    claimed_until=None,
                )
            ).rowcount  # type: ignore[attr-defined]
            sent += written
            if written != len(sent_by_server):
                _log_lapsed(len(sent_by_server) - written)
        for row_id, attempt in attempts.items():
            error = attempt.error
            if error is None:
                continue
            row = session.get(NotificationRow, row_id)
            if row is None or row.claimed_until != claim.until:
                _log_lapsed(1)
                continue
            row.attempts += 1
            row.server = attempt.server
            row.claimed_until = None
            row.last_error = str(error)[:1000]
            if not should_retry(error, row.attempts, retry):
                row.status = NotificationStatus.FAILED
                failed += 1
                log.error("notification %s to %s failed: %s", row.id, row.approver, error)
            else:
                row.status = NotificationStatus.QUEUED
                row.next_attempt_at = now + timedelta(
                    seconds=next_attempt_delay(row.attempts, retry)
                )
                retrying += 1
                log.log(
                    logging.ERROR if is_security_refusal(error) else logging.WARNING,
                    "notification %s to %s: attempt %d through %s failed, retrying at %s: %s",
                    row.id,
                    row.approver,
                    row.attempts,
                    attempt.server,
                    row.next_attempt_at,
                    error,
                )
            session.add(row)
        rest = _renew(session, claim, [row for row in claim.rows if row.id not in attempts], now)
    return DispatchReport(sent=sent, retrying=retrying, failed=failed), rest


def _renew(session: Session, claim: Claim, rows: Sequence[NotificationRow], now: datetime) -> Claim:
    """Extend the lease on ``rows`` of ``claim``; the new claim holds those still ours."""
    until = now + timedelta(seconds=LEASE_SECONDS)
    ids = [row.id for row in rows]
    if not ids:
        return Claim(until=until, rows=[])
    renewed = session.execute(
        update(NotificationRow)
        .where(col(NotificationRow.id).in_(ids), col(NotificationRow.claimed_until) == claim.until)
        .values(claimed_until=until)
    ).rowcount  # type: ignore[attr-defined]
    if renewed == len(ids):
        return Claim(until=until, rows=list(rows))
    _log_lapsed(len(ids) - renewed)
    kept = set(
        session.exec(
            select(NotificationRow.id).where(
                col(NotificationRow.id).in_(ids), col(NotificationRow.claimed_until) == until
            )
        ).all()
    )
    return Claim(until=until, rows=[row for row in rows if row.id in kept])


class SenderPool:
    """The engine's senders, built on first use and kept across dispatches (their
    connection pools with them) until closed, as on a config reload."""

    def __init__(self, factory: Callable[[EngineSettings], Sequence[Sender]]) -> None:
        self._factory = factory
        self._senders: list[Sender] | None = None

    def active(self, settings: EngineSettings) -> list[Sender]:
        if self._senders is None:
            self._senders = list(self._factory(settings))
        return self._senders

    def close(self) -> None:
        for sender in self._senders or ():
            sender.close()
        self._senders = None


def dispatch_due(
    db: Engine,
    senders: Sequence[Sender],
    retry: RetrySettings,
    clock: Callable[[], datetime],
    limit: int,
) -> DispatchReport:
    """Claim up to ``limit`` due notifications, then send and settle them a group at a time."""
    claim = claim_due(db, clock(), limit)
    sent = retrying = failed = 0
    while claim.rows:
        attempts = send_claimed(claim.rows[:GROUP_SIZE], senders)
        report, claim = settle(db, claim, attempts, retry, clock())
        sent, retrying, failed = (
            sent + report.sent,
            retrying + report.retrying,
            failed + report.failed,
        )
    return DispatchReport(sent=sent, retrying=retrying, failed=failed)


def requeue_failed(db: Engine, now: datetime, ids: Sequence[int] | None = None) -> dict[int, str]:
    """Put failed notifications (``ids``, or every failed one) back in the queue, due now.

    Each gets one more attempt: ``attempts`` keeps counting and ``last_error`` stays
    until that attempt replaces it. Approvals and reminders of closed requests stay
    failed (they would not be sent). Returns the ids queued again.
    """
    failed = col(NotificationRow.status) == NotificationStatus.FAILED
    with transaction(db) as session:
        query = (
            select(NotificationRow.id, NotificationRow.kind, RequestRow.id, RequestRow.status)
            .join(RequestRow, col(RequestRow.id) == col(NotificationRow.request_id))
            .where(failed)
        )
        if ids is not None:
            query = query.where(col(NotificationRow.id).in_(list(ids)))
        again = {
            row_id: request_id
            for row_id, kind, request_id, status in session.exec(query).all()
            if row_id is not None and (kind not in _ASKING or status == RequestStatus.PENDING)
        }
        session.execute(
            update(NotificationRow)
            .where(col(NotificationRow.id).in_(list(again)), failed)
            .values(status=NotificationStatus.QUEUED, next_attempt_at=now, claimed_until=None)
        )
    return dict(sorted(again.items()))


def _log_lapsed(count: int) -> None:
    log.warning(
        "%d notification(s) outlived the %d s lease and were taken over by another "
        "dispatcher; their result is left to it (they may have been sent twice)",
        count,
        LEASE_SECONDS,
    )
