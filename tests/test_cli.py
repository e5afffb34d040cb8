"""The `approvals` command: check-config, test-config, the poll cycle, serve.

test-config talks to real servers (Dovecot and the SMTP relay); check-config
only reads the file, and the poll cycle and serve run on the memory transports.
test_round_trip runs dispatch, outbox and poll through real servers.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from mailio.devservers.approver import compose_reply
from mailio.devservers.ports import free_port
from mailio.devservers.stack import MailStack
from mailio.errors import MailboxError
from scheduler.cli import main as cli
from scheduler.jobs import run_cycle
from tests.engine_setup import SECRET, write_config
from tests.memory_setup import deliver_to_engine, write_memory_config


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
    reloads = []
    config.write_text(
        config.read_text()
        .replace("interval_minutes = 5", "interval_minutes = 2")
        .replace("max_messages = 30", "max_messages = 7")
    )

    run_cycle(engine, after_reload=lambda: reloads.append(engine.settings))

    assert engine.settings.inbound.max_messages == 7
    assert engine.settings.inbound.interval_minutes == 2  # the watcher's next wait
    assert len(reloads) == 1

    config.write_text("this is [not toml")
    run_cycle(engine, after_reload=lambda: reloads.append(engine.settings))
    # a broken edit keeps the last good settings
    assert engine.settings.inbound.max_messages == 7 and len(reloads) == 1
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


# ---- the operator's commands: requests, replies, outbox retry, status -------------------


def _ask_and_refuse(config: Path) -> tuple[str, str]:
    """A request to alice, dispatched, and a reply from a stranger refused by a poll:
    (request id, the refused reply's Message-ID)."""
    from tests.memory_setup import ENGINE_ADDRESS, received_by

    engine = ApprovalEngine.from_config(config)
    try:
        request = engine.request_approval(
            "Deploy 1.4.2", ["alice@example.test"], external_id="run-7"
        )
        engine.dispatch_pending()
        reply = compose_reply(received_by("alice@example.test")[-1], "mallory@example.test", "OK")
        deliver_to_engine(ENGINE_ADDRESS, reply)
        assert engine.process_replies().failed == 1
        return request.id, str(reply["Message-ID"])
    finally:
        engine.close()


def test_requests_list_show_and_cancel(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    empty_memory_servers: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    request_id, _ = _ask_and_refuse(config)
    capsys.readouterr()

    assert cli(["requests", "list", "--status", "pending", "--config", str(config)]) == 0
    assert f"{request_id}  pending" in capsys.readouterr().out
    assert cli(["requests", "list", "--json", "--search", "run-", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["external_id"] == "run-7"

    assert cli(["requests", "show", "run-7", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "approvers alice@example.test" in out and "wrong sender" in out
    assert "attempts=1 server=outgoing" in out and "requested" in out
    assert cli(["requests", "show", "run-7", "--json", "--config", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["request"]["status"] == "pending" and shown["replies"][0]["status"] == "failed"

    assert cli(["requests", "cancel", "run-7", "--config", str(config)]) == 0
    assert f"{request_id} cancelled" in capsys.readouterr().out
    assert cli(["requests", "cancel", "run-7", "--config", str(config)]) == 1
    assert "already cancelled" in capsys.readouterr().err


def test_replies_list_and_reprocess_move_the_mail_back(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    empty_memory_servers: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mailio.inbound import memory as folders
    from tests.memory_setup import INCOMING

    config = write_memory_config(monkeypatch, tmp_path)
    _, message_id = _ask_and_refuse(config)
    capsys.readouterr()

    assert cli(["replies", "list", "--failed", "--config", str(config)]) == 0
    line = capsys.readouterr().out
    assert "failed" in line and "mallory@example.test" in line and "wrong sender" in line
    assert cli(["replies", "list", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["sender"] == "mallory@example.test"

    assert cli(["replies", "reprocess", message_id, "--config", str(config)]) == 0
    assert "moved back from Failed to INBOX" in capsys.readouterr().out
    assert len(folders.messages(INCOMING, "INBOX")) == 1
    assert folders.messages(INCOMING, "Failed") == []
    # The older name still works; the record is forgotten already, so there is nothing to do.
    assert cli(["reprocess", message_id, "--config", str(config)]) == 1
    assert "no refused reply" in capsys.readouterr().err


def test_outbox_retry_by_id_and_failed(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    empty_memory_servers: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mailio.outbound import memory as outboxes
    from tests.memory_setup import OUTGOING

    config = write_memory_config(monkeypatch, tmp_path)
    outboxes.script(OUTGOING, "5xx", "5xx")
    engine = ApprovalEngine.from_config(config)
    engine.request_approval("One", ["alice@example.test"])
    engine.request_approval("Two", ["bob@example.test"])
    engine.dispatch_pending()
    first, second = sorted(entry.id for entry in engine.outbox())
    engine.close()

    assert cli(["outbox", "--config", str(config)]) == 0  # the bare form is the log
    assert capsys.readouterr().out.count("failed") == 2
    assert cli(["outbox", "retry", str(first), "--config", str(config)]) == 0
    assert f"queued again: 1 ({first})" in capsys.readouterr().out
    assert cli(["outbox", "retry", str(first), "--config", str(config)]) == 1
    assert cli(["outbox", "retry", "--config", str(config)]) == 2
    assert cli(["outbox", "retry", "--failed", "--config", str(config)]) == 0
    assert f"queued again: 1 ({second})" in capsys.readouterr().out
    assert cli(["outbox", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.count("queued") == 2


def test_status_healthy_then_unhealthy_and_poll_exit_status(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    empty_memory_servers: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    assert cli(["status", "--config", str(config)]) == 1  # no poll cycle yet
    assert "no poll cycle recorded yet" in capsys.readouterr().out

    assert cli(["poll", "--config", str(config)]) == 0
    capsys.readouterr()
    assert cli(["status", "--config", str(config)]) == 0
    healthy = capsys.readouterr().out
    assert healthy.startswith("healthy\nlast poll")
    assert "reply folder  0 message(s) waiting" in healthy
    assert "last canary   no canary yet" in healthy

    def unreachable(settings: object, **_: object) -> object:
        raise MailboxError("cannot select folder 'INBOX' on imap.example.test: NO [NONEXISTENT]")

    monkeypatch.setattr("approvals.engine._configured_mailbox", unreachable)
    assert cli(["poll", "--config", str(config)]) == 1
    assert "NONEXISTENT" in capsys.readouterr().err
    assert cli(["status", "--config", str(config)]) == 1
    unhealthy = capsys.readouterr().out
    assert unhealthy.startswith("unhealthy\n  the last poll cycle failed: cannot select")
    assert cli(["status", "--json", "--config", str(config)]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["healthy"] is False
    [mailbox] = status["mailboxes"]
    assert (mailbox["name"], mailbox["table"], mailbox["poll"]["ok"]) == (
        "default",
        "[inbound]",
        False,
    )
    assert status["canary"] is None and status["outbox"] == {
        "queued": 0,
        "retrying": 0,
        "failed": 0,
    }


def test_status_of_a_store_that_cannot_be_read_is_unhealthy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    dead = f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none"
    config.write_text(config.read_text().replace(f"sqlite:///{tmp_path}/approvals.db", dead))

    assert cli(["status", "--json", "--config", str(config)]) == 1

    status = json.loads(capsys.readouterr().out)
    assert status["healthy"] is False and "cannot be used" in status["problems"][0]


def test_every_command_has_an_example_and_described_options() -> None:
    from scheduler.cli import parser

    def leaves(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        found = [p]
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found += leaves(child)
        return found

    commands = [c for c in leaves(parser())[1:] if not c._subparsers]  # the runnable ones
    assert len(commands) >= 18
    for command in commands:
        assert (command.epilog or "").startswith("example: "), command.prog
        for action in command._actions:
            assert action.help, f"{command.prog} {action.dest}: no description"
