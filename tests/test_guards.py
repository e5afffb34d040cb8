"""Guards that held nothing in the suite: each test here fails when its guard is removed.

Closed requests, a quoted first line, bounces of notifications that were never
sent, parsing that succeeds instead of being caught, the mail step after the
commit, ``max_messages`` and the outbox claim. Mail tests run against the real
Dovecot stack; the outbox race runs on PostgreSQL (skipped where none answers).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals.engine import ApprovalEngine
from approvals.models import (
    DecisionRow,
    InboxRecordRow,
    NotificationStatus,
    RequestRow,
    RequestStatus,
)
from approvals.replies import ParsedReply, ReplyKind, Verdict, parse_reply
from approvals.replies.quotes import extract_new_text
from mailio.devservers.stack import MailStack
from mailio.errors import MailboxError
from mailio.outbound.base import SendResult
from tests.engine_setup import (
    ListMailbox,
    Scenario,
    delivery_status_notification,
    engine_settings,
    reply_to_stored_notification,
    scenario,
)
from tests.rows import store_session
from tests.stores import postgres_url  # noqa: F401  (fixture)

UNPARSEABLE = "message could not be parsed"
TOKEN = "apr-abcdefghijklmnopqrstuvwx"  # well formed; parsing does not verify it

# A stack nothing connects to: for engines whose mailbox or sender a test hands in.
NO_SERVERS = MailStack(name="none", host="127.0.0.1", imap_port=9, smtp_port=9, password="x")


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path)


def _stored_notification(engine: ApprovalEngine, request_id: str) -> EmailMessage:
    """The notification as it was (or would be) sent: the outbox keeps its MIME."""
    (entry,) = engine.outbox(request_id)
    mime = engine.notification_message(entry.id)
    return message_from_bytes(mime, policy=policy.default)  # type: ignore[return-value]


# -- a reply to a closed request is never a decision; it is answered politely ------------


def _assert_refused_as_closed(
    trip: Scenario, request_id: str, status: RequestStatus, decisions_before: int
) -> None:
    report = trip.engine.process_replies()

    # Too late, not wrong: answered politely and processed, not kept as a failure.
    assert (report.fetched, report.decided, report.ignored, report.failed) == (1, 0, 1, 0)
    assert report.messages[0].reason == (
        f"request is already {status.value}; this reply changes nothing"
    )
    final = trip.engine.get(request_id)
    assert final.status is status
    assert len(final.decisions) == decisions_before
    assert trip.inbox(trip.address) == []
    assert trip.inbox(trip.address, "Failed") == []


def test_reply_to_a_cancelled_request_is_not_a_decision(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    trip.engine.cancel(request.id)
    trip.reply(alice, "Approved, ship it")

    _assert_refused_as_closed(trip, request.id, RequestStatus.CANCELLED, 0)


def test_reply_to_an_expired_request_is_not_a_decision(trip: Scenario) -> None:
    """The request's deadline has passed while the token it sent is still valid (tokens
    outlive the deadline), so only the request's status stands in the way."""
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice)
    with store_session(trip.engine, write=True) as session:
        session.execute(
            update(RequestRow)
            .where(col(RequestRow.id) == request.id)
            .values(due_at=trip.clock() - timedelta(minutes=1))
        )
    trip.reply(alice, "Approved")

    _assert_refused_as_closed(trip, request.id, RequestStatus.EXPIRED, 0)


def test_reply_to_an_already_rejected_request_is_not_a_decision(trip: Scenario) -> None:
    """Bob has not decided yet, so only the closed request refuses his late approval."""
    alice, bob = trip.stack.new_address("alice"), trip.stack.new_address("bob")
    request = trip.ask(alice, bob)
    trip.reply(alice, "Reject: wrong version")
    assert trip.engine.process_replies().decided == 1
    assert trip.engine.get(request.id).status is RequestStatus.REJECTED
    trip.reply(bob, "Approved")

    _assert_refused_as_closed(trip, request.id, RequestStatus.REJECTED, 1)
    assert [d.approver for d in trip.engine.get(request.id).decisions] == [alice]


# -- a quoted line at the very top is not new text -------------------------------------------


def test_single_quoted_line_at_the_top_is_not_new_text() -> None:
    assert extract_new_text("> Approved\nWhy was the version bumped?") == (
        "Why was the version bumped?"
    )


def test_question_under_a_quoted_approval_has_no_verdict() -> None:
    reply = EmailMessage()
    reply["From"] = "alice@example.test"
    reply["Subject"] = "Re: Approval requested"
    reply.set_content("> Approved\nWhy was the version bumped?\n")

    parsed = parse_reply(bytes(reply))

    assert parsed.verdict is None, parsed.reasons
    assert parsed.new_text == "Why was the version bumped?"


# -- a bounce for a notification that was never sent leaves it alone -------------------------


def _queued(trip: Scenario, alice: str) -> str:
    return trip.engine.request_approval("Deploy", [alice]).id  # not dispatched


def _failed(trip: Scenario, alice: str) -> str:
    request = trip.engine.request_approval("Deploy", [alice])
    trip.engine.cancel(request.id)
    trip.engine.dispatch_pending()  # a closed request's notification fails instead of going out
    return request.id


