"""Claret: integer job_log_id under a tenant; answers wrapped in {"message", "content"}."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from jobwatch.adapters.base import Adapter, json_or_none
from jobwatch.errors import JobwatchError, NotFoundError
from jobwatch.models import Artifact, Job, JobState, fraction
from jobwatch.text import shown

if TYPE_CHECKING:
    import httpx

    from jobwatch.adapters.answers.claret import ClaretAnswer
    from jobwatch.adapters.answers.lenient import Answer
    from jobwatch.http import Log

STATES = {"pending": JobState.PENDING, "in_progress": JobState.RUNNING,
          "completed": JobState.SUCCEEDED, "failed": JobState.FAILED}
CATEGORIES = ("input", "staging", "output", "errors")  # content.files, in the page's order
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


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

    @staticmethod
    def answer_model() -> type[ClaretAnswer]:
        from jobwatch.adapters.answers.claret import ClaretAnswer

        return ClaretAnswer

    @classmethod
    def _canonical_id(cls, job_id: str) -> str | None:
        # An integer: 01001 is job 1001 (watched once, asked for as Claret writes it).
        return (job_id.lstrip("0") or "0") if job_id.isascii() and job_id.isdigit() else None

    def _path_values(self) -> dict[str, str]:
        return {"tenant": self.profile.get("tenant")}

    def check_answer(self, response: httpx.Response, job_id: str, log: Log | None = None
                     ) -> tuple[Any, Answer]:
        # Claret answers 422 "Job not found ..." for unknown jobs, not 404.
        if response.status_code == 422:
            body = json_or_none(response)
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
            if "not found" in message.lower():
                raise NotFoundError(f"claret job {job_id} not found (HTTP 422: "
                                    f"{shown(message)})",
                                    hint=self.not_found_hint)
        return super().check_answer(response, job_id, log)

    def probe_accepted(self, response: httpx.Response) -> bool:
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

    def resolve(self, job: Job) -> Job:
        if not job.artifacts:
            return job  # most polls: a job with no files yet
        # Artifacts checked as they are made: the copy needs no other check.
        return job.model_copy(update={"artifacts": [
            Artifact(category=a.category, url=self.file_url(a.url)) for a in job.artifacts]})

    def file_url(self, path: str) -> str:
        """Where a ``content.files`` entry is fetched. Claret's docs: "File URLs are relative
        paths. Prepend your tenant's base URL" (with or without a leading slash); a URL with a
        scheme is taken as given (and refused later unless it is http(s))."""
        if _HAS_SCHEME.match(path):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @classmethod
    def from_answer(cls, answer: ClaretAnswer, payload: Any) -> Job:
        content = answer.content
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
            artifacts=_artifacts(content.files),
            raw=payload,
        )


def _artifacts(files: dict[str, list[str]]) -> list[Artifact]:
    """The documented categories first, in their order, then any others by name."""
    order = (*CATEGORIES, *sorted(set(files) - set(CATEGORIES)))
    return [Artifact(category=category, url=path)
            for category in order for path in files.get(category, [])]
