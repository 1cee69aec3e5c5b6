"""MerchantOps: free-form job ids; a light /status endpoint to poll, a detail endpoint once."""

from __future__ import annotations

from typing import Any

from jobwatch.adapters.base import Adapter, number_or_none, text_or_none
from jobwatch.models import Job, JobState, free_word_state, map_free_word, percent_fraction
from jobwatch.text import has_control


class MerchantOpsAdapter(Adapter):
    name = "merchantops"
    id_form = "non-empty strings without control characters"
    id_example = "job_8f2c1"
    default_base_url = "https://api.merchantops.ai"
    status_path = "/api/jobs/{job_id}/status"
    detail_path = "/api/jobs/{job_id}"
    has_detail = True
    probe_id = "jobwatch-config-check"
    artifact_categories = ("errors", "warnings", "job")

    @classmethod
    def _canonical_id(cls, job_id: str) -> str | None:
        if not job_id or has_control(job_id):
            return None
        return job_id

    def detail_url(self, job_id: str) -> str:
        return self.url(self.detail_path, job_id=job_id)

    def fetch_detail(self, client: Any, job_id: str, log: Any = None) -> dict[str, Any]:
        return self.get_json(client, self.detail_url(job_id), job_id, log)

    def credentials(self) -> dict[str, str]:
        headers = super().credentials()
        if self.profile.get("organization_id"):
            headers["X-Organization-ID"] = self.profile.get("organization_id")
        return headers

    def _auth_hint_extra(self) -> str:
        org = self.profile.get("organization_id")
        return f" in organization {org}" if org else ""

    def wants_detail(self, job: Job) -> bool:
        """Errors or warnings worth writing down, as far as the answer ``job`` was parsed from
        tells: `wait` asks once with the /status answer (which never carries warnings) and
        again with the detail answer's own job, and writes the reports if either says so."""
        answer = job.raw if isinstance(job.raw, dict) else {}
        return (bool(job.failed_items) or job.state in (JobState.FAILED, JobState.CANCELED)
                or _reports_errors(answer) or _reports_warnings(answer))

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        """--strict: failed items or errors per the status answer or the detail answer.
        Warnings alone are not errors."""
        return bool(job.failed_items) or (isinstance(detail, dict) and _reports_errors(detail))

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        done = number_or_none(payload.get("processed_items"))
        total = number_or_none(payload.get("total_items"))
        failed = number_or_none(payload.get("failed_items"))
        error = text_or_none(payload.get("error_message"))
        completed_at = text_or_none(payload.get("completed_at"))
        state = free_word_state(payload["status"], completed_at, error)
        return Job(
            provider="merchantops",
            job_id=str(payload.get("job_id") or ""),
            state=state,
            status=payload["status"],
            progress=percent_fraction(payload.get("progress_percentage")),
            done=done, total=total, unit="items",
            failed_items=int(failed) if failed is not None else None,
            message=error,
            job_type=text_or_none(payload.get("job_type")),
            created_at=text_or_none(payload.get("created_at")),
            started_at=text_or_none(payload.get("started_at")),
            finished_at=completed_at,
            raw=payload,
        )


def _reports_errors(answer: dict[str, Any]) -> bool:
    """Failed items, a failed or canceled status, or a non-empty ``errors`` list."""
    return (_positive(answer.get("failed_items")) or _listed(answer.get("errors"))
            or map_free_word(answer.get("status")) in (JobState.FAILED, JobState.CANCELED))


def _reports_warnings(answer: dict[str, Any]) -> bool:
    return _positive(answer.get("warned_items")) or _listed(answer.get("warnings"))


def _positive(value: Any) -> bool:
    number = number_or_none(value)
    return number is not None and number > 0


def _listed(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0
