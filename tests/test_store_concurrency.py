"""Several engine instances on one PostgreSQL store never apply a reply twice.

No mail server is needed here: the replies are real RFC 5322 messages handed
straight to the reply handler, from several threads at once, as several
instances polling the same folder would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlmodel import Session, select

from approvals.engine import ApprovalEngine
from approvals.inbox import handle_batch
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import DecisionRow, ReplyStatus, RequestStatus
from approvals.settings import EngineSettings
from approvals.store import exclusive, open_database
from tests.engine_setup import SECRET, ListMailbox, reply_to_stored_notification
from tests.stores import postgres_url  # noqa: F401  (fixture)


def _settings(store_url: str) -> EngineSettings:
    server = {"host": "127.0.0.1", "port": 9, "security": "none"}
    return EngineSettings.model_validate(
        {
            "store": {"url": store_url},
            "tokens": {"secret": SECRET},
            "outbound": {
                "server": "smtp",
                "from": "Approvals <approvals@example.test>",
                "reply_to": "approvals@example.test",
                "templates_dir": str(PACKAGED_TEMPLATES),
            },
            "inbound": {"server": "imap"},
            "servers": {"smtp": {"type": "smtp", **server}, "imap": {"type": "imap", **server}},
        }
    )


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


@pytest.mark.parametrize("instances", [4])
def test_same_reply_in_several_instances_is_decided_once(
    postgres_url: str,  # noqa: F811
    instances: int,
) -> None:
    engines = [ApprovalEngine(_settings(postgres_url)) for _ in range(instances)]
    request = engines[0].request_approval("Deploy", ["alice@example.test"])
    raw = reply_to_stored_notification(
        engines[0], request.id, "alice@example.test", "Approved", "r1@example.test"
    )
    stores = [open_database(postgres_url) for _ in range(instances)]  # one pool each
    now = datetime.now(UTC)

    results = _race([partial(handle_batch, db, engines[0].settings, [raw], now) for db in stores])

    statuses = sorted(judgements[0].status for judgements in results)  # type: ignore[index]
    assert statuses.count(ReplyStatus.DECIDED) == 1
    assert statuses.count(ReplyStatus.IGNORED) == instances - 1
    with Session(stores[0]) as session:
        assert len(session.exec(select(DecisionRow)).all()) == 1
    for engine, db in zip(engines, stores, strict=True):
        engine.close()
        db.dispose()


def test_two_approvers_deciding_at_once_on_two_instances_close_the_request(
    postgres_url: str,  # noqa: F811
) -> None:
    first, second = ApprovalEngine(_settings(postgres_url)), ApprovalEngine(_settings(postgres_url))
    stores = [open_database(postgres_url) for _ in range(2)]
    approvers = ["alice@example.test", "bob@example.test"]
    for attempt in range(5):  # a lost update would leave some of these pending
        request = first.request_approval(f"Deploy {attempt}", approvers)
        raws = [
            reply_to_stored_notification(
                first, request.id, who, "Approved", f"{who}.{attempt}@mail.test"
            )
            for who in approvers
        ]
        now = datetime.now(UTC)
        _race(
            [
                partial(handle_batch, stores[0], first.settings, [raws[0]], now),
                partial(handle_batch, stores[1], second.settings, [raws[1]], now),
            ]
        )
        assert first.get(request.id).status is RequestStatus.APPROVED
    first.close()
    second.close()
    for db in stores:
        db.dispose()


def test_only_one_instance_polls_a_folder_at_a_time(postgres_url: str) -> None:  # noqa: F811
    box = ListMailbox([b"From: a@example.test\r\nMessage-ID: <m1@example.test>\r\n\r\nhi\r\n"])
    engine = ApprovalEngine(_settings(postgres_url), mailbox_factory=lambda s: box)
    name = f"poll {engine.settings.inbound.server} {engine.settings.inbound.folder}"

    other_instance = open_database(postgres_url)
    with exclusive(other_instance, name) as first:  # another instance is in its cycle
        assert first
        report = engine.process_replies()
        assert report.fetched == 0 and "another instance" in report.problems[0]
        assert box.count() == 1

    assert engine.process_replies().fetched == 1
    engine.close()
    other_instance.dispose()
