"""IMAP poll cycles: does a cycle's cost grow with the folder? Same run, same folder.

A Dovecot reply folder holds N messages (1,000 and 10,000); each cycle reads the
oldest ``max_messages = 30`` and deletes them (the engine's IMAP work, without
parsing or database). Three ways, C cycles each, the folder topped up to N after each:

  before: a fresh ImapMailbox per cycle (login, SELECT, full search, logout), as the
          engine did before it kept its mailbox;
  after:  one ImapMailbox kept across cycles (one session, incremental UID search);
  floor:  raw imapclient on one selected connection: FETCH of sequence numbers 1:30
          (UID, BODY.PEEK[]), STORE \\Deleted, UID EXPUNGE; nothing else.

Prints ms/message for each and the ratios. Usage: python bench/imap_cycles.py [-c 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailio.config import ImapServer  # noqa: E402
from mailio.devservers.stack import MailStack, local_mail_stack  # noqa: E402
from mailio.inbound.imap import ImapMailbox  # noqa: E402

BATCH = 30
SIZES = (1_000, 10_000)
REPLY = (
    b"From: Alice <alice@example.test>\r\nTo: approvals+tok@example.test\r\n"
    b"Subject: Re: Approval requested\r\nMessage-ID: <%d@example.test>\r\n\r\n"
    b"Approved, ship it\r\n\r\n" + b"> To approve, reply with APPROVE\r\n" * 40
)


def top_up(client: IMAPClient, size: int, serial: list[int]) -> None:
    """Append messages until the INBOX holds ``size``."""
    missing = size - int(client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"])
    for _ in range(max(missing, 0)):
        serial[0] += 1
        client.append("INBOX", REPLY % serial[0])


def before(server: ImapServer, cycles: int) -> int:
    read = 0
    for _ in range(cycles):
        with ImapMailbox(server, "INBOX") as box:
            batch = box.fetch_batch(BATCH)
            box.delete([message.key for message in batch])
        read += len(batch)
    return read


def after(server: ImapServer, cycles: int) -> int:
    read = 0
    with ImapMailbox(server, "INBOX") as box:
        for _ in range(cycles):
            batch = box.fetch_batch(BATCH)
            box.delete([message.key for message in batch])
            read += len(batch)
    return read


def floor(stack: MailStack, user: str, cycles: int) -> int:
    read = 0
    with IMAPClient(stack.host, stack.imap_port, ssl=False) as client:
        client.login(user, stack.password)
        client.select_folder("INBOX")
        for _ in range(cycles):
            client.use_uid = False
            found = client.fetch(range(1, BATCH + 1), [b"UID", b"BODY.PEEK[]"])
            client.use_uid = True
            uids = [int(items[b"UID"]) for items in found.values() if items[b"BODY[]"]]
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            client.uid_expunge(uids)
            read += len(uids)
    return read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--cycles", type=int, default=20, help="cycles per way (20)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-imap-cycles-") as folder,
        local_mail_stack(Path(folder) / "servers") as stack,
    ):
        user = stack.new_address("approvals")
        server = ImapServer(
            host=stack.host,
            port=stack.imap_port,
            security="none",
            username=user,
            password=SecretStr(stack.password),
        )
        serial = [0]
        with IMAPClient(stack.host, stack.imap_port, ssl=False) as filler:
            filler.login(user, stack.password)
            for size in SIZES:
                results: dict[str, float] = {}
                ways = {
                    "before (fresh mailbox per cycle)": lambda: before(server, args.cycles),
                    "after (kept, incremental)": lambda: after(server, args.cycles),
                    "floor (raw imapclient)": lambda: floor(stack, user, args.cycles),
                }
                for name, run in ways.items():
                    top_up(filler, size, serial)
                    started = time.perf_counter()
                    read = run()
                    seconds = time.perf_counter() - started
                    if read != args.cycles * BATCH:
                        print(f"{name}: read {read}, expected {args.cycles * BATCH}")
                        return 1
                    results[name] = seconds / read * 1000
                    print(f"{size:>6} messages, {name:<34}: {results[name]:.3f} ms/message")
                before_ms, after_ms, floor_ms = results.values()
                print(
                    f"{size:>6} messages, before/after = {before_ms / after_ms:.1f}x, "
                    f"after/floor = {after_ms / floor_ms:.2f}x"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
