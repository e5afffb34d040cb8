"""Notifications through the outbox: attachments, themes, charset, retries, fallback.

On the memory transports: the memory outbox records what was sent, and
``script(NAME, ...)`` makes the next messages fail with 4xx, 5xx or a dropped
connection. test_round_trip retries and falls back through the real SMTP relay.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.errors import MessageTooLarge
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import NotificationStatus
from mailio.compose import Attachment
from mailio.outbound import memory as outboxes
from mailio.outbound.base import SendResult
from scheduler.cli import main as cli
from tests.engine_setup import reconfigured
from tests.memory_setup import (
    OUTGOING,
    MemoryScenario,
    memory_scenario,
    received_by,
    wire_bytes,
    write_memory_config,
)

ALICE, BOB = "alice@example.test", "bob@example.test"


@pytest.fixture
def trip(tmp_path: Path) -> Iterator[MemoryScenario]:
    yield from memory_scenario(tmp_path)


def _engine(trip: MemoryScenario, **changes: dict) -> ApprovalEngine:
    return ApprovalEngine(reconfigured(trip.engine.settings, **changes), clock=trip.clock)


def test_attachments_over_the_limit_are_refused_and_nothing_is_queued(
    trip: MemoryScenario,
) -> None:
    engine = _engine(trip, outbound={"max_attachment_bytes": 1000})
    with pytest.raises(MessageTooLarge, match="max_attachment_bytes"):
        engine.request_approval("Big", [ALICE], attachments=[Attachment("a.bin", b"x" * 1001)])
    assert engine.outbox() == []
    engine.close()


def test_attachment_within_the_limit_is_sent(trip: MemoryScenario) -> None:
    trip.engine.request_approval(
        "Contract", [ALICE], attachments=[Attachment("contract.pdf", b"%PDF-1.4 test")]
    )
    trip.engine.dispatch_pending()
    (message,) = trip.mailbox(ALICE)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "contract.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_theme_chooses_the_template_set(trip: MemoryScenario, tmp_path: Path) -> None:
    # A theme gives what it changes: the other kinds come from default/ beside it.
    shutil.copytree(PACKAGED_TEMPLATES / "default", tmp_path / "templates" / "default")
    theme = tmp_path / "templates" / "brand"
    theme.mkdir(parents=True)
    (theme / "subject.txt").write_text("[ACME] {{ title }} [{{ reference }}]")
    (theme / "body.txt").write_text(
        "ACME approval: {{ title }}\nApproval reference: {{ reference }}\n"
    )
    (theme / "body.html").write_text("<p>ACME approval: {{ title }}</p>")
    engine = _engine(
        trip, outbound={"templates_dir": str(tmp_path / "templates"), "theme": "brand"}
    )
    engine.request_approval("Rollout", [ALICE], template="brand")
    engine.dispatch_pending()
    (message,) = trip.mailbox(ALICE)
    assert message["Subject"].startswith("[ACME] Rollout [APR-")
    body = message.get_body(("plain",))
    assert body is not None and "ACME approval: Rollout" in body.get_content()
    engine.close()


def test_plain_text_only_and_charset_are_applied(trip: MemoryScenario) -> None:
    engine = _engine(trip, outbound={"plain_text_only": True, "charset": "iso-8859-1"})
    engine.request_approval("Änderung für Köln", [ALICE])
    engine.dispatch_pending()
    (message,) = trip.mailbox(ALICE)
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "iso-8859-1"
    assert "Änderung für Köln" in message.get_content()
    engine.close()


def test_a_long_line_in_a_7bit_charset_is_still_sent(trip: MemoryScenario) -> None:
    engine = _engine(trip, outbound={"charset": "us-ascii"})
    engine.request_approval("Deploy", [ALICE], details={"changes": "x" * 2000})
    assert engine.dispatch_pending().sent == 1
    (message,) = trip.mailbox(ALICE)  # read from the wire bytes: no line over 998 octets
    body = message.get_body(("plain",))
    assert body is not None and "x" * 2000 in body.get_content()
    engine.close()


def test_temporary_refusal_is_retried_with_backoff_then_sent(trip: MemoryScenario) -> None:
    outboxes.script(OUTGOING, "4xx")
    trip.engine.request_approval("Deploy", [ALICE])
    assert trip.engine.dispatch_pending().retrying == 1
    (entry,) = trip.engine.outbox()
    assert (entry.status, entry.attempts) == (NotificationStatus.QUEUED, 1)
    assert "451" in (entry.last_error or "")
    assert trip.engine.dispatch_pending().sent == 0  # not due yet: backoff
    assert trip.mailbox(ALICE) == []

    trip.clock.offset += timedelta(hours=1)
    assert trip.engine.dispatch_pending().sent == 1
    (entry,) = trip.engine.outbox()
    assert (entry.status, entry.attempts, entry.last_error) == (NotificationStatus.SENT, 2, None)
    assert len(trip.mailbox(ALICE)) == 1


def test_a_dropped_connection_is_retried_like_a_temporary_refusal(trip: MemoryScenario) -> None:
    outboxes.script(OUTGOING, "disconnect")
    trip.engine.request_approval("Deploy", [ALICE])
    assert trip.engine.dispatch_pending().retrying == 1
    (entry,) = trip.engine.outbox()
    assert (entry.status, entry.attempts) == (NotificationStatus.QUEUED, 1)
    trip.clock.offset += timedelta(hours=1)
    assert trip.engine.dispatch_pending().sent == 1
    assert len(trip.mailbox(ALICE)) == 1


def test_permanent_refusal_ends_the_notification(trip: MemoryScenario) -> None:
    outboxes.script(OUTGOING, "5xx")
    trip.engine.request_approval("Deploy", [ALICE])
    assert trip.engine.dispatch_pending().failed == 1
    (entry,) = trip.engine.outbox()
    assert entry.status is NotificationStatus.FAILED and "550" in (entry.last_error or "")
    trip.clock.offset += timedelta(days=1)
    assert trip.engine.dispatch_pending().sent == 0
    assert trip.mailbox(ALICE) == []


def test_one_refused_recipient_does_not_hold_up_the_others(trip: MemoryScenario) -> None:
    outboxes.script(OUTGOING, "5xx")  # the first message of the batch
    trip.engine.request_approval("Deploy", [ALICE, BOB])
    report = trip.engine.dispatch_pending()

    assert (report.sent, report.failed) == (1, 1)
    states = {entry.approver: entry.status for entry in trip.engine.outbox()}
    for approver in (ALICE, BOB):
        delivered = states[approver] is NotificationStatus.SENT
        assert len(trip.mailbox(approver)) == (1 if delivered else 0)


def _with_backup(trip: MemoryScenario) -> ApprovalEngine:
    return _engine(
        trip,
        servers={"backup": {"type": "memory", "name": "backup"}},
        outbound={"fallback": ["backup"]},
    )


@pytest.mark.parametrize("failure", ["disconnect", "4xx"])
def test_fallback_server_sends_when_the_primary_fails_for_now(
    trip: MemoryScenario, failure: outboxes.Failure
) -> None:
    engine = _with_backup(trip)
    outboxes.script(OUTGOING, failure)
    engine.request_approval("Deploy", [ALICE])

    assert engine.dispatch_pending().sent == 1

    (entry,) = engine.outbox()
    assert (entry.server, entry.attempts) == ("backup", 1)
    assert received_by(ALICE, "backup") != [] and trip.mailbox(ALICE) == []
    engine.close()


def test_no_fallback_after_a_permanent_refusal(trip: MemoryScenario) -> None:
    engine = _with_backup(trip)
    outboxes.script(OUTGOING, "5xx")
    engine.request_approval("Deploy", [ALICE])

    assert engine.dispatch_pending().failed == 1

    (entry,) = engine.outbox()
    assert (entry.status, entry.server) == (NotificationStatus.FAILED, OUTGOING)
    assert received_by(ALICE, "backup") == []
    engine.close()


def test_outbox_command_prints_the_delivery_log(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    empty_memory_servers: None,
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    engine = ApprovalEngine.from_config(config)
    request = engine.request_approval("Deploy", [ALICE])
    engine.close()

    assert cli(["dispatch", "--config", str(config)]) == 0
    assert cli(["outbox", "--config", str(config)]) == 0

    out = capsys.readouterr().out
    assert "sent 1, retrying 0, failed 0" in out
    assert f"sent          attempts=1 {ALICE} request={request.id} server={OUTGOING}" in out
    assert len(received_by(ALICE)) == 1


def test_a_sender_that_breaks_as_a_whole_still_settles_the_claim(trip: MemoryScenario) -> None:
    class Broken:
        name = "broken"

        def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
            raise RuntimeError("bug in a sender")

        def close(self) -> None:
            pass

    engine = ApprovalEngine(
        trip.engine.settings, clock=trip.clock, sender_factory=lambda s: [Broken()]
    )
    engine.request_approval("Deploy", [ALICE])

    report = engine.dispatch_pending()

    (entry,) = engine.outbox()
    assert report.retrying == 1
    assert (entry.status, entry.attempts) == (NotificationStatus.QUEUED, 1)
    assert "broken failed: RuntimeError" in (entry.last_error or "")
    engine.close()


def test_the_scenario_refuses_a_line_an_smtp_server_would_refuse() -> None:
    """The memory outbox takes anything; the scenario reads it as a relay would (RFC 5321)."""
    too_long = Message()
    too_long.set_payload("y" * 999)
    with pytest.raises(AssertionError, match="an SMTP server refuses it"):
        wire_bytes(too_long)
    too_long.set_payload("y" * 998)
    assert wire_bytes(too_long).endswith(b"y" * 998)
