"""The engine's mailbox kept across poll cycles: one session, incremental reading,
recovery after a crash and after the folder was recreated (real Dovecot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from approvals.inbox.polling import MailboxPool
from approvals.models import RequestStatus
from approvals.settings import EngineSettings
from mailio.devservers import approver as approver_client
from mailio.devservers.stack import MailStack
from tests.engine_setup import ListMailbox, Scenario, reconfigured, scenario


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path)


def _counting_logins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    logins: list[str] = []
    real_login = IMAPClient.login

    def counting_login(self: IMAPClient, username: str, password: str) -> object:
        logins.append(username)
        return real_login(self, username, password)

    monkeypatch.setattr(IMAPClient, "login", counting_login)
    return logins


def _engine_folder(trip: Scenario) -> IMAPClient:
    client = IMAPClient(trip.stack.host, trip.stack.imap_port, ssl=False)
    client.login(trip.address, trip.stack.password)
    return client


def test_the_engine_logs_in_once_for_many_cycles(
    trip: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    first, second = trip.ask(alice), trip.ask(bob)
    logins = _counting_logins(monkeypatch)

    trip.reply(alice, "Approved")
    assert trip.engine.process_replies().decided == 1
    assert trip.engine.process_replies().fetched == 0
    trip.reply(bob, "Approved")
    assert trip.engine.process_replies().decided == 1

    assert logins.count(trip.address) == 1
    assert trip.engine.get(first.id).status is RequestStatus.APPROVED
    assert trip.engine.get(second.id).status is RequestStatus.APPROVED
    assert trip.inbox(trip.address) == []


def test_a_crash_between_flagging_and_expunging_is_finished_next_cycle(
    trip: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.reply(alice, "Approved")

    def crash(self: IMAPClient, messages: object = None) -> None:
        raise SystemExit("killed after STORE \\Deleted, before UID EXPUNGE")

    with monkeypatch.context() as patch:
        patch.setattr(IMAPClient, "uid_expunge", crash)
        with pytest.raises(SystemExit):
            trip.engine.process_replies()
    with _engine_folder(trip) as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["DELETED"])) == 1  # decided, flagged, not expunged

    report = trip.engine.process_replies()

    assert report.fetched == 0
    with _engine_folder(trip) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["ALL"]) == []
    assert len(trip.engine.get(request.id).decisions) == 1
    assert len(trip.decided) == 1


def test_a_recreated_folder_is_read_again_and_nothing_applied_twice(
    mail_stack: MailStack, tmp_path: Path
) -> None:
    for trip in scenario(mail_stack, tmp_path, folder="Replies"):
        alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
        approved, pending = trip.ask(alice), trip.ask(bob)
        approval = approver_client.compose_reply(
            trip.notification_for(alice), alice, "Approved"
        ).as_bytes()
        with _engine_folder(trip) as client:
            client.create_folder("Replies")
            client.append("Replies", approval)
        assert trip.engine.process_replies().decided == 1

        # An admin recreates the folder from a backup that still holds the handled reply;
        # its UIDs start at 1 again, the one the engine has read already.
        rejection = approver_client.compose_reply(
            trip.notification_for(bob), bob, "Reject: wrong version"
        ).as_bytes()
        with _engine_folder(trip) as client:
            client.delete_folder("Replies")
            client.create_folder("Replies")
            client.append("Replies", approval)
            client.append("Replies", rejection)

        report = trip.engine.process_replies()

        assert (report.fetched, report.decided, report.ignored) == (2, 1, 1)
        assert len(trip.engine.get(approved.id).decisions) == 1
        assert trip.engine.get(pending.id).status is RequestStatus.REJECTED
        assert [r.id for r in trip.decided] == [approved.id, pending.id]  # each once
        assert trip.inbox(trip.address, "Replies") == []


class _CountingFactory:
    def __init__(self) -> None:
        self.built: list[ListMailbox] = []
        self.closed = 0

    def __call__(self, settings: EngineSettings) -> ListMailbox:
        factory = self

        class Box(ListMailbox):
            def close(self) -> None:
                factory.closed += 1

        self.built.append(Box([]))
        return self.built[-1]


def test_the_pool_keeps_one_mailbox_until_the_inbound_settings_change(
    trip: Scenario,
) -> None:
    factory = _CountingFactory()
    pool = MailboxPool(factory)
    settings = trip.engine.settings
    for _ in range(3):
        with pool.borrowed(settings) as box:
            assert box is factory.built[0]
    assert (len(factory.built), factory.closed) == (1, 0)

    pool.reconfigure(reconfigured(settings, inbound={"max_messages": 7}))
    assert factory.closed == 1
    with pool.borrowed(settings):
        pass
    pool.close()
    pool.close()
    assert (len(factory.built), factory.closed) == (2, 2)


def test_a_cycle_that_fails_closes_the_kept_mailbox(trip: Scenario) -> None:
    factory = _CountingFactory()
    pool = MailboxPool(factory)
    with pytest.raises(RuntimeError), pool.borrowed(trip.engine.settings):
        raise RuntimeError("the server went away")
    assert factory.closed == 1
    with pool.borrowed(trip.engine.settings) as box:
        assert box is factory.built[1]


def test_a_second_thread_borrows_a_throwaway_mailbox(trip: Scenario) -> None:
    factory = _CountingFactory()
    pool = MailboxPool(factory)
    with pool.borrowed(trip.engine.settings) as kept:
        with pool.borrowed(trip.engine.settings) as other:
            assert other is not kept
        assert factory.closed == 1  # the throwaway only
    pool.close()
    assert factory.closed == 2
