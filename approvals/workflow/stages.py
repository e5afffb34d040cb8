"""A request's stages: the plan stored with it, and where each stage stands. Pure.

Every request has at least one stage. Stage k+1 is asked only when stage k is
approved; a rejected stage rejects the request. A request made before stages
existed (``stages`` NULL) is one stage of its approval notifications' approvers
under the configured ``[policy] mode``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from approvals.models import RequestStatus, Stage
from approvals.workflow.policy import check_policy, status_after


@dataclass(frozen=True)
class StagePlan:
    people: tuple[tuple[str, str], ...]  # (lower-cased address, display name): the seats
    policy: str

    @property
    def seats(self) -> tuple[str, ...]:
        return tuple(address for address, _ in self.people)

    def stored(self) -> dict[str, Any]:
        return {"approvers": [list(person) for person in self.people], "policy": self.policy}


def parse_approvers(
    approvers: Iterable[str] | str, *, where: str = "approvers"
) -> list[tuple[str, str]]:
    """(lower-cased address, display name) per distinct approver; ValueError when unusable."""
    if isinstance(approvers, str):
        approvers = [approvers]
    people: dict[str, str] = {}
    for entry in approvers:
        name, address = parseaddr(entry)
        local, at, domain = address.partition("@")
        if not (local and at and "." in domain):
            raise ValueError(f"{where}: {entry!r} is not an email address")
        people.setdefault(address.lower(), name)
    if not people:
        raise ValueError(f"{where}: at least one approver is needed")
    return list(people.items())


def plan_stages(
    approvers: Iterable[str] | str | None,
    policy: str,
    stages: Sequence[Mapping[str, Any]] | None,
) -> list[StagePlan]:
    """The stages a caller asked for: ``approvers`` + ``policy``, or ``stages``, not both."""
    if stages is not None:
        if approvers:
            raise ValueError("give approvers or stages, not both")
        if not stages:
            raise ValueError("stages: at least one stage is needed")
        plans = []
        for index, stage in enumerate(stages, start=1):
            unknown = set(stage) - {"approvers", "policy"}
            if unknown:
                raise ValueError(f"stage {index}: unknown key(s) {', '.join(sorted(unknown))}")
            people = parse_approvers(stage.get("approvers") or [], where=f"stage {index} approvers")
            stage_policy = check_policy(
                str(stage.get("policy", "all")), len(people), where=f"stage {index} policy"
            )
            plans.append(StagePlan(tuple(people), stage_policy))
        return plans
    people = parse_approvers(approvers or [])
    return [StagePlan(tuple(people), check_policy(policy, len(people)))]


def stored_plans(
    stored: Sequence[Mapping[str, Any]] | None, legacy_seats: Sequence[str], legacy_policy: str
) -> list[StagePlan]:
    """The plans a request row holds (see the module docstring for NULL)."""
    if stored is None:
        return [StagePlan(tuple((seat, "") for seat in legacy_seats), legacy_policy)]
    return [
        StagePlan(tuple((address, name) for address, name in stage["approvers"]), stage["policy"])
        for stage in stored
    ]


def stage_status(plan: StagePlan, verdicts: Mapping[str, str]) -> RequestStatus:
    """One stage's status from its seats' verdicts (seat -> verdict)."""
    return status_after(plan.policy, plan.seats, verdicts)


def stages_view(
    plans: Sequence[StagePlan],
    current: int,
    verdicts_by_stage: Mapping[int, Mapping[str, str]],
) -> tuple[Stage, ...]:
    """Public values: stages before ``current`` are as decided; later ones wait (pending)."""
    return tuple(
        Stage(
            approvers=plan.seats,
            policy=plan.policy,
            status=(
                stage_status(plan, verdicts_by_stage.get(index, {}))
                if index <= current
                else RequestStatus.PENDING
            ),
        )
        for index, plan in enumerate(plans)
    )
