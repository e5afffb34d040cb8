"""The `approvals` command: check-config, test-config, the poll cycle, serve.

test-config talks to real servers (Dovecot and the SMTP relay); check-config
only reads the file, and the poll cycle and serve run on the memory transports.
test_round_trip runs dispatch, outbox and poll through real servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from approvals.engine import ApprovalEngine
from mailio.devservers.ports import free_port
from mailio.devservers.stack import MailStack
from scheduler.cli import main as cli
from scheduler.jobs import POLL_JOB_ID, add_poll_job, run_cycle
from tests.engine_setup import SECRET, write_config
from tests.memory_setup import write_memory_config


def _unstarted_stack() -> MailStack:
    """SMTP and IMAP servers as an admin configures them, where nothing listens:
    check-config reads the file and never connects."""
    return MailStack("unstarted", "127.0.0.1", free_port(), free_port(), "mail-password-42")


def test_check_config_prints_the_resolved_config_without_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _unstarted_stack()
    config = write_config(monkeypatch, stack, tmp_path, "approvals@example.test")

    assert cli(["check-config", "--config", str(config)]) == 0

    out = capsys.readouterr().out
    assert f"port = {stack.imap_port}" in out and "ok: " in out
    assert SECRET not in out and stack.password not in out
    assert "********" in out


def test_check_config_names_file_and_key_of_a_mistake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_memory_config(monkeypatch, tmp_path, extra="[policy]\nmode = 'most'\n")

    assert cli(["check-config", "--config", str(config)]) == 2

    err = capsys.readouterr().err
    assert str(config) in err or "approvals.toml" in err
    assert "[policy] mode" in err


def test_test_config_reports_each_step_ok(
    monkeypatch: pytest.MonkeyPatch,
    mail_stack: MailStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = mail_stack.new_address("approvals")
    config = write_config(monkeypatch, mail_stack, tmp_path, address)

    assert cli(["test-config", "--config", str(config)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == [
        "connect", "secure", "authenticate", "send",
        "connect", "secure", "authenticate", "open",
    ]  # fmt: skip
    assert all(" ok" in line for line in lines)
    assert "holds 1 message(s)" in lines[-1]  # the test message went to the engine's own box


def test_test_config_says_wrong_password(
    monkeypatch: pytest.MonkeyPatch,
    mail_stack: MailStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(
        monkeypatch,
        mail_stack,
        tmp_path,
        mail_stack.new_address("approvals"),
        password="not-the-password",
    )

    assert cli(["test-config", "--config", str(config)]) == 1

    out = capsys.readouterr().out
    assert "authenticate FAILED" in out and "check username and password" in out
    assert "not-the-password" not in out


def test_test_config_says_port_closed_and_folder_missing(
    monkeypatch: pytest.MonkeyPatch,
    mail_stack: MailStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(monkeypatch, mail_stack, tmp_path, mail_stack.new_address("approvals"))
    text = config.read_text().replace(f"port = {mail_stack.smtp_port}", f"port = {free_port()}")
    config.write_text(text.replace('folder = "INBOX"', 'folder = "Nowhere"'))

    assert cli(["test-config", "--config", str(config)]) == 1

    out = capsys.readouterr().out
    assert "[smtp] connect      FAILED: port closed" in out
    assert "[imap] open folder  FAILED" in out and "Nowhere" in out


def test_config_changes_take_effect_at_the_next_cycle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_memory_servers: None
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    engine = ApprovalEngine.from_config(config)
    scheduler = BackgroundScheduler()
    add_poll_job(scheduler, engine)
    config.write_text(
        config.read_text()
        .replace("interval_minutes = 5", "interval_minutes = 2")
        .replace("max_messages = 30", "max_messages = 7")
    )

    run_cycle(engine, scheduler)

    assert engine.settings.inbound.max_messages == 7
    trigger = scheduler.get_job(POLL_JOB_ID).trigger
    assert trigger.interval.total_seconds() == 120

    config.write_text("this is [not toml")
    run_cycle(engine, scheduler)  # a broken edit keeps the last good settings
    assert engine.settings.inbound.max_messages == 7
    engine.close()


def test_serve_stops_cleanly_on_ctrl_c(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_memory_config(monkeypatch, tmp_path)  # memory servers of its own process
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli", "serve", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait for the first cycle to finish
        if "poll: fetched" in line:
            break
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=30)[1]

    assert process.returncode == 0
    assert "stopping" in rest and "Traceback" not in rest


def test_check_config_refuses_an_incomplete_theme_and_a_dead_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    config.write_text(config.read_text().replace("[outbound]", '[outbound]\ntheme = "brand"'))
    assert cli(["check-config", "--config", str(config)]) == 2
    assert 'theme = "brand": missing' in capsys.readouterr().err

    config = write_memory_config(monkeypatch, tmp_path)
    dead = f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none"
    config.write_text(config.read_text().replace(f"sqlite:///{tmp_path}/approvals.db", dead))
    assert cli(["check-config", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the store postgresql+psycopg://nobody:********@127.0.0.1:")
    assert "cannot be used: connection failed" in err
    assert "Traceback" not in err and ":pw@" not in err
