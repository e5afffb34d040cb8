"""A batch of replies is written with a few statements, whatever its size, and exactly once.

The recorder holds a batch's writes and sends one executemany per statement
inside one savepoint; when that fails (another instance recorded a message
first, a message breaks the engine) the batch is written again one message at
a time, as before. These run on SQLite and on PostgreSQL, with the replies
handed straight to the recorder (no mail server).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

import approvals.inbox.recorder
from approvals.engine import ApprovalEngine
from approvals.inbox import handle_batch
from approvals.inbox.view import BatchView
from approvals.models import DecisionRow, InboxRecordRow, ReplyStatus, RequestStatus
from approvals.store import open_database
from tests.engine_setup import reply_to_stored_notification
from tests.memory_setup import memory_engine_settings
from tests.stores import postgres_url  # noqa: F401  (fixture)

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'approvals.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(store_url: str, empty_memory_servers: None) -> Iterator[ApprovalEngine]:
    engine = ApprovalEngine(memory_engine_settings(store_url))
    yield engine
    engine.close()


@pytest.fixture
def db(store_url: str) -> Iterator[Engine]:
    """The store as a second handle on it: the recorder's, watched by the tests."""
    db = open_database(store_url)
    yield db
    db.dispose()


def _approvals(engine: ApprovalEngine, count: int, first: int = 0) -> tuple[list[str], list[bytes]]:
    """``count`` requests to one approver each, and each approver's answer (its Message-ID
    ``r<i>@m.test``): "Approved", and every third one "Rejected"."""
    ids, raws = [], []
    for i in range(first, first + count):
        approver = f"approver{i}@example.test"
        request = engine.request_approval(f"Deploy {i}", [approver])
        ids.append(request.id)
        raws.append(
            reply_to_stored_notification(
                engine,
                request.id,
                approver,
                "Rejected" if i % 3 == 1 else "Approved",
                f"r{i}@m.test",
            )
        )
    return ids, raws


def _statements(db: Engine) -> list[str]:
    """Every statement ``db`` sends from now on (an executemany counts once)."""
    sent: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    event.listen(db, "before_cursor_execute", watch)
    return sent


def _count(db: Engine, table: Any) -> int:
    with Session(db) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_batch_costs_the_same_statements_for_two_replies_as_for_twenty(
    engine: ApprovalEngine, db: Engine
) -> None:
    (first_id, *_), small = _approvals(engine, 2)
    _, large = _approvals(engine, 20, first=2)
    sent = _statements(db)
    now = datetime.now(UTC)

    assert {j.status for j in handle_batch(db, engine.settings, small, now)} == {"decided"}
    for_two = list(sent)
    sent.clear()
    assert {j.status for j in handle_batch(db, engine.settings, large, now)} == {"decided"}

    assert sent == for_two
    assert sent.count("SAVEPOINT") == 1  # the batch's, not one per reply
    assert sent.count("UPDATE") == 2  # the requests approved, and those rejected
    assert _count(db, DecisionRow) == _count(db, InboxRecordRow) == 22
    assert engine.get(first_id).status is RequestStatus.APPROVED


