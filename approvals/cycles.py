"""Every poll, dispatch and timers run, recorded durably for ``approvals status``.

The engine's three cycle methods are wrapped by :func:`recorded`: one ``engine_cycle``
row per run, written when it ends, ok or with the error that ended it. Rows older
than :data:`KEEP` are removed as new ones are written (timers run every minute).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals.errors import StoreError
from approvals.models import CycleRow
from approvals.store import reading, transaction

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)


class CycleKind(StrEnum):
    POLL = "poll"
    DISPATCH = "dispatch"
    TIMERS = "timers"
    CANARY = "canary"  # a test message sent to the engine's own folder and read back
    RELOAD = "reload"  # the config file read again by serve (changes, or why it was refused)


@dataclass(frozen=True)
class Cycle:
    """One recorded run (``approvals status``)."""

    kind: CycleKind
    started_at: datetime
    finished_at: datetime
    ok: bool
    summary: str
    error: str | None
    mailbox: str | None = None  # a poll's mailbox ("default": the [inbound] table)

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def record_cycle(
    db: Engine,
    kind: CycleKind,
    started_at: datetime,
    finished_at: datetime,
    *,
    summary: str = "",
    error: str | None = None,
    mailbox: str | None = None,
) -> None:
    """Write one run (``error`` None: it went well) and drop this kind's rows older than KEEP."""
    with transaction(db) as session:
        session.add(
            CycleRow(
                kind=kind.value,
                started_at=started_at,
                finished_at=finished_at,
                ok=error is None,
                summary=summary[:2000],
                error=None if error is None else error[:2000],
                mailbox=mailbox,
            )
        )
        session.execute(
            delete(CycleRow).where(
                col(CycleRow.kind) == kind.value,
                col(CycleRow.started_at) < finished_at - KEEP,
            )
        )


def last_cycle(db: Engine, kind: CycleKind, mailbox: str | None = None) -> Cycle | None:
    """The latest recorded run of ``kind`` (of ``mailbox``'s polls when given; None: none yet)."""
    query = select(CycleRow).where(col(CycleRow.kind) == kind.value)
    if mailbox is not None:
        query = query.where(col(CycleRow.mailbox) == mailbox)
    with reading(db) as session:
        row = session.exec(
            query.order_by(col(CycleRow.started_at).desc(), col(CycleRow.id).desc()).limit(1)
        ).first()
        if row is None:
            return None
        return Cycle(
            CycleKind(row.kind),
            row.started_at,
            row.finished_at,
            row.ok,
            row.summary,
            row.error,
            row.mailbox,
        )


def run_recorded(
    db: Engine,
    clock: Callable[[], datetime],
    kind: CycleKind,
    work: Callable[[], _Result],
    mailbox: str | None = None,
) -> _Result:
    """``work()``, recorded as a cycle of ``kind``: its result's ``str`` is the summary; an
    error is recorded and raised again unchanged."""
    started, began = clock(), time.monotonic()

    def finished() -> datetime:
        # The clock may be a test's; the duration is the wall's.
        return started + timedelta(seconds=time.monotonic() - began)

    try:
        result = work()
    except Exception as exc:
        _record_quietly(db, kind, started, finished(), error=f"{exc}" or repr(exc), mailbox=mailbox)
        raise
    _record_quietly(db, kind, started, finished(), summary=str(result), mailbox=mailbox)
    return result


class _StoreAndClock(Protocol):
    @property
    def db(self) -> Engine: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


class CycleOwner(Protocol):
    """What :func:`recorded` needs of the engine: its store and clock, as its operations."""

    @property
    def operations(self) -> _StoreAndClock: ...


_Owner = TypeVar("_Owner", bound=CycleOwner)
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


def recorded(
    kind: CycleKind,
) -> Callable[
    [Callable[Concatenate[_Owner, _Params], _Result]],
    Callable[Concatenate[_Owner, _Params], _Result],
]:
    """Record each call of the decorated engine method as a cycle of ``kind``; its result's
    ``str`` is the summary. An error is recorded and raised again unchanged."""

    def decorate(
        method: Callable[Concatenate[_Owner, _Params], _Result],
    ) -> Callable[Concatenate[_Owner, _Params], _Result]:
        @functools.wraps(method)
        def run(owner: _Owner, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
            operations = owner.operations
            return run_recorded(
                operations.db, operations.clock, kind, lambda: method(owner, *args, **kwargs)
            )

        return run

    return decorate


def _record_quietly(
    db: Engine,
    kind: CycleKind,
    started: datetime,
    finished: datetime,
    *,
    summary: str = "",
    error: str | None = None,
    mailbox: str | None = None,
) -> None:
    # A store that cannot take the record must not hide the cycle's own result or error;
    # `approvals status` then reports the store, or a stale last cycle.
    try:
        record_cycle(db, kind, started, finished, summary=summary, error=error, mailbox=mailbox)
    except StoreError as exc:
        log.error("%s cycle not recorded: %s", kind, exc)
