"""The in-memory transports: `type = "memory"` runs the whole engine without mail servers.

These are product features (like Django's locmem backend), so they are tested
as an integrator would use them: a config file, the Python API, the outbox
and the reply folder in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import NotificationStatus, RequestStatus
from mailio.devservers.approver import compose_reply
from mailio.inbound import memory as folders
from mailio.outbound import memory as outboxes
from mailio.outbound.base import modern
from tests.engine_setup import SECRET

CONFIG = f"""
[store]
url = "sqlite:///{{db}}"

[tokens]
secret = "{SECRET}"

[outbound]
server = "mem"
from = "Approvals <approvals@example.test>"
reply_to = "approvals@example.test"
templates_dir = "{PACKAGED_TEMPLATES}"

[inbound]
server = "mem"

[servers.mem]
type = "memory"
"""


@pytest.fixture
def empty_memory() -> Iterator[None]:
    """The memory outboxes and folders live for the process: each test starts empty."""
    outboxes.reset()
    folders.reset()
    yield
    outboxes.reset()
    folders.reset()


@pytest.fixture
def engine(tmp_path: Path, empty_memory: None) -> Iterator[ApprovalEngine]:
    config = tmp_path / "approvals.toml"
    config.write_text(CONFIG.format(db=tmp_path / "db.sqlite"))
    engine = ApprovalEngine.from_config(config)
    try:
        yield engine
    finally:
        engine.close()


def _notification(approver: str) -> EmailMessage:
    sent = [modern(m) for m in outboxes.outbox("mem") if approver in str(m["To"])]
    assert sent, f"nothing was sent to {approver}"
    return sent[-1]


def test_a_round_trip_runs_in_memory(engine: ApprovalEngine) -> None:
    request = engine.request_approval("Deploy 4.2", ["alice@example.test"])
    engine.dispatch_pending()
    reply = compose_reply(_notification("alice@example.test"), "alice@example.test", "Approved")
    folders.deliver("mem", bytes(reply))

    report = engine.process_replies()

    assert (report.fetched, report.decided) == (1, 1)
    assert engine.get(request.id).status is RequestStatus.APPROVED
    assert folders.messages("mem") == []  # processed mail is deleted


def test_a_refused_reply_is_moved_to_the_failure_folder(engine: ApprovalEngine) -> None:
    engine.request_approval("Deploy 4.2", ["alice@example.test"])
    engine.dispatch_pending()
    reply = compose_reply(_notification("alice@example.test"), "mallory@example.test", "Approved")
    folders.deliver("mem", bytes(reply))

    assert engine.process_replies().failed == 1
    assert folders.messages("mem") == []
    assert folders.messages("mem", "Failed") == [bytes(reply)]


def test_scripted_failures_are_retried_or_final(engine: ApprovalEngine) -> None:
    outboxes.script("mem", "4xx", "5xx")
    engine.request_approval("Deploy 4.2", ["alice@example.test"])
    engine.request_approval("Deploy 4.3", ["bob@example.test"])
    engine.dispatch_pending()

    states = {entry.approver: entry for entry in engine.outbox()}
    assert states["alice@example.test"].status is NotificationStatus.QUEUED  # 4xx: retried
    assert "451" in (states["alice@example.test"].last_error or "")
    assert states["bob@example.test"].status is NotificationStatus.FAILED  # 5xx: final
    assert outboxes.outbox("mem") == []


def test_a_scripted_disconnect_is_temporary(engine: ApprovalEngine) -> None:
    outboxes.script("mem", "disconnect")
    engine.request_approval("Deploy 4.2", ["alice@example.test"])
    engine.dispatch_pending()
    (entry,) = engine.outbox()
    assert entry.status is NotificationStatus.QUEUED
    assert "disconnect" in (entry.last_error or "")


def test_a_memory_folder_is_read_oldest_first_within_the_batch_size(empty_memory: None) -> None:
    box = folders.MemoryMailbox("mem", "INBOX")
    keys = [folders.deliver("mem", f"Subject: {n}\r\n\r\nx".encode()) for n in range(5)]
    assert [m.key for m in box.fetch_batch(3)] == keys[:3]
    box.move(keys[:2], "Done")
    box.delete(keys[2:3])
    assert box.count() == 2
    assert folders.messages("mem", "Done") == [b"Subject: 0\r\n\r\nx", b"Subject: 1\r\n\r\nx"]
