"""Database set-up: one SQLAlchemy engine per ApprovalEngine, SQLite or PostgreSQL.

SQLite is the embedded default. Its write transactions start with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of one
failing half-way when it upgrades from reading to writing. PostgreSQL is the
store for several engine instances; there the request row is locked with
``SELECT … FOR UPDATE`` while its decisions are counted, so two replies for
the same request arriving at two instances are evaluated one after the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

from approvals import models  # noqa: F401  (registers the tables)
from mailio.errors import ConfigError


def open_database(url: str, *, base_dir: Path | None = None, create: bool = True) -> Engine:
    """Create the engine for ``url`` and (``create``) the tables if they do not exist."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with no hint of the key
        raise ConfigError(f"[store] url: not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).is_absolute() and base_dir:
            parsed = parsed.set(database=str(base_dir / database))
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        _use_immediate_transactions(engine)
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True)
    else:
        raise ConfigError(
            f'[store] url: unsupported database "{parsed.get_backend_name()}"; '
            'use "sqlite:///approvals.db" or "postgresql://user@host/db"'
        )
    if create:
        SQLModel.metadata.create_all(engine)
    return engine


def _use_immediate_transactions(engine: Engine) -> None:
    # pysqlite's own transaction handling would issue a deferred BEGIN; take it over.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Yield whether this instance may do ``name`` now; on PostgreSQL one instance at a time.

    Several engine instances polling one folder at once would be correct (the
    records make replays harmless) but would fetch and parse the same batch
    twice. A PostgreSQL advisory lock, held on its own connection for the
    duration, lets the others skip the cycle. SQLite is one instance by design.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        key = text("SELECT hashtextextended(:name, 0)")
        lock_id = connection.execute(key, {"name": name}).scalar_one()
        acquired = connection.execute(
            text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}
        ).scalar_one()
        connection.commit()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                connection.commit()
