"""MerchantOps' job API, simulated (providers/merchantops-get-job-status.md and -get-job.md): a
FastAPI service with a light ``/status`` endpoint and a detail endpoint carrying every error and
warning, and an organization header it checks when sent."""

from __future__ import annotations

from typing import Any

from jobwatch.demo.catalog import MerchantOpsJob, Problem
from jobwatch.demo.routes import JOB_NOT_FOUND, NOT_FOUND, Answer, FastApiSim, json_answer
from jobwatch.demo.script import FAILED, RETRYING, RUNNING, SUCCEEDED, WAITING, Timeline

STATUS_FIELDS = (
    "job_id", "status", "progress_percentage", "processed_items", "total_items", "failed_items",
)


def _problem(problem: Problem, t: Timeline) -> dict[str, Any]:
    """One JobErrorResponse (an error or a warning)."""
    return {
        "entity_type": problem.entity_type,
        "entity_key": problem.entity_key,
        "error_type": problem.error_type,
        "message": problem.message,
        "step": problem.step,
        "timestamp": t.ts(problem.at),
        "details": problem.details,
    }


class MerchantOpsSim(FastApiSim):
    name = "merchantops"
    prefix = "/merchantops"
    words = {WAITING: "queued", RUNNING: "processing", RETRYING: "processing",
             SUCCEEDED: "completed", FAILED: "failed"}

    def fields(self) -> dict[str, str]:
        return {"organization_id": self.world.organization_id}

    def answer(self, rest: list[str], headers: dict[str, str]) -> Answer:
        # GET /api/jobs/{job_id} (detail) and GET /api/jobs/{job_id}/status
        if rest[:2] != ["api", "jobs"] or len(rest) not in (3, 4) or not rest[2]:
            return NOT_FOUND
        if len(rest) == 4 and rest[3] != "status":
            return NOT_FOUND
        refused = self.refused(headers)
        if refused:
            return refused
        organization = headers.get("x-organization-id")
        if organization is not None and organization != self.world.organization_id:
            return json_answer(403, {"detail": f"Not a member of organization {organization}"})
        job = self.job(rest[2])
        if not isinstance(job, MerchantOpsJob):
            return JOB_NOT_FOUND
        detail = self.render(job, self.world.timeline(self.name, job.job_id))
        if len(rest) == 4:
            return json_answer(200, {name: detail[name] for name in STATUS_FIELDS})
        return json_answer(200, detail)

    def render(self, job: MerchantOpsJob, t: Timeline) -> dict[str, Any]:
        phase, handled_f = job.where(t.s)
        handled = int(handled_f or 0)
        ended = t.s >= job.ends
        errors = [_problem(e, t) for e in job.errors if e.at <= t.s]
        warnings = [_problem(w, t) for w in job.warnings if w.at <= t.s]
        failed = min(handled, len({e["entity_key"] for e in errors}))
        processed = handled - failed
        return {
            "job_id": job.job_id,
            "job_type": job.job_type,
            "status": self.word(phase.state),
            "total_items": job.total_items,
            "processed_items": processed,
            "failed_items": failed,
            "warned_items": len({w["entity_key"] for w in warnings}),
            "progress_percentage": round(100.0 * handled / job.total_items, 1),
            "success_rate": round(100.0 * processed / handled, 2) if handled else 0.0,
            "created_at": t.ts(-1.0),
            "started_at": t.ts(job.starts) if t.s >= job.starts else None,
            "completed_at": t.ts(job.ends) if ended else None,
            "duration_seconds": t.real_seconds(job.starts, job.ends) if ended else None,
            "triggered_by": "ops@demo.example",
            "error_message": job.error_message if ended else None,
            "error_details": job.error_details if ended else None,
            "metadata": {"source": "catalog-sync", "target_fields": ["title", "material"]},
            "errors": errors,
            "warnings": warnings,
            "reference_keys": [
                {"entity_type": "product", "key": f"SKU-{10001 + i}"}
                for i in range(job.total_items)
            ],
        }