@pytest.mark.parametrize(
    ("make", "status"),
    [(_queued, NotificationStatus.QUEUED), (_failed, NotificationStatus.FAILED)],
    ids=["queued", "failed"],
)
def test_bounce_for_a_notification_that_was_not_sent_leaves_its_status(
    trip: Scenario, make: Any, status: NotificationStatus
) -> None:
    alice = trip.stack.new_address("alice")
    request_id = make(trip, alice)
    (before,) = trip.engine.outbox(request_id=request_id)
    assert before.status is status
    trip.send(
        delivery_status_notification(trip.address, _stored_notification(trip.engine, request_id))
    )

    report = trip.engine.process_replies()

    (after,) = trip.engine.outbox(request_id=request_id)
    assert (after.status, after.last_error) == (status, before.last_error)
    assert (report.fetched, report.ignored) == (1, 1)
    assert (
        report.messages[0].reason == f"bounce: notification {before.id} is {status.value}, left so"
    )


# -- malformed messages are parsed, not caught by parse_reply's last resort -------------------


def _read(parsed: ParsedReply) -> dict[str, object]:
    return {
        "sender": parsed.sender,
        "token": parsed.token,
        "kind": parsed.kind,
        "verdict": parsed.verdict,
        "message_id": parsed.message_id,
        "new_text": parsed.new_text,
    }


def _expected(**read: object) -> dict[str, object]:
    nothing: dict[str, object] = {
        "sender": None,
        "token": None,
        "kind": ReplyKind.REPLY,
        "verdict": None,
        "message_id": None,
        "new_text": "",
    }
    return nothing | read


