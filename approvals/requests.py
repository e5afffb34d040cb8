"""Approval requests in the store: create, cancel, expire and look up; rows -> snapshots.

Callers never see rows: every function returns frozen values
(:class:`ApprovalRequest`, :class:`NotificationLog`).
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from approvals.errors import MessageTooLarge, RequestClosed, StoreConflict, UnknownRequest
from approvals.models import (
    AbsenceRow,
    ApprovalRequest,
    Decision,
    DecisionRow,
    EventKind,
    InboxRecordRow,
    NotificationKind,
    NotificationLog,
    NotificationRow,
    NotificationStatus,
    ReplyStatus,
    RequestRow,
    RequestStatus,
    Via,
)
from approvals.settings import EngineSettings
from approvals.store import reading, transaction
from approvals.workflow.asking import RequestFacts, Seat, ask
from approvals.workflow.history import record_event
from approvals.workflow.stages import (
    StagePlan,
    parse_approvers,
    plan_stages,
    stages_view,
    stored_plans,
)
from approvals.workflow.timers import close_waiting
from mailio.compose import Attachment

# request_approval is on the workflow system's hot path: precompiled Core statements
# cost a fraction of the ORM unit of work for the same three rows.
_REQUESTS = RequestRow.__table__  # type: ignore[attr-defined]
_NOTIFICATIONS = NotificationRow.__table__  # type: ignore[attr-defined]
_INSERT_REQUEST = _REQUESTS.insert()
_ASKED = (
    select(_NOTIFICATIONS.c.approver)
    .where(
        _NOTIFICATIONS.c.request_id == bindparam("b_request"),
        _NOTIFICATIONS.c.kind == NotificationKind.APPROVAL.value,
    )
    .order_by(_NOTIFICATIONS.c.id)
)
_ABSENCES = AbsenceRow.__table__  # type: ignore[attr-defined]
_ANYONE_AWAY = (
    select(_ABSENCES.c.id)
    .where(_ABSENCES.c.starts_at <= bindparam("b_now"), _ABSENCES.c.ends_at > bindparam("b_now"))
    .limit(1)
)


@dataclass(frozen=True)
class NewRequest:
    """What a caller asks for, checked (see ApprovalEngine.request_approval)."""

    title: str
    stages: Sequence[StagePlan]
    details: Mapping[str, Any]
    due_at: datetime
    external_id: str | None = None
    template: str | None = None
    attachments: Sequence[Attachment] = ()
    language: str | None = None
    reminders: Mapping[str, Any] | None = None  # {"after": s, "every": s, "max": n}
    escalate_to: Sequence[tuple[str, str]] = ()
    escalate_after: timedelta | None = None


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()  # "as [workflow] says"


def new_request(
    settings: EngineSettings,
    now: datetime,
    title: str,
    approvers: Iterable[str] | str | None,
    *,
    details: Mapping[str, Any] | None = None,
    external_id: str | None = None,
    template: str | None = None,
    attachments: Sequence[Attachment] = (),
    language: str | None = None,
    policy: str = "all",
    stages: Sequence[Mapping[str, Any]] | None = None,
    due: datetime | timedelta | None = None,
    reminders: Mapping[str, Any] | None = DEFAULT,
    escalate_to: Iterable[str] | None = None,
    escalate_after: timedelta | None = None,
) -> NewRequest:
    """A caller's request, checked and completed from ``[workflow]``; ValueError names
    the argument at fault."""
    workflow = settings.workflow
    if due is None:
        due = timedelta(hours=workflow.due_hours)
    due_at = now + due if isinstance(due, timedelta) else due
    if due_at.tzinfo is None:
        raise ValueError("due: give an aware datetime (with a time zone) or a timedelta")
    if due_at <= now:
        raise ValueError(f"due: {due_at:%Y-%m-%d %H:%M %Z} is not in the future")
    if escalate_to is None and escalate_after is None and workflow.escalate_to:
        escalate_to = workflow.escalate_to
        escalate_after = timedelta(hours=workflow.escalate_after_hours or 0)
    escalation = parse_approvers(escalate_to, where="escalate_to") if escalate_to else []
    if bool(escalation) != (escalate_after is not None):
        raise ValueError("escalate_to and escalate_after go together: give both or neither")
    return NewRequest(
        title=title,
        stages=plan_stages(approvers, policy, stages),
        details=details or {},
        due_at=due_at,
        external_id=external_id,
        template=template,
        attachments=attachments,
        language=language,
        reminders=_reminder_plan(settings, reminders),
        escalate_to=escalation,
        escalate_after=escalate_after,
    )


def _reminder_plan(
    settings: EngineSettings, reminders: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """{"after": s, "every": s, "max": n}, or None for no reminders."""
    if reminders is DEFAULT:
        configured = settings.workflow.reminders
        if configured is None or configured.max == 0:
            return None
        return {
            "after": configured.after_hours * 3600,
            "every": configured.every_hours * 3600,
            "max": configured.max,
        }
    if reminders is None:
        return None
    unknown = set(reminders) - {"after", "every", "max"}
    if unknown:
        raise ValueError(f"reminders: unknown key(s) {', '.join(sorted(unknown))}")
    after, every = reminders.get("after"), reminders.get("every", reminders.get("after"))
    count = reminders.get("max", 1)
    if not isinstance(after, timedelta) or not isinstance(every, timedelta):
        raise ValueError('reminders: "after" and "every" must be timedeltas')
    if after <= timedelta(0) or every <= timedelta(0) or not isinstance(count, int) or count < 0:
        raise ValueError('reminders: "after" and "every" must be positive, "max" 0 or more')
    if count == 0:
        return None
    return {"after": after.total_seconds(), "every": every.total_seconds(), "max": count}


def new_requests(
    settings: EngineSettings, now: datetime, specs: Iterable[Mapping[str, Any]]
) -> list[NewRequest]:
    """Each spec (``request_approval``'s keyword arguments, ``title`` and ``approvers``
    included) checked as :func:`new_request` checks one; ValueError names the spec."""
    checked = []
    for index, spec in enumerate(specs):
        fields = dict(spec)
        if "title" not in fields:
            raise ValueError(f"specs[{index}]: no title")
        title, approvers = fields.pop("title"), fields.pop("approvers", None)
        try:
            checked.append(new_request(settings, now, title, approvers, **fields))
        except (ValueError, TypeError) as exc:  # TypeError: an argument unknown or twice
            raise ValueError(f"specs[{index}]: {exc}") from exc
    return checked


def create_request(
    db: Engine, settings: EngineSettings, new: NewRequest, now: datetime
) -> ApprovalRequest:
    """Store a request and one queued notification per approver, in one transaction.

    Asking again with the same ``external_id`` returns the first request and
    queues nothing, also when two callers race.
    """
    (created,) = create_requests(db, settings, [new], now)
    return created


def create_requests(
    db: Engine, settings: EngineSettings, news: Sequence[NewRequest], now: datetime
) -> list[ApprovalRequest]:
    """Store requests and their first notifications in one transaction: all of them, or
    (when one fails: a template, the store) none. Returns them in order.

    An ``external_id`` already stored, or earlier in ``news``, gives the first request
    and queues nothing, also when another caller stores it meanwhile.
    """
    for new in news:
        _check_attachment_size(settings, new)
    try:
        return _store_all(db, settings, news, now)
    except StoreConflict:
        if all(new.external_id is None for new in news):
            raise
        # Another caller stored one of our external_ids between our check and our
        # insert. The batch rolled back whole; stored again, it takes that request.
        return _store_all(db, settings, news, now)


def _store_all(
    db: Engine, settings: EngineSettings, news: Sequence[NewRequest], now: datetime
) -> list[ApprovalRequest]:
    known = _stored_by_external_id(db, news, settings.policy.mode)
    created: list[ApprovalRequest] = []
    with transaction(db) as session:
        connection = session.connection()  # Core: the hot path of a workflow system
        # Absence rules are rare: one look for any in force spares one per approver.
        anyone_away = connection.execute(_ANYONE_AWAY, {"b_now": now}).first() is not None
        for new in news:
            request = known.get(new.external_id) if new.external_id is not None else None
            if request is None:
                request = _insert_request(connection, settings, new, now, anyone_away)
                if new.external_id is not None:
                    known[new.external_id] = request
            created.append(request)
    return created


def _check_attachment_size(settings: EngineSettings, new: NewRequest) -> None:
    size = sum(len(attachment.content) for attachment in new.attachments)
    limit = settings.outbound.max_attachment_bytes
    if size > limit:
        raise MessageTooLarge(
            f"attachments total {size} bytes, over the {limit} bytes allowed by "
            "[outbound] max_attachment_bytes; nothing was queued"
        )


def _stored_by_external_id(
    db: Engine, news: Sequence[NewRequest], legacy_policy: str
) -> dict[str, ApprovalRequest]:
    wanted = {new.external_id for new in news if new.external_id is not None}
    if not wanted:
        return {}
    with reading(db) as session:
        rows = session.exec(
            select(RequestRow).where(col(RequestRow.external_id).in_(sorted(wanted)))
        ).all()
        return {row.external_id: snapshot(session, row, legacy_policy) for row in rows}  # type: ignore[misc]


def _insert_request(
    connection: Connection,
    settings: EngineSettings,
    new: NewRequest,
    now: datetime,
    anyone_away: bool,
) -> ApprovalRequest:
    """Write one request, its history's first event and its first stage's notifications;
    returns its snapshot."""
    request_id = uuid.uuid4().hex
    # A token outlives the deadline, so a late reply is still recognised and answered.
    expires_at = max(now + timedelta(days=settings.tokens.ttl_days), new.due_at)
    facts = RequestFacts(
        request_id,
        new.title,
        dict(new.details),
        new.template,
        new.language,
        expires_at,
        new.due_at,
        dict(new.reminders) if new.reminders else None,
    )
    stages = [plan.stored() for plan in new.stages]
    connection.execute(
        _INSERT_REQUEST,
        {
            "id": request_id,
            "external_id": new.external_id,
            "title": new.title,
            "details": dict(new.details),
            "theme": new.template,
            "language": new.language,
            "status": RequestStatus.PENDING.value,
            "stages": stages,
            "current_stage": 0,
            "created_at": now,
            "due_at": new.due_at,
            "expires_at": expires_at,
            "reminders": facts.reminders,
            "escalate_to": [list(person) for person in new.escalate_to] or None,
            "escalate_at": now + new.escalate_after if new.escalate_after else None,
        },
    )
    record_event(connection, request_id, EventKind.REQUESTED, now, detail=new.title)
    for address, name in new.stages[0].people:
        ask(
            connection,
            settings,
            facts,
            Seat(address, name, 0, address),
            now,
            attachments=new.attachments,
            follow_absence=anyone_away,
        )
    # Who was asked: the seats, unless an absence rule sent one to its delegate.
    asked = (
        connection.execute(_ASKED, {"b_request": request_id}).scalars()
        if anyone_away
        else new.stages[0].seats
    )
    plans = stored_plans(stages, [], "all")
    # What get_request would read back, without reading it: the store keeps details as
    # JSON and times as UTC.
    return ApprovalRequest(
        id=request_id,
        external_id=new.external_id,
        title=new.title,
        details=json.loads(json.dumps(dict(new.details))),
        status=RequestStatus.PENDING,
        approvers=tuple(dict.fromkeys(asked)),
        decisions=(),
        created_at=now.astimezone(UTC),
        expires_at=expires_at.astimezone(UTC),
        closed_at=None,
        policy=plans[0].policy,
        stages=stages_view(plans, 0, {}),
        current_stage=0,
        due_at=new.due_at.astimezone(UTC),
    )


def get_request(db: Engine, request_id: str, legacy_policy: str = "all") -> ApprovalRequest:
    """``legacy_policy``: [policy] mode, for requests made before stages (see stages.py)."""
    with reading(db) as session:
        row = session.get(RequestRow, request_id)
        if row is None:
            raise UnknownRequest(f"no approval request with id {request_id!r}")
        return snapshot(session, row, legacy_policy)


def find_request(
    db: Engine, external_id: str, legacy_policy: str = "all"
) -> ApprovalRequest | None:
    with reading(db) as session:
        row = session.exec(select(RequestRow).where(RequestRow.external_id == external_id)).first()
        return None if row is None else snapshot(session, row, legacy_policy)


def cancel_request(db: Engine, settings: EngineSettings, request_id: str, now: datetime) -> None:
    """Cancel a pending request; its notifications not yet sent are not sent (outbox), and
    the seats still waiting are told (``[workflow] notify_on_close``)."""
    with transaction(db) as session:
        row = session.get(RequestRow, request_id)
        if row is None:
            raise UnknownRequest(f"no approval request with id {request_id!r}")
        if row.status != RequestStatus.PENDING:
            raise RequestClosed(f"request {request_id} is already {row.status}")
        row.status = RequestStatus.CANCELLED
        row.closed_at = now
        session.add(row)
        session.flush()
        close_waiting(session, settings, row, RequestStatus.CANCELLED.value, now)


def forget_refused_reply(db: Engine, message_id: str) -> bool:
    """Delete the record of a refused reply so that the next poll reads it afresh."""
    key = message_id.strip().strip("<>")
    with transaction(db) as session:
        removed = session.execute(
            delete(InboxRecordRow).where(
                col(InboxRecordRow.message_key) == key,
                col(InboxRecordRow.status) == ReplyStatus.FAILED,
            )
        ).rowcount  # type: ignore[attr-defined]
    return bool(removed)


def notification_log(db: Engine, request_id: str | None, limit: int) -> list[NotificationLog]:
    """The outgoing notification log, newest first."""
    with reading(db) as session:
        query = select(NotificationRow).order_by(col(NotificationRow.id).desc()).limit(limit)
        if request_id is not None:
            query = query.where(NotificationRow.request_id == request_id)
        return [
            NotificationLog(
                id=row.id,  # type: ignore[arg-type]
                request_id=row.request_id,
                kind=row.kind,
                approver=row.approver,
                status=NotificationStatus(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                server=row.server,
                next_attempt_at=row.next_attempt_at,
                sent_at=row.sent_at,
            )
            for row in session.exec(query).all()
        ]


def raw_reply(db: Engine, request_id: str, message_id: str) -> bytes | None:
    """The raw reply behind a decision (Message-ID as in ``Decision.message_id``)."""
    with reading(db) as session:
        row = session.exec(
            select(DecisionRow).where(
                DecisionRow.request_id == request_id,
                DecisionRow.message_id == message_id.strip().strip("<>"),
            )
        ).first()
        if row is None:
            raise UnknownRequest(f"request {request_id!r} has no decision from {message_id!r}")
        return None if row.raw_reply is None else zlib.decompress(row.raw_reply)


def notification_message(db: Engine, notification_id: int) -> bytes:
    """The notification's MIME as it was (or will be) sent: the outbox keeps it."""
    with reading(db) as session:
        row = session.get(NotificationRow, notification_id)
        if row is None:
            raise UnknownRequest(f"no notification with id {notification_id}")
        return row.mime


