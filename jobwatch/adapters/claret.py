"""Claret: integer job_log_id under a tenant; answers wrapped in {"message", "content"}."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, StrictStr

from jobwatch.adapters.base import Adapter, json_or_none
from jobwatch.adapters.lenient import Answer, Lenient, Number, Section, Strings, Text
from jobwatch.errors import JobwatchError, NotFoundError
from jobwatch.models import Artifact, Job, JobState, fraction

STATES = {"pending": JobState.PENDING, "in_progress": JobState.RUNNING,
          "completed": JobState.SUCCEEDED, "failed": JobState.FAILED}
CATEGORIES = ("input", "staging", "output", "errors")
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class ClaretProgress(Answer):
    """``content.progress``: how far the import's processing steps got."""

    completed_steps: Number = Field(description="Number of processing steps completed")
    total_steps: Number = Field(description="Total number of steps in the job")
    current_step: Text = Field(description="Name of currently executing step (null when done)")


class ClaretTimestamps(Answer):
    """``content.timestamps``."""

    started_at: Text = Field(description="ISO 8601 timestamp when job started")
    completed_at: Text = Field(description="ISO 8601 timestamp when job completed")


class ClaretContent(Answer):
    """``content``: the job itself."""

    job_log_id: Lenient[int] = Field(description="Unique identifier for this job")
    status: StrictStr = Field(description="pending, in_progress, completed or failed")
    type: Text = Field(description="Job type identifier (e.g., inventory-import)")
    description: Text = Field(description="Human-readable job description")
    progress: Section[ClaretProgress] = Field(description="Processing steps")
    files: Section[dict[str, Strings]] = Field(
        description="File paths per category (input, staging, output, errors): relative to "
                    "the tenant's base URL, or absolute URLs")
    job_status_link: Text = Field(description="URL to view job details in the Claret UI")
    timestamps: Section[ClaretTimestamps] = Field(description="Start and completion times")
    user_id: Number = Field(description="ID of user who initiated the job")

    def artifacts(self) -> list[Artifact]:
        """The documented categories first, in their order, then any others by name."""
        order = (*CATEGORIES, *sorted(set(self.files) - set(CATEGORIES)))
        return [Artifact(category=category, url=path)
                for category in order for path in self.files.get(category, [])]


class ClaretAnswer(Answer):
    """``GET /{tenant}/api/v1/imports/status/{job_log_id}``: Claret wraps the job in an
    envelope. Its 422 "Job not found" answer has ``error`` instead of ``content``."""

    message: Text = Field(description="What Claret says of the request")
    content: ClaretContent = Field(description="The job")


class ClaretAdapter(Adapter):
    name = "claret"
    id_form = "integers (the job_log_id)"
    id_example = "12345"
    default_base_url = "https://plan.claret.app"
    required = ("tenant",)
    default_interval = 5.0  # Claret's docs ask for polls every 5-10 s
    probe_id = "0"
    artifact_categories = CATEGORIES
    status_path = "/{tenant}/api/v1/imports/status/{job_id}"
    not_found_hint = ("check the job id and the tenant; Claret also says this for jobs "
                      "you cannot see")
    answer_model = ClaretAnswer

    @classmethod
    def _canonical_id(cls, job_id: str) -> str | None:
        return job_id if job_id.isascii() and job_id.isdigit() else None

    def _path_values(self) -> dict[str, str]:
        return {"tenant": self.profile.get("tenant")}

    def check(self, response: Any, job_id: str, log: Any = None) -> Any:
        # Claret answers 422 "Job not found ..." for unknown jobs, not 404.
        if response.status_code == 422:
            body = json_or_none(response, self.secrets())
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
            if "not found" in message.lower():
                raise NotFoundError(f"claret job {job_id} not found (HTTP 422: {message})",
                                    hint=self.not_found_hint)
        return super().check(response, job_id, log)

    def probe_accepted(self, response: Any) -> bool:
        # Only the documented 422 "Job not found ..." proves base_url, tenant and token; a 404
        # comes from a wrong base_url or tenant.
        if response.status_code != 422:
            return False
        try:
            self.check(response, self.probe_id)
        except NotFoundError:
            return True
        except JobwatchError:
            return False
        return False

    def ended_with_errors(self, job: Job, detail: Any = None) -> bool:
        return any(a.category == "errors" for a in job.artifacts)

    def normalize(self, payload: Any, job_id: str, log: Any = None) -> Job:
        job = super().normalize(payload, job_id, log)
        return job.replace(artifacts=[Artifact(category=a.category, url=self.file_url(a.url))
                                      for a in job.artifacts])

    def file_url(self, path: str) -> str:
        """Where a ``content.files`` entry is fetched. Claret's docs: "File URLs are relative
        paths. Prepend your tenant's base URL" (with or without a leading slash); a URL with a
        scheme is taken as given (and refused later unless it is http(s))."""
        if _HAS_SCHEME.match(path):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @staticmethod
    def parse(payload: dict[str, Any]) -> Job:
        content = ClaretAnswer.model_validate(payload).content
        done, total = content.progress.completed_steps, content.progress.total_steps
        return Job(
            provider="claret",
            job_id=str(content.job_log_id) if content.job_log_id is not None else "",
            state=STATES.get(content.status, JobState.UNKNOWN),
            status=content.status,
            progress=fraction(done, total),
            done=done, total=total, unit="steps",
            message=content.progress.current_step,
            job_type=content.type,
            started_at=content.timestamps.started_at,
            finished_at=content.timestamps.completed_at,
            url=content.job_status_link,
            artifacts=content.artifacts(),
            raw=payload,
        )
