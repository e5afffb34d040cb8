"""Alembic's environment: runs the revisions on the connection approvals.store hands in.

approvals.store owns the transaction (and, on SQLite, switches foreign keys off
around it), so there is no URL, no engine and no logging set-up here.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from approvals import models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run the revisions with `approvals db upgrade --config PATH`")
# approvals.store runs a whole upgrade in one transaction, which SQLite honours for DDL too.
context.configure(connection=connection, target_metadata=SQLModel.metadata, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
