"""MerchantOps: free-form job ids; a light /status endpoint to poll, a detail endpoint once."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictStr

from jobwatch.adapters.base import Adapter, free_word_fields
from jobwatch.adapters.lenient import (
    Answer,
    Entries,
    FreeWordAnswer,
    JsonObject,
    Number,
    Text,
    read_answer,
)
from jobwatch.models import Job, JobState, map_free_word, percent_fraction
from jobwatch.text import has_control


class MerchantOpsStatus(Answer):
    """``GET /api/jobs/{job_id}/status``: the lightweight response for status polling
    (JobStatusResponse)."""

    job_id: Text = Field(description="The job's id")
    status: StrictStr = Field(description="Current job status (a free word)")
    progress_percentage: Number = Field(description="Progress percentage (0-100): processed "
                                                    "and failed items together")
    processed_items: Number = Field(description="Items successfully processed")
    total_items: Number = Field(description="Total items to process")
    failed_items: Number = Field(description="Items that failed")


class MerchantOpsError(Answer):
    """One entry of the detail answer's ``errors`` or ``warnings`` (JobErrorResponse)."""

    entity_type: Text = Field(description="Type of entity (product, document, etc.)")
    entity_key: Text = Field(description="Key of the entity that failed")
    error_type: Text = Field(description="Type of error")
    message: Text = Field(description="Human-readable error message")
    step: Text = Field(description="Step where the error occurred")
    timestamp: Text = Field(description="When the error occurred (ISO 8601)")
    details: JsonObject = Field(description="Additional error context")


class MerchantOpsReferenceKey(Answer):
    """One entry of the detail answer's ``reference_keys`` (JobReferenceKeyResponse)."""

    entity_type: Text = Field(description="Type of entity (product, document, technology)")
    key: Text = Field(description="Entity key/identifier")


class MerchantOpsDetail(MerchantOpsStatus, FreeWordAnswer):
    """``GET /api/jobs/{job_id}``: the detailed response, with error details
    (JobDetailResponse). It holds every field of the status answer, so this model reads both:
    a status answer simply lacks the rest."""

    success_rate: Number = Field(description="Success rate percentage (0-100)")
    warned_items: Number = Field(description="Items processed with warnings (e.g., expected "
                                             "target gaps)")
    duration_seconds: Number = Field(description="Job duration in seconds")
    triggered_by: Text = Field(description="User who triggered the job")
    error_details: JsonObject = Field(description="Detailed error information")
    metadata: JsonObject = Field(description="Job metadata")
    errors: Entries[MerchantOpsError] = Field(description="Errors that occurred: an entry "
                                                          "that is not an object is an empty "
                                                          "one, still counted")
    warnings: Entries[MerchantOpsError] = Field(description="Non-blocking warnings (same shape "
                                                            "as errors)")
    reference_keys: Entries[MerchantOpsReferenceKey] = Field(
        description="Entity reference keys")


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
    answer_model = MerchantOpsDetail

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
        answer = read_answer(MerchantOpsDetail, job.raw)
        return (bool(job.failed_items) or job.state in (JobState.FAILED, JobState.CANCELED)
                or (answer is not None and (_reports_errors(answer) or _reports_warnings(answer))))

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        """--strict: failed items or errors per the status answer or the detail answer.
        Warnings alone are not errors."""
        answer = read_answer(MerchantOpsDetail, detail)
        return bool(job.failed_items) or (answer is not None and _reports_errors(answer))

    error_columns = ("type", "key", "message")

    @staticmethod
    def detail_reports(detail: Any) -> tuple[list[Any], list[Any]]:
        # The reports are written from the entries as the provider sent them (an off-spec
        # entry stays readable in the CSV); the model only says whether there are any.
        answer = detail if isinstance(detail, dict) else {}
        return _listed(answer.get("errors")), _listed(answer.get("warnings"))

    @staticmethod
    def error_rows(errors: list[Any], limit: int) -> list[list[str]]:
        return [[str(e.get("error_type", "")), str(e.get("entity_key", "")),
                 " ".join(str(e.get("message", "")).split())]
                for e in errors[:limit] if isinstance(e, dict)]

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        answer = MerchantOpsDetail.model_validate(payload)
        # processed_items counts the items that went through and failed_items the others, while
        # progress_percentage covers both (116 + 4 of 120 is 100%): done is their sum.
        processed, failed = answer.processed_items, answer.failed_items
        return Job(
            provider="merchantops",
            job_id=answer.job_id or "",
            **free_word_fields(answer),
            progress=percent_fraction(answer.progress_percentage),
            done=processed + (failed or 0) if processed is not None else None,
            total=answer.total_items, unit="items",
            failed_items=int(failed) if failed is not None else None,
            raw=payload,
        )


def _reports_errors(answer: MerchantOpsDetail) -> bool:
    """Failed items, a failed or canceled status, or a non-empty ``errors`` list."""
    return (_positive(answer.failed_items) or bool(answer.errors)
            or map_free_word(answer.status) in (JobState.FAILED, JobState.CANCELED))


def _reports_warnings(answer: MerchantOpsDetail) -> bool:
    return _positive(answer.warned_items) or bool(answer.warnings)


def _positive(count: float | None) -> bool:
    return count is not None and count > 0


def _listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
