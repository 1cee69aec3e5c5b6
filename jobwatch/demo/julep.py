"""Julep's task API, simulated (providers/julep-get-job-status.md): a FastAPI service under
``/api``, UUID ids, an exact state enum, and a progress percent only when ``has_progress``."""

from __future__ import annotations

from typing import Any

from jobwatch.demo.catalog import JulepJob
from jobwatch.demo.routes import NOT_FOUND, Answer, FastApiSim
from jobwatch.demo.script import FAILED, RETRYING, RUNNING, SUCCEEDED, WAITING, Timeline


class JulepSim(FastApiSim):
    name = "julep"
    prefix = "/julep/api"
    words = {WAITING: "pending", RUNNING: "in_progress", RETRYING: "retrying",
             SUCCEEDED: "succeeded", FAILED: "failed"}

    def answer(self, rest: list[str], headers: dict[str, str]) -> Answer:
        # GET /jobs/{job_id}
        if len(rest) != 2 or rest[0] != "jobs" or not rest[1]:
            return NOT_FOUND
        return self.uuid_job(rest[1], headers)

    def render(self, job: JulepJob, t: Timeline) -> dict[str, Any]:
        phase, progress = job.where(t.s)
        return {
            "id": job.job_id,
            "created_at": t.ts(-1.5),
            "updated_at": t.ts(min(t.s, job.ends)),
            "name": job.name,
            "reason": phase.reason,
            "has_progress": job.has_progress,
            "progress": round(float(progress or 0), 1) if job.has_progress else 0.0,
            "state": self.word(phase.state),
        }
