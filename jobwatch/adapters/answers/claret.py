"""Claret's answer: the job in an envelope, {"message", "content"} (the provider's page,
shared/providers/claret-job-status.md)."""

from pydantic import Field, StrictStr

from jobwatch.adapters.answers.lenient import Answer, Lenient, Number, Section, Strings, Text


class ClaretProgress(Answer):
    """``content.progress``: how far the import's processing steps got."""

    completed_steps: Number = Field(description="Number of processing steps completed")
    total_steps: Number = Field(description="Total number of steps in the job")
    current_step: Text = Field(description="Name of currently executing step (null when done)")


class ClaretTimestamps(Answer):
    """``content.timestamps``."""

    started_at: Text = Field(description="ISO 8601 timestamp when job started")
    completed_at: Text = Field(description="ISO 8601 timestamp when job completed")


class ClaretContent(Answer):
    """``content``: the job itself."""

    job_log_id: Lenient[int] = Field(description="Unique identifier for this job")
    status: StrictStr = Field(description="pending, in_progress, completed or failed")
    type: Text = Field(description="Job type identifier (e.g., inventory-import)")
    description: Text = Field(description="Human-readable job description")
    progress: Section[ClaretProgress] = Field(description="Processing steps")
    files: Section[dict[str, Strings]] = Field(
        description="File paths per category (input, staging, output, errors): relative to "
                    "the tenant's base URL, or absolute URLs")
    job_status_link: Text = Field(description="URL to view job details in the Claret UI")
    timestamps: Section[ClaretTimestamps] = Field(description="Start and completion times")
    user_id: Number = Field(description="ID of user who initiated the job")


class ClaretAnswer(Answer):
    """``GET /{tenant}/api/v1/imports/status/{job_log_id}``: Claret wraps the job in an
    envelope. Its 422 "Job not found" answer has ``error`` instead of ``content``."""

    message: Text = Field(description="What Claret says of the request")
    content: ClaretContent = Field(description="The job")
