"""What the engine does with replies: verdicts, trust, answers, receipts, bounces, DMARC.

The domain rules, on the memory transports (tests/memory_setup.py): the
approver's mail client composes its reply to the notification the memory
outbox holds, and the reply is delivered into the memory reply folder.
test_round_trip runs each of these features once through Dovecot and SMTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import NotificationKind, NotificationStatus, RequestStatus
from approvals.tokens import find_tokens
from mailio.devservers.approver import compose_reply, quoted_body
from tests.engine_setup import delivery_status_notification, reconfigured
from tests.memory_setup import MemoryScenario, memory_scenario

ALICE, BOB, MALLORY = "alice@example.test", "bob@example.test", "mallory@example.test"


def _reconfigured(trip: MemoryScenario, **replies: Any) -> ApprovalEngine:
    engine = ApprovalEngine(reconfigured(trip.engine.settings, replies=replies), clock=trip.clock)
    engine.on_decision(trip.decided.append)
    return engine


@pytest.fixture
def trip(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path)


def _answers(engine: ApprovalEngine) -> list[Any]:
    return [entry for entry in engine.outbox() if entry.kind == NotificationKind.ANSWER]


def test_unusable_reply_gets_one_answer_per_hour(trip: MemoryScenario) -> None:
    trip.ask(ALICE)
    trip.reply(ALICE, "Hmm, what does this change exactly?")
    trip.reply(ALICE, "Hello? Still waiting for an answer.")

    report = trip.engine.process_replies()
    trip.engine.dispatch_pending()

    assert report.failed == 2
    assert len(_answers(trip.engine)) == 1
    notification, answer = trip.mailbox(ALICE)
    assert answer["Auto-Submitted"] == "auto-replied"
    assert "could not be recorded" in answer.get_content()
    assert "APPROVE or REJECT" in answer.get_content()
    assert answer["Reply-To"] == notification["Reply-To"]


def test_answer_to_the_answer_with_a_verdict_decides(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    trip.reply(ALICE, "Which build is this?")
    trip.engine.process_replies()
    trip.engine.dispatch_pending()
    answer = trip.mailbox(ALICE)[-1]
    assert "could not be recorded" in answer.get_content()

    trip.send(compose_reply(answer, ALICE, "Approve"))
    trip.engine.process_replies()

    assert trip.engine.get(request.id).status is RequestStatus.APPROVED


def test_no_answer_to_a_stranger_or_an_auto_reply(trip: MemoryScenario) -> None:
    trip.ask(ALICE)
    trip.reply(ALICE, "Approve", sender=MALLORY)
    auto = compose_reply(trip.notification_for(ALICE), ALICE, "I am away until Monday.")
    auto["Auto-Submitted"] = "auto-replied"
    trip.send(auto)

    report = trip.engine.process_replies()

    assert (report.failed, report.ignored) == (1, 1)
    assert _answers(trip.engine) == []


def test_receipt_confirms_the_decision_when_enabled(trip: MemoryScenario) -> None:
    engine = _reconfigured(trip, send_receipts=True)
    engine.request_approval("Deploy", [ALICE])
    engine.dispatch_pending()
    trip.reply(ALICE, "Rejected - the changelog is missing")
    engine.process_replies()
    engine.dispatch_pending()

    receipt = trip.mailbox(ALICE)[-1]
    assert "Recorded: rejected by " + ALICE in receipt.get_content()
    assert "the changelog is missing" in receipt.get_content()
    engine.close()


def test_bounce_marks_the_notification_undeliverable(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    notification = trip.notification_for(ALICE)
    bounce = delivery_status_notification(trip.address, notification)
    trip.send(bounce)

    report = trip.engine.process_replies()

    assert report.ignored == 1 and "undeliverable" in report.messages[0].reason
    (entry,) = trip.engine.outbox(request_id=request.id)
    assert entry.status is NotificationStatus.UNDELIVERABLE
    assert trip.engine.get(request.id).status is RequestStatus.PENDING
    assert _answers(trip.engine) == []


@pytest.mark.parametrize(
    ("header", "decided"),
    [
        ("mx.corp.test; dmarc=pass header.from=example.test; spf=pass", True),
        ("mx.corp.test; dmarc=fail header.from=example.test", False),
        ("mx.attacker.test; dmarc=pass header.from=example.test", False),
        (None, False),
    ],
)
def test_dmarc_pass_from_a_trusted_server_is_required_when_configured(
    trip: MemoryScenario, header: str | None, decided: bool
) -> None:
    engine = _reconfigured(trip, require_dmarc_pass=True, trusted_authserv_ids=["mx.corp.test"])
    request = engine.request_approval("Deploy", [ALICE])
    engine.dispatch_pending()
    reply = compose_reply(trip.notification_for(ALICE), ALICE, "Approved")
    if header is not None:
        reply["Authentication-Results"] = header
    trip.send(reply)

    report = engine.process_replies()

    assert (report.decided == 1) is decided
    status = engine.get(request.id).status
    assert status is (RequestStatus.APPROVED if decided else RequestStatus.PENDING)
    if not decided:
        assert "not authenticated" in report.messages[0].reason
        assert len(trip.folder("Failed")) == 1
    engine.close()


def test_bounce_that_cannot_prove_its_original_changes_nothing(trip: MemoryScenario) -> None:
    """Anyone can send a "bounce"; only one naming our Message-ID or a valid token counts."""
    request = trip.ask(ALICE)
    notification = trip.notification_for(ALICE)
    forged = EmailMessage()
    forged["Message-ID"] = "<forged-original@evil.test>"
    forged["To"] = ALICE
    forged["Subject"] = "Approval requested [APR-" + "A" * 24 + "]"  # a token that cannot verify
    trip.send(delivery_status_notification(trip.address, forged))
    assert notification["Message-ID"] != forged["Message-ID"]

    report = trip.engine.process_replies()

    assert report.ignored == 1 and "not identified" in report.messages[0].reason
    (entry,) = trip.engine.outbox(request_id=request.id)
    assert entry.status is NotificationStatus.SENT


def test_bounce_for_a_notification_not_yet_sent_changes_nothing(trip: MemoryScenario) -> None:
    first = trip.ask(ALICE)
    sent = trip.notification_for(ALICE)
    queued = trip.engine.request_approval("Deploy 2", [ALICE])  # not dispatched
    (queued_entry,) = trip.engine.outbox(request_id=queued.id)
    assert queued_entry.status is NotificationStatus.QUEUED
    trip.send(delivery_status_notification(trip.address, sent))

    trip.engine.process_replies()

    assert trip.engine.outbox(request_id=first.id)[0].status is NotificationStatus.UNDELIVERABLE
    assert trip.engine.outbox(request_id=queued.id)[0].status is NotificationStatus.QUEUED


def test_a_refused_reply_can_be_reprocessed_after_the_cause_is_fixed(trip: MemoryScenario) -> None:
    engine = _reconfigured(trip, require_dmarc_pass=True, trusted_authserv_ids=["mx.corp.test"])
    request = engine.request_approval("Deploy", [ALICE])
    engine.dispatch_pending()
    reply = compose_reply(trip.notification_for(ALICE), ALICE, "Approved")
    reply["Authentication-Results"] = "mx.other.test; dmarc=pass header.from=example.test"
    trip.send(reply)
    assert engine.process_replies().failed == 1
    engine.close()
    # The admin trusts mx.other.test after all and moves the reply back to the inbox.
    engine = _reconfigured(trip, require_dmarc_pass=True, trusted_authserv_ids=["mx.other.test"])
    trip.move_all("Failed", "INBOX")
    assert engine.process_replies().ignored == 1  # still remembered as refused: back it goes
    assert len(trip.folder("Failed")) == 1
    trip.move_all("Failed", "INBOX")

    assert engine.reprocess(str(reply["Message-ID"]))

    assert engine.process_replies().decided == 1
    assert engine.get(request.id).status is RequestStatus.APPROVED
    assert not engine.reprocess(str(reply["Message-ID"]))  # decided replies stay decided
    engine.close()


# ---- verdicts and trust: the rules behind the plain round trip ---------------------------


def test_reject_with_comment_rejects(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    trip.reply(ALICE, "Reject: wrong version")

    assert trip.engine.process_replies().decided == 1

    final = trip.engine.get(request.id)
    assert final.status is RequestStatus.REJECTED
    assert final.decisions[0].comment == "wrong version"


def test_quoted_approval_at_the_top_of_the_quote_is_no_decision(trip: MemoryScenario) -> None:
    """The quote's first line says "Approved": only the quote stripper stands between it
    and a decision (a client that quotes a colleague's earlier answer without a header)."""
    request = trip.ask(ALICE)
    notification = trip.notification_for(ALICE)
    reply = compose_reply(notification, ALICE, "", quote=False)
    reply.set_content("> Approved, ship it\n>\n" + quoted_body(notification) + "\n")
    trip.send(reply)

    report = trip.engine.process_replies()

    assert (report.decided, report.failed) == (0, 1)
    assert trip.engine.get(request.id).decisions == ()


def test_reply_from_another_sender_is_refused(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    trip.reply(ALICE, "Approved", sender=MALLORY)

    report = trip.engine.process_replies()

    assert report.failed == 1 and "wrong sender" in report.messages[0].reason
    assert trip.engine.get(request.id).decisions == ()
    assert len(trip.folder("Failed")) == 1


def _reply_with_token(
    trip: MemoryScenario, approver: str, text: str, token: str, replacement: str
) -> EmailMessage:
    reply = compose_reply(trip.notification_for(approver), approver, text)
    raw = reply.as_bytes()
    for form, new in ((token, replacement), (token.upper(), replacement.upper())):
        raw = raw.replace(form.encode(), new.encode())
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_forged_token_is_refused(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    notification = trip.notification_for(ALICE)
    (token,) = find_tokens(str(notification["Reply-To"]))
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    trip.send(_reply_with_token(trip, ALICE, "Approved", token, forged))

    report = trip.engine.process_replies()

    assert report.failed == 1 and "forged token" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.PENDING


def test_expired_token_is_refused(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    trip.reply(ALICE, "Approved")
    trip.clock.offset = timedelta(days=15)

    report = trip.engine.process_replies()

    assert report.failed == 1 and "expired token" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.EXPIRED
    assert trip.engine.get(request.id).decisions == ()


def test_same_reply_delivered_twice_is_applied_once(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    reply = trip.reply(ALICE, "Approved")
    trip.send(reply)  # the same message, same Message-ID, delivered again

    report = trip.engine.process_replies()

    assert (report.fetched, report.decided, report.ignored) == (2, 1, 1)
    assert "already handled" in report.messages[1].reason
    assert len(trip.engine.get(request.id).decisions) == 1
    assert trip.folder("INBOX") == [] and trip.folder("Failed") == []
    assert len(trip.decided) == 1


def test_auto_reply_is_recorded_never_decided(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE)
    notification = trip.notification_for(ALICE)
    auto = compose_reply(notification, ALICE, "I am out of the office. Approved requests wait.")
    auto.replace_header("Subject", "Automatic reply: " + str(notification["Subject"]))
    auto["Auto-Submitted"] = "auto-replied"
    trip.send(auto)

    report = trip.engine.process_replies()

    assert (report.decided, report.ignored) == (0, 1)
    assert "auto-reply" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.PENDING


def test_same_external_id_returns_the_same_request_and_sends_once(trip: MemoryScenario) -> None:
    first = trip.engine.request_approval("Deploy", [ALICE], external_id="run-77")
    second = trip.engine.request_approval("Deploy", [ALICE], external_id="run-77")
    trip.engine.dispatch_pending()
    trip.engine.dispatch_pending()

    assert first.id == second.id
    assert len(trip.mailbox(ALICE)) == 1
    assert trip.engine.find(external_id="run-77") == trip.engine.get(first.id)


# ---- several approvers -------------------------------------------------------------------


def test_every_approver_must_approve_when_policy_is_all(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE, BOB)
    trip.reply(ALICE, "Approved")
    trip.engine.process_replies()
    assert trip.engine.get(request.id).status is RequestStatus.PENDING
    assert trip.decided == []

    trip.reply(BOB, "ok, go ahead")
    trip.engine.process_replies()

    assert trip.engine.get(request.id).status is RequestStatus.APPROVED
    assert len(trip.decided) == 1


def test_second_reply_of_the_same_approver_in_one_batch_is_kept_not_applied(
    trip: MemoryScenario,
) -> None:
    request = trip.ask(ALICE, BOB)  # still pending after alice's first answer
    trip.reply(ALICE, "Approved")
    trip.reply(ALICE, "Reject, sorry: wrong build")

    report = trip.engine.process_replies()

    assert (report.fetched, report.decided, report.failed) == (2, 1, 1)
    assert "already decided" in report.messages[1].reason
    final = trip.engine.get(request.id)
    assert [d.verdict for d in final.decisions] == ["approve"]
    assert len(trip.folder("Failed")) == 1


def test_all_approvers_in_one_batch_close_the_request(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE, BOB)
    trip.reply(ALICE, "Approved")
    trip.reply(BOB, "LGTM")

    assert trip.engine.process_replies().decided == 2

    assert trip.engine.get(request.id).status is RequestStatus.APPROVED
    assert len(trip.decided) == 1
