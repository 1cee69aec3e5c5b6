"""Retailgrid: UUID job ids, free-form status words, an optional related grid-fill job."""

from __future__ import annotations

from typing import Any

from jobwatch.adapters.base import UuidIdAdapter, canonical_uuid, number_or_none, text_or_none
from jobwatch.models import Job, free_word_state, percent_fraction


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
        error = text_or_none(payload.get("error_message"))
        completed_at = text_or_none(payload.get("completed_at"))
        state = free_word_state(payload["status"], completed_at, error)
        percent = number_or_none(payload.get("progress"))
        return Job(
            provider="retailgrid",
            job_id=str(payload.get("job_id") or ""),
            state=state,
            status=payload["status"],
            progress=percent_fraction(percent),
            done=percent, total=100 if percent is not None else None,
            unit="percent",
            message=error,
            job_type=text_or_none(payload.get("job_type")),
            created_at=text_or_none(payload.get("created_at")),
            started_at=text_or_none(payload.get("started_at")),
            finished_at=completed_at,
            raw=payload,
        )
