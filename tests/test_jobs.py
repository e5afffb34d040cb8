"""The scheduler's jobs: the timers every minute, the canary; each mailbox's watcher."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from approvals.engine import ApprovalEngine
from approvals.models import RequestStatus
from scheduler.jobs import (
    TIMERS_JOB_ID,
    TIMERS_SECONDS,
    add_jobs,
    run_cycle,
    run_timers,
)
from tests.engine_setup import Clock
from tests.memory_setup import memory_engine_settings, received_by, write_memory_config

CLOCK = Clock()


@pytest.fixture
def engine(tmp_path: Path, empty_memory_servers: None) -> Iterator[ApprovalEngine]:
    CLOCK.offset = timedelta()
    engine = ApprovalEngine(
        memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}", interval_minutes=5),
        clock=CLOCK,
    )
    yield engine
    engine.close()


def test_serve_runs_the_timers_every_minute_whatever_the_poll_interval(
    engine: ApprovalEngine,
) -> None:
    scheduler = BackgroundScheduler()
    add_jobs(scheduler, engine)

    jobs = {job.id: job for job in scheduler.get_jobs()}

    assert list(jobs) == [TIMERS_JOB_ID]  # the mailboxes are read by their watchers
    assert (
        jobs[TIMERS_JOB_ID].trigger.interval
        == timedelta(seconds=TIMERS_SECONDS)
        == timedelta(minutes=1)
    )


def test_the_timers_job_sends_what_the_timers_queued(engine: ApprovalEngine) -> None:
    request = engine.request_approval("Deploy", ["alice@example.test"], due=timedelta(hours=1))
    engine.dispatch_pending()
    CLOCK.offset += timedelta(hours=2)

    run_timers(engine)

    assert engine.get(request.id).status is RequestStatus.EXPIRED
    assert len(received_by("alice@example.test")) == 2  # the request, then the closed notice


def test_a_refused_reload_is_recorded_and_makes_status_unhealthy_until_one_succeeds(
    tmp_path: Path, empty_memory_servers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    engine = ApprovalEngine.from_config(config)
    good = config.read_text()
    run_cycle(engine)
    config.write_text(good.replace("max_messages = 30", "max_messages = 0"))

    run_cycle(engine)

    status = engine.operations.status()
    assert status.reload is not None and not status.reload.ok
    assert any("the config did not reload" in problem for problem in status.problems)
    assert "max_messages" in (status.reload.error or "")
    config.write_text(good.replace("max_messages = 30", "max_messages = 7"))

    run_cycle(engine)

    status = engine.operations.status()
    assert status.reload is not None and status.reload.ok and status.healthy
    assert "max_messages: 30 -> 7" in status.reload.summary
    engine.close()
