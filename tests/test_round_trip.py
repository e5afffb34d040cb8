"""The approval round trip against real mail servers.

The engine sends through SMTP into Dovecot (LMTP); approvers read their own
Dovecot mailbox over IMAP and reply as a mail client would, quoted original
included; the engine polls its reply folder over IMAP. The first tests run
against Dovecot here and against GreenMail where a Docker engine answers.

The rules behind each feature are tested on the memory transports
(test_reply_handling, test_callbacks, test_outbound_engine, test_cli); the
second half of this file runs every such feature once through Dovecot and the
SMTP relay: outcomes to callbacks and the webhook, answers and receipts,
bounces, DMARC with reprocessing, retries and fallback, the command line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from imapclient import IMAPClient

from approvals.engine import ApprovalEngine
from approvals.models import ApprovalRequest, NotificationStatus, RequestStatus
from mailio.devservers.approver import compose_reply
from mailio.devservers.ports import free_port
from mailio.devservers.stack import MailStack
from mailio.factory import build_mailbox
from scheduler.cli import main as cli
from tests.engine_setup import (
    Clock,
    MailboxWrapper,
    Scenario,
    delivery_status_notification,
    engine_settings,
    reconfigured,
    scenario,
    write_config,
)
from tests.servers.mail_client import read_mailbox, send_as
from tests.workflow_system import WorkflowSystem


@pytest.fixture
def trip(any_mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(any_mail_stack, tmp_path)


def test_approve_reply_approves_and_deletes_the_mail(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice, details={"version": "1.4.2"})
    notification = trip.notification_for(alice)
    assert notification["Reply-To"].startswith(trip.address.split("@")[0] + "+apr-")
    assert "[APR-" in notification["Subject"]
    reply = trip.reply(alice, "Approved, ship it")

    report = trip.engine.process_replies()

    assert (report.fetched, report.decided, report.failed) == (1, 1, 0)
    final = trip.engine.get(request.id)
    assert final.status is RequestStatus.APPROVED
    (decision,) = final.decisions
    assert (decision.approver, decision.verdict, decision.comment) == (alice, "approve", "ship it")
    assert decision.message_id == reply["Message-ID"].strip("<>")
    assert trip.inbox(trip.address) == []
    assert [r.id for r in trip.decided] == [request.id]


def test_quoted_approve_alone_is_no_decision_and_is_kept(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.reply(alice, "")  # only the quoted original, which says APPROVE

    report = trip.engine.process_replies()

    assert (report.decided, report.failed) == (0, 1)
    assert "no clear verdict" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.PENDING
    assert trip.inbox(trip.address) == []
    assert len(trip.inbox(trip.address, "Failed")) == 1


def test_more_replies_than_max_messages_are_read_oldest_first_over_cycles(
    any_mail_stack: MailStack, tmp_path: Path
) -> None:
    for trip in scenario(any_mail_stack, tmp_path, max_messages=3):
        approvers = [trip.stack.new_address(f"approver{i}") for i in range(7)]
        requests = [
            trip.engine.request_approval(f"change {i}", [a]) for i, a in enumerate(approvers)
        ]
        trip.engine.dispatch_pending()
        for approver in approvers:
            trip.reply(approver, "Approved")

        fetched = [trip.engine.process_replies().fetched for _ in range(4)]

        assert fetched == [3, 3, 1, 0]
        closed = [trip.engine.get(r.id).closed_at for r in requests]
        assert None not in closed
        assert closed == sorted(c for c in closed if c is not None)  # oldest decided first


def test_crash_between_commit_and_delete_does_not_apply_twice(
    any_mail_stack: MailStack, tmp_path: Path
) -> None:
    class CrashBeforeDelete(MailboxWrapper):
        def delete(self, keys: Sequence[str]) -> None:
            raise SystemExit("simulated crash after commit, before delete")

    for trip in scenario(any_mail_stack, tmp_path):
        alice = trip.stack.new_address("alice")
        request = trip.ask(alice)
        trip.reply(alice, "Approved")
        settings = trip.engine.settings
        crashing = ApprovalEngine(
            settings,
            mailbox_factory=lambda s: CrashBeforeDelete(
                build_mailbox(s.servers[s.inbound.server], s.inbound.folder)
            ),
        )
        with pytest.raises(SystemExit):
            crashing.process_replies()
        crashing.close()
        assert trip.engine.get(request.id).status is RequestStatus.APPROVED
        assert len(trip.inbox(trip.address)) == 1  # the mail survived the crash

        report = trip.engine.process_replies()  # "restarted" engine, same store

        assert (report.fetched, report.decided, report.ignored) == (1, 0, 1)
        assert len(trip.engine.get(request.id).decisions) == 1
        assert trip.inbox(trip.address) == []
        assert len(trip.decided) == 1  # the outcome reached the callback once


def test_move_after_processing_keeps_the_reply_in_the_named_folder(
    any_mail_stack: MailStack, tmp_path: Path
) -> None:
    for trip in scenario(any_mail_stack, tmp_path, after_processing="move:Processed"):
        alice = trip.stack.new_address("alice")
        trip.ask(alice)
        trip.reply(alice, "Approved")
        assert trip.engine.process_replies().decided == 1
        assert trip.inbox(trip.address) == []
        assert len(trip.inbox(trip.address, "Processed")) == 1


def test_a_failure_folder_that_cannot_be_made_does_not_stop_the_rest(
    mail_stack: MailStack, tmp_path: Path
) -> None:
    for trip in scenario(mail_stack, tmp_path, failure_folder="Fail/ed"):  # Maildir refuses "/"
        alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
        approved, unclear = trip.ask(alice), trip.ask(bob)
        trip.reply(alice, "Approved")
        trip.reply(bob, "Hm?")

        report = trip.engine.process_replies()

        assert (report.decided, report.failed) == (1, 1)
        assert len(report.problems) == 1 and "could not be moved to Fail/ed" in report.problems[0]
        assert [r.id for r in trip.decided] == [approved.id]  # the outcome still went out
        (left,) = trip.inbox(trip.address)  # the decided reply is gone; the unclear one stays
        assert left["From"] == bob
        assert trip.engine.get(unclear.id).status is RequestStatus.PENDING


# ---- each feature once through Dovecot and the SMTP relay --------------------------------


@pytest.fixture
def dovecot_trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path)


def test_outcome_reaches_the_callback_and_the_webhook(
    dovecot_trip: Scenario, workflow: WorkflowSystem
) -> None:
    trip = dovecot_trip
    engine = ApprovalEngine(
        reconfigured(trip.engine.settings, callback={"url": workflow.url}), clock=trip.clock
    )
    decided: list[ApprovalRequest] = []
    engine.on_decision(decided.append)
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    request = engine.request_approval("Deploy", [alice, bob], external_id="run-1")
    engine.dispatch_pending()
    trip.reply(alice, "Approved")
    trip.reply(bob, "Reject: wrong version")

    assert engine.process_replies().decided == 2

    assert [(r.id, r.status) for r in decided] == [(request.id, RequestStatus.REJECTED)]
    (post,) = workflow.posts
    assert (post["id"], post["external_id"], post["status"]) == (request.id, "run-1", "rejected")
    verdicts = {d["approver"]: (d["verdict"], d["comment"]) for d in post["decisions"]}
    assert verdicts[bob] == ("reject", "wrong version") and verdicts[alice][0] == "approve"
    engine.close()


def test_unclear_reply_is_answered_and_the_decision_confirmed(dovecot_trip: Scenario) -> None:
    trip = dovecot_trip
    engine = ApprovalEngine(
        reconfigured(trip.engine.settings, replies={"send_receipts": True}), clock=trip.clock
    )
    alice = trip.stack.new_address("alice")
    request = engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    trip.reply(alice, "Which build is this?")
    assert engine.process_replies().failed == 1
    engine.dispatch_pending()

    notification, answer = trip.inbox(alice)
    assert answer["Auto-Submitted"] == "auto-replied"
    assert "could not be recorded" in answer.get_content()
    assert answer["Reply-To"] == notification["Reply-To"]
    trip.send(compose_reply(answer, alice, "Approve"))  # answering the answer decides
    assert engine.process_replies().decided == 1
    engine.dispatch_pending()

    assert engine.get(request.id).status is RequestStatus.APPROVED
    receipt = trip.inbox(alice)[-1]
    assert "Recorded: approved by " + alice in receipt.get_content()
    engine.close()


def test_bounce_marks_the_notification_undeliverable(dovecot_trip: Scenario) -> None:
    trip = dovecot_trip
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.send(delivery_status_notification(trip.address, trip.notification_for(alice)))

    report = trip.engine.process_replies()

    assert report.ignored == 1 and "undeliverable" in report.messages[0].reason
    (entry,) = trip.engine.outbox(request_id=request.id)
    assert entry.status is NotificationStatus.UNDELIVERABLE
    assert trip.engine.get(request.id).status is RequestStatus.PENDING


def _move_everything(trip: Scenario, source: str, target: str) -> None:
    with IMAPClient(trip.stack.host, trip.stack.imap_port, ssl=False) as client:
        client.login(trip.address, trip.stack.password)
        client.select_folder(source)
        client.move(client.search("ALL"), target)


def test_reply_refused_for_dmarc_is_read_again_after_reprocess(dovecot_trip: Scenario) -> None:
    trip = dovecot_trip
    settings = trip.engine.settings
    strict = reconfigured(
        settings, replies={"require_dmarc_pass": True, "trusted_authserv_ids": ["mx.corp.test"]}
    )
    engine = ApprovalEngine(strict, clock=trip.clock)
    alice = trip.stack.new_address("alice")
    request = engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    reply = compose_reply(trip.notification_for(alice), alice, "Approved")
    reply["Authentication-Results"] = "mx.other.test; dmarc=pass header.from=example.test"
    trip.send(reply)
    report = engine.process_replies()
    assert report.failed == 1 and "not authenticated" in report.messages[0].reason
    assert len(trip.inbox(trip.address, "Failed")) == 1
    engine.close()
    # The admin trusts mx.other.test after all and moves the reply back to the inbox.
    trusting = reconfigured(strict, replies={"trusted_authserv_ids": ["mx.other.test"]})
    engine = ApprovalEngine(trusting, clock=trip.clock)
    assert engine.reprocess(str(reply["Message-ID"]))
    _move_everything(trip, "Failed", "INBOX")

    assert engine.process_replies().decided == 1

    assert engine.get(request.id).status is RequestStatus.APPROVED
    assert trip.inbox(trip.address) == [] and trip.inbox(trip.address, "Failed") == []
    engine.close()


def test_relay_refusals_are_retried_or_final(dovecot_trip: Scenario) -> None:
    trip = dovecot_trip
    relay = trip.stack.relay
    assert relay is not None
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    relay.reject_recipients[alice] = (451, "4.3.0 try again later")
    relay.reject_recipients[bob] = (550, "5.1.1 no such user")
    try:
        trip.engine.request_approval("Deploy", [alice, bob])
        report = trip.engine.dispatch_pending()
        assert (report.sent, report.retrying, report.failed) == (0, 1, 1)
    finally:
        del relay.reject_recipients[alice], relay.reject_recipients[bob]
    trip.clock.offset += timedelta(hours=1)

    assert trip.engine.dispatch_pending().sent == 1

    entries = {entry.approver: entry for entry in trip.engine.outbox()}
    assert (entries[alice].status, entries[alice].attempts) == (NotificationStatus.SENT, 2)
    assert entries[bob].status is NotificationStatus.FAILED
    assert "550" in (entries[bob].last_error or "")
    assert len(trip.inbox(alice)) == 1 and trip.inbox(bob) == []


def test_fallback_server_sends_when_the_primary_is_down(
    mail_stack: MailStack, tmp_path: Path
) -> None:
    address = mail_stack.new_address("approvals")
    base = engine_settings(mail_stack, f"sqlite:///{tmp_path / 'db.sqlite'}", address)
    good = base.servers["smtp"].model_dump()
    settings = reconfigured(
        base,
        servers={
            "smtp": {**good, "port": free_port()},  # nothing listens there
            "backup": {**good, "name": "backup"},
        },
        outbound={"fallback": ["backup"]},
    )
    engine = ApprovalEngine(settings, clock=Clock())
    alice = mail_stack.new_address("alice")
    engine.request_approval("Deploy", [alice])

    assert engine.dispatch_pending().sent == 1

    (entry,) = engine.outbox()
    assert entry.server == "backup"
    assert len(read_mailbox(mail_stack, alice)) == 1
    engine.close()


def test_command_line_dispatches_lists_and_polls(
    monkeypatch: pytest.MonkeyPatch,
    mail_stack: MailStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = mail_stack.new_address("approvals")
    config = write_config(monkeypatch, mail_stack, tmp_path, address)
    engine = ApprovalEngine.from_config(config)
    alice = mail_stack.new_address("alice")
    request = engine.request_approval("Deploy", [alice])
    engine.close()

    assert cli(["dispatch", "--config", str(config)]) == 0
    assert cli(["outbox", "--config", str(config)]) == 0
    (notification,) = read_mailbox(mail_stack, alice)
    send_as(mail_stack, alice, compose_reply(notification, alice, "Approved"))
    assert cli(["poll", "--config", str(config)]) == 0

    out = capsys.readouterr().out
    assert "sent 1, retrying 0, failed 0" in out
    assert f"sent          attempts=1 {alice} request={request.id} server=smtp" in out
    assert "fetched 1, decided 1, ignored 0, failed 0" in out
    assert mail_stack.password not in out
    engine = ApprovalEngine.from_config(config)
    assert engine.get(request.id).status is RequestStatus.APPROVED
    engine.close()
