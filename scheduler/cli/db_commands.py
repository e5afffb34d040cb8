"""``approvals db status`` and ``approvals db upgrade``: the store's schema revision."""

from __future__ import annotations

import argparse
from typing import Any

from approvals.settings import EngineSettings
from approvals.store import SchemaStatus, open_database, schema_state, upgrade_database


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser("db", help="the store's schema: status, upgrade")
    actions = db.add_subparsers(dest="db_command", required=True)
    status = actions.add_parser(
        "status",
        parents=[common],
        help="the store's schema revision and the code's; exit 1 when they differ",
        description="Print the schema revision of the database in [store] url, the code's "
        "revision and whether `approvals db upgrade` is needed. Exit status 0 when the "
        "database is current (or has no tables yet), 1 when it is behind or ahead.",
        epilog="example: approvals db status --config /etc/approvals/approvals.toml",
    )
    upgrade = actions.add_parser(
        "upgrade",
        parents=[common],
        help="bring the store's schema to the code's revision",
        description="Upgrade the database in [store] url to the code's schema revision, in "
        "one transaction; a database made before revisions is taken as 0001. Back the "
        "database up first. Only the database is used: mail servers need not answer.",
        epilog="example: approvals db upgrade --config /etc/approvals/approvals.toml",
    )
    status.set_defaults(run=_run_db)
    upgrade.set_defaults(run=_run_db)


def _run_db(args: argparse.Namespace) -> int:
    settings = EngineSettings.load(args.config)
    db = open_database(settings.store.url, base_dir=settings.base_dir, create=False)
    try:
        if args.db_command == "upgrade":
            before, after = upgrade_database(db)
            if before.revision == after.revision:
                print(f"{after.database}: at {after.revision} already, nothing to do")
            else:
                print(f"{after.database}: {before.revision_text} -> {after.revision}")
            return 0
        state = schema_state(db)
        print(f"store     {state.database}")
        print(f"database  {state.revision_text}")
        print(f"code      {state.head}")
        if state.status is SchemaStatus.CURRENT:
            print("current: no upgrade needed")
        elif state.status is SchemaStatus.EMPTY:
            print(f"empty: the engine creates the tables at {state.head} when it first opens it")
        else:
            print(f"{state.status}: {state.refusal(args.config)}")
            return 1
        return 0
    finally:
        db.dispose()
