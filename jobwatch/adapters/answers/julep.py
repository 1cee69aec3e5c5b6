"""Julep's answer: its JobStatus schema (shared/providers/julep-get-job-status.md)."""

from pydantic import Field, StrictStr

from jobwatch.adapters.answers.lenient import Answer, Flag, Number, Text


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
                                         "failed or unknown. Julep's schema gives it a default; "
                                         "here it is required: a job whose state is not said "
                                         "cannot be shown")
