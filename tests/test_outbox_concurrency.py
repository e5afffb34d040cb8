"""Several dispatchers on one PostgreSQL store, against the real SMTP relay."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

from approvals.engine import ApprovalEngine
from approvals.models import NotificationStatus
from approvals.outbox import claim_due, settle
from mailio.config import RetrySettings
from mailio.devservers.stack import MailStack
from tests.engine_setup import Clock, engine_settings
from tests.stores import postgres_url  # noqa: F401  (fixture)


def test_four_dispatchers_send_each_notification_once(
    mail_stack: MailStack,
    smtp_relay_factory,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    relay = smtp_relay_factory(auth_password=mail_stack.password)
    stack = dataclasses.replace(mail_stack, smtp_port=relay.port, relay=relay)
    settings = engine_settings(stack, postgres_url, mail_stack.new_address("approvals"))
    engines = [ApprovalEngine(settings) for _ in range(4)]
    approvers = [mail_stack.new_address(f"a{i}") for i in range(40)]
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

    delivered = Counter(rcpt for envelope in relay.received for rcpt in envelope.recipients)
    assert delivered == Counter({approver: 1 for approver in approvers})
    assert {entry.status for entry in engines[0].outbox(limit=100)} == {NotificationStatus.SENT}
    for engine in engines:
        engine.close()


def test_a_lapsed_claim_cannot_overwrite_the_new_owner(
    mail_stack: MailStack,
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    clock = Clock()
    settings = engine_settings(mail_stack, postgres_url, mail_stack.new_address("approvals"))
    engine = ApprovalEngine(settings, clock=clock)
    engine.request_approval("Deploy", [mail_stack.new_address("alice")])
    stalled = claim_due(engine._db, clock(), 10)  # a dispatcher that then hangs
    clock.offset = timedelta(hours=2)

    assert engine.dispatch_pending().sent == 1  # another dispatcher takes over

    (row,) = stalled.rows
    assert row.id is not None
    late = settle(engine._db, stalled, {row.id: ("smtp", None)}, RetrySettings(), clock())
    (entry,) = engine.outbox()
    assert (entry.status, entry.attempts) == (NotificationStatus.SENT, 1)
    assert late.sent == 0  # nothing of the stale claim was written
    engine.close()
