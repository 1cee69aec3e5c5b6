"""Julep: UUID job ids and an exact state enum; progress only when has_progress is true."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobwatch.adapters.base import UuidIdAdapter, percent_fields
from jobwatch.models import Job, JobState

if TYPE_CHECKING:
    from jobwatch.adapters.answers.julep import JulepJob

STATES = {"pending": JobState.PENDING, "in_progress": JobState.RUNNING,
          "retrying": JobState.RUNNING, "succeeded": JobState.SUCCEEDED,
          "aborted": JobState.CANCELED, "failed": JobState.FAILED, "unknown": JobState.UNKNOWN}


class JulepAdapter(UuidIdAdapter):
    name = "julep"
    default_base_url = "https://api.julep.ai/api"
    status_path = "/jobs/{job_id}"
    @staticmethod
    def answer_model() -> type[JulepJob]:
        from jobwatch.adapters.answers.julep import JulepJob

        return JulepJob

    @classmethod
    def from_answer(cls, answer: JulepJob, payload: Any) -> Job:
        state = STATES.get(answer.state, JobState.UNKNOWN)
        return Job(
            provider="julep",
            job_id=answer.id or "",
            state=state,
            status=answer.state,
            **percent_fields(answer.progress if answer.has_progress else None),
            message=answer.reason,
            job_type=answer.name,
            created_at=answer.created_at,
            finished_at=answer.updated_at if state.terminal else None,
            raw=payload,
        )
