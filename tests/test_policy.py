"""When several approvers are asked, which verdicts make a request final."""

from approvals.models import RequestStatus
from approvals.workflow.policy import status_after

APPROVERS = ["a@x.test", "b@x.test"]


def test_all_mode_waits_for_every_approver() -> None:
    assert status_after("all", APPROVERS, {"a@x.test": "approve"}) is RequestStatus.PENDING
    both = {"a@x.test": "approve", "b@x.test": "approve"}
    assert status_after("all", APPROVERS, both) is RequestStatus.APPROVED


def test_any_reject_rejects_in_both_modes() -> None:
    for mode in ("all", "any"):
        assert status_after(mode, APPROVERS, {"b@x.test": "reject"}) is RequestStatus.REJECTED


def test_any_mode_takes_the_first_approve() -> None:
    assert status_after("any", APPROVERS, {"a@x.test": "approve"}) is RequestStatus.APPROVED
    assert status_after("any", APPROVERS, {}) is RequestStatus.PENDING
