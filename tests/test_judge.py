"""The reply rules in tables: a parsed reply and a view of the store in, a judgement out.

No database and no mail server: the view is built by hand, the replies are real
RFC 5322 messages parsed by the product's parser.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from approvals.disposition import DELETE, move_to
from approvals.inbox import BatchView, Judgement, KnownNotification, SeenMessage, judge
from approvals.inbox.view import KnownRequest
from approvals.models import NotificationKind, ReplyStatus, RequestStatus
from approvals.replies import parse_reply
from approvals.settings import EngineSettings
from approvals.tokens import issue_token
from approvals.workflow.asking import RequestFacts
from approvals.workflow.stages import StagePlan

SECRET = "judge-table-secret-0123456789"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALICE, BOB, MALLORY = "alice@example.test", "bob@example.test", "mallory@example.test"
REQUEST, OTHER_REQUEST = "r" * 32, "s" * 32


def _settings(**sections: dict[str, Any]) -> EngineSettings:
    memory = {"type": "memory"}
    config: dict[str, Any] = {
        "store": {"url": "sqlite://"},
        "tokens": {"secret": SECRET},
        "outbound": {"server": "out", "from": "Approvals <approvals@example.test>"},
        "inbound": {"server": "in", "after_processing": "delete", "failure_folder": "Failed"},
        "servers": {"out": memory, "in": memory},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return EngineSettings.model_validate(config)


SETTINGS = _settings()


def _notification(
    id: int, approver: str, request: str = REQUEST, kind: str = NotificationKind.APPROVAL
) -> KnownNotification:
    return KnownNotification(
        id=id,
        request_id=request,
        kind=kind,
        approver=approver,
        message_id=f"n{id}@approvals.example.test",
        status="sent",
        created_at=NOW - timedelta(hours=1),
        mime=b"",
        seat=approver,
    )


def _request(request_id: str, seats: tuple[str, ...], policy: str) -> KnownRequest:
    due = NOW + timedelta(days=7)
    facts = RequestFacts(request_id, "Deploy 4.2", {}, None, None, due, due, None)
    plan = StagePlan(tuple((seat, "") for seat in seats), policy)
    return KnownRequest(facts, RequestStatus.PENDING, 0, (plan,))


def _view(*, policy: str = "all") -> BatchView:
    view = BatchView()
    for index, approver in enumerate((ALICE, BOB), start=1):
        view.add_notification(_notification(index, approver))
    view.add_notification(_notification(9, MALLORY, request=OTHER_REQUEST))
    view.requests[REQUEST] = _request(REQUEST, (ALICE, BOB), policy)
    view.requests[OTHER_REQUEST] = _request(OTHER_REQUEST, (MALLORY,), policy)
    return view


def _set_status(view: BatchView, status: RequestStatus) -> None:
    view.requests[REQUEST] = replace(view.requests[REQUEST], status=status)


def _token(
    notification_id: int, approver: str, *, expires: datetime = NOW + timedelta(days=7)
) -> str:
    request = OTHER_REQUEST if notification_id == 9 else REQUEST
    return issue_token(SECRET, notification_id, request, approver, expires)


def _reply(
    text: str,
    *,
    sender: str = ALICE,
    token: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"approvals+{token}@example.test" if token else "approvals@example.test"
    message["Subject"] = "Re: Approval requested: Deploy 4.2"
    message["Message-ID"] = "<reply-1@mail.example.test>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(f"{text}\n\n> Approval requested: Deploy 4.2\n")
    return message.as_bytes()


def _judge(
    raw: bytes,
    view: BatchView | None = None,
    settings: EngineSettings = SETTINGS,
    **options: Any,
) -> Judgement:
    return judge(parse_reply(raw), "reply-1", view or _view(), settings, NOW, **options)


# --- decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "earlier", "text", "closes"),
    [
        ("all", {}, "Approved", None),  # bob has not decided yet
        ("all", {BOB: "approve"}, "Approved", RequestStatus.APPROVED),
        ("all", {}, "Rejected: wrong version", RequestStatus.REJECTED),
        ("any", {}, "Approved", RequestStatus.APPROVED),
        ("any", {}, "Reject", RequestStatus.REJECTED),
    ],
)
def test_a_verdict_from_the_approver_is_decided_and_closes_by_the_policy(
    mode: str, earlier: dict[str, str], text: str, closes: RequestStatus | None
) -> None:
    view = _view(policy=mode)
    view.stage_verdicts(REQUEST, 0).update(earlier)

    judgement = _judge(_reply(text, token=_token(1, ALICE)), view)

    assert judgement.status is ReplyStatus.DECIDED
    assert judgement.decided is not None
    assert (judgement.decided.notification.approver, judgement.decided.closes) == (ALICE, closes)
    assert judgement.request_id == REQUEST
    assert judgement.disposition == DELETE
    assert judgement.answer_to is None and not judgement.receipt


def test_receipts_are_asked_for_only_when_configured() -> None:
    settings = _settings(replies={"send_receipts": True})
    judgement = _judge(_reply("Approved", token=_token(1, ALICE)), settings=settings)
    assert judgement.status is ReplyStatus.DECIDED and judgement.receipt


def test_a_reference_alone_identifies_the_notification() -> None:
    judgement = _judge(_reply("Approved", in_reply_to="n1@approvals.example.test"))
    assert judgement.status is ReplyStatus.DECIDED and judgement.request_id == REQUEST


# --- refusals: (reply, view change, settings) -> reason, answered? -------------------------------


def _expire(view: BatchView) -> None:
    _set_status(view, RequestStatus.EXPIRED)


def _bob_decided_for_alice(view: BatchView) -> None:
    view.stage_verdicts(REQUEST, 0)[ALICE] = "approve"


REFUSALS: list[tuple[str, bytes, Any, EngineSettings, str, bool]] = [
    ("wrong sender", _reply("Approved", sender=MALLORY, token=_token(1, ALICE)), None, SETTINGS,
     f"wrong sender: {MALLORY} is not {ALICE}", False),
    ("on behalf", _reply("Approved", token=_token(1, ALICE), headers={"Sender": BOB}), None,
     SETTINGS, f"sent on behalf: the Sender header names {BOB}", False),
    ("no DMARC pass", _reply("Approved", token=_token(1, ALICE)), None,
     _settings(replies={"require_dmarc_pass": True, "trusted_authserv_ids": ["mx.example.test"]}),
     "sender not authenticated", False),
    ("expired token", _reply("Approved", token=_token(1, ALICE, expires=NOW - timedelta(hours=2))),
     None, SETTINGS, "expired token", True),
    ("decided before", _reply("Rejected", token=_token(1, ALICE)), _bob_decided_for_alice,
     SETTINGS, f"{ALICE} already decided (approve)", True),
    ("no verdict", _reply("Let me check with the team first.", token=_token(1, ALICE)), None,
     SETTINGS, "no clear verdict", True),
    ("forged token", _reply("Approved", token=_token(1, BOB)), None, SETTINGS, "forged token",
     False),
    ("unknown notification", _reply("Approved", token=_token(7, ALICE)), None, SETTINGS,
     "bad token: it names no notification of this engine", False),
    ("nothing to go by", _reply("Approved"), None, SETTINGS,
     "no approval token and no reference to a notification", False),
    ("two tokens", _reply(f"Approved apr-{'a' * 24}", token=_token(1, ALICE)), None, SETTINGS,
     "ambiguous:", False),
    ("references disagree",
     _reply("Approved", token=_token(1, ALICE), in_reply_to="n9@approvals.example.test"), None,
     SETTINGS, "ambiguous: the token names notification 1", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "change", "settings", "reason", "answered"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_a_reply_that_cannot_be_used_is_refused_and_kept(
    raw: bytes, change: Any, settings: EngineSettings, reason: str, answered: bool
) -> None:
    view = _view()
    if change is not None:
        change(view)

    judgement = _judge(raw, view, settings)

    assert judgement.status is ReplyStatus.FAILED
    assert judgement.decided is None
    assert reason in judgement.reason
    assert judgement.disposition == move_to("Failed")
    # Only a reply tied to the approver it was sent to is answered.
    assert (judgement.answer_to is not None) is answered


def _delegated(view: BatchView) -> None:
    view.set_notification(view.notifications[1], delegated_to=BOB)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_expire, "request is already expired; this reply changes nothing"),
        (_delegated, f"{ALICE} delegated this to {BOB}; this reply changes nothing"),
    ],
)
def test_a_reply_that_comes_too_late_is_answered_and_processed_not_kept(
    change: Any, reason: str
) -> None:
    view = _view()
    change(view)

    judgement = _judge(_reply("Approved", token=_token(1, ALICE)), view)

    assert (judgement.status, judgement.reason) == (ReplyStatus.IGNORED, reason)
    assert judgement.decided is None and judgement.disposition == DELETE
    assert judgement.answer_to is not None


def test_a_reply_for_a_stage_that_is_over_is_refused() -> None:
    view = _view()
    view.requests[REQUEST] = replace(view.requests[REQUEST], current_stage=1)

    judgement = _judge(_reply("Approved", token=_token(1, ALICE)), view)

    assert judgement.status is ReplyStatus.FAILED
    assert "asks stage 1, but the request is at stage 2" in judgement.reason


def test_one_escalation_decision_decides_the_stage_whatever_its_policy() -> None:
    view = _view(policy="all")
    view.add_notification(replace(_notification(5, "boss@example.test"), seat="*escalation*"))

    raw = _reply("Approved", sender="boss@example.test", token=_token(5, "boss@example.test"))
    judgement = _judge(raw, view)

    assert judgement.decided is not None
    assert judgement.decided.closes is RequestStatus.APPROVED
    assert judgement.decided.notification.seat == "*escalation*"


def test_an_answer_is_not_sent_twice_within_the_interval() -> None:
    view = _view()
    raw = _reply("Let me check first.", token=_token(1, ALICE))
    view.answered(REQUEST, ALICE, NOW - timedelta(minutes=59))
    assert _judge(raw, view).answer_to is None
    view.last_answered[(REQUEST, ALICE)] = NOW - timedelta(minutes=61)
    assert _judge(raw, view).answer_to is not None


def test_no_answer_when_answers_are_off() -> None:
    settings = _settings(replies={"answer_unactionable": False})
    judgement = _judge(_reply("Hmm.", token=_token(1, ALICE)), settings=settings)
    assert judgement.status is ReplyStatus.FAILED and judgement.answer_to is None


# --- messages that are not replies, or were seen before -----------------------------------------


def test_an_auto_reply_is_ignored_never_answered() -> None:
    raw = _reply(
        "I am out of the office. Approved requests wait.",
        token=_token(1, ALICE),
        headers={"Auto-Submitted": "auto-replied"},
    )
    judgement = _judge(raw)
    assert judgement.status is ReplyStatus.IGNORED and judgement.reason.startswith("auto-reply")
    assert judgement.decided is None and judgement.answer_to is None


def _bounce(original_message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.test\r\n"
        "To: approvals@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.test>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n\r\n"
        "Final-Recipient: rfc822; alice@example.test\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original_message_id}>\r\n\r\n--b--\r\n"
    ).encode()


def test_a_bounce_marks_the_sent_notification_undeliverable() -> None:
    judgement = _judge(_bounce("n1@approvals.example.test"))
    assert judgement.status is ReplyStatus.IGNORED
    assert judgement.bounced is not None and judgement.bounced.id == 1


def test_a_bounce_of_a_notification_not_sent_leaves_it() -> None:
    view = _view()
    view.set_notification(view.notifications[1], status="undeliverable")
    judgement = _judge(_bounce("n1@approvals.example.test"), view)
    assert judgement.bounced is None and "is undeliverable, left so" in judgement.reason


def test_a_bounce_of_a_stranger_changes_nothing() -> None:
    judgement = _judge(_bounce("someone-else@elsewhere.test"))
    assert judgement.bounced is None
    assert judgement.reason == "bounce: original notification not identified"


def test_a_message_seen_before_is_a_replay_that_goes_where_it_went() -> None:
    view = _view()
    earlier = SeenMessage(NOW - timedelta(days=1), "decided", "approve by x", DELETE, REQUEST)
    view.seen["reply-1"] = earlier

    judgement = _judge(_reply("Approved", token=_token(1, ALICE)), view)

    assert judgement.replay and judgement.status is ReplyStatus.IGNORED
    assert judgement.decided is None and judgement.disposition == DELETE
    assert "already handled on" in judgement.reason

    unread = _judge(_reply("Approved", token=_token(1, ALICE)), view, unread_size=10**8)
    assert unread.replay and unread.disposition == move_to("Failed")  # never deleted unread


def test_an_unread_message_is_refused_without_an_answer() -> None:
    judgement = _judge(_reply("Approved", token=_token(1, ALICE)), unread_size=30_000_000)
    assert judgement.status is ReplyStatus.FAILED and judgement.answer_to is None
    assert judgement.reason.startswith("message is 30,000,000 bytes, over")


def test_the_view_is_only_read() -> None:
    view = _view()
    before = (dict(view.stage_verdicts(REQUEST, 0)), dict(view.requests), dict(view.seen))
    _judge(_reply("Approved", token=_token(1, ALICE)), view, _settings(policy={"mode": "any"}))
    assert (dict(view.stage_verdicts(REQUEST, 0)), dict(view.requests), dict(view.seen)) == before


def test_a_judgement_is_a_value() -> None:
    judgement = _judge(_reply("Approved", token=_token(1, ALICE)))
    with pytest.raises(FrozenInstanceError):
        judgement.status = ReplyStatus.FAILED  # type: ignore[misc]
