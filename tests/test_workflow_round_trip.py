"""The workflow end to end on real Dovecot + SMTP: each feature once, as approvers see it
in their own mailboxes (the rules themselves are tested in tests/test_workflow.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import RequestStatus
from approvals.settings import EngineSettings
from mailio.devservers.approver import compose_reply
from mailio.devservers.stack import MailStack
from tests.engine_setup import Clock, Scenario, engine_settings


@pytest.fixture
def trip(mail_stack: MailStack, tmp_path: Path) -> Iterator[Scenario]:
    address = mail_stack.new_address("approvals")
    settings = engine_settings(mail_stack, f"sqlite:///{tmp_path / 'approvals.db'}", address)
    config = settings.model_dump(mode="python", exclude={"config_path", "notices"})
    config["tokens"]["secret"] = settings.tokens.secret.get_secret_value()
    for name, server in settings.servers.items():
        password = getattr(server, "password", None)
        if password is not None:
            config["servers"][name]["password"] = password.get_secret_value()
    domain = address.rpartition("@")[2]
    config["workflow"] = {"reminders": None, "delegation": True, "delegate_domains": [domain]}
    clock = Clock()
    engine = ApprovalEngine(EngineSettings.model_validate(config), clock=clock)
    result = Scenario(stack=mail_stack, engine=engine, address=address, clock=clock)
    engine.on_decision(result.decided.append)
    yield result
    engine.close()


def _cycle(trip: Scenario) -> Any:
    report = trip.engine.process_replies()
    trip.engine.dispatch_pending()
    return report


def _asking(trip: Scenario, approver: str) -> EmailMessage:
    return [m for m in trip.inbox(approver) if "[APR-" in str(m["Subject"])][-1]


def test_a_reminder_lands_threaded_in_the_approvers_mailbox_and_a_reply_to_it_decides(
    trip: Scenario,
) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice, reminders={"after": timedelta(hours=4), "max": 1})
    trip.clock.offset += timedelta(hours=5)
    assert trip.engine.run_timers().reminded == 1
    trip.engine.dispatch_pending()

    original, reminder = trip.inbox(alice)

    assert reminder["In-Reply-To"] == original["Message-ID"]
    trip.reply(alice, "Approved")  # to the latest: the reminder
    assert _cycle(trip).decided == 1
    assert trip.engine.get(request.id).status is RequestStatus.APPROVED


def test_delegation_by_reply_reaches_the_delegate_who_decides(trip: Scenario) -> None:
    alice, carol = trip.stack.new_address("alice"), trip.stack.new_address("carol")
    request = trip.ask(alice)
    trip.reply(alice, f"Delegate to {carol}")

    assert _cycle(trip).delegated == 1

    trip.send(_reply_to(_asking(trip, carol), carol, "Approved"))
    assert _cycle(trip).decided == 1
    assert [(d.approver, d.seat) for d in trip.engine.get(request.id).decisions] == [(carol, alice)]


def test_escalation_reaches_the_escalation_approver_who_decides(trip: Scenario) -> None:
    alice, boss = trip.stack.new_address("alice"), trip.stack.new_address("boss")
    request = trip.ask(alice, escalate_to=[boss], escalate_after=timedelta(hours=8))
    trip.clock.offset += timedelta(hours=9)
    assert trip.engine.run_timers().escalated == 1
    trip.engine.dispatch_pending()

    trip.send(_reply_to(_asking(trip, boss), boss, "Approved"))

    assert _cycle(trip).decided == 1
    assert trip.engine.get(request.id).status is RequestStatus.APPROVED


def test_stages_ask_the_second_stage_by_mail_only_after_the_first_approved(
    trip: Scenario,
) -> None:
    alice, carol = trip.stack.new_address("alice"), trip.stack.new_address("carol")
    request = trip.ask(stages=[{"approvers": [alice]}, {"approvers": [carol]}])
    assert trip.inbox(carol) == []
    trip.reply(alice, "Approved")
    _cycle(trip)

    trip.send(_reply_to(_asking(trip, carol), carol, "Approved"))

    assert _cycle(trip).decided == 1
    assert trip.engine.get(request.id).status is RequestStatus.APPROVED


def test_at_the_deadline_the_waiting_approver_gets_the_closed_notice(trip: Scenario) -> None:
    alice = trip.stack.new_address("alice")
    request = trip.ask(alice, due=timedelta(hours=1))
    trip.clock.offset += timedelta(hours=2)

    assert trip.engine.run_timers().expired == 1
    trip.engine.dispatch_pending()

    assert trip.engine.get(request.id).status is RequestStatus.EXPIRED
    notice = trip.inbox(alice)[-1]
    assert "[APR-" not in str(notice["Subject"])
    assert notice["In-Reply-To"] == _asking(trip, alice)["Message-ID"]
    assert [r.status for r in trip.decided] == [RequestStatus.EXPIRED]


def _reply_to(original: EmailMessage, sender: str, text: str) -> EmailMessage:
    return compose_reply(original, sender, text)
