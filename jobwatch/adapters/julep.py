"""Julep: UUID job ids and an exact state enum; progress only when has_progress is true."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from jobwatch.adapters.base import UuidIdAdapter, percent_fields
from jobwatch.adapters.lenient import Answer, Flag, Number, Text
from jobwatch.models import Job, JobState

STATES = {"pending": JobState.PENDING, "in_progress": JobState.RUNNING,
          "retrying": JobState.RUNNING, "succeeded": JobState.SUCCEEDED,
          "aborted": JobState.CANCELED, "failed": JobState.FAILED, "unknown": JobState.UNKNOWN}


class JulepJob(Answer):
    """``GET /jobs/{job_id}`` response (Julep's JobStatus)."""

    id: Text = Field(description="The job's UUID")
    created_at: Text = Field(description="When the job was created (date-time)")
    updated_at: Text = Field(description="When the job last changed (date-time): its end, "
                                         "once the state is terminal")
    name: Text = Field(description="The job's name (at most 120 characters)")
    reason: Text = Field(description="Why the job is in its state (an error, an abort)")
    has_progress: Flag = Field(description="Whether progress means anything; when not true, "
                                           "the job's progress is unknown")
    progress: Number = Field(description="Progress in percent, 0-100")
    state: StrictStr = Field(description="pending, in_progress, retrying, succeeded, aborted, "
                                         "failed or unknown")


class JulepAdapter(UuidIdAdapter):
    name = "julep"
    default_base_url = "https://api.julep.ai/api"
    status_path = "/jobs/{job_id}"
    answer_model = JulepJob

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        answer = JulepJob.model_validate(payload)
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
