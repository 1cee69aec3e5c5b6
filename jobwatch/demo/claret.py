"""Claret's import API, simulated (providers/claret-job-status.md): a Laravel app, answers in a
``{"message", "content"}`` envelope, files published under the tenant's download path as an
import goes, and 422 (not 404) for a job it does not know."""

from __future__ import annotations

import csv
import io
from typing import Any

from jobwatch.demo import catalog
from jobwatch.demo.catalog import ClaretImport
from jobwatch.demo.routes import Answer, ProviderSim, json_answer
from jobwatch.demo.script import FAILED, RETRYING, RUNNING, SUCCEEDED, WAITING, Timeline

STEPS = (
    "Reading upload",
    "Parsing CSV",
    "Mapping columns",
    "Validating rows",
    "Matching SKUs",
    "Writing staging data",
    "Applying changes",
    "Building reports",
)
VALIDATED = 4  # steps done once "Validating rows" has passed: staging and errors files appear

# Claret answers a job it does not know with 422, not 404; this body is its doc's, verbatim.
JOB_NOT_FOUND = json_answer(422, {
    "message": "Job not found or you do not have access to this job.",
    "error": {"error": "Job log ID does not exist"},
})
NOT_FOUND = json_answer(404, {"message": "Not Found"})


def _csv(rows: tuple[tuple[str, ...], ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


class ClaretSim(ProviderSim):
    name = "claret"
    prefix = "/claret"
    words = {WAITING: "pending", RUNNING: "in_progress", RETRYING: "in_progress",
             SUCCEEDED: "completed", FAILED: "failed"}

    def fields(self) -> dict[str, str]:
        return {"tenant": self.world.tenant}

    def answer(self, rest: list[str], headers: dict[str, str]) -> Answer:
        if len(rest) < 2:
            return NOT_FOUND
        tenant, route = rest[0], rest[1:]
        is_status = len(route) == 5 and route[:4] == ["api", "v1", "imports", "status"]
        # Laravel's route only takes digits for {job_log_id}: anything else matches no route.
        if is_status and not (route[4].isascii() and route[4].isdigit()):
            return NOT_FOUND
        if not is_status and route[:1] != ["download"]:
            return NOT_FOUND
        # Authentication comes first, as on the other providers: without the right token a
        # caller learns nothing, not even which tenants exist.
        if not self.world.bearer(headers):
            return json_answer(401, {"message": "Unauthenticated."})
        if tenant != self.world.tenant:
            return json_answer(404, {"message": "Tenant not found."})
        if is_status:
            return self._status(str(int(route[4])))
        return self._file("/" + "/".join(rest))

    def _status(self, job_log_id: str) -> Answer:
        job = self.job(job_log_id)
        if not isinstance(job, ClaretImport):
            return JOB_NOT_FOUND
        t = self.world.timeline(self.name, job_log_id)
        return json_answer(200, {
            "message": "Job status retrieved successfully",
            "content": self._content(job, t),
        })

    def _file(self, path: str) -> Answer:
        for job in self._imports():
            t = self.world.timeline_if_started(self.name, job.job_id)
            if t is None:
                continue
            published = [p for paths in self._paths(job, t).values() for p in paths]
            if path in published:
                name = path.rsplit("/", 1)[-1]
                return Answer(200, self._body(job, path), "text/csv; charset=utf-8",
                              (("Content-Disposition", f'attachment; filename="{name}"'),))
        return json_answer(404, {"message": "File not found."})

    def _imports(self) -> list[ClaretImport]:
        return [job for job in catalog.of(self.name) if isinstance(job, ClaretImport)]

    def _paths(self, job: ClaretImport, t: Timeline) -> dict[str, list[str]]:
        """The relative file paths published so far, per category, as Claret lists them."""
        tenant = self.world.tenant
        _phase, done = job.where(t.s)
        steps = int(done or 0)
        folder = (
            f"/{tenant}/download/{tenant}/user-uploads/{job.job_type}/"
            f"{t.day():%Y-%m-%d}/{job.job_id}"
        )
        stamp = f"{t.day():%Y%m%d}"

        def name(kind: str) -> str:
            return f"{folder}/{job.stem}_{stamp}_{kind}.csv"

        ended = t.s >= job.ends
        validated = not job.fails and steps >= VALIDATED
        published: dict[str, list[str]] = {"input": [], "staging": [], "output": [], "errors": []}
        published["input"].append(name("untouched"))
        if validated:
            published["staging"].append(name("staging"))
        if "errors" in job.files and (validated or ended):
            published["errors"].append(name("errors"))
        if ended and not job.fails:
            published["output"].append(name("final"))
        return published

    @staticmethod
    def _body(job: ClaretImport, path: str) -> bytes:
        kind = path.rsplit("_", 1)[-1].removesuffix(".csv")
        return _csv(job.files["input" if kind == "untouched" else kind])

    def _content(self, job: ClaretImport, t: Timeline) -> dict[str, Any]:
        phase, done = job.where(t.s)
        ended = t.s >= job.ends
        steps = int(done or 0)
        status = self.word(phase.state)
        tenant = self.world.tenant
        return {
            "job_log_id": int(job.job_id),
            "status": status,
            "type": job.job_type,
            "description": job.description,
            "progress": {
                "completed_steps": steps,
                "total_steps": len(STEPS),
                "current_step": STEPS[steps] if status == "in_progress" else None,
            },
            "files": self._paths(job, t),
            "job_status_link": (
                f"{self.world.url}{self.prefix}/{tenant}/settings/application-maintenance/"
                f"job-management/imports/logs/{job.job_id}"
            ),
            "timestamps": {
                "started_at": t.ts(job.starts, ms=False) if t.s >= job.starts else None,
                "completed_at": t.ts(job.ends, ms=False) if ended else None,
            },
            "user_id": job.user_id,
        }
