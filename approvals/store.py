"""Database set-up: one SQLAlchemy engine per ApprovalEngine, SQLite or PostgreSQL.

SQLite is the embedded default. Its write transactions start with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of one
failing half-way when it upgrades from reading to writing. PostgreSQL is the
store for several engine instances; there the request row is locked with
``SELECT … FOR UPDATE`` while its decisions are counted, so two replies for
the same request arriving at two instances are evaluated one after the other.

The schema is versioned by the Alembic revisions in approvals/migrations/. A
database without tables is created at the code's revision; one at another
revision is refused until ``approvals db upgrade`` has run, so that changing a
schema is a step an operator takes (after a backup), never a side effect of
starting the engine. SQLAlchemy's errors become :class:`StoreError` here, at
``transaction`` and ``reading``, and nowhere else.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from approvals import models  # noqa: F401  (registers the tables)
from approvals.errors import SchemaOutdated, StoreConflict, StoreError
from mailio.errors import ConfigError
from mailio.loading import mask_url_password

MIGRATIONS = Path(__file__).with_name("migrations")
# A database with the tables but no alembic_version table was made before revisions.
UNVERSIONED_REVISION = "0001"
_VERSION_TABLE = "alembic_version"  # Alembic's default name
# Execution option of the connections `reading` uses: a read-only transaction, which on
# SQLite is a deferred BEGIN (no write lock) and on PostgreSQL SET TRANSACTION READ ONLY.
_READ_ONLY = "approvals_read_only"


def open_database(
    url: str,
    *,
    base_dir: Path | None = None,
    create: bool = True,
    config_path: Path | str | None = None,
) -> Engine:
    """The engine for ``url``; with ``create``, a store ready to use.

    With ``create``, a database without tables is created at the code's schema
    revision and one at another revision is refused with :class:`SchemaOutdated`,
    whose message names the command that upgrades it (with ``config_path`` in it
    when given). Without ``create`` nothing is connected to, read or created.
    """
    engine = _new_engine(url, base_dir)
    if not create:
        return engine
    try:
        state = schema_state(engine)
        if state.status is SchemaStatus.EMPTY:
            state = _change_schema(engine, upgrade=False)[1]
        if state.status is not SchemaStatus.CURRENT:
            raise SchemaOutdated(state.refusal(config_path))
    except BaseException:
        engine.dispose()
        raise
    return engine


def _new_engine(url: str, base_dir: Path | None) -> Engine:
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
        _use_read_only_transactions(engine)
    else:
        raise ConfigError(
            f'[store] url: unsupported database "{parsed.get_backend_name()}"; '
            'use "sqlite:///approvals.db" or "postgresql://user@host/db"'
        )
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
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _use_read_only_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY, False):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error.

    SQLAlchemy errors that leave the block, the commit's included, arrive as
    :class:`StoreConflict` (a unique key or another constraint) or :class:`StoreError`. Inside
    the block a savepoint (``session.begin_nested()``) still raises SQLAlchemy's
    own ``IntegrityError``, for the code that recovers from it there.
    """
    with (
        _store_errors(engine),
        Session(engine, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for queries: one read-only snapshot, rolled back at the end.

    On SQLite it takes no write lock, so readers never queue behind writers.
    Errors arrive as in :func:`transaction`.
    """
    with _store_errors(engine), Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options={_READ_ONLY: True})
        yield session


@contextmanager
def _store_errors(engine: Engine) -> Iterator[None]:
    """SQLAlchemy's errors as ours: the store and the first line of the cause, never the
    statement or its parameters (they hold tokens and whole messages)."""
    try:
        yield
    except IntegrityError as exc:
        raise StoreConflict(
            f"the store {database_name(engine)} refused a write (a constraint): {_first_line(exc)}"
        ) from exc
    except SQLAlchemyError as exc:
        raise StoreError(
            f"the store {database_name(engine)} cannot be used: {_first_line(exc)}"
        ) from exc


def _first_line(exc: SQLAlchemyError) -> str:
    cause = str(getattr(exc, "orig", None) or exc).strip()
    return mask_url_password(cause.splitlines()[0] if cause else type(exc).__name__)


def database_name(engine: Engine) -> str:
    """The database's URL with its password masked, to name it in messages."""
    return mask_url_password(engine.url.render_as_string(hide_password=False))


def upgrade_command(config_path: Path | str | None = None) -> str:
    """The command that upgrades the store of the config at ``config_path``."""
    config = shlex.quote(str(config_path)) if config_path else "<your config>"
    return f"approvals db upgrade --config {config}"


class SchemaStatus(StrEnum):
    EMPTY = "empty"  # no tables: opening it creates them at the code's revision
    CURRENT = "current"  # at the code's revision
    BEHIND = "behind"  # `approvals db upgrade` brings it to the code's revision
    AHEAD = "ahead"  # upgraded by newer code: this code does not know its revision


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against the code's schema revisions."""

    database: str  # its URL, password masked
    revision: str | None  # None when it has no tables
    head: str  # the code's revision
    status: SchemaStatus
    unversioned: bool = False  # tables made before revisions, counted as UNVERSIONED_REVISION

    @property
    def revision_text(self) -> str:
        if self.revision is None:
            return "none (no tables yet)"
        return f"{self.revision} (made before revisions)" if self.unversioned else self.revision

    def refusal(self, config_path: Path | str | None = None) -> str:
        """Why an engine cannot use this database, and what to do; one line."""
        if self.status is SchemaStatus.AHEAD:
            return (
                f"the store {self.database} is at schema revision {self.revision}, which this "
                f"code (at {self.head}) does not know: newer code upgraded it; run that "
                "version, or restore the backup taken before the upgrade"
            )
        return (
            f"the store {self.database} is at schema revision {self.revision_text}, the code "
            f"at {self.head}: back the database up, then run `{upgrade_command(config_path)}`"
        )


def schema_state(engine: Engine) -> SchemaState:
    """Read where ``engine``'s database stands; creates nothing, not even an SQLite file."""
    if _missing_sqlite_file(engine):
        return SchemaState(database_name(engine), None, _head(), SchemaStatus.EMPTY)
    with _store_errors(engine), engine.connect() as connection:
        connection.execution_options(**{_READ_ONLY: True})
        with connection.begin():
            return _read_state(engine, connection)


def upgrade_database(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Bring the database to the code's revision; return where it stood before and after.

    A database made before revisions is stamped UNVERSIONED_REVISION first; one without
    tables is created at the code's revision. A database ahead of the code is refused
    with :class:`SchemaOutdated`. The whole upgrade is one transaction.
    """
    return _change_schema(engine, upgrade=True)


def _change_schema(engine: Engine, *, upgrade: bool) -> tuple[SchemaState, SchemaState]:
    """Create an empty database at the code's revision, and (``upgrade``) upgrade one
    behind it, reading the state again under the lock (another instance may be first)."""
    with _store_errors(engine), _schema_transaction(engine) as connection:
        before = _read_state(engine, connection)
        if before.status is SchemaStatus.AHEAD:
            raise SchemaOutdated(before.refusal())
        if before.status is SchemaStatus.EMPTY or (
            upgrade and before.status is SchemaStatus.BEHIND
        ):
            config = _alembic_config(connection)
            if before.unversioned:
                command.stamp(config, UNVERSIONED_REVISION)
            command.upgrade(config, "head")
        after = _read_state(engine, connection)
    return before, after


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a whole schema change, one changer at a time."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite alters a table by copying it and dropping the original, which foreign
            # keys refuse while rows point at it. The pragma is ignored inside a transaction,
            # so it goes to the driver before the BEGIN; foreign_key_check runs at the end.
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():  # BEGIN IMMEDIATE on SQLite: the write lock
                if not sqlite:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                        {"name": "approvals schema"},
                    )
                yield connection
                orphan = sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if orphan:
                    raise StoreError(
                        f"the store {database_name(engine)}: a row of {orphan[0]} points at a "
                        f"missing {orphan[2]} row (PRAGMA foreign_key_check); nothing was changed"
                    )
        finally:
            if sqlite:
                _driver_execute(connection, "PRAGMA foreign_keys=ON")


def _driver_execute(connection: Connection, statement: str) -> None:
    """Run ``statement`` outside SQLAlchemy's transaction (which would BEGIN first)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _read_state(engine: Engine, connection: Connection) -> SchemaState:
    # Read directly: Alembic's MigrationContext logs two INFO lines each time it is made.
    tables = set(inspect(connection).get_table_names())
    revision: str | None = None
    if _VERSION_TABLE in tables:  # one row: the revisions have no branches
        revision = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()
    unversioned = revision is None and bool(tables & set(SQLModel.metadata.tables))
    if unversioned:
        revision = UNVERSIONED_REVISION
    head = _head()
    if revision is None:
        status = SchemaStatus.EMPTY
    elif revision == head:
        status = SchemaStatus.CURRENT
    elif revision in _known_revisions():
        status = SchemaStatus.BEHIND
    else:
        status = SchemaStatus.AHEAD
    return SchemaState(database_name(engine), revision, head, status, unversioned)


def _missing_sqlite_file(engine: Engine) -> bool:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return bool(database) and database != ":memory:" and not Path(str(database)).exists()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection  # read by migrations/env.py
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def _head() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise StoreError(f"no schema revisions in {MIGRATIONS}: the installation is incomplete")
    return head


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


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
    with _store_errors(engine):
        connection = engine.connect()
    acquired = False
    try:
        with _store_errors(engine):
            key = text("SELECT hashtextextended(:name, 0)")
            lock_id = connection.execute(key, {"name": name}).scalar_one()
            acquired = connection.execute(
                text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}
            ).scalar_one()
            connection.commit()
        yield bool(acquired)
    finally:
        with _store_errors(engine):
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                connection.commit()
            connection.close()