def snapshot(session: Session, row: RequestRow, legacy_policy: str = "all") -> ApprovalRequest:
    asked = session.exec(
        select(NotificationRow)
        .where(
            NotificationRow.request_id == row.id,
            NotificationRow.kind == NotificationKind.APPROVAL,
        )
        .order_by(col(NotificationRow.id))
    ).all()
    decisions = session.exec(
        select(DecisionRow)
        .where(DecisionRow.request_id == row.id)
        .order_by(col(DecisionRow.decided_at), col(DecisionRow.id))
    ).all()
    legacy_seats = [n.seat or n.approver for n in asked if n.via == Via.ASKED]
    plans = stored_plans(row.stages, legacy_seats, legacy_policy)
    verdicts: dict[int, dict[str, str]] = {}
    for decision in decisions:
        verdicts.setdefault(decision.stage, {})[decision.seat] = decision.verdict
    current = min(row.current_stage, len(plans) - 1)
    return ApprovalRequest(
        id=row.id,
        external_id=row.external_id,
        title=row.title,
        details=dict(row.details),
        status=RequestStatus(row.status),
        approvers=tuple(
            dict.fromkeys(
                n.approver for n in asked if n.stage == current and n.delegated_to is None
            )
        ),
        decisions=tuple(
            Decision(
                d.approver,
                d.verdict,
                d.comment,
                d.decided_at,
                d.message_id,
                seat=d.seat,
                stage=d.stage,
                evidence_line=d.evidence_line,
                authenticated_by=d.authenticated_by,
            )
            for d in decisions
        ),
        created_at=row.created_at,
        expires_at=row.expires_at,
        closed_at=row.closed_at,
        policy=plans[current].policy,
        stages=stages_view(plans, current, verdicts),
        current_stage=current,
        due_at=row.due_at,
    )
