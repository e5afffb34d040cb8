"""Several dispatchers on one PostgreSQL store, sending through the memory transport."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import create_engine

from approvals.engine import ApprovalEngine
from approvals.models import NotificationStatus
from approvals.outbox import Attempt, claim_due, settle
from mailio.config import RetrySettings
from mailio.outbound import memory as outboxes
from mailio.outbound.envelope import envelope_recipients
from tests.engine_setup import Clock
from tests.memory_setup import (
    OUTGOING,
    memory_engine_settings,
)
from tests.stores import postgres_url  # noqa: F401  (fixture)


def test_four_dispatchers_send_each_notification_once(
    empty_memory_servers: None,
    postgres_url: str,  # noqa: F811
) -> None:
    settings = memory_engine_settings(postgres_url)
    engines = [ApprovalEngine(settings) for _ in range(4)]
    approvers = [f"a{i}@example.test" for i in range(40)]
    for approver in approvers:
        engines[0].request_approval("Deploy", [approver])
    barrier = threading.Barrier(len(engines))

    def dispatch(engine: ApprovalEngine) -> None:
        barrier.wait()
        while engine.dispatch_pending(limit=5).sent:
            pass

    threads = [threading.Thread(target=dispatch, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = outboxes.outbox(OUTGOING)
    delivered = Counter(rcpt for message in sent for rcpt in envelope_recipients(message))
    assert delivered == Counter({approver: 1 for approver in approvers})
    assert {entry.status for entry in engines[0].outbox(limit=100)} == {NotificationStatus.SENT}
    for engine in engines:
        engine.close()


def test_a_lapsed_claim_cannot_overwrite_the_new_owner(
    empty_memory_servers: None,
    postgres_url: str,  # noqa: F811
) -> None:
    clock = Clock()
    engine = ApprovalEngine(memory_engine_settings(postgres_url), clock=clock)
    engine.request_approval("Deploy", ["alice@example.test"])
    db = create_engine(postgres_url)  # a dispatcher of our own on the engine's store
    try:
        stalled = claim_due(db, clock(), 10)  # ... that then hangs
        clock.offset = timedelta(hours=2)

        assert engine.dispatch_pending().sent == 1  # another dispatcher takes over

        (row,) = stalled.rows
        assert row.id is not None
        late, _ = settle(db, stalled, {row.id: Attempt(OUTGOING, None)}, RetrySettings(), clock())
    finally:
        db.dispose()
    (entry,) = engine.outbox()
    assert (entry.status, entry.attempts) == (NotificationStatus.SENT, 1)
    assert late.sent == 0  # nothing of the stale claim was written
    assert len(outboxes.outbox(OUTGOING)) == 1  # sent once, by the new owner
    engine.close()
