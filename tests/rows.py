"""The store behind an engine, opened on its own for tests that read or set rows directly.

Tests use the engine's public API first; this is for what no API shows (inbox
records) or sets up a state no API makes (a request whose deadline passed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from approvals.engine import ApprovalEngine
from approvals.store import open_database, transaction


@contextmanager
def store_session(engine: ApprovalEngine, *, write: bool = False) -> Iterator[Session]:
    """A session on ``engine``'s store URL (committed at the end when ``write``)."""
    settings = engine.settings
    db = open_database(settings.store.url, base_dir=settings.base_dir)
    try:
        if write:
            with transaction(db) as session:
                yield session
        else:
            with Session(db) as session:
                yield session
    finally:
        db.dispose()


def stored_notification(engine: ApprovalEngine, request_id: str, approver: str) -> bytes:
    """The MIME of the notification ``approver`` got for ``request_id``, from the outbox."""
    (entry,) = (
        e for e in engine.outbox(request_id) if e.approver == approver and e.kind == "approval"
    )
    return engine.notification_message(entry.id)
