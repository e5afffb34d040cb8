"""When several approvers are asked, which verdicts make a request final."""

from approvals.models import RequestStatus
from approvals.policy import outcome_of

APPROVERS = ["a@x.test", "b@x.test"]


def test_all_mode_waits_for_every_approver() -> None:
    assert outcome_of("all", APPROVERS, {"a@x.test": "approve"}) is RequestStatus.PENDING
    both = {"a@x.test": "approve", "b@x.test": "approve"}
    assert outcome_of("all", APPROVERS, both) is RequestStatus.APPROVED


def test_any_reject_rejects_in_both_modes() -> None:
    for mode in ("all", "any"):
        assert outcome_of(mode, APPROVERS, {"b@x.test": "reject"}) is RequestStatus.REJECTED


def test_any_mode_takes_the_first_approve() -> None:
    assert outcome_of("any", APPROVERS, {"a@x.test": "approve"}) is RequestStatus.APPROVED
    assert outcome_of("any", APPROVERS, {}) is RequestStatus.PENDING
