"""What one dispatch or poll cycle did, for callers, logs and the command line."""

from __future__ import annotations

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


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"
