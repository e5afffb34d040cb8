"""The store's schema revisions: old databases are refused, then upgraded with their rows;
new ones start at the code's revision; approvals/models.py never drifts from ``upgrade head``.

The tests with a ``store_url`` run on SQLite and on PostgreSQL (skipped with the reason
when it does not answer). The mail servers are the in-memory ones: nothing needs Dovecot.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from approvals.engine import ApprovalEngine
from approvals.errors import SchemaOutdated, StoreConflict, StoreError
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import InboxRecordRow, RequestRow
from approvals.store import (
    SchemaState,
    SchemaStatus,
    database_name,
    open_database,
    reading,
    schema_state,
    transaction,
    upgrade_database,
)
from mailio.inbound import memory as folders
from mailio.outbound import memory as outboxes
from scheduler.cli import main as cli
from tests.engine_setup import SECRET
from tests.stores import postgres_url  # noqa: F401  (fixture)

HEAD = "0008"

CONFIG = f"""
[store]
url = "{{url}}"

[tokens]
secret = "{SECRET}"

[outbound]
server = "mem"
from = "Approvals <approvals@example.test>"
reply_to = "approvals@example.test"
templates_dir = "{PACKAGED_TEMPLATES}"

[inbound]
server = "mem"

[servers.mem]
type = "memory"
"""

# What SQLModel.metadata.create_all made for approvals/models.py at 68c40ea, the schema
# of every database from before revisions (printed with CreateTable/CreateIndex).
OLD_SCHEMA = {
    "sqlite": """
