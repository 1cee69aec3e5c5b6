"""Retailgrid's job API, simulated (providers/retailgrid-get-job.md): a FastAPI service, UUID
ids, free status words, and a bulk upsert that names the grid-fill job it started."""

from __future__ import annotations

import math
from typing import Any

from jobwatch.demo.catalog import RetailgridJob
from jobwatch.demo.routes import NOT_FOUND, Answer, FastApiSim
from jobwatch.demo.script import FAILED, RETRYING, RUNNING, SUCCEEDED, WAITING, Timeline


class RetailgridSim(FastApiSim):
    name = "retailgrid"
    prefix = "/retailgrid"
    words = {WAITING: "queued", RUNNING: "processing", RETRYING: "processing",
             SUCCEEDED: "completed", FAILED: "failed"}

    def answer(self, rest: list[str], headers: dict[str, str]) -> Answer:
        # GET /v1/jobs/{job_id}
        if len(rest) != 3 or rest[:2] != ["v1", "jobs"] or not rest[2]:
            return NOT_FOUND
        return self.uuid_job(rest[2], headers)

    def render(self, job: RetailgridJob, t: Timeline) -> dict[str, Any]:
        phase, progress = job.where(t.s)
        ended = t.s >= job.ends
        return {
            "job_id": job.job_id,
            "job_type": job.job_type,
            "status": self.word(phase.state),
            "progress": None if progress is None else math.floor(progress),
            "created_at": t.ts(-1.0),
            "started_at": t.ts(job.starts) if t.s >= job.starts else None,
            "completed_at": t.ts(job.ends) if ended else None,
            "error_message": job.error_message if ended else None,
            "grid_id": job.grid_id,
            # The bulk upsert learns its grid-fill job, and the row count, when it completes.
            "related_grid_fill_job_id": job.related_grid_fill_job_id if ended else None,
            "grid_items_count": job.grid_items_count if ended or job.count_known_early else None,
        }
