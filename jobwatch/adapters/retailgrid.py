"""Retailgrid: UUID job ids, free-form status words, an optional related grid-fill job."""

from __future__ import annotations

from typing import Any

from jobwatch.adapters.base import (
    UuidIdAdapter,
    canonical_uuid,
    free_word_fields,
    number_or_none,
    percent_fields,
)
from jobwatch.models import Job


class RetailgridAdapter(UuidIdAdapter):
    name = "retailgrid"
    status_path = "/v1/jobs/{job_id}"

    def related_job_ids(self, job: Job) -> list[str]:
        raw = job.raw if isinstance(job.raw, dict) else {}
        related = raw.get("related_grid_fill_job_id")
        checked = canonical_uuid(related) if isinstance(related, str) else None
        return [checked] if checked else []

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        return job.message is not None

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        return Job(
            provider="retailgrid",
            job_id=str(payload.get("job_id") or ""),
            **free_word_fields(payload),
            **percent_fields(number_or_none(payload.get("progress"))),
            raw=payload,
        )
