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
from approvals.workflow.asking import RequestFacts
from approvals.workflow.stages import StagePlan


@dataclass(frozen=True)
class KnownNotification:
    """A mail we sent about a request: an approval (it carries the token), or a reminder,
    answer, receipt or notice tied to one by its stage, seat and approver."""

    id: int
    request_id: str
    kind: str
    approver: str
    message_id: str
    status: str
    created_at: datetime
    mime: bytes = field(repr=False)  # the sent message: answers reuse its subject and Reply-To
    approver_name: str = ""
    stage: int = 0
    seat: str = ""
    via: str = ""
    on_behalf_of: str | None = None
    delegated_to: str | None = None

    @property
    def asks(self) -> bool:
        return self.kind == NotificationKind.APPROVAL


@dataclass(frozen=True)
class KnownRequest:
    facts: RequestFacts
    status: RequestStatus
    current_stage: int
    plans: tuple[StagePlan, ...]


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
    requests: dict[str, KnownRequest] = field(default_factory=dict)
    # request -> stage -> seat -> "approve" | "reject"
    verdicts: dict[str, dict[int, dict[str, str]]] = field(default_factory=dict)
    last_answered: dict[tuple[str, str], datetime] = field(default_factory=dict)
    absences: dict[str, str] = field(default_factory=dict)  # approver -> delegate, in force
    seen: dict[str, SeenMessage] = field(default_factory=dict)  # message key -> what was done
    # (request, stage) -> id -> its approval notifications, in id order: a batch of
    # replies to one big request must not scan every notification per reply.
    _asking: dict[tuple[str, int], dict[int, KnownNotification]] = field(
        default_factory=dict, init=False, repr=False
    )

    def add_notification(self, notification: KnownNotification) -> None:
        self._put(notification)
        if notification.kind == NotificationKind.ANSWER:
            self.answered(notification.request_id, notification.approver, notification.created_at)

    def _put(self, notification: KnownNotification) -> None:
        self.notifications[notification.id] = notification
        self.by_message_id[notification.message_id] = notification
        if notification.asks:
            stage = (notification.request_id, notification.stage)
            self._asking.setdefault(stage, {})[notification.id] = notification

    def answered(self, request_id: str, approver: str, at: datetime) -> None:
        key = (request_id, approver)
        self.last_answered[key] = max(at, self.last_answered.get(key, at))

    def set_notification(self, notification: KnownNotification, **changes: object) -> None:
        self._put(replace(notification, **changes))  # type: ignore[arg-type]

    def stage_verdicts(self, request_id: str, stage: int) -> dict[str, str]:
        return self.verdicts.setdefault(request_id, {}).setdefault(stage, {})

    def asking(self, mail: KnownNotification) -> KnownNotification | None:
        """The approval notification a mail about a seat belongs to (itself, if it asks)."""
        if mail.asks:
            return mail
        return next(
            (
                n
                for n in self._asking.get((mail.request_id, mail.stage), {}).values()
                if (n.seat, n.approver) == (mail.seat, mail.approver)
            ),
            None,
        )

    def undecided(self, request_id: str, stage: int) -> list[KnownNotification]:
        """The stage's approval notifications whose seat has no decision and was not
        handed on: who is still waiting to be asked to decide."""
        decided = self.verdicts.get(request_id, {}).get(stage, {})
        return [
            n
            for n in self._asking.get((request_id, stage), {}).values()
            if n.delegated_to is None and n.seat not in decided
        ]
