"""ImapMailbox against a real Dovecot on loopback (the ``mail_stack`` fixture)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from imapclient import IMAPClient
from pydantic import SecretStr

from mailio.config import ImapServer, OAuth2Settings
from mailio.devservers import DovecotServer, MailStack
from mailio.devservers.ports import free_port
from mailio.errors import AuthenticationError, ConfigError, MailboxError, TransportError
from mailio.inbound.base import HEADER_BYTES
from mailio.inbound.imap import ImapMailbox
from tests.servers.dovecot_stack import OAUTH_TOKENS
from tests.servers.mail_client import send_as
from tests.servers.transport_settings import (
    ENGINE_ADDRESS,
    imap_settings,
    outgoing_message,
)


def _server(stack: MailStack, address: str, **overrides: Any) -> ImapServer:
    return imap_settings(stack.imap_port, username=address, **overrides)


def _append(stack: MailStack, address: str, subjects: list[str]) -> None:
    """Deliver messages to the INBOX in this order (so their UIDs ascend in it)."""
    for subject in subjects:
        send_as(stack, ENGINE_ADDRESS, outgoing_message(address, subject))


def _subjects(messages) -> list[str]:
    return [message_from_bytes(m.raw)["Subject"] for m in messages]


@pytest.fixture
def address(mail_stack) -> str:
    return mail_stack.new_address("approvals")


@pytest.fixture
def mailbox(mail_stack, address) -> Iterator[ImapMailbox]:
    box = ImapMailbox(_server(mail_stack, address), "INBOX")
    yield box
    box.close()


def test_fetch_batch_returns_the_oldest_messages_first_up_to_the_limit(
    mail_stack, address, mailbox
):
    _append(mail_stack, address, ["first", "second", "third", "fourth"])

    batch = mailbox.fetch_batch(3)

    assert _subjects(batch) == ["first", "second", "third"]
    assert [int(m.key) for m in batch] == sorted(int(m.key) for m in batch)


def test_fetch_batch_of_an_empty_folder_is_empty(mailbox):
    assert mailbox.fetch_batch(10) == []


def test_without_a_limit_a_batch_is_fetched_in_one_uid_fetch(
    mail_stack, address, mailbox, monkeypatch
):
    _append(mail_stack, address, [f"m{i}" for i in range(6)])
    calls: list[list[int]] = []
    real_fetch = IMAPClient.fetch

    def counting_fetch(self, messages, data, modifiers=None):
        calls.append(list(messages))
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", counting_fetch)

    batch = mailbox.fetch_batch(5)

    assert len(batch) == 5
    assert len(calls) == 1
    assert sorted(calls[0]) == [int(m.key) for m in batch]


def _counting_fetches(monkeypatch) -> list[tuple[list[int], list[str]]]:
    """Record every UID FETCH the mailbox sends: (UIDs, data items)."""
    calls: list[tuple[list[int], list[str]]] = []
    real_fetch = IMAPClient.fetch

    def counting_fetch(self, messages, data, modifiers=None):
        calls.append((sorted(messages), [str(item) for item in data]))
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", counting_fetch)
    return calls


def _append_sized(stack: MailStack, address: str, subject: str, body_bytes: int) -> None:
    message = outgoing_message(address, subject)
    message.set_content(
        "Approved\n" + "2024-05-01 10:00:00,123 INFO GET /api 200\n" * (body_bytes // 41)
    )
    send_as(stack, ENGINE_ADDRESS, message)


def test_sizes_come_first_and_only_bodies_within_the_limit_are_fetched(
    mail_stack, address, monkeypatch
):
    _append_sized(mail_stack, address, "small-1", 2_000)
    _append_sized(mail_stack, address, "huge", 300_000)
    _append_sized(mail_stack, address, "small-2", 2_000)
    calls = _counting_fetches(monkeypatch)

    with ImapMailbox(_server(mail_stack, address), "INBOX", max_message_bytes=50_000) as box:
        batch = box.fetch_batch(10)
    fetches = list(calls)

    small_1, huge, small_2 = batch
    uids = [int(m.key) for m in batch]
    assert fetches == [
        (uids, ["RFC822.SIZE"]),
        ([uids[0], uids[2]], ["BODY.PEEK[]"]),
        ([uids[1]], [f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"]),
    ]
    assert [m.complete for m in batch] == [True, False, True]
    assert _subjects([small_1, small_2]) == ["small-1", "small-2"]
    assert small_1.size == len(small_1.raw)
    assert huge.size > 300_000 and huge.size == _server_size(mail_stack, address, uids[1])
    header = message_from_bytes(huge.raw)
    assert header["Subject"] == "huge" and header["Message-ID"] == "<huge@example.test>"
    assert len(huge.raw) < 2_000 and b"Approved" not in huge.raw  # the header, no body


def test_a_batch_within_the_limit_costs_one_size_fetch_and_one_body_fetch(
    mail_stack, address, monkeypatch
):
    _append(mail_stack, address, ["a", "b"])
    calls = _counting_fetches(monkeypatch)

    with ImapMailbox(_server(mail_stack, address), "INBOX", max_message_bytes=50_000) as box:
        assert all(m.complete for m in box.fetch_batch(10))

    assert [items for _, items in calls] == [["RFC822.SIZE"], ["BODY.PEEK[]"]]


def _server_size(stack: MailStack, address: str, uid: int) -> int:
    with IMAPClient(stack.host, stack.imap_port, ssl=False) as client:
        client.login(address, stack.password)
        client.select_folder("INBOX", readonly=True)
        return int(client.fetch([uid], ["RFC822.SIZE"])[uid][b"RFC822.SIZE"])


def test_fetch_does_not_mark_messages_seen(mail_stack, address, mailbox):
    _append(mail_stack, address, ["unread"])

    [message] = mailbox.fetch_batch(1)

    with IMAPClient(mail_stack.host, mail_stack.imap_port, ssl=False) as client:
        client.login(address, mail_stack.password)
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags([int(message.key)])[int(message.key)]
    assert b"\\Seen" not in flags


def test_delete_removes_exactly_the_given_messages(mail_stack, address, mailbox):
    _append(mail_stack, address, ["keep-1", "drop-1", "keep-2", "drop-2"])
    batch = mailbox.fetch_batch(10)
    drop = [m.key for m in batch if _subjects([m])[0].startswith("drop")]

    mailbox.delete(drop)

    assert _subjects(mailbox.fetch_batch(10)) == ["keep-1", "keep-2"]
    assert mailbox.count() == 2


def test_move_creates_the_folder_and_moves_only_the_given_messages(mail_stack, address, mailbox):
    _append(mail_stack, address, ["stay", "go"])
    stay, go = mailbox.fetch_batch(10)

    mailbox.move([go.key], "Processed")

    assert _subjects(mailbox.fetch_batch(10)) == ["stay"]
    with ImapMailbox(_server(mail_stack, address), "Processed") as processed:
        assert _subjects(processed.fetch_batch(10)) == ["go"]


def test_count_reports_the_messages_in_the_folder(mail_stack, address, mailbox):
    assert mailbox.count() == 0
    _append(mail_stack, address, ["a", "b", "c"])
    assert mailbox.count() == 3


def test_close_is_idempotent_and_the_mailbox_reconnects_after_it(mail_stack, address, mailbox):
    _append(mail_stack, address, ["a"])
    mailbox.close()
    mailbox.close()
    assert mailbox.count() == 1


def test_a_dropped_connection_is_replaced_transparently(mail_stack, address, mailbox):
    _append(mail_stack, address, ["a", "b"])
    assert mailbox.count() == 2
    # Cut the kept connection under the mailbox, as a server's idle timeout would.
    mailbox._session.client.socket().shutdown(socket.SHUT_RDWR)

    assert _subjects(mailbox.fetch_batch(10)) == ["a", "b"]


def test_wrong_password_is_an_authentication_error_that_hides_the_password(mail_stack, address):
    wrong = "not-the-Password-42"
    box = ImapMailbox(_server(mail_stack, address, password=wrong), "INBOX")

    with pytest.raises(AuthenticationError) as caught:
        box.fetch_batch(1)

    text = str(caught.value)
    assert wrong not in text
    assert address in text and "check username and password" in text


def test_a_missing_folder_is_a_mailbox_error_naming_it(mail_stack, address):
    with (
        ImapMailbox(_server(mail_stack, address), "No-Such-Folder") as box,
        pytest.raises(MailboxError, match="No-Such-Folder"),
    ):
        box.fetch_batch(1)


def test_connection_refused_is_a_transport_error(mail_stack, address):
    closed_port = free_port()
    box = ImapMailbox(imap_settings(closed_port, username=address), "INBOX")

    with pytest.raises(TransportError, match=f"127.0.0.1:{closed_port}"):
        box.count()


def test_keys_that_are_not_uids_are_refused(mailbox):
    with pytest.raises(MailboxError, match="UIDs"):
        mailbox.delete(["not-a-uid"])


OAUTH_USER, OAUTH_TOKEN = next(iter(OAUTH_TOKENS.items()))


def _oauth_server(dovecot: DovecotServer) -> ImapServer:
    oauth2 = OAuth2Settings(tenant="t", client_id="c", client_secret=SecretStr("s"))
    return imap_settings(
        dovecot.imap_port, auth="oauth2", username=OAUTH_USER, password=None, oauth2=oauth2
    )


def test_oauth2_logs_in_with_xoauth2_and_asks_for_a_token_per_login(oauth_dovecot):
    tokens_given: list[str] = []

    def token_provider() -> str:
        tokens_given.append(OAUTH_TOKEN)
        return OAUTH_TOKEN

    with ImapMailbox(_oauth_server(oauth_dovecot), "INBOX", token_provider=token_provider) as box:
        assert box.count() == 0
        assert box.fetch_batch(1) == []

    assert tokens_given == [OAUTH_TOKEN]


def test_a_refused_oauth2_token_is_an_authentication_error_that_hides_the_token(oauth_dovecot):
    stale = "stale-token-xyz"
    box = ImapMailbox(_oauth_server(oauth_dovecot), "INBOX", token_provider=lambda: stale)

    with pytest.raises(AuthenticationError) as caught:
        box.count()

    assert OAUTH_USER in str(caught.value)
    assert stale not in str(caught.value)


def test_oauth2_without_a_token_provider_is_a_config_error(oauth_dovecot):
    with pytest.raises(ConfigError, match="token provider"):
        ImapMailbox(_oauth_server(oauth_dovecot), "INBOX")


def test_messages_flagged_deleted_are_expunged_not_fetched(mail_stack, address, mailbox) -> None:  # type: ignore[no-untyped-def]
    """Flagged \\Deleted without expunging: on its way out, not a reply. Only the engine
    deletes in its reply folder, so the batch finishes the delete."""
    _append(mail_stack, address, ["gone", "kept"])
    with IMAPClient(mail_stack.host, mail_stack.imap_port, ssl=False) as client:
        client.login(address, mail_stack.password)
        client.select_folder("INBOX")
        client.add_flags(client.search(["SUBJECT", "gone"]), [b"\\Deleted"])

    assert _subjects(mailbox.fetch_batch(10)) == ["kept"]
    assert mailbox.count() == 1


# ---- a mailbox kept across cycles: one login, incremental searches ---------------------


def _counting_logins(monkeypatch) -> list[str]:
    logins: list[str] = []
    real_login = IMAPClient.login

    def counting_login(self, username, password):
        logins.append(username)
        return real_login(self, username, password)

    monkeypatch.setattr(IMAPClient, "login", counting_login)
    return logins


def _counting_searches(monkeypatch) -> list[list[str]]:
    """Record every UID SEARCH the mailbox sends, with what it found."""
    calls: list[list[str]] = []
    real_search = IMAPClient.search

    def counting_search(self, criteria="ALL", charset=None):
        found = real_search(self, criteria, charset)
        calls.append([str(item) for item in criteria] + [f"-> {sorted(found)}"])
        return found

    monkeypatch.setattr(IMAPClient, "search", counting_search)
    return calls


def _delete_all(mailbox: ImapMailbox, batch) -> None:
    mailbox.delete([m.key for m in batch])


def test_after_the_first_batch_only_uids_above_the_last_read_are_searched(
    mail_stack, address, mailbox, monkeypatch
):
    _append(mail_stack, address, ["a", "b", "c"])
    logins = _counting_logins(monkeypatch)
    first = mailbox.fetch_batch(10)
    _delete_all(mailbox, first)
    _append(mail_stack, address, ["d", "e"])
    searches = _counting_searches(monkeypatch)

    second = mailbox.fetch_batch(10)

    last = max(int(m.key) for m in first)
    assert _subjects(second) == ["d", "e"]
    new = sorted(int(m.key) for m in second)
    assert searches == [
        ["DELETED", "-> []"],
        ["UID", f"{last + 1}:{last + 40}", "UNDELETED", f"-> {new}"],
        ["UID", f"{last + 1}:*", "UNDELETED", f"-> {new}"],  # the window had too few
    ]
    assert len(logins) == 1  # one session for both batches


def test_a_backlog_is_not_listed_whole_each_batch(mail_stack, address, mailbox, monkeypatch):
    _append(mail_stack, address, [f"m{i}" for i in range(12)])
    first = mailbox.fetch_batch(2)
    _delete_all(mailbox, first)
    searches = _counting_searches(monkeypatch)

    second = mailbox.fetch_batch(2)

    last = int(first[-1].key)
    assert _subjects(second) == ["m2", "m3"]
    assert searches[1:] == [
        ["UID", f"{last + 1}:{last + 8}", "UNDELETED", f"-> {list(range(last + 1, last + 9))}"]
    ]


def test_an_emptied_folder_gives_an_empty_batch_not_the_last_message_again(
    mail_stack, address, mailbox
):
    """ "n:*" names the highest UID even when it is below n; that one was deleted here,
    but one left in the folder on purpose must come back exactly once per batch."""
    _append(mail_stack, address, ["a", "b"])
    a, b = mailbox.fetch_batch(10)
    mailbox.delete([a.key, b.key])
    assert mailbox.fetch_batch(10) == []
    _append(mail_stack, address, ["c"])
    [c] = mailbox.fetch_batch(10)
    assert _subjects([c]) == ["c"]
    assert _subjects(mailbox.fetch_batch(10)) == ["c"]  # not disposed of: read again, once


def test_messages_neither_deleted_nor_moved_are_read_again_first(mail_stack, address, mailbox):
    """What the engine keeps in the folder on purpose (a conflict with another instance)
    is read again next cycle, oldest first, before what came in since."""
    _append(mail_stack, address, ["kept-1", "done", "kept-2", "unread"])
    first = mailbox.fetch_batch(3)
    assert _subjects(first) == ["kept-1", "done", "kept-2"]
    mailbox.delete([first[1].key])
    _append(mail_stack, address, ["new"])

    assert _subjects(mailbox.fetch_batch(3)) == ["kept-1", "kept-2", "unread"]
    assert _subjects(mailbox.fetch_batch(10)) == ["kept-1", "kept-2", "unread", "new"]


def test_a_failed_move_leaves_the_message_to_be_read_again(mail_stack, address, mailbox):
    _append(mail_stack, address, ["a"])
    [a] = mailbox.fetch_batch(10)
    with pytest.raises(MailboxError):
        mailbox.move([a.key], "Fail/ed")  # Maildir refuses "/"

    assert _subjects(mailbox.fetch_batch(10)) == ["a"]


def test_a_kept_message_expunged_by_someone_else_is_forgotten(mail_stack, address, mailbox):
    _append(mail_stack, address, ["gone", "stays"])
    gone, _ = mailbox.fetch_batch(10)
    with ImapMailbox(_server(mail_stack, address), "INBOX") as other:
        other.delete([gone.key])

    assert _subjects(mailbox.fetch_batch(10)) == ["stays"]


def test_a_dropped_connection_is_replaced_and_the_reading_goes_on_where_it_was(
    mail_stack, address, mailbox, monkeypatch
):
    _append(mail_stack, address, ["a", "b"])
    _delete_all(mailbox, mailbox.fetch_batch(10))
    _append(mail_stack, address, ["c"])
    logins = _counting_logins(monkeypatch)
    searches = _counting_searches(monkeypatch)
    mailbox._session.client.socket().shutdown(socket.SHUT_RDWR)

    assert _subjects(mailbox.fetch_batch(10)) == ["c"]
    assert len(logins) == 1  # the replacement
    assert [call[:2] for call in searches][-1][1].endswith(":*")
    assert searches[-1][1] != "1:*"  # same UIDVALIDITY: no search of the whole folder


def test_a_delete_cut_between_flag_and_expunge_is_finished_by_the_next_batch(
    mail_stack, address, monkeypatch
):
    _append(mail_stack, address, ["handled", "next"])
    with ImapMailbox(_server(mail_stack, address), "INBOX") as box:
        handled, _ = box.fetch_batch(10)

        def crash(self, messages=None):
            raise SystemExit("killed after STORE \\Deleted, before UID EXPUNGE")

        with monkeypatch.context() as patch:
            patch.setattr(IMAPClient, "uid_expunge", crash)
            with pytest.raises(SystemExit):
                box.delete([handled.key])
    assert _deleted_uids(mail_stack, address) == [int(handled.key)]

    with ImapMailbox(_server(mail_stack, address), "INBOX") as restarted:
        assert _subjects(restarted.fetch_batch(10)) == ["next"]
        assert restarted.count() == 1  # expunged, not only skipped
    assert _deleted_uids(mail_stack, address) == []


def _deleted_uids(stack: MailStack, address: str) -> list[int]:
    with IMAPClient(stack.host, stack.imap_port, ssl=False) as client:
        client.login(address, stack.password)
        client.select_folder("INBOX", readonly=True)
        return sorted(client.search(["DELETED"]))


def test_a_recreated_folder_is_read_from_its_first_message(mail_stack, address, monkeypatch):
    """A new UIDVALIDITY: the UIDs remembered name nothing now, the new messages start at 1."""
    with IMAPClient(mail_stack.host, mail_stack.imap_port, ssl=False) as client:
        client.login(address, mail_stack.password)
        client.create_folder("Replies")
        client.append("Replies", outgoing_message(address, "old").as_bytes())
        client.append("Replies", outgoing_message(address, "older").as_bytes())
    with ImapMailbox(_server(mail_stack, address), "Replies") as box:
        box.delete([m.key for m in box.fetch_batch(10)])
        with IMAPClient(mail_stack.host, mail_stack.imap_port, ssl=False) as client:
            client.login(address, mail_stack.password)
            before = client.folder_status("Replies", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            client.delete_folder("Replies")
            client.create_folder("Replies")
            client.append("Replies", outgoing_message(address, "again").as_bytes())
            after = client.folder_status("Replies", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        assert after != before

        [again] = box.fetch_batch(10)

    assert _subjects([again]) == ["again"] and again.key == "1"
