"""The workflow around the reply, on the memory transports with a clock the tests move:
policies, stages, deadlines, reminders, escalation, delegation, absence, history."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from approvals.engine import ApprovalEngine
from approvals.errors import RequestClosed
from approvals.models import ApprovalRequest, Event, EventKind, RequestStatus
from approvals.settings import EngineSettings
from mailio.compose import Attachment
from mailio.devservers.approver import compose_reply
from mailio.inbound import memory as folders
from mailio.outbound import memory as outboxes
from tests.engine_setup import Clock
from tests.memory_setup import (
    ENGINE_ADDRESS,
    deliver_to_engine,
    memory_engine_settings,
    received_by,
)
from tests.stores import postgres_url  # noqa: F401  (fixture)

ALICE, BOB, CAROL, DAVE = (f"{n}@example.test" for n in ("alice", "bob", "carol", "dave"))
BOSS = "boss@example.test"


class Flow:
    """An engine on memory servers, approvers' mailboxes, and a clock to move."""

    def __init__(self, engine: ApprovalEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.decided: list[ApprovalRequest] = []
        self.events: list[Event] = []
        engine.on_decision(self.decided.append)
        engine.on_event(self.events.append)

    def ask(self, *approvers: str, **options: Any) -> ApprovalRequest:
        request = self.engine.request_approval("Deploy 4.2", list(approvers) or None, **options)
        self.engine.dispatch_pending()
        return request

    def mails(self, approver: str) -> list[EmailMessage]:
        return received_by(approver)

    def subjects(self, approver: str) -> list[str]:
        return [str(mail["Subject"]) for mail in self.mails(approver)]

    def reply(self, approver: str, text: str, *, to: EmailMessage | None = None) -> None:
        original = to or self.asking_mail(approver)
        deliver_to_engine(ENGINE_ADDRESS, compose_reply(original, approver, text))

    def asking_mail(self, approver: str) -> EmailMessage:
        """The latest mail to ``approver`` that carries a token (not an answer or notice)."""
        asking = [m for m in self.mails(approver) if "APR-" in str(m["Subject"])]
        assert asking, f"nothing asked {approver} to decide"
        return asking[-1]

    def poll(self) -> Any:
        report = self.engine.process_replies()
        self.engine.dispatch_pending()
        return report

    def later(self, **delta: float) -> None:
        self.clock.offset += timedelta(**delta)

    def timers(self) -> Any:
        report = self.engine.run_timers()
        self.engine.dispatch_pending()
        return report

    def status(self, request: ApprovalRequest) -> RequestStatus:
        return self.engine.get(request.id).status


def _settings(url: str, **workflow: Any) -> EngineSettings:
    settings = memory_engine_settings(url)
    config = settings.model_dump(mode="python", exclude={"config_path", "notices"})
    config["tokens"]["secret"] = settings.tokens.secret.get_secret_value()
    config["workflow"] = {"reminders": None, **workflow}
    return EngineSettings.model_validate(config)


@pytest.fixture
def make_flow(tmp_path: Path) -> Iterator[Any]:
    engines: list[ApprovalEngine] = []
    outboxes.reset()
    folders.reset()

    def make(url: str | None = None, **workflow: Any) -> Flow:
        clock = Clock()
        settings = _settings(url or f"sqlite:///{tmp_path / 'approvals.db'}", **workflow)
        engine = ApprovalEngine(settings, clock=clock)
        engines.append(engine)
        return Flow(engine, clock)

    yield make
    for engine in engines:
        engine.close()
    outboxes.reset()
    folders.reset()


@pytest.fixture
def flow(make_flow: Any) -> Flow:
    return make_flow()


def _kinds(flow: Flow, request: ApprovalRequest) -> list[EventKind]:
    return [event.kind for event in flow.engine.history(request.id)]


# --- policies ---------------------------------------------------------------------------------


def test_quorum_approves_at_n_approvals(flow: Flow) -> None:
    request = flow.ask(ALICE, BOB, CAROL, policy="quorum:2")
    flow.reply(ALICE, "Approved")
    flow.poll()
    assert flow.status(request) is RequestStatus.PENDING
    flow.reply(CAROL, "Approved")
    flow.poll()
    assert flow.status(request) is RequestStatus.APPROVED
    assert [r.status for r in flow.decided] == [RequestStatus.APPROVED]
    assert any("no action needed" in s.lower() or "closed" in s.lower() for s in flow.subjects(BOB))


def test_quorum_rejects_as_soon_as_it_cannot_be_reached(flow: Flow) -> None:
    request = flow.ask(ALICE, BOB, CAROL, policy="quorum:2")
    flow.reply(ALICE, "Reject: wrong version")
    flow.poll()
    assert flow.status(request) is RequestStatus.PENDING  # bob and carol can still make 2
    flow.reply(BOB, "Rejected")
    flow.poll()
    assert flow.status(request) is RequestStatus.REJECTED


@pytest.mark.parametrize("policy", ["quorum:0", "quorum:4", "quorum:x", "most"])
def test_an_impossible_policy_is_a_clear_error(flow: Flow, policy: str) -> None:
    with pytest.raises(ValueError, match=f'policy "{policy}"'):
        flow.engine.request_approval("Deploy", [ALICE, BOB, CAROL], policy=policy)
    assert flow.engine.outbox() == []  # nothing queued


def test_under_any_the_first_decision_is_final_and_a_late_reply_is_answered_politely(
    flow: Flow,
) -> None:
    request = flow.ask(ALICE, BOB, policy="any")
    flow.reply(ALICE, "Rejected: wrong version")
    flow.poll()
    assert flow.status(request) is RequestStatus.REJECTED
    closed_notice = flow.mails(BOB)[-1]
    assert "APR-" not in str(closed_notice["Subject"])  # a notice, nothing to decide
    flow.reply(BOB, "Approved", to=flow.asking_mail(BOB))

    report = flow.poll()

    assert (report.ignored, report.failed) == (1, 0)  # answered, not kept as a failure
    assert "already rejected" in report.messages[0].reason
    assert flow.status(request) is RequestStatus.REJECTED
    assert len(flow.engine.get(request.id).decisions) == 1
    assert folders.messages("incoming", "Failed") == []


# --- stages -----------------------------------------------------------------------------------


def _staged(flow: Flow) -> ApprovalRequest:
    return flow.ask(
        stages=[
            {"approvers": [ALICE, BOB], "policy": "any"},
            {"approvers": [CAROL], "policy": "all"},
        ]
    )


def test_the_next_stage_is_asked_only_when_the_stage_before_is_approved(flow: Flow) -> None:
    request = _staged(flow)
    assert flow.mails(CAROL) == []
    assert flow.engine.get(request.id).approvers == (ALICE, BOB)

    flow.reply(ALICE, "Approved")
    flow.poll()

    now = flow.engine.get(request.id)
    assert (now.status, now.current_stage, now.approvers) == (RequestStatus.PENDING, 1, (CAROL,))
    assert [stage.status for stage in now.stages] == [RequestStatus.APPROVED, RequestStatus.PENDING]
    assert len(flow.mails(CAROL)) == 1
    flow.reply(CAROL, "Approved")
    flow.poll()
    assert flow.status(request) is RequestStatus.APPROVED


def test_a_rejected_stage_rejects_the_request_and_later_stages_are_never_asked(
    flow: Flow,
) -> None:
    request = _staged(flow)
    flow.reply(BOB, "Reject")
    flow.poll()
    assert flow.status(request) is RequestStatus.REJECTED
    assert flow.mails(CAROL) == []


def test_a_decision_for_a_stage_that_is_not_current_is_refused_with_the_reason(
    flow: Flow,
) -> None:
    request = flow.ask(
        stages=[{"approvers": [ALICE, BOB], "policy": "any"}, {"approvers": [CAROL, DAVE]}]
    )
    flow.reply(ALICE, "Approved")
    flow.poll()
    flow.reply(BOB, "Approved", to=flow.asking_mail(BOB))  # stage 1 is over

    report = flow.poll()

    assert report.failed == 1
    assert "asks stage 1, but the request is at stage 2" in report.messages[0].reason
    assert [d.approver for d in flow.engine.get(request.id).decisions] == [ALICE]


# --- deadline ---------------------------------------------------------------------------------


def test_at_the_deadline_a_pending_request_expires_and_everyone_is_told(flow: Flow) -> None:
    request = flow.ask(ALICE, BOB, due=timedelta(hours=2))
    assert request.due_at is not None and request.expires_at >= request.due_at
    flow.reply(ALICE, "Approved")
    flow.poll()
    flow.later(hours=3)

    report = flow.timers()

    assert report.expired == 1 and flow.status(request) is RequestStatus.EXPIRED
    assert [r.status for r in flow.decided] == [RequestStatus.EXPIRED]
    assert len(flow.mails(ALICE)) == 1  # decided: no notice
    assert len(flow.mails(BOB)) == 2  # the notice that nothing is needed
    flow.reply(BOB, "Approved", to=flow.asking_mail(BOB))
    late = flow.poll()
    assert late.ignored == 1 and "already expired" in late.messages[0].reason
    assert len(flow.mails(BOB)) == 3  # one answer saying so
    assert flow.status(request) is RequestStatus.EXPIRED
    assert EventKind.CLOSED in _kinds(flow, request)


def test_a_deadline_in_the_past_is_refused(flow: Flow) -> None:
    with pytest.raises(ValueError, match="due: .* is not in the future"):
        flow.engine.request_approval("Deploy", [ALICE], due=flow.clock() - timedelta(hours=1))


# --- reminders --------------------------------------------------------------------------------

REMIND = {"after": timedelta(hours=4), "every": timedelta(hours=8), "max": 2}


def test_reminders_go_to_seats_that_have_not_answered_threaded_with_the_same_token(
    flow: Flow,
) -> None:
    request = flow.ask(ALICE, BOB, reminders=REMIND)
    flow.reply(ALICE, "Approved")
    flow.poll()
    flow.later(hours=3)
    assert flow.timers().reminded == 0
    flow.later(hours=2)

    assert flow.timers().reminded == 1

    original, reminder = flow.mails(BOB)
    assert reminder["In-Reply-To"] == original["Message-ID"]
    assert original["Message-ID"] in str(reminder["References"])
    token = str(original["Subject"]).rsplit("[", 1)[1]
    assert token in str(reminder["Subject"])  # the same token
    assert len(flow.mails(ALICE)) == 1
    flow.reply(BOB, "Approved", to=reminder)  # replying to the reminder decides
    flow.poll()
    assert flow.status(request) is RequestStatus.APPROVED


def test_reminders_stop_at_their_maximum(flow: Flow) -> None:
    flow.ask(ALICE, reminders=REMIND)
    counts = []
    for _ in range(5):
        flow.later(hours=8)
        counts.append(flow.timers().reminded)
    assert sum(counts) == 2 and len(flow.mails(ALICE)) == 3


def _timers_at_once(*flows: Flow) -> list[Any]:
    barrier = threading.Barrier(len(flows))
    reports: list[Any] = [None] * len(flows)

    def run(index: int, flow: Flow) -> None:
        barrier.wait()
        reports[index] = flow.engine.run_timers()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(flows)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def test_two_instances_running_timers_at_once_act_once_each(
    make_flow: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    first, second = make_flow(postgres_url), make_flow(postgres_url)
    for index in range(6):  # reminded, then escalated, then expired
        first.engine.request_approval(
            f"Deploy {index}",
            [f"a{index}@example.test"],
            reminders=REMIND,
            escalate_to=[BOSS],
            escalate_after=timedelta(hours=6),
            due=timedelta(hours=10),
        )
    first.engine.dispatch_pending()
    totals: list[tuple[int, int, int]] = []
    for hours in (5, 2, 4):  # 5 h: reminders; 7 h: escalations; 11 h: deadlines
        for flow in (first, second):
            flow.later(hours=hours)
        reports = _timers_at_once(first, second)
        totals.append(
            (
                sum(r.reminded for r in reports),
                sum(r.escalated for r in reports),
                sum(r.expired for r in reports),
            )
        )
        first.engine.dispatch_pending()

    assert totals == [(6, 0, 0), (0, 6, 0), (0, 0, 6)]
    # each approver: the notification, one reminder, one closed notice; the boss: 6 + 6
    assert sum(len(received_by(f"a{index}@example.test")) for index in range(6)) == 18
    assert len(received_by(BOSS)) == 12


# --- escalation -------------------------------------------------------------------------------


def test_after_escalate_after_the_escalation_approvers_decide_the_stage(flow: Flow) -> None:
    request = flow.ask(ALICE, BOB, escalate_to=[BOSS], escalate_after=timedelta(hours=6))
    flow.later(hours=5)
    assert flow.timers().escalated == 0
    flow.later(hours=2)

    assert flow.timers().escalated == 1

    assert BOSS in flow.engine.get(request.id).approvers
    flow.reply(BOSS, "Approved, go ahead")
    flow.poll()
    final = flow.engine.get(request.id)
    assert final.status is RequestStatus.APPROVED
    assert [(d.approver, d.seat) for d in final.decisions] == [(BOSS, "*escalation*")]
    assert EventKind.ESCALATED in _kinds(flow, request)


# --- delegation -------------------------------------------------------------------------------


def test_delegation_by_api_gives_the_delegate_their_own_token_and_silences_the_delegator(
    flow: Flow,
) -> None:
    request = flow.ask(ALICE, BOB)
    delegated = flow.engine.delegate(request.id, ALICE, CAROL)
    flow.engine.dispatch_pending()
    assert set(delegated.approvers) == {BOB, CAROL}
    alice_token = str(flow.asking_mail(ALICE)["Subject"]).rsplit("[", 1)[1]
    assert alice_token not in str(flow.asking_mail(CAROL)["Subject"])
    assert ALICE in flow.asking_mail(CAROL).get_body(("plain",)).get_content()  # type: ignore[union-attr]

    flow.reply(ALICE, "Approved")
    late = flow.poll()
    assert late.ignored == 1 and f"delegated this to {CAROL}" in late.messages[0].reason
    flow.reply(CAROL, "Approved")
    flow.reply(BOB, "Approved")
    flow.poll()

    final = flow.engine.get(request.id)
    assert final.status is RequestStatus.APPROVED
    assert {(d.approver, d.seat) for d in final.decisions} == {(CAROL, ALICE), (BOB, BOB)}
    assert EventKind.DELEGATED in _kinds(flow, request)


def test_only_a_waiting_seat_can_be_delegated(flow: Flow) -> None:
    request = flow.ask(ALICE)
    with pytest.raises(ValueError, match="nothing to delegate"):
        flow.engine.delegate(request.id, BOB, CAROL)
    flow.engine.cancel(request.id)
    with pytest.raises(RequestClosed):
        flow.engine.delegate(request.id, ALICE, CAROL)


def test_an_absence_rule_sends_new_notifications_to_the_delegate(flow: Flow) -> None:
    now = flow.clock()
    flow.engine.set_absence(ALICE, DAVE, now - timedelta(hours=1), now + timedelta(days=3))
    request = flow.ask(ALICE)

    assert flow.mails(ALICE) == []
    body = flow.asking_mail(DAVE).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ALICE in body and "away" in body.lower()
    flow.reply(DAVE, "Approved")
    flow.poll()
    assert [(d.approver, d.seat) for d in flow.engine.get(request.id).decisions] == [(DAVE, ALICE)]


# --- cancel, history, evidence ----------------------------------------------------------------


def test_cancel_tells_waiting_seats_and_their_late_replies_change_nothing(flow: Flow) -> None:
    request = flow.ask(ALICE, BOB)
    flow.engine.cancel(request.id)
    flow.engine.dispatch_pending()
    assert len(flow.mails(ALICE)) == 2
    flow.reply(ALICE, "Approved", to=flow.asking_mail(ALICE))
    report = flow.poll()
    assert report.ignored == 1 and "already cancelled" in report.messages[0].reason


def test_history_and_evidence_of_a_decision(flow: Flow) -> None:
    request = flow.ask(ALICE)
    flow.reply(ALICE, "Approved, ship it\n\nthanks")
    flow.poll()

    kinds = _kinds(flow, request)
    assert kinds[:2] == [EventKind.REQUESTED, EventKind.NOTIFIED]
    assert {EventKind.DECISION, EventKind.CLOSED, EventKind.OUTCOME} <= set(kinds)
    assert [event.kind for event in flow.events if event.request_id == request.id] == kinds
    [decision] = flow.engine.get(request.id).decisions
    assert decision.evidence_line == "Approved, ship it"
    assert decision.authenticated_by == "address match"
    raw = flow.engine.raw_reply(request.id, decision.message_id)
    assert raw is not None and b"Approved, ship it" in raw


# --- delegation by reply, and out-of-office ------------------------------------------------


def test_delegation_by_reply_asks_the_delegate_when_allowed(make_flow: Any) -> None:
    flow = make_flow(delegation=True, delegate_domains=["example.test"])
    request = flow.ask(ALICE)
    flow.reply(ALICE, "Delegate to Carol <carol@example.test>, she owns this service")

    report = flow.poll()

    assert report.delegated == 1 and report.messages[0].status == "delegated"
    assert flow.engine.get(request.id).approvers == (CAROL,)
    flow.reply(CAROL, "Approved")
    flow.poll()
    assert [(d.approver, d.seat) for d in flow.engine.get(request.id).decisions] == [(CAROL, ALICE)]


@pytest.mark.parametrize(
    ("workflow", "reason"),
    [
        ({}, "delegation by reply is off"),
        (
            {"delegation": True, "delegate_domains": ["corp.test"]},
            "not in [workflow] delegate_domains",
        ),
    ],
)
def test_delegation_by_reply_is_refused_when_not_allowed(
    make_flow: Any, workflow: dict[str, Any], reason: str
) -> None:
    flow = make_flow(**workflow)
    request = flow.ask(ALICE)
    flow.reply(ALICE, "Delegate to carol@example.test")

    report = flow.poll()

    assert report.failed == 1 and reason in report.messages[0].reason
    assert flow.mails(CAROL) == []
    assert flow.engine.get(request.id).approvers == (ALICE,)


def _out_of_office(flow: Flow, approver: str, text: str) -> None:
    auto = compose_reply(flow.asking_mail(approver), approver, text, quote=False)
    auto.replace_header("Subject", "Automatic reply: " + str(flow.asking_mail(approver)["Subject"]))
    auto["Auto-Submitted"] = "auto-replied"
    auto["Date"] = "Tue, 01 Dec 2026 09:00:00 +0000"
    deliver_to_engine(ENGINE_ADDRESS, auto)


def test_an_out_of_office_with_an_absence_rule_asks_the_delegate_at_once(flow: Flow) -> None:
    request = flow.ask(ALICE)  # asked before the rule existed
    now = flow.clock()
    flow.engine.set_absence(ALICE, DAVE, now, now + timedelta(days=10))
    _out_of_office(flow, ALICE, "I am out of the office until 14 December.")

    report = flow.poll()

    assert report.ignored == 1 and f"asked {DAVE} (absence rule)" in report.messages[0].reason
    assert flow.engine.get(request.id).approvers == (DAVE,)
    assert len(flow.mails(DAVE)) == 1


def test_an_out_of_office_without_a_rule_is_noted_with_its_return_date(flow: Flow) -> None:
    request = flow.ask(ALICE)
    _out_of_office(flow, ALICE, "I am out of the office. I will be back on 14 December.")

    report = flow.poll()

    assert report.ignored == 1 and report.decided == 0
    [away] = [e for e in flow.engine.history(request.id) if e.kind is EventKind.AWAY]
    assert (away.actor, away.detail) == (ALICE, "out of office until 2026-12-14")
    assert flow.engine.get(request.id).approvers == (ALICE,)


def test_later_stages_and_delegates_get_the_attachments_the_first_approvers_got(
    flow: Flow,
) -> None:
    document = Attachment("release-notes.pdf", b"%PDF-1.4 notes", "application/pdf")
    request = flow.engine.request_approval(
        "Release", stages=[{"approvers": [ALICE]}, {"approvers": [BOB]}], attachments=[document]
    )
    flow.engine.dispatch_pending()
    flow.reply(ALICE, "Approved")
    flow.poll()
    flow.engine.delegate(request.id, BOB, CAROL)
    flow.engine.dispatch_pending()

    for approver in (BOB, CAROL):
        [attached] = list(flow.asking_mail(approver).iter_attachments())
        assert attached.get_filename() == "release-notes.pdf"
        assert attached.get_payload(decode=True) == b"%PDF-1.4 notes"