def test_a_reply_recorded_meanwhile_by_another_instance_is_a_replay_and_the_rest_is_decided(
    engine: ApprovalEngine,
    db: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, (first, second) = _approvals(engine, 2)
    load_view = approvals.inbox.recorder.load_view
    loads: list[BatchView] = []

    def recorded_behind_its_back(session: Session, *args: Any) -> BatchView:
        view = load_view(session, *args)
        if not loads:  # what another instance commits after our preload read the records
            session.execute(
                InboxRecordRow.__table__.insert(),  # type: ignore[attr-defined]
                {
                    "message_key": "r1@m.test",
                    "seen_at": datetime.now(UTC),
                    "status": "decided",
                    "reason": "approve by approver1@example.test",
                    "disposition": "delete",
                    "subject": "",
                },
            )
        loads.append(view)
        return view

    monkeypatch.setattr(approvals.inbox.recorder, "load_view", recorded_behind_its_back)
    caplog.set_level(logging.INFO, logger="approvals.inbox.recorder")

    decided, replay = handle_batch(db, engine.settings, [first, second], datetime.now(UTC))

    assert len(loads) == 2  # written whole, refused by the unique key, read again
    assert "written one at a time (IntegrityError" in caplog.text
    assert decided.status is ReplyStatus.DECIDED
    assert replay.status is ReplyStatus.IGNORED and replay.replay
    assert "already handled" in replay.reason and "approve by approver1" in replay.reason
    assert _count(db, DecisionRow) == 1  # the other instance's decision is not ours to write
    assert _count(db, InboxRecordRow) == 2


def test_a_reply_that_breaks_the_engine_fails_alone_and_leaves_nothing_half_written(
    engine: ApprovalEngine, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, raws = _approvals(engine, 3)
    write_effects = approvals.inbox.recorder.write_effects

    def breaks_on_the_second(*args: Any) -> None:
        if args[3].key == "r1@m.test":
            raise RuntimeError("a bug")
        write_effects(*args)

    monkeypatch.setattr(approvals.inbox.recorder, "write_effects", breaks_on_the_second)

    judgements = handle_batch(db, engine.settings, raws, datetime.now(UTC))

    assert [j.status for j in judgements] == ["decided", "failed", "decided"]
    assert "could not be processed (RuntimeError)" in judgements[1].reason
    assert _count(db, DecisionRow) == 2 and _count(db, InboxRecordRow) == 3
    broken = ids[1]
    assert engine.get(broken).status is RequestStatus.PENDING
    assert [e.kind for e in engine.history(broken)] == ["requested", "notified"]


def test_a_stage_asked_mid_batch_keeps_every_write_in_order(
    engine: ApprovalEngine, db: Engine
) -> None:
    # Asking the next stage reads (attachments) and needs the new notification's id for
    # its token: the held writes go first, and the reply to it decides in the next batch.
    _, (alone,) = _approvals(engine, 1)
    staged = engine.request_approval(
        "Release", stages=[{"approvers": [BOB], "policy": "all"}, {"approvers": [CAROL]}]
    )
    bob = reply_to_stored_notification(engine, staged.id, BOB, "Approved", "bob@m.test")

    judgements = handle_batch(db, engine.settings, [alone, bob], datetime.now(UTC))

    assert [j.status for j in judgements] == ["decided", "decided"]
    assert engine.get(staged.id).current_stage == 1
    kinds = [e.kind for e in engine.history(staged.id)]
    assert kinds == ["requested", "notified", "decision", "notified"]
    carol = reply_to_stored_notification(engine, staged.id, CAROL, "Approved", "carol@m.test")
    (last,) = handle_batch(db, engine.settings, [carol], datetime.now(UTC))
    assert last.status is ReplyStatus.DECIDED
    assert engine.get(staged.id).status is RequestStatus.APPROVED


def _race(calls: list[Callable[[], object]]) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_instances_recording_the_same_strangers_record_each_mail_once(
    postgres_url: str,  # noqa: F811
    empty_memory_servers: None,
) -> None:
    # Mail naming no request locks nothing: both instances write their batch whole, the
    # second waits on the first's keys, is refused, and reads the first's records.
    engine = ApprovalEngine(memory_engine_settings(postgres_url))
    strangers = [
        f"From: s{i}@example.test\r\nMessage-ID: <s{i}@example.test>\r\n\r\nhi\r\n".encode()
        for i in range(6)
    ]
    stores = [open_database(postgres_url) for _ in range(2)]
    now = datetime.now(UTC)

    results = _race([partial(handle_batch, db, engine.settings, strangers, now) for db in stores])

    by_instance: list[list[Any]] = [list(r) for r in results]  # type: ignore[call-overload]
    for index in range(len(strangers)):
        statuses = sorted(judgements[index].status for judgements in by_instance)
        assert statuses == [ReplyStatus.FAILED, ReplyStatus.IGNORED]
    assert _count(stores[0], InboxRecordRow) == len(strangers)
    engine.close()
    for db in stores:
        db.dispose()
