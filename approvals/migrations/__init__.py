"""Alembic revisions of the store's schema, run by ``approvals db upgrade``.

Configured from code (approvals.store), so an installed wheel upgrades without an
alembic.ini. A change to approvals/models.py comes with a revision in versions/,
written by hand: ``revision = "0003"``, ``down_revision = "0002"``, a docstring
saying what and why, and ``op.batch_alter_table`` for anything that alters a
table (SQLite can only rename or add columns in place). tests/test_migrations.py
fails while the models and ``upgrade head`` disagree.
"""
