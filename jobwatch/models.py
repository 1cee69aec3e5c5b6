"""The normalized job of SPEC.md, shared by every provider, and the state-mapping rules."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class JobState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED)


# Free-form words of Retailgrid and MerchantOps, matched case-insensitively. Anything else is
# "unknown": polled on and never taken for a success.
FREE_WORDS: dict[str, JobState] = {
    **dict.fromkeys(
        ("pending", "queued", "enqueued", "created", "scheduled", "waiting", "submitted", "new",
         "not_started", "accepted"), JobState.PENDING),
    **dict.fromkeys(
        ("running", "processing", "in_progress", "in-progress", "started", "active", "working",
         "retrying", "importing", "validating", "crawling", "enriching", "uploading",
         "finalizing"), JobState.RUNNING),
    **dict.fromkeys(
        ("succeeded", "success", "successful", "completed", "complete", "done", "finished",
         "ok"), JobState.SUCCEEDED),
    **dict.fromkeys(
        ("failed", "failure", "error", "errored", "crashed", "rejected", "timed_out",
         "timeout"), JobState.FAILED),
    **dict.fromkeys(
        ("canceled", "cancelled", "aborted", "stopped", "killed", "revoked"), JobState.CANCELED),
}


def map_free_word(word: object) -> JobState:
    if not isinstance(word, str):
        return JobState.UNKNOWN
    key = word.strip().lower().replace(" ", "_")
    return FREE_WORDS.get(key, FREE_WORDS.get(key.replace("-", "_"), JobState.UNKNOWN))


def free_word_state(word: object, completed_at: str | None, error: str | None) -> JobState:
    """Retailgrid's and MerchantOps' words. A word we do not know, on a job that has a
    completion time, has ended: failed if it carries an error message, else succeeded."""
    state = map_free_word(word)
    if state is JobState.UNKNOWN and completed_at:
        return JobState.FAILED if error else JobState.SUCCEEDED
    return state


# SPEC's JSON form of a job, in SPEC's order: `to_json_dict` and the `wait --json` line of a job
# that never answered are both built from it, so neither can miss a key the other has.
JSON_KEYS = ("provider", "profile", "job_id", "state", "status", "terminal", "progress", "done",
             "total", "unit", "failed_items", "message", "job_type", "created_at", "started_at",
             "finished_at", "url", "artifacts", "raw")


@dataclass(frozen=True)
class Artifact:
    category: str
    url: str


# Why not pydantic: `from pydantic import BaseModel` alone costs ~75 ms, more than half of what a
# whole `httpx.get` script takes, and `jobwatch status` must answer in about that time. The
# checks pydantic would make are few and live in __post_init__.
@dataclass(frozen=True)
class Job:
    """One provider's answer, normalized as in SPEC.md. ``raw`` keeps the answer unchanged."""

    provider: str
    job_id: str
    state: JobState
    status: str
    profile: str = "default"
    progress: float | None = None
    done: int | float | None = None
    total: int | float | None = None
    unit: str | None = None
    failed_items: int | None = None
    message: str | None = None
    job_type: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    url: str | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    raw: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", JobState(self.state))
        if not isinstance(self.status, str):
            raise TypeError(f"status must be a string, not {type(self.status).__name__}")
        if self.progress is not None and not 0.0 <= self.progress <= 1.0:
            raise ValueError(f"progress must be a fraction between 0 and 1, not {self.progress}")
        for name in ("done", "total", "failed_items"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise TypeError(f"{name} must be a number, not {value!r}")
        if not all(isinstance(a, Artifact) for a in self.artifacts):
            raise TypeError("artifacts must be Artifact objects")

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    def replace(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)

    def to_json_dict(self) -> dict[str, Any]:
        """SPEC's JSON form, keys in SPEC's order."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["state"] = self.state.value
        data["artifacts"] = [{"category": a.category, "url": a.url} for a in self.artifacts]
        data["terminal"] = self.terminal
        return {key: data[key] for key in JSON_KEYS}


def fraction(done: float | None, total: float | None) -> float | None:
    if done is None or not total or total <= 0:
        return None
    return max(0.0, min(1.0, done / total))


def percent_fraction(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return max(0.0, min(1.0, float(value) / 100.0))
