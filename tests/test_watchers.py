"""Each mailbox's watcher, on the memory transports: idle mode reads a reply when it is
delivered, a backlog is read batch after batch, a reload changes the mode and the
mailboxes without a restart, and several mailboxes are configured as admins expect.

The memory folder wakes a waiting mailbox on delivery, as Dovecot announces one to a
client in IDLE (tests/test_idle_round_trip.py does the same on Dovecot).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from approvals.cycles import CycleKind, last_cycle
from approvals.engine import ApprovalEngine
from approvals.models import ApprovalRequest
from approvals.settings import EngineSettings
from mailio.devservers.approver import compose_reply
from mailio.errors import ConfigError, MailboxError
from mailio.inbound import memory as memory_folders
from mailio.inbound.base import Mailbox
from mailio.inbound.memory import MemoryMailbox
from scheduler.jobs import Runner, run_in_background
from scheduler.watchers import MAX_BACKOFF_SECONDS, backoff_seconds
from tests.engine_setup import Clock
from tests.memory_setup import (
    ENGINE_ADDRESS,
    INCOMING,
    MemoryScenario,
    memory_scenario,
    write_memory_config,
)

HOUR = 60
WAIT = 30


class Told:
    def __init__(self, engine: ApprovalEngine) -> None:
        self.requests: list[ApprovalRequest] = []
        self._changed = threading.Condition()
        engine.on_decision(self._tell)

    def _tell(self, request: ApprovalRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def wait_for(self, count: int) -> list[ApprovalRequest]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.requests) >= count, WAIT), (
                f"{len(self.requests)} of {count} decisions within {WAIT} s"
            )
            return list(self.requests)


@pytest.fixture
def idle(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path, mode="idle", interval_minutes=HOUR)


def _first_cycle(engine: ApprovalEngine, mailbox: str = "default") -> None:
    deadline = time.monotonic() + WAIT
    while last_cycle(engine.operations.db, CycleKind.POLL, mailbox) is None:
        assert time.monotonic() < deadline, f"no cycle of {mailbox}"
        time.sleep(0.01)


def test_the_backoff_doubles_from_one_second_to_a_minute() -> None:
    assert [backoff_seconds(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert MAX_BACKOFF_SECONDS == 60


def test_idle_mode_decides_a_reply_delivered_after_the_first_cycle(
    idle: MemoryScenario,
) -> None:
    told = Told(idle.engine)
    idle.ask("alice@example.test")
    with run_in_background(idle.engine):
        _first_cycle(idle.engine)
        idle.reply("alice@example.test", "Approved")
        [request] = told.wait_for(1)
    assert request.status.value == "approved"


def test_a_backlog_is_read_batch_after_batch_without_waiting_for_the_interval(
    tmp_path: Path,
) -> None:
    for scenario in memory_scenario(tmp_path, max_messages=2, interval_minutes=HOUR):
        told = Told(scenario.engine)
        approvers = [f"approver{n}@example.test" for n in range(5)]
        for approver in approvers:
            scenario.ask(approver)
            scenario.reply(approver, "Approved")
        with run_in_background(scenario.engine):
            assert len(told.wait_for(5)) == 5  # poll mode: three batches, one interval


def test_a_reload_switches_poll_to_idle_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_memory_servers: None
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    config.write_text(config.read_text().replace("interval_minutes = 5", "interval_minutes = 60"))
    clock = Clock()
    engine = ApprovalEngine.from_config(config, clock=clock)
    told = Told(engine)
    scenario = MemoryScenario(engine=engine, address=ENGINE_ADDRESS, clock=clock)
    scenario.ask("alice@example.test")
    runner: Runner = run_in_background(engine)
    try:
        _first_cycle(engine)
        config.write_text(
            config.read_text().replace('folder = "INBOX"', 'folder = "INBOX"\nmode = "idle"')
        )
        runner.wake()  # the next cycle reloads; its wait is then an idle one
        _wait_until(lambda: engine.settings.inbound.mode == "idle")
        scenario.reply("alice@example.test", "Approved")
        assert len(told.wait_for(1)) == 1
    finally:
        runner.stop()
        engine.close()


def test_a_mailbox_added_by_a_reload_gets_a_watcher_and_one_removed_loses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_memory_servers: None
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    plain = config.read_text().replace('folder = "INBOX"', 'folder = "INBOX"\nmode = "idle"')
    config.write_text(plain)
    engine = ApprovalEngine.from_config(config)
    runner = run_in_background(engine)
    try:
        _first_cycle(engine)
        config.write_text(plain + '[inbound.sales]\nfolder = "Sales"\n')
        runner.wake()
        _first_cycle(engine, "sales")
        assert _watcher_threads() == {"approvals-watch-default", "approvals-watch-sales"}

        config.write_text(plain)
        runner.wake()
        _wait_until(lambda: _watcher_threads() == {"approvals-watch-default"})
    finally:
        runner.stop()
        engine.close()
    assert _watcher_threads() == set()


def _watcher_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("approvals-watch-")}


def _wait_until(check: object) -> None:
    deadline = time.monotonic() + WAIT
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "it did not happen"
        time.sleep(0.01)


def test_a_failing_mailbox_does_not_stop_the_others_and_its_error_is_raised_after(
    tmp_path: Path, empty_memory_servers: None
) -> None:
    def broken_sales(settings: EngineSettings) -> Mailbox:
        if settings.inbound.folder == "Sales":
            raise MailboxError("cannot open folder 'Sales' on incoming: no such folder")
        return MemoryMailbox(INCOMING, settings.inbound.folder)

    for scenario in memory_scenario(tmp_path, sales={"folder": "Sales"}):
        engine = ApprovalEngine(scenario.engine.settings, mailbox_factory=broken_sales)
        scenario.engine.close()
        scenario.engine = engine
        request = scenario.ask("alice@example.test")
        scenario.reply("alice@example.test", "Approved")

        with pytest.raises(MailboxError, match="Sales"):
            engine.process_replies()

        assert engine.get(request.id).status.value == "approved"  # the default's turn came
        default = last_cycle(engine.operations.db, CycleKind.POLL, "default")
        sales = last_cycle(engine.operations.db, CycleKind.POLL, "sales")
        assert default is not None and default.ok
        assert sales is not None and not sales.ok and "Sales" in (sales.error or "")
        engine.close()


def test_named_mailboxes_take_what_they_do_not_set_from_the_inbound_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_memory_config(
        monkeypatch, tmp_path, extra='[inbound.sales]\nfolder = "Sales"\nmax_messages = 5\n'
    )
    settings = EngineSettings.load(config)

    assert list(settings.mailboxes) == ["default", "sales"]
    sales = settings.mailboxes["sales"]
    assert (sales.server, sales.folder, sales.max_messages) == (INCOMING, "Sales", 5)
    assert sales.interval_minutes == settings.inbound.interval_minutes == 5
    assert settings.for_mailbox("sales").inbound.folder == "Sales"
    assert settings.for_mailbox("default") is settings
    with pytest.raises(ConfigError, match="no mailbox 'hr'"):
        settings.for_mailbox("hr")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[inbound.default]\nfolder = "X"\n', '"default" names the [inbound] table itself'),
        ('[inbound.sales]\nfolder = "S"\n[inbound.sales.more]\nfolder = "T"\n', "do not nest"),
        ('[inbound.sales]\nfolder = "S"\nmode = "push"\n', "[inbound.sales] mode: expected one of"),
        ('[inbound.sales]\nserver = "nowhere"\n', 'inbound.sales.server names server "nowhere"'),
        (
            '[inbound.sales]\nfolder = "S"\nmax_mesages = 5\n',
            "[inbound.sales] max_mesages: unknown",
        ),
    ],
)
def test_a_wrong_named_mailbox_is_refused_naming_its_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, expected: str
) -> None:
    config = write_memory_config(monkeypatch, tmp_path, extra=extra)
    with pytest.raises(ConfigError) as refused:
        EngineSettings.load(config)
    assert expected in str(refused.value)
    assert str(config) in str(refused.value)


def test_a_reply_to_either_mailbox_is_decided_by_one_engine(tmp_path: Path) -> None:
    for scenario in memory_scenario(tmp_path, sales={"folder": "Sales"}):
        scenario.ask("alice@example.test")
        scenario.ask("bob@example.test")
        scenario.reply("alice@example.test", "Approved")
        bob = scenario.notification_for("bob@example.test")
        reply = compose_reply(bob, "bob@example.test", "Rejected: wrong version")
        memory_folders.deliver(INCOMING, reply.as_bytes(), folder="Sales")

        report = scenario.engine.process_replies()

        assert (report.fetched, report.decided) == (2, 2)
        assert [r.status.value for r in scenario.decided] == ["approved", "rejected"]
