"""``mode = "idle"`` on real Dovecot: a reply is decided as soon as the server announces
it, not at the next poll; a restart, a cut or a silently dead connection loses nothing
and applies nothing twice; a server without IDLE is polled; one engine reads two folders.

The interval is an hour wherever only IDLE can explain a decision within seconds.
Notifications go out through the memory sender; the replies reach Dovecot by SMTP
(through the relay, as LMTP deliveries) or by APPEND, which Dovecot announces alike.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from approvals.cycles import CycleKind, last_cycle
from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import ApprovalRequest, RequestStatus
from approvals.settings import EngineSettings
from mailio.devservers import DovecotServer
from mailio.devservers.approver import compose_reply
from mailio.devservers.dovecot import MAIL_OWNER
from mailio.devservers.stack import MailStack
from scheduler.jobs import Runner, run_in_background
from tests.engine_setup import SECRET, engine_settings
from tests.memory_setup import OUTGOING, received_by
from tests.servers.dovecot_stack import PASSWORD
from tests.servers.mail_client import send_as
from tests.servers.proxies import CuttingTunnel

HOUR = 60  # minutes: no poll explains a decision within the test's wait
WAIT = 30  # seconds a test waits for what should take one


class Decisions:
    """on_decision, counted: each request's final statuses as they come."""

    def __init__(self, engine: ApprovalEngine) -> None:
        self.told: list[ApprovalRequest] = []
        self._changed = threading.Condition()
        engine.on_decision(self._tell)

    def _tell(self, request: ApprovalRequest) -> None:
        with self._changed:
            self.told.append(request)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT) -> list[ApprovalRequest]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.told) >= count, timeout), (
                f"{len(self.told)} of {count} decisions within {timeout} s"
            )
            return list(self.told)


def imap_settings(
    tmp_path: Path, port: int, user: str, *, socket_timeout: float = 10, **inbound: Any
) -> EngineSettings:
    return EngineSettings.model_validate(
        {
            "store": {"url": f"sqlite:///{tmp_path / 'approvals.db'}"},
            "tokens": {"secret": SECRET},
            "outbound": {
                "server": OUTGOING,
                "from": f"Approvals <{user}>",
                "reply_to": user,
                "templates_dir": str(PACKAGED_TEMPLATES),
            },
            "inbound": {"server": "imap", "mode": "idle", "interval_minutes": HOUR, **inbound},
            "servers": {
                OUTGOING: {"type": "memory", "name": OUTGOING},
                "imap": {
                    "type": "imap",
                    "name": "imap",
                    "host": "127.0.0.1",
                    "port": port,
                    "security": "none",
                    "username": user,
                    "password": PASSWORD,
                    "timeouts": {"socket": socket_timeout},
                },
            },
        }
    )


@pytest.fixture
def user() -> str:
    return f"approvals-{uuid.uuid4().hex[:8]}@example.test"


@pytest.fixture
def running() -> Iterator[list[tuple[Runner, ApprovalEngine]]]:
    """Runners and engines a test started: stopped and closed at its end, whatever happens."""
    started: list[tuple[Runner, ApprovalEngine]] = []
    yield started
    for runner, engine in started:
        runner.stop()
        engine.close()


def start(
    running: list[tuple[Runner, ApprovalEngine]], settings: EngineSettings
) -> tuple[ApprovalEngine, Decisions]:
    """An engine serving in the background; returns once its first cycles are recorded."""
    engine = ApprovalEngine(settings)
    decisions = Decisions(engine)
    running.append((run_in_background(engine), engine))
    deadline = time.monotonic() + WAIT
    for name in settings.mailboxes:
        while last_cycle(engine.operations.db, CycleKind.POLL, name) is None:
            assert time.monotonic() < deadline, f"no first cycle of mailbox {name}"
            time.sleep(0.02)
    return engine, decisions


def reply_bytes(engine: ApprovalEngine, approver: str, text: str = "Approved") -> bytes:
    engine.request_approval("Deploy 1.4.2", [approver])
    engine.dispatch_pending()
    notification = received_by(approver)[-1]
    return compose_reply(notification, approver, text).as_bytes(policy=policy.SMTP)


def append(port: int, user: str, raw: bytes, folder: str = "INBOX") -> None:
    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, PASSWORD)
        if not client.folder_exists(folder):
            client.create_folder(folder)
        client.append(folder, raw)


def folder_count(port: int, user: str, folder: str = "INBOX") -> int:
    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, PASSWORD)
        return int(client.select_folder(folder, readonly=True)[b"EXISTS"])


def logins(dovecot: DovecotServer, user: str) -> int:
    return dovecot.log_path.read_text("utf-8", "replace").count(f"Login: user=<{user}>")


def test_idle_mode_decides_a_reply_delivered_by_smtp_without_waiting_for_the_interval(
    mail_stack: MailStack,
    dovecot_server: DovecotServer,
    tmp_path: Path,
    running: list[tuple[Runner, ApprovalEngine]],
) -> None:
    address = mail_stack.new_address("approvals")
    approver = mail_stack.new_address("alice")
    settings = engine_settings(
        mail_stack, f"sqlite:///{tmp_path / 'a.db'}", address, mode="idle", interval_minutes=HOUR
    )
    engine, decisions = start(running, settings)
    request = engine.request_approval("Deploy 1.4.2", [approver])
    engine.dispatch_pending()
    [notification] = _inbox(mail_stack, approver)

    send_as(mail_stack, approver, compose_reply(notification, approver, "Approved, ship it"))

    [decided] = decisions.wait_for(1)
    assert (decided.id, decided.status) == (request.id, RequestStatus.APPROVED)
    assert logins(dovecot_server, address) == 1  # one session: the first cycle's, kept in IDLE


