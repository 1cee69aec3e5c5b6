"""Julep: UUID job ids and an exact state enum; progress only when has_progress is true."""

from __future__ import annotations

from typing import Any

from jobwatch.adapters.base import UuidIdAdapter, number_or_none, percent_fields, text_or_none
from jobwatch.models import Job, JobState

STATES = {"pending": JobState.PENDING, "in_progress": JobState.RUNNING,
          "retrying": JobState.RUNNING, "succeeded": JobState.SUCCEEDED,
          "aborted": JobState.CANCELED, "failed": JobState.FAILED, "unknown": JobState.UNKNOWN}


class JulepAdapter(UuidIdAdapter):
    name = "julep"
    default_base_url = "https://api.julep.ai/api"
    status_path = "/jobs/{job_id}"

    @staticmethod
    def has_shape(payload: Any) -> bool:
        return isinstance(payload, dict) and isinstance(payload.get("state"), str)

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        state = STATES.get(payload["state"], JobState.UNKNOWN)
        percent = number_or_none(payload.get("progress")) if payload.get("has_progress") else None
        return Job(
            provider="julep",
            job_id=str(payload.get("id") or ""),
            state=state,
            status=payload["state"],
            **percent_fields(percent),
            message=text_or_none(payload.get("reason")),
            job_type=text_or_none(payload.get("name")),
            created_at=text_or_none(payload.get("created_at")),
            finished_at=text_or_none(payload.get("updated_at")) if state.terminal else None,
            raw=payload,
        )
