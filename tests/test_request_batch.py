"""request_approvals: many requests in one transaction, all or none, deduplicated by
external_id like request_approval; and what both return is what the store reads back.

On the memory transports, SQLite and (where it answers) PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.errors import MessageTooLarge
from approvals.models import NotificationKind, RequestStatus
from mailio.compose import Attachment
from mailio.errors import ConfigError
from tests.engine_setup import reconfigured
from tests.memory_setup import MemoryScenario, memory_scenario, received_by
from tests.stores import postgres_url  # noqa: F401  (fixture)

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"


@pytest.fixture(params=["sqlite", "postgresql"])
def trip(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryScenario]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    yield from memory_scenario(tmp_path, store_url=url)


def test_every_spec_becomes_a_request_with_its_notifications(trip: MemoryScenario) -> None:
    created = trip.engine.request_approvals(
        [
            {"title": "Deploy 1", "approvers": [ALICE]},
            {"title": "Deploy 2", "approvers": [ALICE, BOB], "details": {"build": "2"}},
            {"title": "Deploy 3", "approvers": BOB, "policy": "any", "language": "de"},
        ]
    )

    assert [request.title for request in created] == ["Deploy 1", "Deploy 2", "Deploy 3"]
    assert [request.approvers for request in created] == [(ALICE,), (ALICE, BOB), (BOB,)]
    assert trip.engine.dispatch_pending().sent == 4
    assert [m["Subject"] for m in received_by(BOB)][1].startswith("Genehmigung")
    for request in created:
        assert trip.engine.get(request.id) == request


def test_an_external_id_asked_before_or_twice_gives_the_first_request(
    trip: MemoryScenario,
) -> None:
    first = trip.engine.request_approval("Deploy 1", [ALICE], external_id="run-1")

    again, new, twice = trip.engine.request_approvals(
        [
            {"title": "Deploy 1 again", "approvers": [BOB], "external_id": "run-1"},
            {"title": "Deploy 2", "approvers": [BOB], "external_id": "run-2"},
            {"title": "Deploy 2 again", "approvers": [CAROL], "external_id": "run-2"},
        ]
    )

    assert again == first
    assert twice == new and new.title == "Deploy 2"
    asked = {entry.approver for entry in trip.engine.outbox() if entry.kind == "approval"}
    assert asked == {ALICE, BOB}  # Carol was never asked, Bob only for run-2


def test_a_spec_that_fails_its_checks_stores_none_and_is_named(trip: MemoryScenario) -> None:
    with pytest.raises(ValueError, match=r"specs\[1\]: due: .* is not in the future"):
        trip.engine.request_approvals(
            [
                {"title": "Fine", "approvers": [ALICE]},
                {"title": "Late", "approvers": [ALICE], "due": timedelta(hours=-1)},
            ]
        )
    with pytest.raises(ValueError, match=r"specs\[0\]: .*approver"):
        trip.engine.request_approvals([{"title": "Typo", "approver": [ALICE]}])

    assert trip.engine.outbox() == []


def test_a_spec_that_fails_while_stored_rolls_back_the_ones_before_it(
    trip: MemoryScenario,
) -> None:
    with pytest.raises(ConfigError, match='template theme "no-such-theme"'):
        trip.engine.request_approvals(
            [
                {"title": "Fine", "approvers": [ALICE], "external_id": "run-1"},
                {"title": "Themeless", "approvers": [BOB], "template": "no-such-theme"},
            ]
        )

    assert trip.engine.outbox() == []
    assert trip.engine.find(external_id="run-1") is None
    history_free = trip.engine.request_approval("Fine", [ALICE], external_id="run-1")
    assert [event.kind for event in trip.engine.history(history_free.id)][0] == "requested"


def test_attachments_over_the_limit_in_any_spec_store_none(trip: MemoryScenario) -> None:
    engine = ApprovalEngine(
        reconfigured(trip.engine.settings, outbound={"max_attachment_bytes": 100}),
        clock=trip.clock,
    )
    with pytest.raises(MessageTooLarge):
        engine.request_approvals(
            [
                {"title": "Small", "approvers": [ALICE]},
                {"title": "Big", "approvers": [BOB], "attachments": [Attachment("a", b"x" * 101)]},
            ]
        )
    assert engine.outbox() == []
    engine.close()


def test_the_returned_request_is_what_the_store_reads_back(trip: MemoryScenario) -> None:
    # JSON turns tuples into lists and keys into strings; the store keeps times in UTC.
    tokyo = timezone(timedelta(hours=9))
    trip.engine.set_absence(BOB, CAROL, trip.clock(), trip.clock() + timedelta(days=2))

    created = trip.engine.request_approval(
        "Deploy",
        [f"Alice Example <{ALICE}>", BOB],
        details={"build": 7, "targets": ("eu", "us"), "nested": {"1": None}},
        due=datetime.now(tokyo) + timedelta(days=3),
        stages=None,
    )
    [batched] = trip.engine.request_approvals(
        [{"title": "Staged", "stages": [{"approvers": [ALICE]}, {"approvers": [BOB]}]}]
    )

    assert created == trip.engine.get(created.id)
    assert created.approvers == (ALICE, CAROL)  # Bob is away: Carol sits in for him
    assert created.details["targets"] == ["eu", "us"]
    assert batched == trip.engine.get(batched.id)
    assert batched.status is RequestStatus.PENDING and len(batched.stages) == 2


def test_two_callers_racing_with_the_same_external_ids_store_each_once(
    trip: MemoryScenario,
) -> None:
    specs = [
        {"title": f"Deploy {i}", "approvers": [ALICE], "external_id": f"run-{i}"} for i in range(20)
    ]
    other = ApprovalEngine(trip.engine.settings, clock=trip.clock)
    start = threading.Barrier(2)
    results: dict[str, list[str]] = {}

    def ask(name: str, engine: ApprovalEngine) -> None:
        start.wait()
        results[name] = [request.id for request in engine.request_approvals(specs)]

    racers = [
        threading.Thread(target=ask, args=(name, engine))
        for name, engine in (("one", trip.engine), ("two", other))
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    other.close()

    assert results["one"] == results["two"]
    approvals = [e for e in trip.engine.outbox(limit=100) if e.kind == NotificationKind.APPROVAL]
    assert len(approvals) == 20
