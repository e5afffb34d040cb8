"""Replies built to break the store must not block the folder (SQLite and PostgreSQL).

The messages are real RFC 5322 bytes handed to the engine through an in-memory
mailbox (the IMAP path is covered elsewhere); what matters here is the database.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import RequestStatus
from approvals.replies import ReplyKind, parse_reply
from approvals.tokens import find_tokens
from mailio.devservers.stack import MailStack
from tests.engine_setup import ListMailbox, engine_settings
from tests.stores import postgres_url  # noqa: F401  (fixture)


def _approval(engine: ApprovalEngine, approver: str) -> bytes:
    request = engine.request_approval("Deploy", [approver])
    (entry,) = engine.outbox(request.id)
    mime = engine.notification_message(entry.id)
    (token,) = find_tokens(mime.decode())
    reply = EmailMessage()
    reply["From"] = approver
    reply["To"] = f"approvals+{token}@example.test"
    reply["Subject"] = "Re: Approval requested"
    reply["Message-ID"] = "<ok@example.test>"
    reply.set_content("Approve")
    return reply.as_bytes()


POISON = {
    "nul in subject": b"From: x@evil.test\r\nSubject: =?utf-8?b?aGkAdGhlcmU=?=\r\n"
    b"Message-ID: <nul@evil.test>\r\n\r\nApprove\r\n",
    "huge message-id": b"From: x@evil.test\r\nSubject: hi\r\nMessage-ID: <"
    + b"x" * 9000
    + b"@evil.test>\r\n\r\nApprove\r\n",
}
POISON_MESSAGE_IDS = {
    "nul in subject": "nul@evil.test",
    "huge message-id": "x" * 9000 + "@evil.test",
}


@pytest.mark.parametrize("poison", sorted(POISON))
def test_a_hostile_message_is_parsed_not_caught(poison: str) -> None:
    """What reaches the store was read, not produced by parse_reply's last-resort guard."""
    parsed = parse_reply(POISON[poison])

    assert not any(r.startswith("message could not be parsed") for r in parsed.reasons)
    assert (parsed.sender, parsed.token, parsed.kind) == ("x@evil.test", None, ReplyKind.REPLY)
    assert parsed.message_id == POISON_MESSAGE_IDS[poison]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
@pytest.mark.parametrize("poison", sorted(POISON))
def test_a_hostile_message_is_kept_and_the_rest_of_the_batch_applies(
    store: str, poison: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'db.sqlite'}"
        if store == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    stack = MailStack(name="none", host="127.0.0.1", imap_port=9, smtp_port=9, password="x")
    box: list[ListMailbox] = []
    engine = ApprovalEngine(
        engine_settings(stack, url, "approvals@example.test"), mailbox_factory=lambda s: box[0]
    )
    box.append(ListMailbox([POISON[poison], _approval(engine, "alice@example.test")]))

    report = engine.process_replies()

    assert (report.fetched, report.decided, report.failed) == (2, 1, 1)
    # refused for what it is, not by the engine's catch-all ("could not be processed")
    assert report.messages[0].reason == "no approval token and no reference to a notification"
    assert box[0].messages == {} and box[0].moved == {"Failed": ["0"]}
    (request_id,) = {m.request_id for m in report.messages if m.status == "decided"}
    assert engine.get(request_id).status is RequestStatus.APPROVED  # type: ignore[arg-type]
    engine.close()
