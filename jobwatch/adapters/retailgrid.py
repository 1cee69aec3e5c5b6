"""Retailgrid: UUID job ids, free-form status words, an optional related grid-fill job."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from jobwatch.adapters.base import (
    UuidIdAdapter,
    canonical_uuid,
    free_word_fields,
    percent_fields,
)
from jobwatch.adapters.lenient import FreeWordAnswer, Number, Text, read_answer
from jobwatch.models import Job


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


class RetailgridAdapter(UuidIdAdapter):
    name = "retailgrid"
    status_path = "/v1/jobs/{job_id}"
    answer_model = RetailgridJob

    def related_job_ids(self, job: Job) -> list[str]:
        answer = read_answer(RetailgridJob, job.raw)
        related = answer.related_grid_fill_job_id if answer is not None else None
        checked = canonical_uuid(related) if related is not None else None
        return [checked] if checked else []

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        return job.message is not None

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        answer = RetailgridJob.model_validate(payload)
        return Job(
            provider="retailgrid",
            job_id=answer.job_id or "",
            **free_word_fields(answer),
            **percent_fields(answer.progress),
            raw=payload,
        )
