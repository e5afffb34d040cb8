"""What the store knows about one batch's replies, loaded before they are judged.

Plain values, no rows and no session: the judge reads a view and returns a
judgement; the recorder writes the judgement and then advances the view, so
that later messages of the same batch see what earlier ones did.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from approvals.disposition import Disposition
from approvals.models import NotificationKind, RequestStatus


@dataclass(frozen=True)
class KnownNotification:
    """A notification a reply may answer (or an answer or receipt we sent about one)."""

    id: int
    request_id: str
    kind: str
    approver: str
    message_id: str
    status: str
    created_at: datetime
    mime: bytes = field(repr=False)  # the sent message: answers reuse its subject and Reply-To


@dataclass(frozen=True)
class SeenMessage:
    """What was done with a message already recorded (in the store or earlier in the batch)."""

    seen_at: datetime
    status: str
    reason: str
    disposition: Disposition
    request_id: str | None


@dataclass
class BatchView:
    """Everything the rules need to judge a batch, keyed for lookups without queries."""

    notifications: dict[int, KnownNotification] = field(default_factory=dict)
    by_message_id: dict[str, KnownNotification] = field(default_factory=dict)
    request_status: dict[str, RequestStatus] = field(default_factory=dict)
    approvers: dict[str, list[str]] = field(default_factory=dict)  # request -> approvers
    verdicts: dict[str, dict[str, str]] = field(default_factory=dict)  # request -> approver -> v
    last_answered: dict[tuple[str, str], datetime] = field(default_factory=dict)
    seen: dict[str, SeenMessage] = field(default_factory=dict)  # message key -> what was done

    def add_notification(self, notification: KnownNotification) -> None:
        self.notifications[notification.id] = notification
        self.by_message_id[notification.message_id] = notification
        if notification.kind == NotificationKind.APPROVAL:
            self.approvers.setdefault(notification.request_id, []).append(notification.approver)
        elif notification.kind == NotificationKind.ANSWER:
            self.answered(notification.request_id, notification.approver, notification.created_at)

    def answered(self, request_id: str, approver: str, at: datetime) -> None:
        key = (request_id, approver)
        self.last_answered[key] = max(at, self.last_answered.get(key, at))

    def set_status(self, notification: KnownNotification, status: str) -> None:
        changed = replace(notification, status=status)
        self.notifications[changed.id] = changed
        self.by_message_id[changed.message_id] = changed