CREATE TABLE approval_request (
    id VARCHAR NOT NULL, external_id VARCHAR, title VARCHAR NOT NULL, details JSON NOT NULL,
    theme VARCHAR, status VARCHAR NOT NULL, created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL, closed_at DATETIME, outcome_claimed_at DATETIME,
    outcome_delivered_at DATETIME,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_approval_request_external_id ON approval_request (external_id);
CREATE INDEX ix_approval_request_status ON approval_request (status);
CREATE TABLE inbox_record (
    id INTEGER NOT NULL, message_key VARCHAR NOT NULL, seen_at DATETIME NOT NULL,
    sender VARCHAR, subject VARCHAR NOT NULL, outcome VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, request_id VARCHAR, disposition VARCHAR NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (message_key)
);
CREATE INDEX ix_inbox_record_request_id ON inbox_record (request_id);
CREATE TABLE decision (
    id INTEGER NOT NULL, request_id VARCHAR NOT NULL, approver VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL, comment VARCHAR NOT NULL, decided_at DATETIME NOT NULL,
    message_id VARCHAR NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (request_id, approver),
    FOREIGN KEY(request_id) REFERENCES approval_request (id)
);
CREATE INDEX ix_decision_request_id ON decision (request_id);
CREATE TABLE notification (
    id INTEGER NOT NULL, request_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    approver VARCHAR NOT NULL, approver_name VARCHAR NOT NULL, message_id VARCHAR NOT NULL,
    mime BLOB NOT NULL, status VARCHAR NOT NULL, attempts INTEGER NOT NULL,
    last_error VARCHAR, server VARCHAR, created_at DATETIME NOT NULL,
    next_attempt_at DATETIME NOT NULL, claimed_until DATETIME, sent_at DATETIME,
    PRIMARY KEY (id),
    FOREIGN KEY(request_id) REFERENCES approval_request (id),
    UNIQUE (message_id)
);
CREATE INDEX ix_notification_approver ON notification (approver);
CREATE INDEX ix_notification_status ON notification (status);
CREATE INDEX ix_notification_request_id ON notification (request_id);
""",
    "postgresql": """
CREATE TABLE approval_request (
    id VARCHAR NOT NULL, external_id VARCHAR, title VARCHAR NOT NULL, details JSON NOT NULL,
    theme VARCHAR, status VARCHAR NOT NULL, created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, closed_at TIMESTAMP WITHOUT TIME ZONE,
    outcome_claimed_at TIMESTAMP WITHOUT TIME ZONE,
    outcome_delivered_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_approval_request_external_id ON approval_request (external_id);
CREATE INDEX ix_approval_request_status ON approval_request (status);
CREATE TABLE inbox_record (
    id SERIAL NOT NULL, message_key VARCHAR NOT NULL,
    seen_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, sender VARCHAR, subject VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL, reason VARCHAR NOT NULL, request_id VARCHAR,
    disposition VARCHAR NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (message_key)
);
CREATE INDEX ix_inbox_record_request_id ON inbox_record (request_id);
CREATE TABLE decision (
    id SERIAL NOT NULL, request_id VARCHAR NOT NULL, approver VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL, comment VARCHAR NOT NULL,
    decided_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, message_id VARCHAR NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (request_id, approver),
    FOREIGN KEY(request_id) REFERENCES approval_request (id)
);
CREATE INDEX ix_decision_request_id ON decision (request_id);
CREATE TABLE notification (
    id SERIAL NOT NULL, request_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    approver VARCHAR NOT NULL, approver_name VARCHAR NOT NULL, message_id VARCHAR NOT NULL,
    mime BYTEA NOT NULL, status VARCHAR NOT NULL, attempts INTEGER NOT NULL,
    last_error VARCHAR, server VARCHAR, created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    next_attempt_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    claimed_until TIMESTAMP WITHOUT TIME ZONE, sent_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (id),
    FOREIGN KEY(request_id) REFERENCES approval_request (id),
    UNIQUE (message_id)
);
CREATE INDEX ix_notification_approver ON notification (approver);
CREATE INDEX ix_notification_status ON notification (status);
CREATE INDEX ix_notification_request_id ON notification (request_id);
""",
}

CREATED = datetime(2026, 11, 20, 9, 0)
CLAIMED = datetime(2026, 11, 21, 10, 30, 15, 123456)
DELIVERED = datetime(2026, 11, 21, 10, 30, 16)

OLD_ROWS: dict[str, list[dict[str, Any]]] = {
    "approval_request": [
        {
            "id": "r1",
            "external_id": "PR-7",
            "title": "Deploy 4.2",
            "details": {"service": "billing"},
            "theme": "brand",
            "status": "approved",
            "created_at": CREATED,
            "expires_at": datetime(2026, 12, 4, 9, 0),
            "closed_at": CLAIMED,
            "outcome_claimed_at": CLAIMED,
            "outcome_delivered_at": DELIVERED,
        },
        {
            "id": "r2",
            "external_id": None,
            "title": "Open the firewall",
            "details": {},
            "theme": None,
            "status": "pending",
            "created_at": CREATED,
            "expires_at": datetime(2026, 12, 4, 9, 0),
            "closed_at": None,
            "outcome_claimed_at": None,
            "outcome_delivered_at": None,
        },
    ],
    "notification": [
        {
            "request_id": "r1",
            "kind": "approval",
            "approver": "alice@example.test",
            "approver_name": "Alice",
            "message_id": "n1@example.test",
            "mime": b"Subject: Deploy 4.2\r\n\r\nApprove?\r\n",
            "status": "sent",
            "attempts": 1,
            "last_error": None,
            "server": "mem",
            "created_at": CREATED,
            "next_attempt_at": CREATED,
            "claimed_until": None,
            "sent_at": CREATED,
        }
    ],
    "decision": [
        {
            "request_id": "r1",
            "approver": "alice@example.test",
            "verdict": "approve",
            "comment": "fine by me",
            "decided_at": CLAIMED,
            "message_id": "reply1@example.test",
        }
    ],
    "inbox_record": [
        {
            "message_key": "reply1@example.test",
            "seen_at": CLAIMED,
            "sender": "alice@example.test",
            "subject": "Re: Deploy 4.2",
            "outcome": "decided",
            "reason": "approve by alice@example.test",
            "request_id": "r1",
            "disposition": "delete",
        }
    ],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'approvals.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Iterator[Path]:
    outboxes.reset()
    folders.reset()
    path = tmp_path / "approvals.toml"
    path.write_text(CONFIG.format(url=store_url))
    yield path
    outboxes.reset()
    folders.reset()


def _plain_engine(url: str) -> Engine:
    """An engine that neither checks nor creates the schema."""
    return create_engine(url)


def _make_old_database(url: str) -> None:
    """A database as the code before revisions left it, with a row in every table."""
    engine = _plain_engine(url)
    try:
        with engine.begin() as connection:
            for statement in OLD_SCHEMA[engine.dialect.name].split(";"):
                if statement.strip():
                    connection.exec_driver_sql(statement)
            tables = MetaData()
            tables.reflect(connection)
            for name, rows in OLD_ROWS.items():  # parents first
                connection.execute(tables.tables[name].insert(), rows)
    finally:
        engine.dispose()


def _rows(url: str, table: str) -> list[dict[str, Any]]:
    engine = _plain_engine(url)
    try:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection, only=[table])
            found = tables.tables[table]
            result = connection.execute(found.select().order_by(found.c.id))
            return [dict(row) for row in result.mappings()]
    finally:
        engine.dispose()


def _differences(url: str) -> list[Any]:
    """What autogenerate would write to bring the database to approvals/models.py."""
    engine = _plain_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))
    finally:
        engine.dispose()


def _set_revision(url: str, revision: str) -> None:
    engine = _plain_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_a_database_from_before_revisions_is_refused_naming_the_command(
    config: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _make_old_database(store_url)

    with pytest.raises(SchemaOutdated) as refused:
        ApprovalEngine.from_config(config)

    message = str(refused.value)
    assert f"schema revision 0001 (made before revisions), the code at {HEAD}" in message
    assert "approvals db upgrade --config" in message

    assert f"approvals db upgrade --config {config}" in message  # the engine knows its file

    for command in ("poll", "check-config"):  # the CLI says the same, in one line
        assert cli([command, "--config", str(config)]) != 0
        err = capsys.readouterr().err
        assert err.startswith("error: the store ") and "approvals db upgrade --config" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_upgrade_keeps_every_row_under_the_new_names(
    config: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _make_old_database(store_url)

    assert cli(["db", "upgrade", "--config", str(config)]) == 0

    assert f"0001 (made before revisions) -> {HEAD}" in capsys.readouterr().out
    requests = _rows(store_url, "approval_request")
    # 0002 dropped the theme nobody read; 0003 brings the column back for later mails.
    assert requests[0]["theme"] is None and "outcome_claimed_at" not in requests[0]
    assert [(r["due_at"], r["stages"], r["current_stage"]) for r in requests] == [
        (r["expires_at"], None, 0) for r in requests
    ]
    assert [(r["callback_claimed_at"], r["callback_delivered_at"]) for r in requests] == [
        (CLAIMED, DELIVERED),
        (None, None),
    ]
    assert [r["details"] for r in requests] == [{"service": "billing"}, {}]
    records = _rows(store_url, "inbox_record")
    assert [(r["status"], r["message_key"]) for r in records] == [
        ("decided", "reply1@example.test")
    ]
    assert _rows(store_url, "notification")[0]["mime"] == OLD_ROWS["notification"][0]["mime"]
    [decision] = _rows(store_url, "decision")
    assert decision["comment"] == "fine by me"
    assert (decision["seat"], decision["stage"]) == (decision["approver"], 0)
    [notification] = _rows(store_url, "notification")
    assert (notification["seat"], notification["via"]) == ("alice@example.test", "")
    assert _differences(store_url) == []


def test_a_failed_upgrade_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    _make_old_database(url)
    engine = _plain_engine(url)
    with engine.begin() as connection:  # a row pointing nowhere: the upgrade's last check fails
        connection.exec_driver_sql(
            "INSERT INTO decision (request_id, approver, verdict, comment, decided_at, "
            "message_id) VALUES ('gone', 'a@example.test', 'approve', '', '2026-11-20', 'm')"
        )
    engine.dispose()

    store = open_database(url, create=False)
    try:
        with pytest.raises(
            StoreError, match="a row of decision points at a missing approval_request row"
        ):
            upgrade_database(store)
        state = schema_state(store)
    finally:
        store.dispose()

    assert (state.revision, state.unversioned) == ("0001", True)
    assert "theme" in _rows(url, "approval_request")[0]


def test_an_upgraded_database_serves_the_engine(config: Path, store_url: str) -> None:
    _make_old_database(store_url)
    assert cli(["db", "upgrade", "--config", str(config)]) == 0

    engine = ApprovalEngine.from_config(config)
    try:
        old = engine.find(external_id="PR-7")
        new = engine.request_approval("Rotate keys", ["bob@example.test"], external_id="PR-8")
        report = engine.dispatch_pending()
    finally:
        engine.close()

    assert old is not None and old.status == "approved"
    assert old.closed_at == CLAIMED.replace(tzinfo=UTC)
    assert [d.comment for d in old.decisions] == ["fine by me"]
    assert new.status == "pending" and report.sent == 1
    assert _rows(store_url, "notification")[-1]["id"] == 2  # the sequence went on from 1


def test_a_new_database_starts_at_the_code_revision(config: Path, store_url: str) -> None:
    ApprovalEngine.from_config(config).close()

    engine = open_database(store_url, create=False)
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    assert (state.revision, state.status) == (HEAD, SchemaStatus.CURRENT)
    assert _differences(store_url) == []


def test_models_and_upgrade_head_agree(store_url: str) -> None:
    """A change to approvals/models.py without a revision in approvals/migrations fails here."""
    engine = open_database(store_url)  # an empty database: upgrade head
    engine.dispose()

    assert _differences(store_url) == []


def test_db_status_exits_1_until_the_upgrade(
    config: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["db", "status", "--config", str(config)]) == 0  # nothing there yet
    assert f"empty: the engine creates the tables at {HEAD}" in capsys.readouterr().out
    assert not (tmp_path / "approvals.db").exists()  # status creates nothing

    _make_old_database(store_url)
    assert cli(["db", "status", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "database  0001 (made before revisions)" in out and f"code      {HEAD}" in out
    assert f"behind: the store {_masked(store_url)} is at schema revision 0001" in out
    assert f"run `approvals db upgrade --config {config}`" in out

    assert cli(["db", "upgrade", "--config", str(config)]) == 0
    assert cli(["db", "status", "--config", str(config)]) == 0
    assert "current: no upgrade needed" in capsys.readouterr().out
    assert cli(["db", "upgrade", "--config", str(config)]) == 0
    assert f"at {HEAD} already, nothing to do" in capsys.readouterr().out


def test_a_database_ahead_of_the_code_is_refused(
    config: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ApprovalEngine.from_config(config).close()
    _set_revision(store_url, "0099")

    with pytest.raises(
        SchemaOutdated, match=f"revision 0099, which this code .at {HEAD}. does not"
    ):
        ApprovalEngine.from_config(config)
    assert cli(["db", "status", "--config", str(config)]) == 1
    assert "ahead: " in capsys.readouterr().out
    assert cli(["db", "upgrade", "--config", str(config)]) == 1
    assert "newer code upgraded it" in capsys.readouterr().err


def test_a_refusal_masks_the_password_and_names_the_command() -> None:
    engine = create_engine("postgresql+psycopg://app:hunter2@db.example.test/approvals")
    state = SchemaState(database_name(engine), "0001", HEAD, SchemaStatus.BEHIND, True)
    engine.dispose()

    assert state.refusal() == (
        "the store postgresql+psycopg://app:********@db.example.test/approvals is at schema "
        f"revision 0001 (made before revisions), the code at {HEAD}: back the database up, "
        "then run `approvals db upgrade --config <your config>`"
    )
    assert "--config /etc/approvals.toml`" in state.refusal(Path("/etc/approvals.toml"))


# The error boundary: SQLAlchemy's errors leave approvals.store as ours.


def test_a_unique_key_conflict_leaves_a_transaction_as_store_conflict(store_url: str) -> None:
    engine = open_database(store_url)
    now = datetime.now(UTC)
    try:
        with transaction(engine) as session:
            session.add(
                RequestRow(
                    id="a", external_id="X-1", title="t", created_at=now, due_at=now, expires_at=now
                )
            )
        with pytest.raises(StoreConflict) as conflict, transaction(engine) as session:
            session.add(
                RequestRow(
                    id="b", external_id="X-1", title="t", created_at=now, due_at=now, expires_at=now
                )
            )
    finally:
        engine.dispose()

    assert isinstance(conflict.value.__cause__, IntegrityError)
    assert "refused a write (a constraint): " in str(conflict.value)
    assert "INSERT" not in str(conflict.value)  # the statement and its values stay out


def test_a_savepoint_inside_a_transaction_still_raises_integrity_error(store_url: str) -> None:
    engine = open_database(store_url)
    now = datetime.now(UTC)

    def record(key: str) -> InboxRecordRow:
        return InboxRecordRow(
            message_key=key, seen_at=now, status="ignored", reason="r", disposition="delete"
        )

    try:
        with transaction(engine) as session:
            session.add(record("k1"))
            session.flush()
            with pytest.raises(IntegrityError), session.begin_nested():
                session.add(record("k1"))
            session.add(record("k2"))
        with reading(engine) as session:
            keys = [record.message_key for record in session.exec(select(InboxRecordRow))]
    finally:
        engine.dispose()

    assert sorted(keys) == ["k1", "k2"]


def test_reading_keeps_no_write(store_url: str) -> None:
    engine = open_database(store_url)
    now = datetime.now(UTC)

    def write() -> None:
        with reading(engine) as session:
            session.add(RequestRow(id="a", title="t", created_at=now, due_at=now, expires_at=now))
            session.flush()

    try:
        if engine.dialect.name == "postgresql":  # a read-only transaction
            with pytest.raises(StoreError, match="cannot execute INSERT in a read-only"):
                write()
        else:  # a deferred one, rolled back at the end
            write()
        with reading(engine) as session:
            assert session.get(RequestRow, "a") is None
    finally:
        engine.dispose()


def _masked(url: str) -> str:
    engine = create_engine(url)
    try:
        return database_name(engine)
    finally:
        engine.dispose()
