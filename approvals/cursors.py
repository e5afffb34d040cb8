"""Mailboxes' places in their folders, kept in the store from run to run
(:class:`mailio.inbound.base.CursorStore`): a Graph mailbox's delta link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col

from approvals.models import MailboxCursorRow
from approvals.store import reading, transaction


class StoredCursors:
    """A CursorStore in the ``mailbox_cursor`` table. Only the instance polling a folder
    (under its lock) writes that folder's cursor."""

    def __init__(self, db: Engine, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    def load(self, key: str) -> str | None:
        with reading(self._db) as session:
            row = session.get(MailboxCursorRow, key)
            return None if row is None else row.value

    def save(self, key: str, value: str | None) -> None:
        with transaction(self._db) as session:
            if value is None:
                session.execute(delete(MailboxCursorRow).where(col(MailboxCursorRow.key) == key))
                return
            session.merge(MailboxCursorRow(key=key, value=value, updated_at=self._clock()))
