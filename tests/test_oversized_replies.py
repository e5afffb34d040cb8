"""Replies over [inbound] max_message_bytes: sized first, never downloaded or parsed in full.

The round trip runs against the real Dovecot and SMTP relay (``mail_stack``);
the engine's side of the rule also runs with the in-memory ListMailbox, and
the setting's validation with config files under tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlmodel import select

import approvals.inbox.recorder
from approvals.engine import ApprovalEngine
from approvals.models import InboxRecordRow, RequestStatus
from approvals.replies import ParsedReply, parse_reply
from approvals.settings import EngineSettings
from mailio.devservers.stack import MailStack
from mailio.errors import ConfigError
from tests.engine_setup import ListMailbox, MailboxWrapper, Scenario, engine_settings, scenario
from tests.rows import store_session

REPO = Path(__file__).resolve().parents[1]
LIMIT = 64 * 1024
LOG_LINE = "2024-05-01 10:00:00,123 INFO [worker-3] GET /api/v1/items/42 200 12ms\n"


def _pasted_log(size: int) -> str:
    return "Approved, log below\n\n" + LOG_LINE * (size // len(LOG_LINE))


@pytest.fixture
def parsed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every raw message the reply handler parses."""
    sizes: list[int] = []

    def recording(raw: bytes) -> ParsedReply:
        sizes.append(len(raw))
        return parse_reply(raw)

    monkeypatch.setattr(approvals.inbox.recorder, "parse_reply", recording)
    return sizes


# --- the setting -----------------------------------------------------------------------------

CONFIG_ENV = {"APPROVALS_SECRET": "s" * 20, "SMTP_PASSWORD": "p", "IMAP_PASSWORD": "p"}


def _load_with(tmp_path: Path, line: str) -> EngineSettings:
    text = (REPO / "config" / "approvals.toml").read_text()
    text = text.replace('failure_folder = "Failed"\n', f'failure_folder = "Failed"\n{line}\n')
    path = tmp_path / "approvals.toml"
    path.write_text(text)
    return EngineSettings.load(path, environ=CONFIG_ENV)


def test_max_message_bytes_defaults_to_25_mb(tmp_path: Path) -> None:
    assert _load_with(tmp_path, "").inbound.max_message_bytes == 25 * 1024 * 1024
    assert _load_with(tmp_path, "max_message_bytes = 1000").inbound.max_message_bytes == 1000


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-5", "-5"), ('"25MB"', '"25MB"')])
def test_max_message_bytes_must_be_a_positive_integer(
    tmp_path: Path, value: str, shown: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load_with(tmp_path, f"max_message_bytes = {value}")
    assert str(caught.value) == (
        f"{tmp_path / 'approvals.toml'}, [inbound] max_message_bytes: "
        f"expected an integer greater than 0, got {shown}"
    )


# --- against Dovecot ---------------------------------------------------------------------------


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path, max_message_bytes=LIMIT)


def _flags_in(stack: MailStack, address: str, folder: str) -> list[tuple[bytes, ...]]:
    with IMAPClient(stack.host, stack.imap_port, ssl=False) as client:
        client.login(address, stack.password)
        client.select_folder(folder, readonly=True)
        return list(client.get_flags(client.search(["ALL"])).values())


