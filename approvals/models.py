"""Database tables (SQLModel) and the frozen values the public API returns.

Tables:
    approval_request   one per request; ``external_id`` is the workflow system's key
    notification       the outbox: every email the engine sends (the approval request to
                       each approver, answers to unusable replies, receipts), with its
                       delivery log
    decision           one per seat that decided; unique per (request, stage, seat)
    inbox_record       every reply message the engine has seen, keyed by Message-ID,
                       with what was done with it; this is what makes replays harmless
    request_event      the request's history: requested, notified, reminded, escalated,
                       delegated, decision, away, bounced, closed, outcome
    absence            out-of-office rules: an approver's new notifications go to a delegate
    engine_cycle       each poll, dispatch, timers (and canary) run: when, how long, ok or
                       the error; what `approvals status` reads

A *seat* is the place an approver was asked to decide for: a delegate decides in
the delegator's seat, so policies count seats, not people; every escalation
approver shares the one escalation seat of a stage.

Rows never leave the engine: callers get :class:`ApprovalRequest` and
:class:`Decision` snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, LargeBinary, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones), always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self is not RequestStatus.PENDING


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a dispatcher (claim expires: see claimed_until)
    SENT = "sent"
    FAILED = "failed"  # permanent error, or attempts exhausted
    UNDELIVERABLE = "undeliverable"  # sent, then bounced


class ReplyStatus(StrEnum):
    DECIDED = "decided"  # a decision was recorded
    DELEGATED = "delegated"  # the approver handed their seat on ("Delegate to …")
    PROBE = "probe"  # the engine's own canary, come back: deleted, never a reply
    IGNORED = "ignored"  # auto-reply, bounce or a replay of a message already handled
    FAILED = "failed"  # could not be used; kept in the failure folder


class RequestRow(SQLModel, table=True):
    __tablename__ = "approval_request"

    id: str = Field(primary_key=True)
    external_id: str | None = Field(default=None, unique=True, index=True)
    title: str
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    theme: str | None = None  # None: [outbound] theme; reminders and notices use it later
    language: str | None = None  # picks templates/<theme>/<language>/
    status: str = Field(default=RequestStatus.PENDING, index=True)
    # [{"approvers": [...], "policy": "all" | "any" | "quorum:N"}, ...]; None (made before
    # stages): one stage of its approval notifications' approvers under [policy] mode.
    stages: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    current_stage: int = 0
    created_at: datetime = Field(sa_type=UtcDateTime)
    due_at: datetime = Field(sa_type=UtcDateTime, index=True)  # pending after it: expired
    expires_at: datetime = Field(sa_type=UtcDateTime)  # the tokens', at or after due_at
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # {"after": s, "every": s, "max": n}: reminders to the current stage's pending seats.
    reminders: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    escalate_to: list[list[str]] | None = Field(
        default=None, sa_column=Column(JSON)
    )  # [addr, name]
    escalate_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    escalated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Final status told to callbacks and the webhook: at least once, normally exactly once
    # (see approvals.callbacks).
    callback_claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    callback_delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class NotificationKind(StrEnum):
    APPROVAL = "approval"  # asks for the decision; carries the token (``via`` says why)
    REMINDER = "reminder"  # asks again, threaded under an approval; the same token
    ANSWER = "answer"  # tells an approver why their reply could not be used
    RECEIPT = "receipt"  # confirms a recorded decision
    CLOSED = "closed"  # the request closed without this approver: no action needed


class Via(StrEnum):
    """Why an approval notification went to this person."""

    ASKED = ""  # named by the request (or its stage)
    DELEGATED = "delegated"  # the seat's approver delegated (API or reply)
    AWAY = "away"  # the seat's approver has an absence rule
    ESCALATION = "escalation"  # escalate_to, after escalate_after


ESCALATION_SEAT = "*escalation*"  # the seat every escalation approver of a stage shares


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_request.id", index=True)
    kind: str = Field(default=NotificationKind.APPROVAL)
    approver: str = Field(index=True)  # lower-cased addr-spec
    approver_name: str = ""
    stage: int = 0
    seat: str = ""  # approval notifications: the seat it decides for (see module docstring)
    via: str = Via.ASKED
    on_behalf_of: str | None = None  # the seat's approver, when ``via`` is delegated or away
    delegated_to: str | None = None  # this seat was handed on: its replies decide nothing
    next_reminder_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    reminders_sent: int = 0
    message_id: str = Field(unique=True)  # without angle brackets
    mime: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=NotificationStatus.QUEUED, index=True)
    attempts: int = 0
    last_error: str | None = None
    server: str | None = None  # the server that accepted it
    created_at: datetime = Field(sa_type=UtcDateTime)
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DecisionRow(SQLModel, table=True):
    __tablename__ = "decision"
    __table_args__ = (UniqueConstraint("request_id", "stage", "seat", name="uq_decision_seat"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_request.id", index=True)
    stage: int = 0
    seat: str  # whose place was decided (the approver, a delegator, or ESCALATION_SEAT)
    approver: str  # who decided
    verdict: str
    comment: str = ""
    decided_at: datetime = Field(sa_type=UtcDateTime)
    message_id: str
    # The evidence: the line the verdict was read from, how the sender was trusted, and
    # the raw reply (zlib), kept for [store] keep_raw_days.
    evidence_line: str | None = None
    authenticated_by: str = ""
    raw_reply: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class EventRow(SQLModel, table=True):
    __tablename__ = "request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_request.id", index=True)
    kind: str  # an EventKind value
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str | None = None  # an address, "engine", or "admin:<name>"
    detail: str = ""


class AbsenceRow(SQLModel, table=True):
    __tablename__ = "absence"

    id: int | None = Field(default=None, primary_key=True)
    approver: str = Field(index=True)
    delegate: str
    starts_at: datetime = Field(sa_type=UtcDateTime)
    ends_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)


class InboxRecordRow(SQLModel, table=True):
    __tablename__ = "inbox_record"

    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(unique=True)  # Message-ID, or sha256 of the raw bytes if it has none
    seen_at: datetime = Field(sa_type=UtcDateTime)
    sender: str | None = None
    subject: str = ""
    status: str  # a ReplyStatus value
    reason: str
    request_id: str | None = Field(default=None, index=True)
    disposition: str  # "delete", "move:<folder>" — what happens to the mail after the commit
    preview: str | None = None  # the new text as read, at most 500 characters
    # The raw message (zlib) of a reply that decided nothing, up to RAW_KEPT_BYTES, for an
    # admin to read; kept [store] keep_raw_days (a decision keeps its own).
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class CycleRow(SQLModel, table=True):
    __tablename__ = "engine_cycle"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)  # a CycleKind value (approvals.cycles)
    started_at: datetime = Field(sa_type=UtcDateTime, index=True)
    finished_at: datetime = Field(sa_type=UtcDateTime)
    ok: bool
    summary: str = ""  # the cycle's report, as printed
    error: str | None = None  # why it failed (None when ok)
    mailbox: str | None = None  # a poll's mailbox ("default": [inbound]; None before 0006)


class InboxClaimRow(SQLModel, table=True):
    """A reply message one engine instance has taken, until ``until`` (approvals.inbox.claims)."""

    __tablename__ = "inbox_claim"

    mailbox: str = Field(primary_key=True)  # the mailbox's server and folder
    key: str = Field(primary_key=True)  # the message's key there (an IMAP UID)
    owner: str  # the engine instance that holds it (a random id per process)
    until: datetime = Field(sa_type=UtcDateTime)


class MailboxCursorRow(SQLModel, table=True):
    """A mailbox's place in its folder, kept from run to run (a Graph delta link)."""

    __tablename__ = "mailbox_cursor"

    key: str = Field(primary_key=True)  # chosen by the mailbox (its server, user and folder)
    value: str
    updated_at: datetime = Field(sa_type=UtcDateTime)


