"""A request's history: every event, written in the transaction that caused it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from approvals.models import Event, EventKind, EventRow
from approvals.store import reading

log = logging.getLogger(__name__)

_INSERT_EVENT = EventRow.__table__.insert()  # type: ignore[attr-defined]


def record_event(
    connection: Connection,
    request_id: str,
    kind: EventKind,
    at: datetime,
    *,
    actor: str | None = None,
    detail: str = "",
) -> None:
    connection.execute(
        _INSERT_EVENT,
        {
            "request_id": request_id,
            "kind": kind.value,
            "at": at,
            "actor": actor,
            "detail": detail.replace("\x00", "\ufffd")[:2000],
        },
    )


def events_of(db: Engine, request_id: str) -> list[Event]:
    """Oldest first."""
    with reading(db) as session:
        rows = session.exec(
            select(EventRow).where(EventRow.request_id == request_id).order_by(col(EventRow.id))
        ).all()
        return [_event(row) for row in rows]


def events_after(db: Engine, last_id: int, limit: int = 1000) -> list[Event]:
    """Events committed after ``last_id`` (any request), oldest first: for on_event."""
    with reading(db) as session:
        rows = session.exec(
            select(EventRow)
            .where(col(EventRow.id) > last_id)
            .order_by(col(EventRow.id))
            .limit(limit)
        ).all()
        return [_event(row) for row in rows]


def last_event_id(db: Engine) -> int:
    with reading(db) as session:
        row = session.exec(select(EventRow.id).order_by(col(EventRow.id).desc()).limit(1)).first()
        return row or 0


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id,  # type: ignore[arg-type]
        request_id=row.request_id,
        kind=EventKind(row.kind),
        at=row.at,
        actor=row.actor,
        detail=row.detail,
    )


EventCallback = Callable[[Event], None]


class EventFeed:
    """Calls ``on_event`` callbacks with every event committed after they were added,
    in order, soon after the commit (after each engine call that may write some)."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._callbacks: list[EventCallback] = []
        self._last_id: int | None = None

    def add(self, callback: EventCallback) -> None:
        if self._last_id is None:
            self._last_id = last_event_id(self._db)
        self._callbacks.append(callback)

    def publish(self) -> int:
        if not self._callbacks or self._last_id is None:
            return 0
        events = events_after(self._db, self._last_id)
        for event in events:
            self._last_id = event.id
            for callback in self._callbacks:
                try:
                    callback(event)
                except Exception:  # a caller's bug must not stop the engine's cycle
                    log.exception("on_event callback %r failed for event %s", callback, event.id)
        return len(events)
