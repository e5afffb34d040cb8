"""Several instances share one folder message by message (approvals.inbox.claims).

The claims on PostgreSQL; two IMAP mailboxes on one Dovecot folder that ask one
arbiter; and two engines on one PostgreSQL store draining one folder together.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from approvals.engine import ApprovalEngine
from approvals.inbox.claims import CLAIM_SECONDS, StoredClaims
from approvals.reports import ProcessReport
from approvals.store import open_database
from mailio.config import ImapServer
from mailio.devservers import MailStack
from mailio.inbound.imap import ImapMailbox
from mailio.inbound.memory import MemoryMailbox
from tests.memory_setup import INCOMING, memory_engine_settings, memory_scenario
from tests.servers.mail_client import send_as
from tests.stores import postgres_url  # noqa: F401  (fixture)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_instances_are_granted_disjoint_messages_until_a_hold_lapses(
    postgres_url: str,  # noqa: F811
) -> None:
    db = open_database(postgres_url)
    clock = Clock()
    first = StoredClaims(db, "imap INBOX", "instance-1", clock)
    second = StoredClaims(db, "imap INBOX", "instance-2", clock)
    keys = [str(uid) for uid in range(1, 8)]

    assert first.claim(keys, 3) == ["1", "2", "3"]
    assert second.claim(keys, 3) == ["4", "5", "6"]
    assert first.claim(keys, 3) == ["1", "2", "3"]  # its own, after a failed cycle
    assert StoredClaims(db, "imap Other", "instance-2", clock).claim(keys, 2) == ["1", "2"]

    first.release(["1"])
    assert second.claim(keys, 3) == ["1", "4", "5"]
    clock.now += timedelta(seconds=CLAIM_SECONDS + 1)  # the first instance died
    assert second.claim(keys, 10) == keys
    db.dispose()


class DictArbiter:
    """One folder's claims in a dict, for two mailboxes in this process (the engine's are
    in the store: above)."""

    def __init__(self) -> None:
        self.held: dict[str, str] = {}  # key -> worker
        self._lock = threading.Lock()

    def worker(self, name: str) -> WorkerArbiter:
        return WorkerArbiter(self, name)


class WorkerArbiter:
    def __init__(self, shared: DictArbiter, name: str) -> None:
        self._shared, self._name = shared, name

    def claim(self, keys: Sequence[str], limit: int) -> list[str]:
        with self._shared._lock:
            free = [k for k in keys if self._shared.held.get(k, self._name) == self._name]
            for key in free[:limit]:
                self._shared.held[key] = self._name
            return free[:limit]

    def release(self, keys: Sequence[str]) -> None:
        with self._shared._lock:
            for key in keys:
                self._shared.held.pop(key, None)


def test_two_imap_mailboxes_on_one_folder_fetch_disjoint_batches(mail_stack: MailStack) -> None:
    address = mail_stack.new_address("shared")
    for index in range(9):
        message = (
            f"From: a@example.test\r\nTo: {address}\r\nSubject: m{index}\r\n"
            f"Message-ID: <m{index}@example.test>\r\n\r\nApproved\r\n"
        ).encode()
        send_as(mail_stack, "a@example.test", message)
    server = ImapServer(
        host=mail_stack.host,
        port=mail_stack.imap_port,
        security="none",
        username=address,
        password=SecretStr(mail_stack.password),
    )
    arbiter = DictArbiter()
    with ImapMailbox(server, "INBOX") as one, ImapMailbox(server, "INBOX") as two:
        one.arbiter, two.arbiter = arbiter.worker("one"), arbiter.worker("two")
        first, second = one.fetch_batch(4), two.fetch_batch(4)
        assert {m.key for m in first}.isdisjoint(m.key for m in second)
        assert len(first) == len(second) == 4

        one.delete([m.key for m in first])
        one.arbiter.release([m.key for m in first])
        two.arbiter.release([m.key for m in second])  # two died: its batch was not disposed
        again = one.fetch_batch(10)

    subjects = sorted(str(m.raw).split("Subject: ")[1][:2] for m in again)
    assert subjects == sorted(f"m{i}" for i in range(4, 9))  # two's four, and the last one


def test_two_engines_on_one_store_drain_a_folder_together_each_reply_applied_once(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    for scenario in memory_scenario(tmp_path, store_url=postgres_url, max_messages=5):
        approvers = [f"approver{n}@example.test" for n in range(30)]
        asked = []
        for approver in approvers:
            asked.append(scenario.ask(approver))
            scenario.reply(approver, "Approved")
        settings = memory_engine_settings(postgres_url, max_messages=5)
        other = ApprovalEngine(settings)
        reports: dict[str, list[ProcessReport]] = {"one": [], "other": []}

        threads = [
            threading.Thread(target=_drain, args=(scenario.engine, reports["one"])),
            threading.Thread(target=_drain, args=(other, reports["other"])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        other.close()

        decided = [sum(r.decided for r in reports[name]) for name in ("one", "other")]
        assert sum(decided) == 30  # each reply applied by one instance only
        assert all(r.failed == 0 for name in reports for r in reports[name])
        # Which instance took how many depends on the threads; each reply went to one.
        requests = [scenario.engine.get(request.id) for request in asked]
        assert {r.status.value for r in requests} == {"approved"}
        assert all(len(r.decisions) == 1 for r in requests)


def _drain(engine: ApprovalEngine, reports: list[ProcessReport]) -> None:
    while MemoryMailbox(INCOMING, "INBOX").count():
        reports.append(engine.process_replies())
