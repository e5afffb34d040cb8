"""Notifications through the outbox to a real SMTP server: themes, charset, retries, fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.errors import MessageTooLarge
from approvals.models import NotificationStatus
from mailio.compose import Attachment
from mailio.devservers.ports import free_port
from mailio.devservers.stack import MailStack
from scheduler.cli import main as cli
from tests.engine_setup import (
    Clock,
    Scenario,
    engine_settings,
    reconfigured,
    scenario,
    write_config,
)


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    yield from scenario(mail_stack, tmp_path)


def _engine(trip: Scenario, **changes: dict) -> ApprovalEngine:
    engine = ApprovalEngine(reconfigured(trip.engine.settings, **changes), clock=trip.clock)
    return engine


def test_attachments_over_the_limit_are_refused_and_nothing_is_queued(trip: Scenario) -> None:
    engine = _engine(trip, outbound={"max_attachment_bytes": 1000})
    alice = trip.stack.new_address("alice")
    with pytest.raises(MessageTooLarge, match="max_attachment_bytes"):
        engine.request_approval("Big", [alice], attachments=[Attachment("a.bin", b"x" * 1001)])
    assert engine.outbox() == []
    engine.close()


def test_attachment_within_the_limit_is_sent(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    trip.engine.request_approval(
        "Contract", [alice], attachments=[Attachment("contract.pdf", b"%PDF-1.4 test")]
    )
    trip.engine.dispatch_pending()
    (message,) = trip.inbox(alice)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "contract.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_theme_chooses_the_template_set(trip: Scenario, tmp_path: Path) -> None:
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
    alice = trip.stack.new_address("alice")
    engine.request_approval("Rollout", [alice], template="brand")
    engine.dispatch_pending()
    (message,) = trip.inbox(alice)
    assert message["Subject"].startswith("[ACME] Rollout [APR-")
    body = message.get_body(("plain",))
    assert body is not None and "ACME approval: Rollout" in body.get_content()
    engine.close()


def test_plain_text_only_and_charset_are_applied(trip: Scenario) -> None:
    engine = _engine(trip, outbound={"plain_text_only": True, "charset": "iso-8859-1"})
    alice = trip.stack.new_address("alice")
    engine.request_approval("Änderung für Köln", [alice])
    engine.dispatch_pending()
    (message,) = trip.inbox(alice)
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "iso-8859-1"
    assert "Änderung für Köln" in message.get_content()
    engine.close()


def test_temporary_refusal_is_retried_with_backoff_then_sent(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    relay = trip.stack.relay
    assert relay is not None
    relay.reject_recipients[alice] = (451, "4.3.0 try again later")
    try:
        trip.engine.request_approval("Deploy", [alice])
        assert trip.engine.dispatch_pending().retrying == 1
        (entry,) = trip.engine.outbox()
        assert (entry.status, entry.attempts) == (NotificationStatus.QUEUED, 1)
        assert "451" in (entry.last_error or "")
        assert trip.engine.dispatch_pending().sent == 0  # not due yet: backoff
    finally:
        del relay.reject_recipients[alice]
    trip.clock.offset += timedelta(hours=1)
    assert trip.engine.dispatch_pending().sent == 1
    (entry,) = trip.engine.outbox()
    assert (entry.status, entry.attempts, entry.last_error) == (NotificationStatus.SENT, 2, None)
    assert len(trip.inbox(alice)) == 1


def test_permanent_refusal_ends_the_notification(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    relay = trip.stack.relay
    assert relay is not None
    relay.reject_recipients[alice] = (550, "5.1.1 no such user")
    try:
        trip.engine.request_approval("Deploy", [alice])
        assert trip.engine.dispatch_pending().failed == 1
    finally:
        del relay.reject_recipients[alice]
    (entry,) = trip.engine.outbox()
    assert entry.status is NotificationStatus.FAILED and "550" in (entry.last_error or "")
    trip.clock.offset += timedelta(days=1)
    assert trip.engine.dispatch_pending().sent == 0


def test_fallback_server_sends_when_the_primary_is_down(
    mail_stack: MailStack, tmp_path: Path
) -> None:
    address = mail_stack.new_address("approvals")
    base = engine_settings(mail_stack, f"sqlite:///{tmp_path / 'db.sqlite'}", address)
    good = base.servers["smtp"].model_dump()
    settings = reconfigured(
        base,
        servers={
            "smtp": {**good, "port": free_port()},  # nothing listens there
            "backup": {**good, "name": "backup"},
        },
        outbound={"fallback": ["backup"]},
    )
    engine = ApprovalEngine(settings, clock=Clock())
    alice = mail_stack.new_address("alice")
    engine.request_approval("Deploy", [alice])

    assert engine.dispatch_pending().sent == 1

    (entry,) = engine.outbox()
    assert entry.server == "backup"
    engine.close()


def test_outbox_command_prints_the_delivery_log(
    monkeypatch: pytest.MonkeyPatch,
    mail_stack: MailStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = mail_stack.new_address("approvals")
    config = write_config(monkeypatch, mail_stack, tmp_path, address)
    engine = ApprovalEngine.from_config(config)
    alice = mail_stack.new_address("alice")
    request = engine.request_approval("Deploy", [alice])
    engine.close()

    assert cli(["dispatch", "--config", str(config)]) == 0
    assert cli(["outbox", "--config", str(config)]) == 0

    out = capsys.readouterr().out
    assert "sent 1, retrying 0, failed 0" in out
    assert f"sent          attempts=1 {alice} request={request.id} server=smtp" in out
    assert mail_stack.password not in out


def test_a_long_line_in_a_7bit_charset_is_still_sent(trip: Scenario) -> None:
    engine = _engine(trip, outbound={"charset": "us-ascii"})
    alice = trip.stack.new_address("alice")
    engine.request_approval("Deploy", [alice], details={"changes": "x" * 2000})
    assert engine.dispatch_pending().sent == 1
    (message,) = trip.inbox(alice)
    body = message.get_body(("plain",))
    assert body is not None and "x" * 2000 in body.get_content()
    engine.close()


def test_a_sender_that_breaks_as_a_whole_still_settles_the_claim(trip: Scenario) -> None:
    class Broken:
        name = "broken"

        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug in a sender")

        def close(self) -> None:
            pass

    engine = ApprovalEngine(
        trip.engine.settings, clock=trip.clock, sender_factory=lambda s: [Broken()]
    )
    engine.request_approval("Deploy", [trip.stack.new_address("alice")])

    report = engine.dispatch_pending()

    (entry,) = engine.outbox()
    assert report.retrying == 1
    assert (entry.status, entry.attempts) == (NotificationStatus.QUEUED, 1)
    assert "broken failed: RuntimeError" in (entry.last_error or "")
    engine.close()