@dataclass(frozen=True)
class Decision:
    approver: str  # who decided
    verdict: str  # "approve" or "reject"
    comment: str
    decided_at: datetime
    message_id: str
    seat: str = ""  # whose place: the approver, a delegator, or "*escalation*"
    stage: int = 0
    evidence_line: str | None = None  # the line the verdict was read from
    authenticated_by: str = ""  # "address match", "address match, DMARC pass (mx…)"


@dataclass(frozen=True)
class Stage:
    approvers: tuple[str, ...]  # the seats
    policy: str  # "all" | "any" | "quorum:N"
    status: RequestStatus  # pending until decided; later stages wait as pending


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    external_id: str | None
    title: str
    details: dict[str, Any]
    status: RequestStatus
    approvers: tuple[str, ...]  # who may decide now: delegates and escalation included
    decisions: tuple[Decision, ...]
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    policy: str = "all"  # the current stage's
    stages: tuple[Stage, ...] = ()
    current_stage: int = 0
    due_at: datetime | None = None


class EventKind(StrEnum):
    REQUESTED = "requested"
    NOTIFIED = "notified"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    DELEGATED = "delegated"
    DECISION = "decision"
    AWAY = "away"
    BOUNCED = "bounced"
    CLOSED = "closed"
    OUTCOME = "outcome"  # the final status reached the callbacks and the webhook
    ADMIN = "admin"  # an admin's action in the console (cancel, retry, reprocess)


@dataclass(frozen=True)
class Event:
    id: int
    request_id: str
    kind: EventKind
    at: datetime
    actor: str | None
    detail: str


@dataclass(frozen=True)
class NotificationLog:
    """One outgoing email's delivery record (``engine.outbox()``, ``approvals outbox``)."""

    id: int
    request_id: str
    kind: str
    approver: str
    status: NotificationStatus
    attempts: int
    last_error: str | None
    server: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
