"""The approval round trip against real mail servers.

The engine sends through SMTP into Dovecot (LMTP); approvers read their own
Dovecot mailbox over IMAP and reply as a mail client would, quoted original
included; the engine polls its reply folder over IMAP. Each test runs against
Dovecot here and against GreenMail where a Docker engine answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import RequestStatus
from approvals.tokens import find_tokens
from mailio.devservers.stack import MailStack
from mailio.factory import build_mailbox
from tests.engine_setup import MailboxWrapper, Scenario, scenario


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


def test_reject_with_comment_rejects(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.reply(alice, "Reject: wrong version")

    assert trip.engine.process_replies().decided == 1

    final = trip.engine.get(request.id)
    assert final.status is RequestStatus.REJECTED
    assert final.decisions[0].comment == "wrong version"


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


def test_quoted_approval_at_the_top_of_the_quote_is_no_decision(trip: Scenario) -> None:
    """The quote's first line says "Approved": only the quote stripper stands between it
    and a decision (a client that quotes a colleague's earlier answer without a header)."""
    from mailio.devservers.approver import compose_reply, quoted_body

    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    notification = trip.notification_for(alice)
    reply = compose_reply(notification, alice, "", quote=False)
    reply.set_content("> Approved, ship it\n>\n" + quoted_body(notification) + "\n")
    trip.send(reply)

    report = trip.engine.process_replies()

    assert (report.decided, report.failed) == (0, 1)
    assert trip.engine.get(request.id).decisions == ()


def test_reply_from_another_sender_is_refused(trip: Scenario) -> None:
    alice, mallory = trip.stack.new_address("alice"), trip.stack.new_address("mallory")
    request = trip.ask(alice)
    trip.reply(alice, "Approved", sender=mallory)

    report = trip.engine.process_replies()

    assert report.failed == 1 and "wrong sender" in report.messages[0].reason
    assert trip.engine.get(request.id).decisions == ()
    assert len(trip.inbox(trip.address, "Failed")) == 1


def test_forged_token_is_refused(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    notification = trip.notification_for(alice)
    (token,) = find_tokens(str(notification["Reply-To"]))
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    reply = _reply_with_token(trip, alice, "Approved", token, forged)
    trip.send(reply)

    report = trip.engine.process_replies()

    assert report.failed == 1 and "forged token" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.PENDING


def test_expired_token_is_refused(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.reply(alice, "Approved")
    trip.clock.offset = trip.clock.offset.__class__(days=15)

    report = trip.engine.process_replies()

    assert report.failed == 1 and "expired token" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.EXPIRED
    assert trip.engine.get(request.id).decisions == ()


def test_same_reply_delivered_twice_is_applied_once(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    reply = trip.reply(alice, "Approved")
    trip.send(reply)  # the same message, same Message-ID, delivered again

    report = trip.engine.process_replies()

    assert (report.fetched, report.decided, report.ignored) == (2, 1, 1)
    assert "already handled" in report.messages[1].reason
    assert len(trip.engine.get(request.id).decisions) == 1
    assert trip.inbox(trip.address) == [] and trip.inbox(trip.address, "Failed") == []
    assert len(trip.decided) == 1


def test_auto_reply_is_recorded_never_decided(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    notification = trip.notification_for(alice)
    from mailio.devservers.approver import compose_reply

    auto = compose_reply(notification, alice, "I am out of the office. Approved requests wait.")
    auto.replace_header("Subject", "Automatic reply: " + str(notification["Subject"]))
    auto["Auto-Submitted"] = "auto-replied"
    trip.send(auto)

    report = trip.engine.process_replies()

    assert (report.decided, report.ignored) == (0, 1)
    assert "auto-reply" in report.messages[0].reason
    assert trip.engine.get(request.id).status is RequestStatus.PENDING


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


def test_same_external_id_returns_the_same_request_and_sends_once(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    first = trip.engine.request_approval("Deploy", [alice], external_id="run-77")
    second = trip.engine.request_approval("Deploy", [alice], external_id="run-77")
    trip.engine.dispatch_pending()
    trip.engine.dispatch_pending()

    assert first.id == second.id
    assert len(trip.inbox(alice)) == 1
    assert trip.engine.find(external_id="run-77") == trip.engine.get(first.id)


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


def test_every_approver_must_approve_when_policy_is_all(trip: Scenario) -> None:
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    request = trip.ask(alice, bob)
    trip.reply(alice, "Approved")
    trip.engine.process_replies()
    assert trip.engine.get(request.id).status is RequestStatus.PENDING
    assert trip.decided == []

    trip.reply(bob, "ok, go ahead")
    trip.engine.process_replies()

    assert trip.engine.get(request.id).status is RequestStatus.APPROVED
    assert len(trip.decided) == 1


def _reply_with_token(trip: Scenario, approver: str, text: str, token: str, replacement: str):  # type: ignore[no-untyped-def]
    from mailio.devservers.approver import compose_reply

    reply = compose_reply(trip.notification_for(approver), approver, text)
    raw = reply.as_bytes()
    for form in (token, token.upper()):
        raw = raw.replace(
            form.encode(), (replacement if form == token else replacement.upper()).encode()
        )
    from email import message_from_bytes, policy

    return message_from_bytes(raw, policy=policy.default)


def test_second_reply_of_the_same_approver_in_one_batch_is_kept_not_applied(
    trip: Scenario,
) -> None:
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    request = trip.ask(alice, bob)  # still pending after alice's first answer
    trip.reply(alice, "Approved")
    trip.reply(alice, "Reject, sorry: wrong build")

    report = trip.engine.process_replies()

    assert (report.fetched, report.decided, report.failed) == (2, 1, 1)
    assert "already decided" in report.messages[1].reason
    final = trip.engine.get(request.id)
    assert [d.verdict for d in final.decisions] == ["approve"]
    assert len(trip.inbox(trip.address, "Failed")) == 1


def test_all_approvers_in_one_batch_close_the_request(trip: Scenario) -> None:
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    request = trip.ask(alice, bob)
    trip.reply(alice, "Approved")
    trip.reply(bob, "LGTM")

    assert trip.engine.process_replies().decided == 2

    assert trip.engine.get(request.id).status is RequestStatus.APPROVED
    assert len(trip.decided) == 1


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