def _inbox(stack: MailStack, address: str) -> list[EmailMessage]:
    from mailio.devservers import approver as client

    deadline = time.monotonic() + WAIT
    while not (messages := client.read_inbox(stack.host, stack.imap_port, address, PASSWORD)):
        assert time.monotonic() < deadline, f"nothing reached {address}"
        time.sleep(0.05)
    return messages


def test_a_restarted_server_is_reconnected_to_and_what_arrived_meanwhile_is_decided_once(
    own_dovecot: DovecotServer,
    user: str,
    tmp_path: Path,
    running: list[tuple[Runner, ApprovalEngine]],
    empty_memory_servers: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, decisions = start(running, imap_settings(tmp_path, own_dovecot.imap_port, user))
    raw = reply_bytes(engine, "alice@example.test")

    def deliver_while_down() -> None:  # what LMTP would have written, had it been up
        new = own_dovecot.mail_dir / user / "new"
        path = new / f"{time.time_ns()}.M1P{os.getpid()}.restart"
        path.write_bytes(raw.replace(b"\r\n", b"\n"))
        shutil.chown(path, MAIL_OWNER, MAIL_OWNER)

    with caplog.at_level(logging.WARNING, logger="scheduler.watchers"):
        own_dovecot.restart(while_down=deliver_while_down)
        [decided] = decisions.wait_for(1)

    assert decided.status is RequestStatus.APPROVED
    assert any("waiting for new mail" in r.getMessage() for r in caplog.records)
    assert _eventually(lambda: folder_count(own_dovecot.imap_port, user) == 0)
    assert len(engine.get(decided.id).decisions) == 1


def test_a_connection_cut_during_idle_loses_no_reply_and_applies_none_twice(
    dovecot_server: DovecotServer,
    user: str,
    tmp_path: Path,
    running: list[tuple[Runner, ApprovalEngine]],
    empty_memory_servers: None,
) -> None:
    with CuttingTunnel(dovecot_server.host, dovecot_server.imap_port) as tunnel:
        engine, decisions = start(running, imap_settings(tmp_path, tunnel.port, user))
        replies = [reply_bytes(engine, f"approver{n}@example.test") for n in range(3)]

        for raw in replies:
            assert _eventually(lambda: tunnel.cut() >= 1)  # the session waiting in IDLE
            append(dovecot_server.imap_port, user, raw)

        told = decisions.wait_for(3)
        assert _eventually(lambda: folder_count(dovecot_server.imap_port, user) == 0)

    assert sorted(r.status.value for r in told) == ["approved"] * 3
    assert len({r.id for r in told}) == 3  # each request told once
    assert all(len(engine.get(r.id).decisions) == 1 for r in told)
    assert tunnel.connection_count >= 4  # a session after each cut


def test_a_connection_that_died_silently_is_found_at_the_latest_safety_poll(
    dovecot_server: DovecotServer,
    user: str,
    tmp_path: Path,
    running: list[tuple[Runner, ApprovalEngine]],
    empty_memory_servers: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with CuttingTunnel(dovecot_server.host, dovecot_server.imap_port) as tunnel:
        settings = imap_settings(
            tmp_path, tunnel.port, user, socket_timeout=1, interval_minutes=0.05
        )
        engine, decisions = start(running, settings)
        raw = reply_bytes(engine, "alice@example.test")
        assert _eventually(lambda: tunnel.freeze() >= 1)  # nothing passes, nothing closes

        with caplog.at_level(logging.WARNING, logger="scheduler.watchers"):
            append(dovecot_server.imap_port, user, raw)  # its EXISTS never gets through
            [decided] = decisions.wait_for(1)

    assert decided.status is RequestStatus.APPROVED
    warnings = [r.getMessage() for r in caplog.records]
    assert any("did not answer within 1 s" in message for message in warnings), warnings


def test_a_server_without_idle_is_polled_and_said_so_once(
    dovecot_without_idle: DovecotServer,
    user: str,
    tmp_path: Path,
    running: list[tuple[Runner, ApprovalEngine]],
    empty_memory_servers: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = dovecot_without_idle.imap_port
    with caplog.at_level(logging.INFO):
        settings = imap_settings(tmp_path, port, user, interval_minutes=0.01)
        engine, decisions = start(running, settings)
        append(port, user, reply_bytes(engine, "alice@example.test"))
        [decided] = decisions.wait_for(1)
        assert _eventually(lambda: _count(caplog, "poll: fetched") >= 4)  # several waits

    assert decided.status is RequestStatus.APPROVED
    assert _count(caplog, "does not offer IMAP IDLE; polling INBOX every 0.01 minutes") == 1


def test_one_engine_serves_two_mailboxes_each_with_its_own_cycles(
    dovecot_server: DovecotServer,
    user: str,
    tmp_path: Path,
    running: list[tuple[Runner, ApprovalEngine]],
    empty_memory_servers: None,
) -> None:
    port = dovecot_server.imap_port
    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, PASSWORD)
        client.create_folder("Sales")
    settings = imap_settings(tmp_path, port, user, sales={"folder": "Sales"})
    engine, decisions = start(running, settings)
    to_inbox = reply_bytes(engine, "alice@example.test")
    to_sales = reply_bytes(engine, "bob@example.test")

    append(port, user, to_inbox)
    append(port, user, to_sales, folder="Sales")

    told = decisions.wait_for(2)
    assert sorted(r.decisions[0].approver for r in told) == [
        "alice@example.test",
        "bob@example.test",
    ]
    db = engine.operations.db
    assert _eventually(lambda: folder_count(port, user, "Sales") == 0)
    for name in ("default", "sales"):
        cycle = last_cycle(db, CycleKind.POLL, name)
        assert cycle is not None and cycle.ok and cycle.mailbox == name


def _count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


def _eventually(check: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
