"""Short leases, results written a group at a time: what a sender sees between calls.

On the memory transport and a SQLite store: a sender wrapper reads the outbox rows
each time the dispatcher hands it a group, and moves the clock on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from approvals.engine import ApprovalEngine
from approvals.models import NotificationRow, NotificationStatus
from approvals.outbox import GROUP_SIZE, LEASE_SECONDS, claim_due, dispatch_due
from approvals.store import open_database, reading
from mailio.config import RetrySettings
from mailio.outbound import memory as outboxes
from mailio.outbound.base import SendResult
from mailio.outbound.memory import MemorySender
from tests.engine_setup import Clock
from tests.memory_setup import OUTGOING, memory_engine_settings

STEP = timedelta(seconds=10)  # time each group takes to send


@dataclass(frozen=True)
class Seen:
    """The outbox as a sender saw it when handed a group."""

    group: int
    statuses: Counter[NotificationStatus]
    leases: frozenset[datetime]
    now: datetime


@dataclass
class WatchingSender:
    """A memory sender that records the outbox rows before each group and lets time pass;
    ``after_group`` runs once a group is sent, before the dispatcher records it."""

    db: Engine
    clock: Clock
    inner: MemorySender = field(default_factory=lambda: MemorySender(OUTGOING))
    seen: list[Seen] = field(default_factory=list)
    after_group: Callable[[int], None] = lambda group: None
    name: str = OUTGOING

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        with reading(self.db) as session:
            rows = session.exec(select(NotificationRow)).all()
        sending = [row for row in rows if row.status == NotificationStatus.SENDING]
        self.seen.append(
            Seen(
                group=len(messages),
                statuses=Counter(NotificationStatus(row.status) for row in rows),
                leases=frozenset(_aware(row.claimed_until) for row in sending),
                now=self.clock(),
            )
        )
        self.clock.offset += STEP
        results = self.inner.send_messages(messages)
        self.after_group(len(self.seen) - 1)
        return results

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def store(tmp_path: Path, empty_memory_servers: None) -> Iterator[tuple[Engine, Clock]]:
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    clock = Clock()
    engine = ApprovalEngine(memory_engine_settings(url), clock=clock)
    for i in range(50):
        engine.request_approval(f"Deploy {i}", [f"a{i}@example.test"])
    engine.close()
    db = open_database(url)
    yield db, clock
    db.dispose()


def test_results_are_written_a_group_at_a_time_and_the_lease_renewed(
    store: tuple[Engine, Clock],
) -> None:
    db, clock = store
    sender = WatchingSender(db, clock)

    report = dispatch_due(db, [sender], RetrySettings(), clock, limit=500)

    assert report.sent == 50
    assert [seen.group for seen in sender.seen] == [GROUP_SIZE, GROUP_SIZE, 10]
    for index, seen in enumerate(sender.seen):
        # Every group before this one is recorded as sent; the rest is ours, on one lease
        # that ends at most LEASE_SECONDS from now (renewed, not the first claim's).
        assert seen.statuses == Counter(
            {
                NotificationStatus.SENT: index * GROUP_SIZE,
                NotificationStatus.SENDING: 50 - index * GROUP_SIZE,
            }
        )
        (lease,) = seen.leases
        assert timedelta(0) < lease - seen.now <= timedelta(seconds=LEASE_SECONDS)
    leases = [lease for seen in sender.seen for lease in seen.leases]
    assert leases == sorted(set(leases))  # a new, later lease for each group
    assert len(outboxes.outbox(OUTGOING)) == 50


def test_a_dispatcher_that_lost_its_lease_sends_nothing_more(
    store: tuple[Engine, Clock],
) -> None:
    db, clock = store
    taken: list[int] = []

    def take_over(group: int) -> None:
        if group == 0:  # the first group outlived the lease; another dispatcher claims all
            clock.offset += timedelta(seconds=LEASE_SECONDS + 1)
            taken.extend(row.id or 0 for row in claim_due(db, clock(), 500).rows)

    sender = WatchingSender(db, clock, after_group=take_over)

    report = dispatch_due(db, [sender], RetrySettings(), clock, limit=500)

    assert report.sent == 0  # nothing written over the new owner's claim
    assert len(taken) == 50
    assert [seen.group for seen in sender.seen] == [GROUP_SIZE]  # no group after the lapse
    assert len(outboxes.outbox(OUTGOING)) == GROUP_SIZE
    with reading(db) as session:
        assert set(session.exec(select(NotificationRow.status)).all()) == {
            NotificationStatus.SENDING
        }


def _aware(moment: datetime | None) -> datetime:
    """A lease's end; SQLite gives back naive datetimes, the engine stores UTC."""
    assert moment is not None, "a row in sending without a lease"
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
