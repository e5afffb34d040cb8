"""Probes: the engine's own signed mail, read back from the reply folder, never a reply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from approvals.canary import HEADER, Waiting, probe_message, read_back, sign, verify
from approvals.engine import ApprovalEngine
from approvals.inbox import BatchView, judge
from approvals.models import ReplyStatus
from approvals.replies import parse_reply
from approvals.settings import EngineSettings, HealthSettings
from mailio.devservers.stack import MailStack
from mailio.errors import MailboxError
from mailio.inbound import memory as folders
from mailio.inbound.base import FetchedMessage
from mailio.inbound.memory import MemoryMailbox
from scheduler.jobs import CANARY_JOB_ID, add_jobs, run_canary
from tests.engine_setup import Clock, Scenario, scenario
from tests.memory_setup import INCOMING, memory_engine_settings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> EngineSettings:
    return memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}")


def test_a_signed_probe_verifies_and_a_changed_one_does_not(settings: EngineSettings) -> None:
    header = sign(settings, NOW)
    assert verify(settings, header) == NOW
    sent, nonce, signature = header.split(".")
    forged = f"{int(sent) + 60}.{nonce}.{signature}"
    assert verify(settings, forged) is None
    assert verify(settings, "") is None


def test_the_judge_reads_our_probe_as_a_probe_to_delete(settings: EngineSettings) -> None:
    probe = probe_message(settings, NOW)
    later = NOW + timedelta(seconds=42)

    judgement = judge(parse_reply(probe.as_bytes()), "k", BatchView(), settings, later)

    assert judgement.status is ReplyStatus.PROBE
    assert judgement.disposition.action == "delete"
    assert "read back after 42 s" in judgement.reason


@pytest.mark.parametrize("change", ["forged", "stranger"])
def test_a_probe_header_that_is_not_ours_is_an_ordinary_message(
    settings: EngineSettings, change: str
) -> None:
    probe = probe_message(settings, NOW)
    if change == "forged":
        probe.replace_header(HEADER, f"{int(NOW.timestamp())}.abcdef.{'0' * 32}")
    else:
        probe.replace_header("From", "mallory@evil.test")

    judgement = judge(parse_reply(probe.as_bytes()), "k", BatchView(), settings, NOW)

    # judged as any mail: auto-generated, so an ignored auto-reply, and no probe
    assert judgement.status is ReplyStatus.IGNORED and judgement.reason.startswith("auto-reply")


def test_the_poller_deletes_a_probe_and_records_it_as_one(
    tmp_path: Path, empty_memory_servers: None
) -> None:
    engine = ApprovalEngine(memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}"), clock=Clock())
    folders.deliver(INCOMING, probe_message(engine.settings, datetime.now(UTC)).as_bytes())

    report = engine.process_replies()

    assert (report.fetched, report.probes, report.decided, report.failed) == (1, 1, 0, 0)
    assert folders.messages(INCOMING, "INBOX") == []
    assert folders.messages(INCOMING, "Failed") == []
    engine.close()


def test_read_back_names_the_step_when_the_probe_never_arrives(
    settings: EngineSettings, empty_memory_servers: None
) -> None:
    probe = probe_message(settings, NOW)

    step = read_back(
        settings,
        lambda: MemoryMailbox(INCOMING, "INBOX"),
        probe,
        "incoming",
        Waiting(timeout_seconds=0.2, every_seconds=0.05),
    )

    assert (step.step, step.ok) == ("read back", False)
    assert step.detail.startswith("the probe did not reach INBOX within 0 s (sent to approvals@")


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path)


def test_round_trip_through_real_servers_reads_the_probe_back_and_leaves_nothing(
    trip: Scenario,
) -> None:
    steps = trip.engine.test_configuration(round_trip=True)

    assert all(step.ok for step in steps), [str(step) for step in steps]
    assert steps[-1].step == "read back" and "came back in" in steps[-1].detail
    assert [
        m for m in trip.inbox(trip.address) if HEADER in m and "canary" in str(m["Subject"]).lower()
    ] == []


def test_the_canary_job_records_its_round_trip_for_status(trip: Scenario) -> None:
    assert run_canary(trip.engine)

    status = trip.engine.operations.status()

    assert status.canary is not None and status.canary.ok
    assert "read back: the probe came back in" in status.canary.summary
    assert trip.inbox(trip.address) == []  # read back and deleted


class _BrokenMailbox(MemoryMailbox):
    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        raise MailboxError("cannot select folder 'INBOX': NO [NONEXISTENT]")


def test_a_failed_canary_makes_status_unhealthy_and_names_the_step(
    tmp_path: Path, empty_memory_servers: None
) -> None:
    engine = ApprovalEngine(
        memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}"),
        clock=Clock(),
        mailbox_factory=lambda settings: _BrokenMailbox(INCOMING, "INBOX"),
    )

    assert not run_canary(engine)

    status = engine.operations.status()
    assert status.canary is not None and not status.canary.ok
    assert any(
        problem.startswith("the last canary failed: [incoming] read back")
        for problem in status.problems
    )
    engine.close()


def test_serve_adds_the_canary_job_only_when_configured(tmp_path: Path) -> None:
    settings = memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}")
    with_canary = settings.model_copy(update={"health": HealthSettings(canary_minutes=60)})
    for chosen, expected in ((settings, False), (with_canary, True)):
        engine = ApprovalEngine(chosen)
        scheduler = BackgroundScheduler()
        add_jobs(scheduler, engine)
        assert (scheduler.get_job(CANARY_JOB_ID) is not None) is expected
        engine.close()
