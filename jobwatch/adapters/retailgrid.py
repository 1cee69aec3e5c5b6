"""Retailgrid: UUID job ids, free-form status words, an optional related grid-fill job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobwatch.adapters.base import (
    UuidIdAdapter,
    canonical_uuid,
    free_word_fields,
    percent_fields,
    read_answer,
)
from jobwatch.models import Job

if TYPE_CHECKING:
    from jobwatch.adapters.answers.retailgrid import RetailgridJob


class RetailgridAdapter(UuidIdAdapter):
    name = "retailgrid"
    status_path = "/v1/jobs/{job_id}"

    @staticmethod
    def answer_model() -> type[RetailgridJob]:
        from jobwatch.adapters.answers.retailgrid import RetailgridJob

        return RetailgridJob

    def related_job_ids(self, job: Job) -> list[str]:
        answer = read_answer(self.answer_model(), job.raw)
        related = answer.related_grid_fill_job_id if answer is not None else None
        checked = canonical_uuid(related) if related is not None else None
        return [checked] if checked else []

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        return job.message is not None

    @classmethod
    def from_answer(cls, answer: RetailgridJob, payload: Any) -> Job:
        return Job(
            provider="retailgrid",
            job_id=answer.job_id or "",
            **free_word_fields(answer),
            **percent_fields(answer.progress),
            raw=payload,
        )
