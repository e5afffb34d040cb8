"""A Graph mailbox's delta link outlives the engine: kept in the store, on SQLite and
PostgreSQL (the mailbox side is in tests/test_graph_reader.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from approvals.cursors import StoredCursors
from approvals.store import open_database
from tests.stores import postgres_url  # noqa: F401 - a fixture, found by name

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'approvals.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_cursor_is_kept_replaced_and_forgotten_across_engines(store_url: str) -> None:
    key = "graph delta https://graph.microsoft.com/v1.0/users/a@contoso.com INBOX"
    first = open_database(store_url)
    cursors = StoredCursors(first, lambda: NOW)
    assert cursors.load(key) is None
    cursors.save(key, "https://graph/delta?$deltatoken=1")
    cursors.save(key, "https://graph/delta?$deltatoken=2")
    cursors.save("another", "kept")
    first.dispose()

    second = open_database(store_url)
    again = StoredCursors(second, lambda: NOW)
    assert again.load(key) == "https://graph/delta?$deltatoken=2"
    again.save(key, None)
    assert (again.load(key), again.load("another")) == (None, "kept")
    second.dispose()
