"""Final outcomes reach the workflow system: callbacks, the webhook, and retries of both.

On the memory transports; test_round_trip has the same outcomes through real servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from approvals.callbacks import LEASE_SECONDS, RETRY_SECONDS
from approvals.engine import ApprovalEngine
from approvals.models import ApprovalRequest, RequestStatus
from approvals.settings import EngineSettings
from mailio.errors import ConfigError
from tests.engine_setup import reconfigured
from tests.memory_setup import (
    MemoryScenario,
    memory_scenario,
    write_memory_config,
)
from tests.stores import postgres_url  # noqa: F401  (fixture)
from tests.workflow_system import WorkflowSystem


@pytest.fixture
def trip(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path)


def test_webhook_gets_the_outcome_once_and_is_retried_after_a_failure(
    trip: MemoryScenario, workflow: WorkflowSystem
) -> None:
    engine = ApprovalEngine(
        reconfigured(trip.engine.settings, callback={"url": workflow.url}), clock=trip.clock
    )
    alice = "alice@example.test"
    request = engine.request_approval("Deploy", [alice], external_id="run-1")
    engine.dispatch_pending()
    trip.reply(alice, "Reject: the tests are red")
    workflow.fail_next = 1

    engine.process_replies()  # decided, but the webhook answered 503
    assert workflow.posts == []
    trip.clock.offset = timedelta(minutes=10)  # the claim lapses
    engine.process_replies()
    engine.process_replies()

    (post,) = workflow.posts
    assert (post["id"], post["external_id"], post["status"]) == (request.id, "run-1", "rejected")
    assert post["decisions"][0]["comment"] == "the tests are red"
    engine.close()


def test_a_failed_webhook_waits_for_the_retry_not_just_the_lease(
    trip: MemoryScenario, workflow: WorkflowSystem
) -> None:
    engine = ApprovalEngine(
        reconfigured(trip.engine.settings, callback={"url": workflow.url}), clock=trip.clock
    )
    alice = "alice@example.test"
    engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    trip.reply(alice, "Approved")
    workflow.fail_next = 1
    engine.process_replies()  # the webhook answered 503

    trip.clock.offset = timedelta(seconds=LEASE_SECONDS + 1)
    engine.process_replies()
    assert workflow.posts == []  # a crash would be over; a failure is retried later
    trip.clock.offset = timedelta(seconds=RETRY_SECONDS + 1)
    engine.process_replies()

    assert [post["status"] for post in workflow.posts] == ["approved"]
    engine.close()


def test_callback_that_raises_is_called_again_later(trip: MemoryScenario) -> None:
    calls: list[ApprovalRequest] = []

    def flaky(request: ApprovalRequest) -> None:
        calls.append(request)
        if len(calls) == 1:
            raise RuntimeError("workflow system down")

    trip.engine.on_decision(flaky)
    alice = "alice@example.test"
    trip.ask(alice)
    trip.reply(alice, "Approved")
    trip.engine.process_replies()
    trip.clock.offset = timedelta(minutes=10)
    trip.engine.process_replies()

    assert [c.status for c in calls] == [RequestStatus.APPROVED, RequestStatus.APPROVED]
    assert len(trip.decided) == 1  # the other callback was satisfied the first time


def test_outcome_decided_by_one_engine_reaches_a_callback_registered_later(
    trip: MemoryScenario,
) -> None:
    poller = ApprovalEngine(
        trip.engine.settings, clock=trip.clock
    )  # no callbacks: `approvals poll`
    alice = "alice@example.test"
    request = poller.request_approval("Deploy", [alice])
    poller.dispatch_pending()
    trip.reply(alice, "Approved")
    poller.process_replies()
    poller.close()

    app = ApprovalEngine(trip.engine.settings, clock=trip.clock)
    seen: list[ApprovalRequest] = []
    app.on_decision(seen.append)

    assert [r.id for r in seen if r.id == request.id] == [request.id]
    app.close()


def test_cancel_and_expiry_are_outcomes_too(trip: MemoryScenario) -> None:
    alice = "alice@example.test"
    cancelled = trip.engine.request_approval("Deploy A", [alice])
    expiring = trip.engine.request_approval("Deploy B", [alice])
    trip.engine.cancel(cancelled.id)
    trip.clock.offset = timedelta(days=15)
    trip.engine.process_replies()

    assert {(r.id, r.status) for r in trip.decided} == {
        (cancelled.id, RequestStatus.CANCELLED),
        (expiring.id, RequestStatus.EXPIRED),
    }
    assert trip.engine.dispatch_pending().sent == 0  # the cancelled one is not sent


def test_round_trip_on_postgresql(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    for trip in memory_scenario(tmp_path, store_url=postgres_url):
        alice = "alice@example.test"
        request = trip.ask(alice)
        trip.reply(alice, "Approved, ship it")

        assert trip.engine.process_replies().decided == 1
        assert trip.engine.get(request.id).status is RequestStatus.APPROVED
        assert [r.id for r in trip.decided] == [request.id]


def test_webhook_url_stays_out_of_logs_and_check_config(
    trip: MemoryScenario, workflow: WorkflowSystem, caplog: pytest.LogCaptureFixture
) -> None:
    from mailio.loading import describe_config

    secret_url = workflow.url + "/T0KEN-in-the-path-123"
    settings = reconfigured(trip.engine.settings, callback={"url": secret_url})
    engine = ApprovalEngine(settings, clock=trip.clock)
    alice = "alice@example.test"
    engine.request_approval("Deploy", [alice])
    engine.dispatch_pending()
    trip.reply(alice, "Approved")
    workflow.fail_next = 1

    with caplog.at_level("DEBUG"):
        engine.process_replies()

    assert "decision webhook failed" in caplog.text and "503" in caplog.text
    assert "T0KEN-in-the-path-123" not in caplog.text
    assert "T0KEN-in-the-path-123" not in describe_config(settings) + repr(settings)
    engine.close()


@pytest.mark.parametrize("url", ["http://[::1/x", "ftp://host/x", "not a url"])
def test_webhook_url_must_be_http_and_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str
) -> None:
    config = write_memory_config(monkeypatch, tmp_path, extra=f'[callback]\nurl = "{url}"\n')
    with pytest.raises(ConfigError, match=r"\[callback\] url: expected an http") as failure:
        EngineSettings.load(config)
    assert url not in str(failure.value)
