"""What an admin reads: one summary line per cycle, decisions naming the request, a line
per reloaded setting, text or JSON, stderr or a file, and never a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import ApprovalRequest
from mailio.devservers.approver import compose_reply
from scheduler.cli import main as cli
from scheduler.jobs import run_cycle, run_timers
from scheduler.logs import LogFormat, configure_logging
from tests.engine_setup import SECRET
from tests.memory_setup import deliver_to_engine, received_by, write_memory_config

PASSWORD = "spare-smtp-password-9f8e7d"
NEW_PASSWORD = "rotated-password-1a2b3c"
# A server the engine does not use, so that the config holds a password beside the token secret.
SPARE_SERVER = f"""
[servers.spare]
type = "smtp"
host = "smtp.example.test"
port = 587
username = "approvals"
password = "{PASSWORD}"
"""


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx")}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, chatty_level in chatty.items():
        logging.getLogger(name).setLevel(chatty_level)


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_memory_servers: None) -> Path:
    return write_memory_config(monkeypatch, tmp_path, extra=SPARE_SERVER)


@pytest.fixture
def engine(config: Path) -> Iterator[ApprovalEngine]:
    engine = ApprovalEngine.from_config(config)
    yield engine
    engine.close()


def ask_and_approve(engine: ApprovalEngine) -> ApprovalRequest:
    request = engine.request_approval("Deploy 4.2", ["alice@example.test"], external_id="run-8812")
    engine.dispatch_pending()
    notification = received_by("alice@example.test")[-1]
    deliver_to_engine(
        "approvals@example.test", compose_reply(notification, "alice@example.test", "Approved")
    )
    return request


def info_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]


def test_a_cycle_logs_one_summary_line_with_its_duration(
    engine: ApprovalEngine, caplog: pytest.LogCaptureFixture
) -> None:
    ask_and_approve(engine)
    engine.request_approval("Deploy 4.3", ["bob@example.test"])  # queued, sent by the cycle
    caplog.set_level(logging.INFO)

    run_cycle(engine)

    summaries = [line for line in info_lines(caplog) if line.startswith("poll: ")]
    assert len(summaries) == 1
    assert summaries[0].startswith(
        "poll: fetched 1, decided 1, delegated 0, ignored 0, failed 0; "
        "dispatch: sent 1, retrying 0, failed 0; "
    )
    assert summaries[0].endswith("s")


def test_an_idle_cycle_logs_its_summary_only_and_idle_timers_nothing(
    engine: ApprovalEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    run_cycle(engine)
    run_timers(engine)

    assert info_lines(caplog) == [caplog.records[0].getMessage()]
    assert info_lines(caplog)[0].startswith(
        "poll: fetched 0, decided 0, delegated 0, ignored 0, failed 0; "
        "dispatch: sent 0, retrying 0, failed 0; "
    )


def test_a_decision_line_names_the_request_its_external_id_and_title(
    engine: ApprovalEngine, caplog: pytest.LogCaptureFixture
) -> None:
    request = ask_and_approve(engine)
    caplog.set_level(logging.INFO)

    engine.process_replies()

    assert (
        f'decided: request {request.id} (external_id=run-8812, "Deploy 4.2"): '
        "approve by alice@example.test; request approved"
    ) in info_lines(caplog)


def test_a_reload_logs_each_changed_setting_and_names_a_changed_secret(
    engine: ApprovalEngine, config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run_cycle(engine)
    assert not [line for line in info_lines(caplog) if line.startswith("config reloaded")]
    config.write_text(
        config.read_text()
        .replace("interval_minutes = 5", "interval_minutes = 2")
        .replace("max_messages = 30", "max_messages = 7")
        .replace(PASSWORD, NEW_PASSWORD)
    )

    run_cycle(engine)

    reloaded = [line for line in info_lines(caplog) if line.startswith("config reloaded")]
    assert reloaded == [
        "config reloaded: [inbound] interval_minutes: 5.0 -> 2.0",
        "config reloaded: [inbound] max_messages: 30 -> 7",
        "config reloaded: [servers.spare] password: changed (secret, not shown)",
    ]
    assert PASSWORD not in caplog.text and NEW_PASSWORD not in caplog.text


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_reaches_the_log_of_a_cycle(
    engine: ApprovalEngine,
    config: Path,
    log_format: LogFormat,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ask_and_approve(engine)
    configure_logging(log_format=log_format, verbose=True)  # debug lines included
    run_cycle(engine)
    config.write_text(config.read_text().replace(PASSWORD, NEW_PASSWORD))
    run_cycle(engine)
    assert cli(["poll", "--config", str(config), "--log-format", log_format]) == 0

    out, err = capsys.readouterr()
    assert "decided: request" in err and "config reloaded" in err
    for secret in (SECRET, PASSWORD, NEW_PASSWORD):
        assert secret not in out + err


def test_json_format_writes_one_object_per_line_with_the_fields(
    engine: ApprovalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    request = ask_and_approve(engine)
    engine.request_approval("Deploy 4.3", ["bob@example.test"])  # queued, sent by the cycle
    configure_logging(log_format="json")

    run_cycle(engine)

    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert entries and all(
        {"time", "level", "logger", "message"} <= entry.keys() for entry in entries
    )
    decided = next(e for e in entries if e["message"].startswith("decided:"))
    assert decided["request_id"] == request.id and decided["status"] == "decided"
    summary = next(e for e in entries if e["message"].startswith("poll:"))
    assert summary["logger"] == "scheduler.jobs" and summary["level"] == "INFO"
    assert (summary["fetched"], summary["decided"], summary["sent"]) == (1, 1, 1)
    assert isinstance(summary["seconds"], float)


def test_log_file_receives_the_log_and_stderr_does_not(
    engine: ApprovalEngine, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ask_and_approve(engine)
    log_file = tmp_path / "approvals.log"

    assert cli(["poll", "--config", str(config), "--log-file", str(log_file)]) == 0

    assert "decided: request" in log_file.read_text()
    assert "decided: request" not in capsys.readouterr().err


def test_apscheduler_runs_are_quiet_unless_verbose() -> None:
    configure_logging()
    assert logging.getLogger("apscheduler.executors.default").getEffectiveLevel() == (
        logging.WARNING
    )

    configure_logging(verbose=True)
    assert logging.getLogger("apscheduler.executors.default").getEffectiveLevel() == (logging.DEBUG)
