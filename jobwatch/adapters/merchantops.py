"""MerchantOps: free-form job ids; a light /status endpoint to poll, a detail endpoint once
(a `DetailEndpoint`: its answer lists the errors and warnings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobwatch.adapters.base import Adapter, free_word_fields, read_answer
from jobwatch.models import Job, JobState, map_free_word, percent_fraction
from jobwatch.text import has_control

if TYPE_CHECKING:
    import httpx

    from jobwatch.adapters.answers.merchantops import MerchantOpsDetail
    from jobwatch.adapters.capabilities import ReportedError
    from jobwatch.http import Log


class MerchantOpsAdapter(Adapter):
    name = "merchantops"
    id_form = "non-empty strings without control characters"
    id_example = "job_8f2c1"
    default_base_url = "https://api.merchantops.ai"
    status_path = "/api/jobs/{job_id}/status"
    detail_path = "/api/jobs/{job_id}"
    probe_id = "jobwatch-config-check"
    artifact_categories = ("errors", "warnings", "job")

    @staticmethod
    def answer_model() -> type[MerchantOpsDetail]:
        # The detail answer holds every field of the status answer: its model reads both.
        from jobwatch.adapters.answers.merchantops import MerchantOpsDetail

        return MerchantOpsDetail

    @classmethod
    def _canonical_id(cls, job_id: str) -> str | None:
        if not job_id or has_control(job_id):
            return None
        return job_id

    def detail_url(self, job_id: str) -> str:
        return self.url(self.detail_path, job_id=job_id)

    def fetch_detail(self, client: httpx.Client, job_id: str, log: Log | None = None
                     ) -> dict[str, Any]:
        detail: dict[str, Any] = self.get_json(client, self.detail_url(job_id), job_id, log)
        return detail

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
        answer = read_answer(self.answer_model(), job.raw)
        return (bool(job.failed_items) or job.state in (JobState.FAILED, JobState.CANCELED)
                or (answer is not None and (_reports_errors(answer) or _reports_warnings(answer))))

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        """--strict: failed items or errors per the status answer or the detail answer.
        Warnings alone are not errors."""
        answer = read_answer(self.answer_model(), detail)
        return bool(job.failed_items) or (answer is not None and _reports_errors(answer))

    @staticmethod
    def detail_reports(detail: Any) -> tuple[list[Any], list[Any]]:
        # The reports are written from the entries as the provider sent them (an off-spec
        # entry stays readable in the CSV); the model only says whether there are any.
        answer = detail if isinstance(detail, dict) else {}
        return _listed(answer.get("errors")), _listed(answer.get("warnings"))

    @staticmethod
    def reported_errors(errors: list[Any]) -> list[ReportedError]:
        from jobwatch.adapters.capabilities import ReportedError  # when a job ended: not status

        return [ReportedError(kind=str(e.get("error_type", "")), key=str(e.get("entity_key", "")),
                              message=str(e.get("message", "")))
                for e in errors if isinstance(e, dict)]

    @classmethod
    def from_answer(cls, answer: MerchantOpsDetail, payload: Any) -> Job:
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
