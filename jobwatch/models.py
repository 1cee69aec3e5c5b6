"""The normalized job of SPEC.md, shared by every provider, and the state-mapping rules."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Artifact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    url: str


class Job(BaseModel):
    """One provider's answer, normalized. ``raw`` keeps the answer unchanged."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    profile: str = "default"
    job_id: str
    state: JobState
    status: str
    terminal: bool = False
    progress: float | None = Field(default=None, ge=0.0, le=1.0)
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
    artifacts: list[Artifact] = Field(default_factory=list)
    raw: Any = None

    def model_post_init(self, __context: Any) -> None:
        self.terminal = self.state.terminal

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def fraction(done: float | None, total: float | None) -> float | None:
    if done is None or not total or total <= 0:
        return None
    return max(0.0, min(1.0, done / total))


def percent_fraction(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return max(0.0, min(1.0, float(value) / 100.0))
