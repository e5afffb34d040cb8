"""/metrics, /healthz and /readyz (scheduler/web/probes.py) on a minimal Starlette app that
mounts them as the console does, over an engine on the memory transports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from approvals.store import transaction
from scheduler.web.probes import routes
from scheduler.web.server import ConsoleThread, metrics_server
from tests.browser import free_port
from tests.memory_setup import MemoryScenario, memory_scenario

ALICE = "alice@example.test"
BOB = "bob@example.test"
MALLORY = "mallory@example.test"


@pytest.fixture
def trip(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path)


@pytest.fixture
def client(trip: MemoryScenario) -> Iterator[TestClient]:
    app = Starlette(routes=routes)
    app.state.engine = trip.engine
    with TestClient(app) as client:
        yield client


POLL = (("kind", "poll"), ("mailbox", "default"))  # the [inbound] table's poll cycles


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_requests_replies_decisions_and_notifications(
    trip: MemoryScenario, client: TestClient
) -> None:
    trip.ask(ALICE, BOB)
    trip.engine.request_approval("Rotate keys", [BOB])
    trip.reply(ALICE, "Approved")
    trip.reply(BOB, "Approved", sender=MALLORY)
    trip.engine.process_replies()

    found = samples(client)

    assert found[("approvals_store_up", ())] == 1
    assert found[("approvals_requests", (("status", "pending"),))] == 2
    assert found[("approvals_requests", (("status", "cancelled"),))] == 0
    assert found[("approvals_replies", (("status", "decided"),))] == 1
    assert found[("approvals_replies", (("status", "failed"),))] == 1
    assert found[("approvals_decisions", (("verdict", "approve"),))] == 1
    assert found[("approvals_decisions", (("verdict", "reject"),))] == 0
    assert found[("approvals_notifications", (("status", "sent"),))] >= 2
    assert found[("approvals_outbox_notifications", (("state", "queued"),))] >= 1  # Rotate keys
    assert found[("approvals_reply_folder_messages", (("mailbox", "default"),))] == 0
    assert found[("approvals_reply_folder_up", (("mailbox", "default"),))] == 1


def test_metrics_show_the_last_cycles_and_what_the_timers_would_do(
    trip: MemoryScenario, client: TestClient
) -> None:
    trip.ask(ALICE, due=timedelta(hours=1))
    trip.engine.process_replies()  # a poll cycle, recorded

    trip.clock.offset += timedelta(hours=2)
    found = samples(client)

    assert found[("approvals_cycle_last_ok", POLL)] == 1
    assert found[("approvals_cycle_last_duration_seconds", POLL)] >= 0
    poll_success = found[("approvals_cycle_last_success_timestamp_seconds", POLL)]
    assert abs(poll_success - (trip.clock() - timedelta(hours=2)).timestamp()) < 60
    since = found[("approvals_cycle_seconds_since_last_success", POLL)]
    assert 7200 - 60 < since < 7200 + 60
    assert found[("approvals_timers_due", (("timer", "deadline"),))] == 1
    assert found[("approvals_healthy", ())] == 0  # no poll for two hours: stale

    trip.engine.run_timers()
    assert samples(client)[("approvals_timers_due", (("timer", "deadline"),))] == 0


def test_metrics_hold_no_addresses_or_subjects(trip: MemoryScenario, client: TestClient) -> None:
    trip.ask(ALICE)
    trip.reply(ALICE, "Approved")
    trip.engine.process_replies()

    text = client.get("/metrics").text

    assert "example.test" not in text and "Deploy" not in text


def test_healthz_answers_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


def test_readyz_is_503_with_the_problems_until_a_poll_went_well(
    trip: MemoryScenario, client: TestClient
) -> None:
    before = client.get("/readyz")
    assert before.status_code == 503
    assert before.json() == {"healthy": False, "problems": ["no poll cycle recorded yet"]}

    trip.engine.process_replies()

    after = client.get("/readyz")
    assert (after.status_code, after.json()) == (200, {"healthy": True, "problems": []})


def test_an_unreadable_store_is_unready_and_scraped_as_store_down(
    trip: MemoryScenario, client: TestClient
) -> None:
    with transaction(trip.engine.operations.db) as session:
        session.connection().exec_driver_sql("DROP TABLE engine_cycle")

    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["problems"][0].startswith("store: ")
    assert samples(client) == {("approvals_store_up", ()): 0}


def test_without_the_console_serve_answers_metrics_on_the_metrics_port(
    trip: MemoryScenario,
) -> None:
    port = free_port()
    server = ConsoleThread(metrics_server(trip.engine, f"127.0.0.1:{port}")).start()
    try:
        answer = None
        for _ in range(100):  # uvicorn binds on its thread
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.ConnectError:
                threading.Event().wait(0.05)
        assert (
            answer is not None and answer.status_code == 200 and "approvals_requests" in answer.text
        )
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok\n"
        assert httpx.get(f"http://127.0.0.1:{port}/requests").status_code == 404  # no console
    finally:
        server.stop()
