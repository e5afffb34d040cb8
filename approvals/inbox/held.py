"""Writes held back for a whole batch, then sent as one executemany per statement.

On PostgreSQL every statement is a round trip, and on both stores each one goes
through SQLAlchemy's execute: five statements and a savepoint per reply cost
more than reading the reply. :class:`HeldWrites` stands where the recorder's
connection stood: plain INSERTs and UPDATEs (the record, the decision, its
events, the request's new status, queued mails) wait, and :meth:`HeldWrites.flush`
sends each statement's rows in one ``executemany`` (psycopg pipelines it, sqlite3
loops in C). A statement that reads, or returns what it wrote (``ask`` needs the
new notification's id for its token), flushes everything held first, so it
sees every earlier write, and then runs at once.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update


class HeldWrites:
    """A connection for a batch's effects. Only :meth:`execute` is offered: the effects
    and the workflow's writers use nothing else. A held statement has no result yet
    (None): code that reads a write's result must get the connection itself.

    An UPDATE whose WHERE takes a list (``id IN :ids``) is merged with the held rows of
    the same statement whose other values are equal: the requests a batch closes, all
    at the same time with one of two statuses, are closed by two statements, not 500
    (an UPDATE costs PostgreSQL several times an INSERT's row in a pipeline).
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        # In first-use order; rows of one statement keep their order (ids stay in order).
        self._held: dict[Hashable, tuple[Executable, list[dict[str, Any]]]] = {}

    def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any] | None:
        if parameters and _holdable(statement):
            lists = [name for name, value in parameters.items() if isinstance(value, list)]
            if not lists:
                # executemany needs one set of columns: group by the keys as well
                group = (id(statement), frozenset(parameters))
                self._held.setdefault(group, (statement, []))[1].append(dict(parameters))
                return None
            if (
                isinstance(statement, Update)
                and len(lists) == 1
                and self._merge(statement, lists[0], parameters)
            ):
                return None
        self.flush()
        return self._connection.execute(statement, parameters)

    def _merge(self, statement: Update, among: str, parameters: Mapping[str, Any]) -> bool:
        """Add ``parameters[among]`` to the held row with the same other values."""
        others = tuple(sorted((k, v) for k, v in parameters.items() if k != among))
        try:
            merged = self._held.get((id(statement), others))
        except TypeError:  # a value that cannot be compared so (a JSON dict): not merged
            return False
        if merged is None:
            row = {**parameters, among: list(parameters[among])}
            self._held[(id(statement), others)] = (statement, [row])
        else:
            merged[1][0][among].extend(parameters[among])
        return True

    def flush(self) -> None:
        """Send every held row, one executemany per statement."""
        held, self._held = self._held, {}
        for statement, rows in held.values():
            self._connection.execute(statement, rows[0] if len(rows) == 1 else rows)


def _holdable(statement: Executable) -> bool:
    # A RETURNING statement's caller reads its result now; a DELETE is never batched here.
    return isinstance(statement, Insert | Update) and not statement.returning_column_descriptions
