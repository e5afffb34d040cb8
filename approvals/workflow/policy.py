"""When is a request with several approvers decided? Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from approvals.models import RequestStatus

APPROVE, REJECT = "approve", "reject"


def status_after(
    mode: str, approvers: Collection[str], verdicts: Mapping[str, str]
) -> RequestStatus:
    """The request's status given the verdicts so far (approver -> "approve" | "reject").

    Any reject rejects. ``any``: the first approve approves. ``all``: every
    approver must approve.
    """
    if REJECT in verdicts.values():
        return RequestStatus.REJECTED
    approved = {approver for approver, verdict in verdicts.items() if verdict == APPROVE}
    if (mode == "any" and approved) or (mode == "all" and set(approvers) <= approved):
        return RequestStatus.APPROVED
    return RequestStatus.PENDING
