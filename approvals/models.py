"""Database tables (SQLModel) and the frozen values the public API returns.

Tables:
    approval_request   one per request; ``external_id`` is the workflow system's key
    notification       the outbox: every email the engine sends (the approval request to
                       each approver, answers to unusable replies, receipts), with its
                       delivery log
    decision           one per approver who decided; unique per (request, approver)
    inbox_record       every reply message the engine has seen, keyed by Message-ID,
                       with what was done with it; this is what makes replays harmless

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
    IGNORED = "ignored"  # auto-reply, bounce or a replay of a message already handled
    FAILED = "failed"  # could not be used; kept in the failure folder


class RequestRow(SQLModel, table=True):
    __tablename__ = "approval_request"

    id: str = Field(primary_key=True)
    external_id: str | None = Field(default=None, unique=True, index=True)
    title: str
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=RequestStatus.PENDING, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Final status told to callbacks and the webhook: at least once, normally exactly once
    # (see approvals.callbacks).
    callback_claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    callback_delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class NotificationKind(StrEnum):
    APPROVAL = "approval"  # asks for the decision; carries the token
    ANSWER = "answer"  # tells an approver why their reply could not be used
    RECEIPT = "receipt"  # confirms a recorded decision


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_request.id", index=True)
    kind: str = Field(default=NotificationKind.APPROVAL)
    approver: str = Field(index=True)  # lower-cased addr-spec
    approver_name: str = ""
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
    __table_args__ = (UniqueConstraint("request_id", "approver"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="approval_request.id", index=True)
    approver: str
    verdict: str
    comment: str = ""
    decided_at: datetime = Field(sa_type=UtcDateTime)
    message_id: str


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


@dataclass(frozen=True)
class Decision:
    approver: str
    verdict: str  # "approve" or "reject"
    comment: str
    decided_at: datetime
    message_id: str


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    external_id: str | None
    title: str
    details: dict[str, Any]
    status: RequestStatus
    approvers: tuple[str, ...]
    decisions: tuple[Decision, ...]
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None


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
