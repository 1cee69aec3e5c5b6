"""Retailgrid's answer: its JobStatusResponse (shared/providers/retailgrid-get-job.md)."""

from pydantic import Field

from jobwatch.adapters.answers.lenient import FreeWordAnswer, Number, Text


class RetailgridJob(FreeWordAnswer):
    """``GET /v1/jobs/{id}`` response: current status for the caller's job (JobStatusResponse).
    The status word is free-form; state, type, timestamps and error are FreeWordAnswer's."""

    job_id: Text = Field(description="The job's UUID")
    progress: Number = Field(description="Progress in percent (0-100), or null")
    grid_id: Text = Field(description="UUID of the grid the job writes to, or null")
    related_grid_fill_job_id: Text = Field(
        description="UUID of the grid-fill job a bulk upsert started, or null "
                    "(`wait --follow-related` waits for it too)")
    grid_items_count: Number = Field(description="Items in the grid, or null")