MALFORMED: dict[str, tuple[bytes, dict[str, object]]] = {
    # the inputs of test_reply_kinds.test_malformed_messages_do_not_raise (test_hostile_replies
    # checks its own the same way)
    "empty": (b"", _expected()),
    "binary only": (b"\x00\xff\xfe", _expected(new_text="\x00\ufffd\ufffd")),
    "unparseable addresses": (
        b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nSubject: =?utf-8?b?!!!?=\r\n\r\nApproved",
        _expected(verdict=Verdict.APPROVE, new_text="Approved"),
    ),
    "empty message-ids": (
        b"Message-ID: <>\r\nReferences: <<a> <b>>\r\nIn-Reply-To: \r\n\r\nApproved",
        _expected(verdict=Verdict.APPROVE, new_text="Approved"),
    ),
    "empty boundary": (b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--", _expected()),
    "undecodable charset name": (
        b'Content-Type: text/plain; charset="\xff"\r\n\r\nok',
        _expected(verdict=Verdict.APPROVE, new_text="ok"),
    ),
    "not base64": (
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64===",
        _expected(new_text="!!!not base64==="),
    ),
    "unknown encoded-word charset": (
        b"From: =?x-unknown?q?abc?= <a@b.c>\r\nSubject: =?utf-8?q?=FF=FE?=\r\n\r\nYes",
        _expected(sender="a@b.c", verdict=Verdict.APPROVE, new_text="Yes"),
    ),
    "garbage authentication-results": (
        b'Authentication-Results: ;;;(((\r\nAuthentication-Results: "\r\n\r\nx',
        _expected(new_text="x"),
    ),
    # broken structure around what must still be read: the token, the bounce
    "token beside an empty boundary": (
        b"From: Alice <alice@example.test>\r\nTo: approvals+"
        + TOKEN.encode()
        + b"@example.test\r\n"
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\nApproved\r\n--",
        _expected(
            sender="alice@example.test", token=TOKEN, verdict=Verdict.APPROVE, new_text="Approved"
        ),
    ),
    "truncated bounce": (
        b"From: MAILER-DAEMON@mx.example.test\r\nContent-Type: multipart/report; "
        b'report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <n1@example.test>\r\nSubject: x [" + TOKEN.upper().encode() + b"]\r\n",
        _expected(
            sender="mailer-daemon@mx.example.test",
            token=TOKEN,
            kind=ReplyKind.BOUNCE,
            new_text="failed",
        ),
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_message_is_parsed_not_caught(name: str) -> None:
    raw, expected = MALFORMED[name]

    parsed = parse_reply(raw)

    assert not any(reason.startswith(UNPARSEABLE) for reason in parsed.reasons), parsed.reasons
    assert _read(parsed) == expected


def test_truncated_bounce_still_names_the_bounced_message() -> None:
    parsed = parse_reply(MALFORMED["truncated bounce"][0])

    assert parsed.bounced_message_ids == ("n1@example.test",)


# -- the mail is deleted only after the commit ------------------------------------------------


class DeleteFailsOnceAfterLooking(ListMailbox):
    """A folder whose first delete notes what the store holds (on a connection of its own,
    so it sees only committed work) and then fails, as a dropped connection would."""

    def __init__(self, raws: Sequence[bytes]) -> None:
        super().__init__(raws)
        self.engine: ApprovalEngine | None = None
        self.store_at_first_delete: tuple[list[tuple[str, str]], int] | None = None

    def delete(self, keys: Sequence[str]) -> None:
        if self.store_at_first_delete is None:
            assert self.engine is not None
            with store_session(self.engine) as session:
                records = session.exec(
                    select(InboxRecordRow.message_key, InboxRecordRow.status)
                ).all()
                decisions = session.exec(select(DecisionRow)).all()
            self.store_at_first_delete = ([tuple(r) for r in records], len(decisions))  # type: ignore[misc]
            raise MailboxError("connection lost during UID EXPUNGE")
        super().delete(keys)


def test_a_delete_failing_after_the_commit_is_finished_next_cycle_without_applying_twice(
    tmp_path: Path,
) -> None:
    box = DeleteFailsOnceAfterLooking([])
    engine = ApprovalEngine(
        engine_settings(NO_SERVERS, f"sqlite:///{tmp_path / 'db.sqlite'}", "approvals@x.test"),
        mailbox_factory=lambda s: box,
    )
    box.engine = engine
    decided: list[str] = []
    engine.on_decision(lambda request: decided.append(request.id))
    request = engine.request_approval("Deploy", ["alice@example.test"])
    box.messages["0"] = reply_to_stored_notification(
        engine, request.id, "alice@example.test", "Approved", "r1@x.test"
    )

    first = engine.process_replies()

    assert (first.fetched, first.decided) == (1, 1)
    assert box.store_at_first_delete == ([("r1@x.test", "decided")], 1)  # committed by then
    assert len(first.problems) == 1 and "could not be deleted" in first.problems[0]
    assert box.count() == 1

    second = engine.process_replies()

    assert (second.fetched, second.decided, second.ignored) == (1, 0, 1)
    assert "already handled" in second.messages[0].reason
    assert box.count() == 0
    assert len(engine.get(request.id).decisions) == 1
    assert decided == [request.id]
    engine.close()


# -- at most max_messages per cycle ----------------------------------------------------------


def test_a_folder_holding_more_than_max_messages_keeps_the_newest_for_the_next_cycle(
    mail_stack: MailStack, tmp_path: Path
) -> None:
    for trip in scenario(mail_stack, tmp_path, max_messages=2):
        colleague = trip.stack.new_address("colleague")
        sent = []
        for number in range(3):
            note = EmailMessage()
            note["From"] = colleague
            note["To"] = trip.address
            note["Subject"] = f"note {number}"
            note["Message-ID"] = f"<note{number}.{trip.address}>"
            note.set_content("Approved")
            trip.send(note)
            sent.append(note["Message-ID"])

        first = trip.engine.process_replies()
        left = [m["Message-ID"] for m in trip.inbox(trip.address)]
        second = trip.engine.process_replies()

        assert first.fetched == 2 and left == sent[2:]
        assert [m.key for m in first.messages] == [mid.strip("<>") for mid in sent[:2]]
        assert second.fetched == 1 and trip.inbox(trip.address) == []
        assert [m["Message-ID"] for m in trip.inbox(trip.address, "Failed")] == sent


# -- the outbox claim keeps a notification from two dispatchers --------------------------------


class RecordingSender:
    """Accepts everything and notes each recipient; shared by both dispatchers."""

    name = "smtp"

    def __init__(self, recipients: list[str]) -> None:
        self.recipients = recipients

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        self.recipients.extend(str(message["To"]) for message in messages)
        return [SendResult(str(message["Message-ID"])) for message in messages]

    def close(self) -> None:
        pass


def test_a_dispatcher_mid_claim_keeps_its_notifications_from_another(
    postgres_url: str,  # noqa: F811
) -> None:
    """The first dispatcher is held between reading its due rows and marking them; the second
    dispatches the same queue meanwhile. Each notification must go out once."""
    recipients: list[str] = []
    settings = engine_settings(NO_SERVERS, postgres_url, "approvals@x.test")
    first, second = (
        ApprovalEngine(settings, sender_factory=lambda s: [RecordingSender(recipients)])
        for _ in range(2)
    )
    approvers = [f"a{i}@example.test" for i in range(5)]
    for approver in approvers:
        first.request_approval("Deploy", [approver])
    selected, release = threading.Event(), threading.Event()

    @event.listens_for(Engine, "after_cursor_execute")  # every store: first's claims first
    def hold_after_selecting_due_rows(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        claiming = (
            statement.startswith("SELECT notification.") and "JOIN approval_request" in statement
        )
        if claiming and not selected.is_set():
            selected.set()
            release.wait(timeout=30)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            held = pool.submit(first.dispatch_pending)
            assert selected.wait(timeout=30), "the first dispatcher never selected its rows"
            meanwhile = pool.submit(second.dispatch_pending)
            wait([meanwhile], timeout=10)  # at once when the claim skips locked rows
            release.set()
            first_report, second_report = held.result(), meanwhile.result()
    finally:
        event.remove(Engine, "after_cursor_execute", hold_after_selecting_due_rows)

    assert Counter(recipients) == Counter(approvers)
    assert (first_report.sent, second_report.sent) == (5, 0)
    assert {entry.status for entry in first.outbox()} == {NotificationStatus.SENT}
    first.close()
    second.close()
