"""The admin console in a real browser: Debian's chromium driven by Playwright.

Fixtures (import ``browser_fixture`` and ``console_fixture`` into a test module; they
are named ``browser`` and ``console``):

- ``browser``: headless ``/usr/bin/chromium`` (``apt-get install chromium``; never
  ``playwright install``, whose download host is not reachable from CI), with
  ``--no-sandbox`` because the tests run as root. Skipped, with the reason, only when
  that browser is missing.
- ``console``: the real console (uvicorn, as ``approvals web`` runs it) on a free
  loopback port, on an engine on the memory transports with one admin and a few
  requests and replies (:class:`Console` says which).
- ``live_console`` (import ``live_console_fixture``): the same console on an engine that
  sends through the SMTP relay and reads Dovecot (``mail_stack``: marked ``mailserver``).
- ``artifacts``: the folder screenshots go to: ``$APPROVALS_TEST_ARTIFACTS`` when set (CI
  keeps it), else the test's ``tmp_path``.

:func:`serving` runs any console on a thread; tests/test_web_commands.py uses it too.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from pydantic import SecretStr

from approvals.engine import ApprovalEngine
from approvals.settings import WebSettings
from mailio.devservers.approver import compose_reply
from mailio.devservers.stack import MailStack
from mailio.inbound import memory as folders
from mailio.outbound import memory as outboxes
from scheduler.web.server import ConsoleThread, console_server
from tests.engine_setup import Clock, engine_settings
from tests.memory_setup import (
    ENGINE_ADDRESS,
    deliver_to_engine,
    memory_engine_settings,
    received_by,
)

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = "alice"
PASSWORD = "correct horse battery staple"
SECRET_KEY = "console-test-key-0123456789abcdefghij"
APPROVER = "bob@example.test"
SECOND_APPROVER = "carol@example.test"
UNCLEAR_REPLY = "Let me think about it over the weekend"
STRANGER = "mallory@example.test"
STARTUP_SECONDS = 10


@dataclass(frozen=True)
class Console:
    """A running console: ``url`` without a trailing slash, and what its store holds."""

    url: str
    engine: ApprovalEngine
    pending_id: str  # "Deploy 1.4.2 to production": Bob and Carol asked, nobody answered
    decided_id: str  # "Rotate the signing keys": Bob approved by reply ("Approved, go ahead")
    cancelled_id: str  # "Drop the old replica"
    # Refused replies: Carol's UNCLEAR_REPLY to "Deploy 1.4.2" (no verdict in it), and
    # Mallory's "Approved" to "Rotate the signing keys" (not an approver); both in "Failed".
    unclear_message_id: str


@dataclass(frozen=True)
class LiveConsole:
    """A running console whose engine uses a real mail stack as ``address``."""

    url: str
    engine: ApprovalEngine
    stack: MailStack
    address: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(engine: ApprovalEngine, web: WebSettings) -> Iterator[str]:
    """The console of ``engine`` served on a thread as ``approvals serve`` does; yields its
    base URL and stops it afterwards."""
    server = console_server(engine, web)
    console = ConsoleThread(server).start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:  # uvicorn offers a flag, no event
            assert time.monotonic() < deadline, "the console did not start listening"
            time.sleep(0.02)
        yield f"http://{web.bind}:{web.port}{web.root_path}"
    finally:
        console.stop()


@pytest.fixture(name="browser", scope="session")
def browser_fixture() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def admin_web_settings() -> WebSettings:
    """[web] on a free loopback port, with ADMIN (PASSWORD) as the only admin."""
    from scheduler.web.auth import hash_password

    return WebSettings(
        port=free_port(),
        secret_key=SECRET_KEY,  # type: ignore[arg-type]  # pydantic makes the SecretStr
        admins={ADMIN: SecretStr(hash_password(PASSWORD))},
    )


@pytest.fixture(name="artifacts")
def artifacts_fixture(tmp_path: Path) -> Path:
    kept = os.environ.get("APPROVALS_TEST_ARTIFACTS")
    folder = Path(kept) if kept else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(name="console")
def console_fixture(tmp_path: Path) -> Iterator[Console]:
    outboxes.reset()
    folders.reset()
    web = admin_web_settings()
    settings = memory_engine_settings(f"sqlite:///{tmp_path / 'approvals.db'}").model_copy(
        update={"web": web}
    )
    clock = Clock()
    engine = ApprovalEngine(settings, clock=clock)
    try:
        pending = engine.request_approval(
            "Deploy 1.4.2 to production", [APPROVER, SECOND_APPROVER], external_id="run-8812"
        )
        clock.offset += timedelta(seconds=1)
        decided = engine.request_approval("Rotate the signing keys", [APPROVER])
        clock.offset += timedelta(seconds=1)
        cancelled = engine.request_approval("Drop the old replica", [SECOND_APPROVER])
        engine.dispatch_pending()
        engine.cancel(cancelled.id)
        asked = [m for m in received_by(APPROVER) if "Rotate" in str(m["Subject"])][-1]
        deliver_to_engine(ENGINE_ADDRESS, compose_reply(asked, APPROVER, "Approved, go ahead"))
        deliver_to_engine(ENGINE_ADDRESS, compose_reply(asked, STRANGER, "Approved"))
        deploy = [m for m in received_by(SECOND_APPROVER) if "Deploy" in str(m["Subject"])][-1]
        unclear = compose_reply(deploy, SECOND_APPROVER, UNCLEAR_REPLY)
        deliver_to_engine(ENGINE_ADDRESS, unclear)
        engine.process_replies()  # a poll cycle: the overview shows the poller healthy
        engine.dispatch_pending()
        with serving(engine, web) as url:
            yield Console(
                url, engine, pending.id, decided.id, cancelled.id, unclear["Message-ID"].strip("<>")
            )
    finally:
        engine.close()
        outboxes.reset()
        folders.reset()


@pytest.fixture(name="live_console")
def live_console_fixture(mail_stack: MailStack, tmp_path: Path) -> Iterator[LiveConsole]:
    web = admin_web_settings()
    address = mail_stack.new_address("approvals")
    settings = engine_settings(
        mail_stack, f"sqlite:///{tmp_path / 'approvals.db'}", address
    ).model_copy(update={"web": web})
    engine = ApprovalEngine(settings)
    try:
        with serving(engine, web) as url:
            yield LiveConsole(url, engine, mail_stack, address)
    finally:
        engine.close()
