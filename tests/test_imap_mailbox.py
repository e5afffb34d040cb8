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


def test_messages_flagged_deleted_are_not_fetched(mail_stack, address, mailbox) -> None:  # type: ignore[no-untyped-def]
    """Someone flagged it \\Deleted without expunging: it is on its way out, not a reply."""
    _append(mail_stack, address, ["gone", "kept"])
    with IMAPClient(mail_stack.host, mail_stack.imap_port, ssl=False) as client:
        client.login(address, mail_stack.password)
        client.select_folder("INBOX")
        client.add_flags(client.search(["SUBJECT", "gone"]), [b"\\Deleted"])

    assert _subjects(mailbox.fetch_batch(10)) == ["kept"]
