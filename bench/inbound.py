"""Inbound throughput: the engine's poll cycle against the raw IMAP floor, same run.

Fills a real Dovecot reply folder with N realistic replies (top-posted
"Approved …" above the quoted notification, each to its own request), then:

  (a) raw floor: imapclient, batched UID FETCH BODY.PEEK[] of 500 messages,
      then one STORE \\Deleted + UID EXPUNGE per batch; no parsing, no database;
  (b) engine: ``process_replies`` with max_messages = 500 until the folder is
      empty: parse, verify token and sender, read the verdict, commit decision
      and record in the store, delete.

The same messages are appended before each phase. Prints both rates and the
ratio (engine / raw) for each store asked for: SQLite in a temp folder, and/or
PostgreSQL at 127.0.0.1:5432 in a throwaway schema of database ``bench_inbound``.
Usage: python bench/inbound.py [-n 5000] [--store sqlite|postgresql|both] [--mail-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from approvals.engine import ApprovalEngine  # noqa: E402
from approvals.replies import parse_reply  # noqa: E402
from mailio.devservers.approver import compose_reply  # noqa: E402
from mailio.devservers.stack import MailStack, local_mail_stack  # noqa: E402
from tests.engine_setup import engine_settings  # noqa: E402
from tests.stores import POSTGRES  # noqa: E402

BATCH = 500
APPROVAL_TEXTS = ["Approved, ship it", "Approve", "LGTM, go ahead", "Reject: wrong version"]
STORES = ("sqlite", "postgresql")
BENCH_DATABASE = "bench_inbound"  # on the tests' server (tests/stores.py)


@dataclass(frozen=True)
class Drain:
    """One store's run: the raw floor and the engine, on the same messages."""

    store: str
    count: int
    raw_seconds: float
    fetched: int
    decided: int
    engine_seconds: float

    @property
    def ratio(self) -> float:
        return (self.fetched / self.engine_seconds) / (self.count / self.raw_seconds)


def build_replies(engine: ApprovalEngine, count: int) -> list[bytes]:
    from email import message_from_bytes, policy

    for i in range(count):
        engine.request_approval(
            f"Deploy build {i}",
            [f"approver{i}@example.test"],
            details={"pipeline": "web", "build": str(i)},
        )
    entries = sorted(engine.outbox(limit=count), key=lambda entry: entry.id)
    replies = []
    for i, entry in enumerate(entries):
        mime = engine.notification_message(entry.id)
        original = message_from_bytes(mime, policy=policy.default)
        text = APPROVAL_TEXTS[i % len(APPROVAL_TEXTS)] + "\n\nRegards,\nApprover " + str(i)
        replies.append(compose_reply(original, entry.approver, text).as_bytes())  # type: ignore[arg-type]
    return replies


def fill(host: str, port: int, user: str, password: str, replies: list[bytes]) -> None:
    with IMAPClient(host, port=port, ssl=False) as client:
        client.login(user, password)
        for raw in replies:
            client.append("INBOX", raw)


def raw_floor(host: str, port: int, user: str, password: str) -> int:
    drained = 0
    with IMAPClient(host, port=port, ssl=False) as client:
        client.login(user, password)
        client.select_folder("INBOX")
        while True:
            uids = sorted(client.search("ALL"))[:BATCH]
            if not uids:
                return drained
            fetched = client.fetch(uids, [b"BODY.PEEK[]"])
            drained += sum(1 for uid in uids if fetched[uid][b"BODY[]"])
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            client.uid_expunge(uids)


@contextmanager
def store_url(store: str, folder: Path) -> Iterator[str]:
    """A URL to an empty store: an SQLite file, or a PostgreSQL schema dropped afterwards.

    The schema is made in a database of its own (made if missing), not in ``test``: the
    engine's poll lock is a PostgreSQL advisory lock, which is per database, and the
    tests running beside the bench take the same lock name ("poll imap INBOX").
    """
    if store == "sqlite":
        yield f"sqlite:///{folder}/bench.db"
        return
    server = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": BENCH_DATABASE}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    finally:
        server.dispose()
    database = POSTGRES.rsplit("/", 1)[0] + "/" + BENCH_DATABASE
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{database}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def drain(stack: MailStack, store: str, url: str, count: int) -> tuple[Drain, list[bytes]]:
    engine_address = "approvals@example.test"
    settings = engine_settings(stack, url, engine_address, max_messages=BATCH)
    engine = ApprovalEngine(settings)
    started = time.perf_counter()
    replies = build_replies(engine, count)
    print(f"[{store}] prepared {len(replies)} replies in {time.perf_counter() - started:.1f} s")
    login = (stack.host, stack.imap_port, engine_address, stack.password)

    fill(*login, replies)
    started = time.perf_counter()
    raw_count = raw_floor(*login)
    raw_seconds = time.perf_counter() - started

    fill(*login, replies)
    started = time.perf_counter()
    decided = fetched = 0
    while True:
        report = engine.process_replies()
        if report.problems:  # a drain that stops early would measure nothing
            raise SystemExit(f"[{store}] the poll cycle failed: {'; '.join(report.problems)}")
        if not report.fetched:
            break
        fetched += report.fetched
        decided += report.decided
    engine_seconds = time.perf_counter() - started
    engine.close()
    return Drain(store, raw_count, raw_seconds, fetched, decided, engine_seconds), replies


def report(result: Drain) -> None:
    raw_rate = result.count / result.raw_seconds
    engine_rate = result.fetched / result.engine_seconds
    print(
        f"[{result.store}] raw imapclient fetch+expunge : {result.count} msgs in "
        f"{result.raw_seconds:.2f} s = {raw_rate:,.0f} msg/s"
    )
    print(
        f"[{result.store}] engine process_replies       : {result.fetched} msgs in "
        f"{result.engine_seconds:.2f} s = {engine_rate:,.0f} msg/s ({result.decided} decided)"
    )
    print(f"[{result.store}] ratio engine/raw             : {result.ratio:.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="replies (default 5000)")
    parser.add_argument(
        "--store",
        choices=(*STORES, "both"),
        default="sqlite",
        help="the engine's store (default sqlite); both: one after the other, same Dovecot",
    )
    parser.add_argument(
        "--mail-dir",
        help="where Dovecot keeps the folder (default: the temp folder). The floor and the "
        "engine both wait on its EXPUNGE, which on a busy disk varies tenfold; /dev/shm "
        "takes the disk out of both (SQLite stays on disk)",
    )
    args = parser.parse_args()
    stores = STORES if args.store == "both" else (args.store,)
    results: list[Drain] = []
    replies: list[bytes] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-inbound-") as folder,
        tempfile.TemporaryDirectory(prefix="bench-inbound-", dir=args.mail_dir) as mail,
        local_mail_stack(Path(mail) / "servers") as stack,
    ):
        for store in stores:
            with store_url(store, Path(folder)) as url:
                result, replies = drain(stack, store, url, args.n)
            report(result)
            results.append(result)
    started = time.perf_counter()
    for raw in replies:
        parse_reply(raw)
    parse_ms = (time.perf_counter() - started) / len(replies) * 1000
    for result in results:
        print(
            f"[{result.store}] ms/msg: engine {result.engine_seconds / result.fetched * 1000:.2f},"
            f" raw floor {result.raw_seconds / result.count * 1000:.2f}, of which parse_reply "
            f"{parse_ms:.2f} (the rest is the database and the engine's IMAP work)"
        )
    print("ratios engine/raw: " + ", ".join(f"{r.store} {r.ratio:.1%}" for r in results))
    complete = all(r.fetched == r.count == args.n and r.decided == args.n for r in results)
    return 0 if complete else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
