"""Inbound throughput: the engine's poll cycle against the raw IMAP floor, same run.

Fills a real Dovecot reply folder with N realistic replies (top-posted
"Approved …" above the quoted notification, each to its own request), then:

  (a) raw floor: imapclient, batched UID FETCH BODY.PEEK[] of 500 messages,
      then one STORE \\Deleted + UID EXPUNGE per batch; no parsing, no database;
  (b) engine: ``process_replies`` with max_messages = 500 until the folder is
      empty: parse, verify token and sender, read the verdict, commit decision
      and record in SQLite, delete.

The same messages are appended before each phase. Prints both rates and the
ratio (engine / raw). Usage: python bench/inbound.py [-n 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from approvals.engine import ApprovalEngine  # noqa: E402
from approvals.replies import parse_reply  # noqa: E402
from mailio.devservers.approver import compose_reply  # noqa: E402
from mailio.devservers.stack import local_mail_stack  # noqa: E402
from tests.engine_setup import engine_settings  # noqa: E402

BATCH = 500
APPROVAL_TEXTS = ["Approved, ship it", "Approve", "LGTM, go ahead", "Reject: wrong version"]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="replies (default 5000)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-inbound-") as folder,
        local_mail_stack(Path(folder) / "servers") as stack,
    ):
        engine_address = "approvals@example.test"
        settings = engine_settings(
            stack, f"sqlite:///{folder}/bench.db", engine_address, max_messages=BATCH
        )
        engine = ApprovalEngine(settings)
        started = time.perf_counter()
        replies = build_replies(engine, args.n)
        print(f"prepared {len(replies)} replies in {time.perf_counter() - started:.1f} s")
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
            if not report.fetched:
                break
            fetched += report.fetched
            decided += report.decided
        engine_seconds = time.perf_counter() - started
        engine.close()
        started = time.perf_counter()
        for raw in replies:
            parse_reply(raw)
        parse_seconds = time.perf_counter() - started

    raw_rate = raw_count / raw_seconds
    engine_rate = fetched / engine_seconds
    print(
        f"raw imapclient fetch+expunge : {raw_count} msgs in {raw_seconds:.2f} s "
        f"= {raw_rate:,.0f} msg/s"
    )
    print(
        f"engine process_replies       : {fetched} msgs in {engine_seconds:.2f} s "
        f"= {engine_rate:,.0f} msg/s ({decided} decided)"
    )
    print(f"ratio engine/raw             : {engine_rate / raw_rate:.1%}")
    print(
        f"  of which parse_reply       : {parse_seconds / fetched * 1000:.2f} ms/msg "
        f"(raw floor: {raw_seconds / raw_count * 1000:.2f} ms/msg; the rest is the database)"
    )
    return 0 if fetched == raw_count == args.n and decided == args.n else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
