"""When is a stage with several seats decided? Pure.

``all``: every seat approves; one reject rejects. ``any``: the first decision,
approve or reject, is final. ``quorum:N``: approved at N approvals, rejected as
soon as N can no longer be reached. An escalation decision decides the stage
whatever its policy.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from approvals.models import ESCALATION_SEAT, RequestStatus

APPROVE, REJECT = "approve", "reject"


def check_policy(policy: str, seats: int, *, where: str = "policy") -> str:
    """``policy`` as given when it is usable for ``seats`` seats; ValueError naming it if not."""
    if policy in ("all", "any"):
        return policy
    kind, colon, count = policy.partition(":")
    if kind != "quorum" or not colon:
        raise ValueError(f'{where} "{policy}": expected "all", "any" or "quorum:N"')
    if not count.isdigit() or not 1 <= int(count) <= seats:
        raise ValueError(
            f'{where} "{policy}": N must be a whole number from 1 to the {seats} approver(s)'
        )
    return policy


def status_after(policy: str, seats: Collection[str], verdicts: Mapping[str, str]) -> RequestStatus:
    """The stage's status given the verdicts so far (seat -> "approve" | "reject")."""
    if ESCALATION_SEAT in verdicts:
        return _status_of(verdicts[ESCALATION_SEAT])
    approvals = sum(1 for seat in seats if verdicts.get(seat) == APPROVE)
    rejections = sum(1 for seat in seats if verdicts.get(seat) == REJECT)
    if policy == "any":
        if approvals or rejections:
            return RequestStatus.APPROVED if approvals else RequestStatus.REJECTED
        return RequestStatus.PENDING
    if policy == "all":
        if rejections:
            return RequestStatus.REJECTED
        return RequestStatus.APPROVED if approvals == len(seats) else RequestStatus.PENDING
    needed = int(policy.partition(":")[2])
    if approvals >= needed:
        return RequestStatus.APPROVED
    if len(seats) - rejections < needed:  # too few seats left that could approve
        return RequestStatus.REJECTED
    return RequestStatus.PENDING


def _status_of(verdict: str) -> RequestStatus:
    return RequestStatus.APPROVED if verdict == APPROVE else RequestStatus.REJECTED
