"""A stranger's mail must not stop the folder or reach requests it does not answer.

Found by review of the judge/recorder split: the preload once read every
token-shaped string of every reply (a mail stuffed with made-up tokens locked
unrelated requests and could outgrow a statement's parameters), and a stored
record whose disposition could not be read stopped every later batch.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from approvals.engine import ApprovalEngine
from approvals.inbox.preload import MAX_REFERENCES, load_view
from approvals.models import InboxRecordRow, RequestStatus
from approvals.replies import parse_reply
from approvals.settings import EngineSettings
from approvals.store import open_database, transaction
from mailio.devservers.approver import compose_reply
from mailio.errors import ConfigError
from tests.engine_setup import Clock
from tests.memory_setup import (
    ENGINE_ADDRESS,
    deliver_to_engine,
    memory_engine_settings,
    received_by,
)

ALICE, BOB, MALLORY = "alice@example.test", "bob@example.test", "mallory@example.test"


@pytest.fixture
def engine(tmp_path: Path, empty_memory_servers: None) -> Iterator[ApprovalEngine]:
    engine = ApprovalEngine(memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}"), clock=Clock())
    yield engine
    engine.close()


def _made_up_tokens(notification_ids: range) -> str:
    """Well-formed tokens claiming these ids: no secret is needed to write them."""
    return " ".join(
        "apr-"
        + base64.b32encode(i.to_bytes(5, "big") + (1000).to_bytes(3, "big") + bytes(7))
        .decode()
        .lower()
        for i in notification_ids
    )


def test_a_mail_stuffed_with_tokens_loads_only_its_first_and_the_batch_goes_on(
    engine: ApprovalEngine,
) -> None:
    requests = [
        engine.request_approval(f"Deploy {i}", [ALICE if i == 0 else BOB]) for i in range(4)
    ]
    engine.dispatch_pending()
    alice_mail = received_by(ALICE)[0]
    deliver_to_engine(ENGINE_ADDRESS, compose_reply(alice_mail, ALICE, "Approved"))
    stuffed = compose_reply(alice_mail, MALLORY, "hi " + _made_up_tokens(range(2, 600)))
    deliver_to_engine(ENGINE_ADDRESS, stuffed)

    settings = engine.settings
    db = open_database(settings.store.url, base_dir=settings.base_dir)
    with transaction(db) as session:
        view = load_view(
            session,
            [parse_reply(stuffed.as_bytes())],
            ["k"],
            datetime.now(UTC),
            "all",
            settings.inbound.refused,
        )
    db.dispose()
    assert list(view.requests) == [requests[0].id]  # not the three it does not answer

    report = engine.process_replies()

    assert (report.decided, report.failed) == (1, 1)
    assert "ambiguous" in next(m.reason for m in report.messages if m.status == "failed")
    assert engine.get(requests[0].id).status is RequestStatus.APPROVED


def test_a_reply_naming_too_many_references_is_refused_not_searched(
    engine: ApprovalEngine,
) -> None:
    request = engine.request_approval("Deploy", [ALICE])
    engine.dispatch_pending()
    reply = compose_reply(received_by(ALICE)[0], ALICE, "Approved")
    reply.replace_header(
        "References",
        " ".join(f"<r{i}@example.test>" for i in range(MAX_REFERENCES + 1))
        + f" {received_by(ALICE)[0]['Message-ID']}",
    )
    deliver_to_engine(ENGINE_ADDRESS, reply)

    report = engine.process_replies()

    assert report.failed == 1 and "more than the 50 a reply carries" in report.messages[0].reason
    assert engine.get(request.id).status is RequestStatus.PENDING


def test_a_blank_failure_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises((ConfigError, ValueError), match="folder name cannot be blank"):
        memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}", failure_folder=" ")


def test_an_unreadable_stored_disposition_keeps_the_mail_and_the_folder_moving(
    engine: ApprovalEngine,
) -> None:
    request = engine.request_approval("Deploy", [ALICE, BOB])
    engine.dispatch_pending()
    refused = compose_reply(received_by(ALICE)[0], ALICE, "Hmm, let me think")
    deliver_to_engine(ENGINE_ADDRESS, refused)
    engine.process_replies()
    settings: EngineSettings = engine.settings
    db = open_database(settings.store.url, base_dir=settings.base_dir)
    with transaction(db) as session:  # what an older config's blank folder left behind
        session.execute(update(InboxRecordRow).values(disposition="move:"))
    db.dispose()
    deliver_to_engine(ENGINE_ADDRESS, refused)  # delivered again
    deliver_to_engine(ENGINE_ADDRESS, compose_reply(received_by(BOB)[0], BOB, "Approved"))

    report = engine.process_replies()

    assert report.decided == 1
    replay = next(m for m in report.messages if m.status == "ignored")
    assert "already handled" in replay.reason
    assert engine.get(request.id).decisions[0].approver == BOB