def test_an_oversized_reply_is_kept_unread_and_recorded_while_the_batch_is_decided(
    trip: Scenario, parsed_sizes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    pasted = trip.ask(alice)
    plain = trip.ask(bob)
    big = trip.reply(alice, _pasted_log(4 * LIMIT))
    trip.reply(bob, "Approved")
    fetched_items: list[list[str]] = []
    real_fetch = IMAPClient.fetch

    def counting_fetch(self: IMAPClient, messages: Any, data: Any, modifiers: Any = None) -> Any:
        fetched_items.append([str(item) for item in data])
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", counting_fetch)

    report = trip.engine.process_replies()

    monkeypatch.undo()
    assert (report.fetched, report.decided, report.failed) == (2, 1, 1)
    assert trip.engine.get(plain.id).status is RequestStatus.APPROVED
    assert trip.engine.get(pasted.id).status is RequestStatus.PENDING
    [refused] = [m for m in report.messages if m.status == "failed"]
    assert refused.key == str(big["Message-ID"]).strip("<>")
    size = int(refused.reason.split()[2].replace(",", ""))
    assert size > 4 * LIMIT
    assert refused.reason == (
        f"message is {size:,} bytes, over [inbound] max_message_bytes ({LIMIT:,}): "
        "kept unread in the failure folder"
    )
    # One size fetch, bodies of the small only, the start of the big one's header.
    assert [items[0] for items in fetched_items] == [
        "RFC822.SIZE",
        "BODY.PEEK[]",
        "BODY.PEEK[HEADER]<0.65536>",
    ]
    assert max(parsed_sizes) < LIMIT  # the big one's header was parsed, never its body
    assert trip.inbox(trip.address) == []
    [kept] = trip.inbox(trip.address, "Failed")
    assert kept["Message-ID"] == big["Message-ID"]
    [flags] = _flags_in(trip.stack, trip.address, "Failed")
    assert b"\\Seen" not in flags  # kept unread
    with store_session(trip.engine) as session:
        record = session.exec(
            select(InboxRecordRow).where(InboxRecordRow.message_key == refused.key)
        ).one()
    assert (record.sender, record.subject) == (alice, str(big["Subject"]))
    assert (record.status, record.disposition) == ("failed", "move:Failed")


# --- the engine's rule, with an in-memory mailbox ----------------------------------------------


def _engine(tmp_path: Path, box: Any, **inbound: Any) -> ApprovalEngine:
    stack = MailStack(name="none", host="127.0.0.1", imap_port=9, smtp_port=9, password="x")
    settings = engine_settings(
        stack, f"sqlite:///{tmp_path / 'db.sqlite'}", "approvals@example.test", **inbound
    )
    return ApprovalEngine(settings, mailbox_factory=lambda s: box)


def _message(name: str, body: str) -> bytes:
    return (
        f"From: Alice <alice@example.test>\r\nSubject: {name}\r\n"
        f"Message-ID: <{name}@example.test>\r\n\r\n{body}"
    ).encode()


class WholeMessages(MailboxWrapper):
    """A mailbox written before size limits: no max_message_bytes, every message whole."""

    def __init__(self, raws: Sequence[bytes]) -> None:
        self.folder = ListMailbox(raws)
        super().__init__(self.folder)


def test_the_engine_gives_its_limit_to_the_mailbox(tmp_path: Path, parsed_sizes: list[int]) -> None:
    box = ListMailbox([_message("big", "x" * 5000), _message("small", "hi")])
    engine = _engine(tmp_path, box, max_message_bytes=1000)

    report = engine.process_replies()

    assert box.max_message_bytes == 1000
    assert [(m.key, m.status) for m in report.messages] == [
        ("big@example.test", "failed"),
        ("small@example.test", "failed"),  # no token: failed too, but read and judged
    ]
    assert report.messages[0].reason.startswith("message is 5,")
    assert "no approval token" in report.messages[1].reason
    assert max(parsed_sizes) < 1000
    engine.close()


def test_a_mailbox_without_the_limit_still_never_has_a_big_message_parsed(
    tmp_path: Path, parsed_sizes: list[int]
) -> None:
    big = _message("big", "x" * 5000)
    box = WholeMessages([big])
    engine = _engine(tmp_path, box, max_message_bytes=1000, after_processing="move:Done")

    [reported] = engine.process_replies().messages

    assert reported.reason.startswith(f"message is {len(big):,} bytes, over")
    assert box.folder.moved == {"Failed": ["0"]}
    assert max(parsed_sizes) < 1000
    engine.close()


def test_an_oversized_message_seen_again_goes_to_the_failure_folder_again(
    tmp_path: Path,
) -> None:
    box = ListMailbox([_message("big", "x" * 5000)])
    engine = _engine(tmp_path, box, max_message_bytes=1000)
    engine.process_replies()
    box.messages["0"] = _message("big", "x" * 5000)  # moved back by hand, unchanged

    [reported] = engine.process_replies().messages

    assert reported.status == "ignored" and "already handled" in reported.reason
    assert box.moved == {"Failed": ["0", "0"]}
    engine.close()
