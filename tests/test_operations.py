"""engine.operations: what an operator asks and does (the `approvals` commands, a console),
and the cycles the engine records for `approvals status`. On the memory transports."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from approvals.cycles import CycleKind, last_cycle
from approvals.engine import ApprovalEngine
from approvals.errors import UnknownRequest
from approvals.models import NotificationStatus, ReplyStatus
from approvals.settings import EngineSettings
from mailio.errors import MailboxError
from mailio.inbound.base import Mailbox
from mailio.inbound.imap import ImapMailbox
from mailio.inbound.memory import MemoryMailbox
from mailio.outbound import memory as outboxes
from tests.memory_setup import (
    INCOMING,
    OUTGOING,
    MemoryScenario,
    memory_engine_settings,
    memory_scenario,
)
from tests.servers.mail_client import send_as
from tests.servers.transport_settings import ENGINE_ADDRESS, imap_settings, outgoing_message

ALICE = "alice@example.test"
BOB = "bob@example.test"
MALLORY = "mallory@example.test"


@pytest.fixture
def trip(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path)


def test_requests_are_listed_newest_first_with_filters_and_paging(trip: MemoryScenario) -> None:
    engine = trip.engine
    first = engine.request_approval("Deploy 1.0", [ALICE], external_id="run-1")
    trip.clock.offset += timedelta(seconds=1)
    second = engine.request_approval("Release 5.0_rc", [BOB], external_id="run-2")
    engine.cancel(first.id)
    operations = engine.operations

    assert [r.id for r in operations.requests()] == [second.id, first.id]
    assert [r.id for r in operations.requests(status="cancelled")] == [first.id]
    assert [r.id for r in operations.requests(search="RUN-2")] == [second.id]
    assert [r.id for r in operations.requests(search="5.0_")] == [second.id]
    assert operations.requests(search="5.0%") == []  # wildcards are taken literally
    assert [r.id for r in operations.requests(limit=1, offset=1)] == [first.id]


def test_a_request_is_shown_whole_by_id_or_external_id(trip: MemoryScenario) -> None:
    request = trip.ask(ALICE, BOB, external_id="run-8812")
    trip.reply(ALICE, "Approved, ship it")
    trip.reply(BOB, "Approved", sender=MALLORY)
    trip.engine.process_replies()

    detail = trip.engine.operations.request("run-8812")

    assert detail == trip.engine.operations.request(request.id)
    assert detail.request.approvers == (ALICE, BOB)
    (decision,) = detail.request.decisions
    assert decision.evidence_line == "Approved, ship it" and decision.authenticated_by
    assert [(n.approver, n.status) for n in detail.notifications][:2] == [
        (ALICE, NotificationStatus.SENT),
        (BOB, NotificationStatus.SENT),
    ]
    assert sorted(r.status for r in detail.replies) == [ReplyStatus.DECIDED, ReplyStatus.FAILED]
    assert "wrong sender" in next(r.reason for r in detail.replies if r.sender == MALLORY)
    assert [e.kind for e in detail.events][:1] == ["requested"]
    with pytest.raises(UnknownRequest, match="no-such"):
        trip.engine.operations.request("no-such")


def test_replies_are_listed_with_sender_subject_status_and_reason(trip: MemoryScenario) -> None:
    trip.ask(ALICE)
    trip.reply(ALICE, "Approved", sender=MALLORY)
    trip.engine.process_replies()

    (failed,) = trip.engine.operations.replies(status="failed")

    assert (failed.sender, failed.status) == (MALLORY, ReplyStatus.FAILED)
    assert "wrong sender" in failed.reason and failed.subject.startswith("Re:")
    assert trip.engine.operations.replies(status="decided") == []
    assert trip.engine.operations.replies(search="mallory") == [failed]


def test_reprocess_moves_the_mail_back_and_forgets_the_record(trip: MemoryScenario) -> None:
    trip.ask(ALICE)
    reply = trip.reply(ALICE, "Approved", sender=MALLORY)
    trip.engine.process_replies()
    assert len(trip.folder("Failed")) == 1 and trip.folder("INBOX") == []

    done = trip.engine.operations.reprocess(str(reply["Message-ID"]))

    assert (done.moved, done.forgotten) == (1, True)
    assert trip.folder("Failed") == [] and len(trip.folder("INBOX")) == 1
    assert trip.engine.operations.replies() == []
    assert trip.engine.process_replies().fetched == 1  # read afresh (and refused again)
    again = trip.engine.operations.reprocess("<no-such@example.test>")
    assert (again.moved, again.forgotten) == (0, False)


def test_reprocess_of_a_mail_moved_back_by_hand_only_forgets(trip: MemoryScenario) -> None:
    trip.ask(ALICE)
    reply = trip.reply(ALICE, "Approved", sender=MALLORY)
    trip.engine.process_replies()
    trip.move_all("Failed", "INBOX")

    done = trip.engine.operations.reprocess(str(reply["Message-ID"]))

    assert (done.moved, done.forgotten) == (0, True)


def test_memory_mailbox_restores_only_the_named_message(
    empty_memory_servers: None,
) -> None:
    from mailio.inbound import memory as folders

    folders.deliver(INCOMING, b"Message-ID: <a@x>\r\n\r\none", folder="Failed")
    folders.deliver(INCOMING, b"Message-ID: <b@x>\r\n\r\ntwo", folder="Failed")

    assert MemoryMailbox(INCOMING, "INBOX").restore("a@x", "Failed") == 1

    assert folders.messages(INCOMING, "INBOX") == [b"Message-ID: <a@x>\r\n\r\none"]
    assert len(folders.messages(INCOMING, "Failed")) == 1


def test_each_cycle_is_recorded_with_its_result(trip: MemoryScenario) -> None:
    engine = trip.engine
    engine.request_approval("Deploy", [ALICE])
    engine.dispatch_pending()
    engine.process_replies()
    engine.run_timers()

    dispatch = last_cycle(engine.operations.db, CycleKind.DISPATCH)
    poll = last_cycle(engine.operations.db, CycleKind.POLL)
    timers = last_cycle(engine.operations.db, CycleKind.TIMERS)
    assert dispatch is not None and dispatch.ok and dispatch.summary.startswith("sent 1")
    assert poll is not None and poll.ok and poll.summary.startswith("fetched 0")
    assert timers is not None and timers.ok and timers.seconds >= 0


def _failing_mailbox(settings: object) -> MemoryMailbox:
    raise MailboxError("cannot select folder 'INBOX' on imap.example.test: NO such folder")


def test_a_failed_poll_is_recorded_and_makes_the_status_unhealthy(
    trip: MemoryScenario,
) -> None:
    broken = ApprovalEngine(trip.engine.settings, mailbox_factory=_failing_mailbox)
    try:
        with pytest.raises(MailboxError):
            broken.process_replies()
        status = broken.operations.status()
    finally:
        broken.close()

    assert not status.healthy
    [mailbox] = status.mailboxes
    assert mailbox.poll is not None and not mailbox.poll.ok
    assert "NO such folder" in (mailbox.poll.error or "")
    assert mailbox.waiting is None and "NO such folder" in (mailbox.waiting_error or "")
    assert status.canary is None


def test_status_is_healthy_after_a_poll_and_stale_after_three_intervals(
    trip: MemoryScenario,
) -> None:
    operations = trip.engine.operations
    assert operations.status().problems == ("no poll cycle recorded yet",)
    trip.engine.process_replies()

    status = operations.status()
    [mailbox] = status.mailboxes
    assert status.healthy and mailbox.waiting == 0 and mailbox.poll is not None
    assert mailbox.next_poll_at == mailbox.poll.started_at + timedelta(minutes=5)

    trip.clock.offset += timedelta(minutes=16)
    assert "no poll cycle for 16 minutes" in operations.status().problems[0]


def test_outbox_counts_and_retry_by_id_and_all_failed(trip: MemoryScenario) -> None:
    engine = trip.engine
    outboxes.script(OUTGOING, "5xx", "5xx", "4xx")
    first = engine.request_approval("One", [ALICE])
    engine.request_approval("Two", [BOB])
    engine.request_approval("Three", ["carol@example.test"])
    assert str(engine.dispatch_pending()) == "sent 0, retrying 1, failed 2"
    counts = engine.operations.outbox_counts()
    assert (counts.queued, counts.retrying, counts.failed) == (1, 1, 2)
    failed = [e.id for e in engine.outbox() if e.status == NotificationStatus.FAILED]

    assert engine.operations.retry_notifications([failed[-1]]) == [failed[-1]]
    assert engine.operations.retry_notifications([failed[-1]]) == []  # queued, not failed
    assert engine.operations.retry_notifications() == [failed[0]]
    entries = {e.id: e for e in engine.outbox()}
    assert entries[failed[0]].status == NotificationStatus.QUEUED
    assert entries[failed[0]].attempts == 1 and "scripted permanent" in str(
        entries[failed[0]].last_error
    )
    assert engine.dispatch_pending().sent == 2
    engine.cancel(first.id)


def test_retry_leaves_approvals_of_closed_requests_failed(trip: MemoryScenario) -> None:
    engine = trip.engine
    outboxes.script(OUTGOING, "5xx")
    request = engine.request_approval("One", [ALICE])
    engine.dispatch_pending()
    engine.cancel(request.id)

    assert engine.operations.retry_notifications() == []


def test_security_refusal_keeps_retrying_with_backoff_and_logs_an_error(
    trip: MemoryScenario, caplog: pytest.LogCaptureFixture
) -> None:
    engine = trip.engine
    attempts = 8  # more than [retry] max_attempts (5): a security refusal is never final
    security: outboxes.Failure = "security"
    outboxes.script(OUTGOING, *[security] * attempts)
    engine.request_approval("Deploy", [ALICE])
    delays = []
    with caplog.at_level(logging.ERROR, logger="approvals.outbox"):
        for _ in range(attempts):
            assert str(engine.dispatch_pending()) == "sent 0, retrying 1, failed 0"
            (entry,) = engine.outbox()
            delays.append((entry.next_attempt_at - trip.clock()).total_seconds())
            trip.clock.offset += entry.next_attempt_at - trip.clock()
    assert [round(d, -1) for d in delays[:4]] == [30, 60, 120, 240]  # backoff doubles
    assert "STARTTLS" in str(entry.last_error) and entry.attempts == attempts
    assert f"through {OUTGOING}" in caplog.records[0].getMessage()
    assert all(record.levelno == logging.ERROR for record in caplog.records)
    assert outboxes.outbox(OUTGOING) == []  # nothing went out meanwhile

    assert engine.dispatch_pending().sent == 1  # the path is fixed: it goes


def test_request_status_filter_refuses_an_unknown_status(trip: MemoryScenario) -> None:
    with pytest.raises(ValueError):
        trip.engine.operations.requests(status="done")


def test_imap_mailbox_finds_a_message_by_message_id_and_moves_it_back(mail_stack: Any) -> None:
    """Real Dovecot: UID SEARCH HEADER Message-ID in the failure folder, then MOVE."""
    address = mail_stack.new_address("approvals")
    server = imap_settings(mail_stack.imap_port, username=address)
    for subject in ("kept", "restored"):
        send_as(mail_stack, ENGINE_ADDRESS, outgoing_message(address, subject))
    inbox = ImapMailbox(server, "INBOX")
    failed = ImapMailbox(server, "Failed")
    try:
        batch = inbox.fetch_batch(10)
        inbox.move([m.key for m in batch], "Failed")
        wanted = next(
            message_from_bytes(m.raw)["Message-ID"]
            for m in batch
            if message_from_bytes(m.raw)["Subject"] == "restored"
        )

        assert inbox.restore(wanted.strip("<>"), "Failed") == 1

        assert [message_from_bytes(m.raw)["Subject"] for m in inbox.fetch_batch(10)] == ["restored"]
        assert [message_from_bytes(m.raw)["Subject"] for m in failed.fetch_batch(10)] == ["kept"]
        assert inbox.restore("<no-such@example.test>", "Failed") == 0
        assert inbox.count() == 1  # the mailbox's own folder is selected again
    finally:
        inbox.close()
        failed.close()


def test_status_names_the_mailbox_whose_poll_failed_when_there_are_several(
    tmp_path: Path, empty_memory_servers: None
) -> None:
    def sales_is_gone(settings: EngineSettings) -> Mailbox:
        if settings.inbound.folder == "Sales":
            raise MailboxError("cannot select folder 'Sales': NO such folder")
        return MemoryMailbox(INCOMING, settings.inbound.folder)

    settings = memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}", sales={"folder": "Sales"})
    engine = ApprovalEngine(settings, mailbox_factory=sales_is_gone)
    try:
        with pytest.raises(MailboxError):
            engine.process_replies()
        status = engine.operations.status()
    finally:
        engine.close()

    default, sales = status.mailboxes
    assert (default.table, default.waiting, sales.table, sales.waiting) == (
        "[inbound]",
        0,
        "[inbound.sales]",
        None,
    )
    assert default.poll is not None and default.poll.ok
    assert status.problems == (
        "[inbound.sales]: the last poll cycle failed: cannot select folder 'Sales': NO such folder",
    )
