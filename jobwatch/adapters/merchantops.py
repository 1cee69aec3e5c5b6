"""MerchantOps: free-form job ids; a light /status endpoint to poll, a detail endpoint once."""

from __future__ import annotations

from typing import Any

from jobwatch.adapters.base import Adapter, free_word_fields, number_or_none
from jobwatch.models import Job, JobState, map_free_word, percent_fraction
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

    error_columns = ("type", "key", "message")

    @staticmethod
    def detail_reports(detail: Any) -> tuple[list[Any], list[Any]]:
        answer = detail if isinstance(detail, dict) else {}
        return _entries(answer.get("errors")), _entries(answer.get("warnings"))

    @staticmethod
    def error_rows(errors: list[Any], limit: int) -> list[list[str]]:
        return [[str(e.get("error_type", "")), str(e.get("entity_key", "")),
                 " ".join(str(e.get("message", "")).split())]
                for e in errors[:limit] if isinstance(e, dict)]

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        # processed_items counts the items that went through and failed_items the others, while
        # progress_percentage covers both (116 + 4 of 120 is 100%): done is their sum.
        processed = number_or_none(payload.get("processed_items"))
        failed = number_or_none(payload.get("failed_items"))
        return Job(
            provider="merchantops",
            job_id=str(payload.get("job_id") or ""),
            **free_word_fields(payload),
            progress=percent_fraction(payload.get("progress_percentage")),
            done=processed + (failed or 0) if processed is not None else None,
            total=number_or_none(payload.get("total_items")), unit="items",
            failed_items=int(failed) if failed is not None else None,
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


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
