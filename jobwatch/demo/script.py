"""How a scripted job moves through time, in no provider's words: phases on a clock of its own.

A job's clock starts with the first request for it (``Timeline``); ``Phase``s say what it is
doing from which script second on, in the neutral states below, which each provider's
simulator turns into its own status words. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

# What a scripted job can be doing; each provider module maps these to its own words.
WAITING, RUNNING, RETRYING, SUCCEEDED, FAILED = (
    "waiting", "running", "retrying", "succeeded", "failed")


def iso(wall: float, *, ms: bool) -> str:
    moment = datetime.fromtimestamp(wall, tz=timezone.utc)
    if ms:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Timeline:
    """Where one job is: ``s`` script seconds since its first request (real seconds x speed)."""

    s: float
    first_wall: float
    speed: float

    def ts(self, offset: float, *, ms: bool = True) -> str:
        return iso(self.first_wall + offset / self.speed, ms=ms)

    def real_seconds(self, start: float, end: float) -> float:
        return round((end - start) / self.speed, 3)

    def day(self) -> datetime:
        return datetime.fromtimestamp(self.first_wall, tz=timezone.utc)


@dataclass(frozen=True)
class Phase:
    """From script second ``at`` the job is in ``state``. ``amount`` (progress, steps or items)
    ramps linearly towards the next phase's amount; ``reason`` says why (Julep shows it)."""

    at: float
    state: str
    amount: float | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ScriptedJob:
    """One job of the catalog: phases[0] is the waiting state, phases[-1] the final one."""

    provider: str
    job_id: str
    summary: str  # one line for `demo --serve`'s list of jobs
    phases: tuple[Phase, ...]

    def where(self, s: float) -> tuple[Phase, float | None]:
        index = max(i for i, phase in enumerate(self.phases) if phase.at <= s)
        phase = self.phases[index]
        if index + 1 == len(self.phases) or phase.amount is None:
            return phase, phase.amount
        after = self.phases[index + 1]
        if after.amount is None:
            return phase, phase.amount
        share = (s - phase.at) / (after.at - phase.at)
        return phase, phase.amount + (after.amount - phase.amount) * share

    @property
    def starts(self) -> float:
        return self.phases[1].at

    @property
    def ends(self) -> float:
        return self.phases[-1].at

    @property
    def fails(self) -> bool:
        return self.phases[-1].state == FAILED
