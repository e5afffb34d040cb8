"""Throughput of parse_reply over the reply corpus, single core: ``python bench/parse.py``.

Every corpus case becomes a raw message (its raw_eml, or the body wrapped in a
reply with our headers), and the whole set is parsed repeatedly for about
``--seconds`` seconds. Prints messages per second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from approvals.replies import parse_reply  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "replies" / "cases"


def corpus_messages() -> list[bytes]:
    if not CORPUS.is_dir():
        raise SystemExit(f"reply corpus not found at {CORPUS}")
    messages = []
    for path in sorted(CORPUS.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(case.get("raw_eml"), str):
            messages.append(case["raw_eml"].encode("utf-8"))
            continue
        message = EmailMessage()
        message["From"] = "Anna Approver <anna@example.org>"
        message["To"] = "approvals+apr-abcdefghijklmnopqrstuvwx@example.com"
        message["Subject"] = "Re: Approval requested: Deploy [APR-ABCDEFGHIJKLMNOPQRSTUVWX]"
        message["Message-ID"] = f"<{path.stem}@example.org>"
        message.set_content(
            case["body"], subtype="html" if case.get("format") == "html" else "plain"
        )
        messages.append(bytes(message))
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    args = parser.parse_args()
    messages = corpus_messages()
    for raw in messages:  # warm up caches (regexes, codecs) outside the timing
        parse_reply(raw)
    parsed = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for raw in messages:
            parse_reply(raw)
        parsed += len(messages)
    elapsed = time.perf_counter() - started
    size = sum(len(raw) for raw in messages) / len(messages)
    print(
        f"parse_reply: {parsed / elapsed:,.0f} messages/second "
        f"({parsed} messages from {len(messages)} corpus cases, mean {size:,.0f} bytes, "
        f"{elapsed:.1f} s, single core)"
    )


if __name__ == "__main__":
    main()
