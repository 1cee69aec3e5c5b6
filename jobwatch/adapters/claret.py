"""Claret: integer job_log_id under a tenant; answers wrapped in {"message", "content"}."""

from __future__ import annotations

import re
from typing import Any

from jobwatch.adapters.base import Adapter, json_or_none, number_or_none, text_or_none
from jobwatch.errors import JobwatchError, NotFoundError
from jobwatch.models import Artifact, Job, JobState, fraction

STATES = {"pending": JobState.PENDING, "in_progress": JobState.RUNNING,
          "completed": JobState.SUCCEEDED, "failed": JobState.FAILED}
CATEGORIES = ("input", "staging", "output", "errors")
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

    @staticmethod
    def has_shape(payload: Any) -> bool:
        return isinstance(payload, dict) and Adapter.has_shape(payload.get("content"))

    def normalize(self, payload: Any, job_id: str, log: Any = None) -> Job:
        job = super().normalize(payload, job_id, log)
        return job.replace(artifacts=[Artifact(a.category, self.file_url(a.url))
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
        content = payload["content"]
        progress = content.get("progress") if isinstance(content.get("progress"), dict) else {}
        done = number_or_none(progress.get("completed_steps"))
        total = number_or_none(progress.get("total_steps"))
        stamps = content.get("timestamps") if isinstance(content.get("timestamps"), dict) else {}
        files = content.get("files") if isinstance(content.get("files"), dict) else {}
        artifacts = [
            Artifact(category=category, url=path)
            for category in (*CATEGORIES, *sorted(set(files) - set(CATEGORIES)))
            for path in (files.get(category) if isinstance(files.get(category), list) else [])
            if isinstance(path, str) and path
        ]
        job_id = content.get("job_log_id")
        return Job(
            provider="claret",
            job_id=str(job_id) if job_id is not None else "",
            state=STATES.get(content["status"], JobState.UNKNOWN),
            status=content["status"],
            progress=fraction(done, total),
            done=done, total=total, unit="steps",
            message=text_or_none(progress.get("current_step")),
            job_type=text_or_none(content.get("type")),
            started_at=text_or_none(stamps.get("started_at")),
            finished_at=text_or_none(stamps.get("completed_at")),
            url=text_or_none(content.get("job_status_link")),
            artifacts=artifacts,
            raw=payload,
        )
