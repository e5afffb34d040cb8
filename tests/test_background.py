"""on_decision callbacks run in the process that polls: the caller's own, with
run_in_background or with `approvals serve --app module:engine`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import ApprovalRequest, RequestStatus
from mailio.errors import ConfigError
from scheduler.app_loading import load_app
from scheduler.jobs import run_in_background
from tests.memory_setup import MemoryScenario, memory_scenario, write_memory_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path)


def test_the_background_runner_decides_a_reply_and_calls_back_in_this_process(
    scenario: MemoryScenario,
) -> None:
    told: list[tuple[ApprovalRequest, threading.Thread]] = []
    decided = threading.Event()

    @scenario.engine.on_decision
    def tell(request: ApprovalRequest) -> None:
        told.append((request, threading.current_thread()))
        decided.set()

    request = scenario.ask("alice@example.test")
    scenario.reply("alice@example.test", "Approved")

    runner = run_in_background(scenario.engine)  # the first cycle runs at once
    try:
        assert decided.wait(timeout=30)
    finally:
        runner.stop()

    assert not runner.running
    assert [(r.id, r.status) for r, _ in told] == [(request.id, RequestStatus.APPROVED)]
    assert told[0][1] is not threading.main_thread()  # the scheduler's thread, this process


def test_a_request_asked_while_running_is_sent_at_once_when_woken(scenario: MemoryScenario) -> None:
    with run_in_background(scenario.engine) as runner:
        request = scenario.engine.request_approval("Deploy 4.2", ["bob@example.test"])
        runner.wake()
        deadline = time.monotonic() + 30
        while scenario.engine.outbox(request.id)[0].status != "sent":
            assert time.monotonic() < deadline, "the woken cycle did not send the notification"
            time.sleep(0.05)
    assert not runner.running


def write_app(folder: Path, config: Path, body: str = "") -> None:
    (folder / "hooks.py").write_text(
        f"""\
from approvals.engine import ApprovalEngine

engine = ApprovalEngine.from_config({str(config)!r})
told = []
engine.on_decision(told.append)


def make_engine():
    return engine


not_an_engine = 42
{body}"""
    )


@pytest.fixture
def app_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_memory_servers: None
) -> Iterator[Path]:
    folder = tmp_path / "app"
    folder.mkdir()
    write_app(folder, write_memory_config(monkeypatch, tmp_path))
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    module = sys.modules.pop("hooks", None)
    if module is not None:
        module.engine.close()


def test_load_app_returns_the_modules_engine_with_its_callbacks(app_folder: Path) -> None:
    engine = load_app("hooks:engine")

    assert isinstance(engine, ApprovalEngine)
    assert load_app("hooks:make_engine") is engine  # a function returning one is called
    assert engine is sys.modules["hooks"].engine


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("hooks", "expected module:attribute"),
        ("no_such_module_here:engine", "no module named no_such_module_here"),
        ("hooks:missing", "hooks has no attribute missing"),
        ("hooks:not_an_engine", "expected an ApprovalEngine, got int"),
    ],
)
def test_load_app_says_what_is_wrong(app_folder: Path, reference: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_app(reference)


def test_serve_app_calls_the_apps_callbacks_in_the_serving_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The memory servers live in the serving process: the app asks and answers there.
    told = tmp_path / "told.txt"
    write_app(
        tmp_path,
        write_memory_config(monkeypatch, tmp_path),
        f"""
from pathlib import Path
from tests.memory_setup import deliver_to_engine, received_by
from mailio.devservers.approver import compose_reply

engine.on_decision(lambda request: Path({str(told)!r}).write_text(request.status))
engine.request_approval("Deploy 4.2", ["alice@example.test"], external_id="run-8812")
engine.dispatch_pending()
deliver_to_engine(
    "approvals@example.test",
    compose_reply(received_by("alice@example.test")[-1], "alice@example.test", "Approved"),
)
""",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli", "serve", "--app", "hooks:engine"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": f"{tmp_path}:{REPO}"},
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # wait for the first cycle to finish
        seen.append(line)
        if "poll: fetched" in line:
            break
    process.send_signal(signal.SIGTERM)
    rest = process.communicate(timeout=30)[1]
    output = "".join(seen) + rest

    assert process.returncode == 0, output
    assert "decided: request" in output and '(external_id=run-8812, "Deploy 4.2")' in output
    assert told.read_text() == "approved"
    assert "Running job" not in output and "executed successfully" not in output
    assert "Traceback" not in output
