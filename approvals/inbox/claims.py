"""Several engine instances on one folder share its messages (an Arbiter in the store).

Before a batch is fetched, the instance claims the oldest messages no other instance
holds, for :data:`CLAIM_SECONDS`; a short transaction, serialized per folder by a
PostgreSQL advisory lock held only for it. After the batch is recorded and the mail
disposed, the claims are released. An instance that dies holding claims delays those
messages until the lease lapses; then another takes them, and the records (unique by
Message-ID) still make a message applied twice impossible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import Delete
from sqlmodel import col, select

from approvals.models import InboxClaimRow
from approvals.store import transaction

CLAIM_SECONDS = 120  # a batch is fetched, recorded and disposed well within it


class StoredClaims:
    """The claims of one folder (``mailbox``: its server and folder) in ``inbox_claim``."""

    def __init__(self, db: Engine, mailbox: str, owner: str, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._mailbox = mailbox
        self._owner = owner  # its own claims, left by a failed cycle, it may take again
        self._clock = clock

    def claim(self, keys: Sequence[str], limit: int) -> list[str]:
        if not keys or limit < 1:
            return []
        now = self._clock()
        with transaction(self._db) as session:
            if self._db.dialect.name == "postgresql":
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                    {"name": f"claim {self._mailbox}"},
                )
            held = set(
                session.exec(
                    select(InboxClaimRow.key).where(
                        col(InboxClaimRow.mailbox) == self._mailbox,
                        col(InboxClaimRow.key).in_(keys),
                        col(InboxClaimRow.until) > now,
                        col(InboxClaimRow.owner) != self._owner,
                    )
                ).all()
            )
            granted = [key for key in keys if key not in held][:limit]
            if granted:
                session.execute(self._rows(granted))  # lapsed claims of these, or our own
                session.add_all(
                    InboxClaimRow(
                        mailbox=self._mailbox,
                        key=key,
                        owner=self._owner,
                        until=now + timedelta(seconds=CLAIM_SECONDS),
                    )
                    for key in granted
                )
        return granted

    def release(self, keys: Sequence[str]) -> None:
        if keys:
            with transaction(self._db) as session:
                session.execute(self._rows(keys))

    def _rows(self, keys: Sequence[str]) -> Delete:
        return delete(InboxClaimRow).where(
            col(InboxClaimRow.mailbox) == self._mailbox, col(InboxClaimRow.key).in_(keys)
        )
