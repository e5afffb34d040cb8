"""What one dispatch or poll cycle did, for callers, logs and the command line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReplyReport:
    """One reply message: what the engine concluded and why."""

    key: str
    status: str  # decided | delegated | ignored | failed (a ReplyStatus value)
    reason: str
    request_id: str | None = None


@dataclass(frozen=True)
class ProcessReport:
    fetched: int = 0
    decided: int = 0
    ignored: int = 0
    failed: int = 0
    delegated: int = 0
    probes: int = 0  # the engine's own canaries, read back and deleted
    messages: tuple[ReplyReport, ...] = field(default=(), repr=False)
    problems: tuple[str, ...] = ()  # mailbox steps that failed after the commit

    def __str__(self) -> str:
        text = (
            f"fetched {self.fetched}, decided {self.decided}, "
            f"ignored {self.ignored}, failed {self.failed}"
        )
        if self.delegated:
            text += f", delegated {self.delegated}"
        if self.probes:
            text += f", probes {self.probes}"
        return text + "".join(f"\nproblem: {problem}" for problem in self.problems)


def combined(reports: Sequence[ProcessReport]) -> ProcessReport:
    """The reports of several mailboxes' cycles as one."""
    if len(reports) == 1:
        return reports[0]
    return ProcessReport(
        fetched=sum(report.fetched for report in reports),
        decided=sum(report.decided for report in reports),
        ignored=sum(report.ignored for report in reports),
        failed=sum(report.failed for report in reports),
        delegated=sum(report.delegated for report in reports),
        probes=sum(report.probes for report in reports),
        messages=tuple(message for report in reports for message in report.messages),
        problems=tuple(problem for report in reports for problem in report.problems),
    )


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"
