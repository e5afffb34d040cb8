"""What the engine does beyond the plain round trip: answers, receipts, bounces, DMARC.

Real Dovecot and SMTP relay, as in test_round_trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from approvals.engine import ApprovalEngine
from approvals.models import NotificationKind, NotificationStatus, RequestStatus
from mailio.devservers.approver import compose_reply
from mailio.devservers.stack import MailStack
from tests.engine_setup import Scenario, delivery_status_notification, reconfigured, scenario


def _reconfigured(trip: Scenario, **replies: Any) -> ApprovalEngine:
    engine = ApprovalEngine(reconfigured(trip.engine.settings, replies=replies), clock=trip.clock)
    engine.on_decision(trip.decided.append)
    return engine


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path)


def _answers(engine: ApprovalEngine) -> list[Any]:
    return [entry for entry in engine.outbox() if entry.kind == NotificationKind.ANSWER]


def test_unusable_reply_gets_one_answer_per_hour(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    trip.ask(alice)
    trip.reply(alice, "Hmm, what does this change exactly?")
    trip.reply(alice, "Hello? Still waiting for an answer.")

    report = trip.engine.process_replies()
    trip.engine.dispatch_pending()

    assert report.failed == 2
    assert len(_answers(trip.engine)) == 1
    notification, answer = trip.inbox(alice)
    assert answer["Auto-Submitted"] == "auto-replied"
    assert "could not be recorded" in answer.get_content()
    assert "APPROVE or REJECT" in answer.get_content()
    assert answer["Reply-To"] == notification["Reply-To"]


def test_answer_to_the_answer_with_a_verdict_decides(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.reply(alice, "Which build is this?")
    trip.engine.process_replies()
    trip.engine.dispatch_pending()
    answer = trip.inbox(alice)[-1]
    assert "could not be recorded" in answer.get_content()

    trip.send(compose_reply(answer, alice, "Approve"))
    trip.engine.process_replies()

    assert trip.engine.get(request.id).status is RequestStatus.APPROVED


def test_no_answer_to_a_stranger_or_an_auto_reply(trip: Scenario) -> None:
    alice, mallory = trip.stack.new_address("alice"), trip.stack.new_address("mallory")
    trip.ask(alice)
    trip.reply(alice, "Approve", sender=mallory)
    auto = compose_reply(trip.notification_for(alice), alice, "I am away until Monday.")
    auto["Auto-Submitted"] = "auto-replied"
    trip.send(auto)

    report = trip.engine.process_replies()

    assert (report.failed, report.ignored) == (1, 1)
    assert _answers(trip.engine) == []


def test_receipt_confirms_the_decision_when_enabled(trip: Scenario) -> None:
    engine = _reconfigured(trip, send_receipts=True)
    alice = trip.stack.new_address("alice")
    engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    trip.reply(alice, "Rejected - the changelog is missing")
    engine.process_replies()
    engine.dispatch_pending()

    receipt = trip.inbox(alice)[-1]
    assert "Recorded: rejected by " + alice in receipt.get_content()
    assert "the changelog is missing" in receipt.get_content()
    engine.close()


def test_bounce_marks_the_notification_undeliverable(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    notification = trip.notification_for(alice)
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
    trip: Scenario, header: str | None, decided: bool
) -> None:
    engine = _reconfigured(trip, require_dmarc_pass=True, trusted_authserv_ids=["mx.corp.test"])
    alice = trip.stack.new_address("alice")
    request = engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    reply = compose_reply(trip.notification_for(alice), alice, "Approved")
    if header is not None:
        reply["Authentication-Results"] = header
    trip.send(reply)

    report = engine.process_replies()

    assert (report.decided == 1) is decided
    status = engine.get(request.id).status
    assert status is (RequestStatus.APPROVED if decided else RequestStatus.PENDING)
    if not decided:
        assert "not authenticated" in report.messages[0].reason
        assert len(trip.inbox(trip.address, "Failed")) == 1
    engine.close()


def test_bounce_that_cannot_prove_its_original_changes_nothing(trip: Scenario) -> None:
    """Anyone can send a "bounce"; only one naming our Message-ID or a valid token counts."""
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    notification = trip.notification_for(alice)
    forged = EmailMessage()
    forged["Message-ID"] = "<forged-original@evil.test>"
    forged["To"] = alice
    forged["Subject"] = "Approval requested [APR-" + "A" * 24 + "]"  # a token that cannot verify
    trip.send(delivery_status_notification(trip.address, forged))
    assert notification["Message-ID"] != forged["Message-ID"]

    report = trip.engine.process_replies()

    assert report.ignored == 1 and "not identified" in report.messages[0].reason
    (entry,) = trip.engine.outbox(request_id=request.id)
    assert entry.status is NotificationStatus.SENT


def test_bounce_for_a_notification_not_yet_sent_changes_nothing(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    first = trip.ask(alice)
    sent = trip.notification_for(alice)
    queued = trip.engine.request_approval("Deploy 2", [alice])  # not dispatched
    (queued_entry,) = trip.engine.outbox(request_id=queued.id)
    assert queued_entry.status is NotificationStatus.QUEUED
    trip.send(delivery_status_notification(trip.address, sent))

    trip.engine.process_replies()

    assert trip.engine.outbox(request_id=first.id)[0].status is NotificationStatus.UNDELIVERABLE
    assert trip.engine.outbox(request_id=queued.id)[0].status is NotificationStatus.QUEUED


def test_a_refused_reply_can_be_reprocessed_after_the_cause_is_fixed(trip: Scenario) -> None:
    engine = _reconfigured(trip, require_dmarc_pass=True, trusted_authserv_ids=["mx.corp.test"])
    alice = trip.stack.new_address("alice")
    request = engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    reply = compose_reply(trip.notification_for(alice), alice, "Approved")
    reply["Authentication-Results"] = "mx.other.test; dmarc=pass header.from=example.test"
    trip.send(reply)
    assert engine.process_replies().failed == 1
    engine.close()
    # The admin trusts mx.other.test after all and moves the reply back to the inbox.
    engine = _reconfigured(trip, require_dmarc_pass=True, trusted_authserv_ids=["mx.other.test"])
    _move_everything(trip, "Failed", "INBOX")
    assert engine.process_replies().ignored == 1  # still remembered as refused: back it goes
    assert len(trip.inbox(trip.address, "Failed")) == 1
    _move_everything(trip, "Failed", "INBOX")

    assert engine.reprocess(str(reply["Message-ID"]))

    assert engine.process_replies().decided == 1
    assert engine.get(request.id).status is RequestStatus.APPROVED
    assert not engine.reprocess(str(reply["Message-ID"]))  # decided replies stay decided
    engine.close()


def _move_everything(trip: Scenario, source: str, target: str) -> None:
    with IMAPClient(trip.stack.host, trip.stack.imap_port, ssl=False) as client:
        client.login(trip.address, trip.stack.password)
        client.select_folder(source)
        client.move(client.search("ALL"), target)
