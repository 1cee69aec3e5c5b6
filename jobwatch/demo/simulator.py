"""A loopback simulator of the four providers' job APIs, for `jobwatch demo` and the tests.

Standard library only, so `jobwatch demo` starts at once and the module can run anywhere. Each
provider answers under its own path prefix on one port, with the paths, envelopes, field names,
status words and error bodies of its own docs (SPEC.md's ``providers/`` folder).

Every scripted job runs on its own clock, started by the first request for that job id, so a
client that arrives late still sees the whole life of a job. ``speed`` scales that clock.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

PROVIDERS = ("retailgrid", "merchantops", "julep", "claret")
_PREFIX = {
    "retailgrid": "/retailgrid",
    "merchantops": "/merchantops",
    "julep": "/julep/api",
    "claret": "/claret",
}


def _iso(wall: float, *, ms: bool) -> str:
    moment = datetime.fromtimestamp(wall, tz=timezone.utc)
    if ms:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Timeline:
    """Where one job is: ``s`` script seconds since its first request (real seconds x speed)."""

    s: float
    first_wall: float
    speed: float

    def ts(self, offset: float, *, ms: bool = True) -> str:
        return _iso(self.first_wall + offset / self.speed, ms=ms)

    def real_seconds(self, start: float, end: float) -> float:
        return round((end - start) / self.speed, 3)

    def day(self) -> datetime:
        return datetime.fromtimestamp(self.first_wall, tz=timezone.utc)


@dataclass(frozen=True)
class _Phase:
    """From script second ``at`` the job says ``status``. ``amount`` (progress, steps or items)
    ramps linearly towards the next phase's amount; ``reason`` is Julep's."""

    at: float
    status: str
    amount: float | None = None
    reason: str = ""


class _Script:
    """Phases of a scripted job: phases[0] is the waiting state, phases[-1] the final one."""

    phases: tuple[_Phase, ...]

    def where(self, s: float) -> tuple[_Phase, float | None]:
        index = max(i for i, phase in enumerate(self.phases) if phase.at <= s)
        phase = self.phases[index]
        if index + 1 == len(self.phases) or phase.amount is None:
            return phase, phase.amount
        after = self.phases[index + 1]
        if after.amount is None:
            return phase, phase.amount
        share = (s - phase.at) / (after.at - phase.at)
        return phase, phase.amount + (after.amount - phase.amount) * share

    @property
    def starts(self) -> float:
        return self.phases[1].at

    @property
    def ends(self) -> float:
        return self.phases[-1].at


# --- Claret ---------------------------------------------------------------------------------

_CLARET_STEPS = (
    "Reading upload",
    "Parsing CSV",
    "Mapping columns",
    "Validating rows",
    "Matching SKUs",
    "Writing staging data",
    "Applying changes",
    "Building reports",
)
_VALIDATED = 4  # steps done once "Validating rows" has passed: staging and errors files appear


def _csv(rows: list[tuple[str, ...]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


@dataclass(frozen=True)
class _ClaretImport(_Script):
    job_log_id: int
    job_type: str
    description: str
    stem: str
    phases: tuple[_Phase, ...]
    files: dict[str, tuple[tuple[str, ...], ...]]  # suffix -> CSV rows
    summary: str
    user_id: int = 42

    @property
    def failed(self) -> bool:
        return self.phases[-1].status == "failed"

    def paths(self, t: _Timeline, tenant: str) -> dict[str, list[str]]:
        """The relative file paths published so far, per category, as Claret lists them."""
        _phase, done = self.where(t.s)
        steps = int(done or 0)
        folder = (
            f"/{tenant}/download/{tenant}/user-uploads/{self.job_type}/"
            f"{t.day():%Y-%m-%d}/{self.job_log_id}"
        )
        stamp = f"{t.day():%Y%m%d}"

        def name(kind: str) -> str:
            return f"{folder}/{self.stem}_{stamp}_{kind}.csv"

        ended = t.s >= self.ends
        published: dict[str, list[str]] = {"input": [], "staging": [], "output": [], "errors": []}
        published["input"].append(name("untouched"))
        if not self.failed and steps >= _VALIDATED:
            published["staging"].append(name("staging"))
        if "errors" in self.files and ((not self.failed and steps >= _VALIDATED) or ended):
            published["errors"].append(name("errors"))
        if ended and not self.failed:
            published["output"].append(name("final"))
        return published

    def body(self, path: str) -> bytes:
        suffix = path.rsplit("_", 1)[-1].removesuffix(".csv")
        return _csv(list(self.files["input" if suffix == "untouched" else suffix]))

    def content(self, t: _Timeline, tenant: str, root: str) -> dict[str, Any]:
        phase, done = self.where(t.s)
        ended = t.s >= self.ends
        steps = int(done or 0)
        return {
            "job_log_id": self.job_log_id,
            "status": phase.status,
            "type": self.job_type,
            "description": self.description,
            "progress": {
                "completed_steps": steps,
                "total_steps": len(_CLARET_STEPS),
                "current_step": _CLARET_STEPS[steps] if phase.status == "in_progress" else None,
            },
            "files": self.paths(t, tenant),
            "job_status_link": (
                f"{root}/claret/{tenant}/settings/application-maintenance/job-management/"
                f"imports/logs/{self.job_log_id}"
            ),
            "timestamps": {
                "started_at": t.ts(self.starts, ms=False) if t.s >= self.starts else None,
                "completed_at": t.ts(self.ends, ms=False) if ended else None,
            },
            "user_id": self.user_id,
        }


_INVENTORY_HEADER = ("sku", "location", "quantity", "unit")
_CLARET_INVENTORY = _ClaretImport(
    job_log_id=1001,
    job_type="inventory-import",
    description="Inventory Import",
    stem="inventory",
    phases=(
        _Phase(0.0, "pending", 0),
        _Phase(1.0, "in_progress", 0),
        _Phase(7.0, "completed", 8),
    ),
    files={
        "input": (
            _INVENTORY_HEADER,
            ("SKU-1001", "WH-AMS", "120", "ea"),
            ("SKU-1002", "WH-AMS", "48", "ea"),
            ("SKU-1003", "WH-RTM", "1,200", "ea"),
            ("SKU-1004", "WH-RTM", "-3", "ea"),
            ("SKU-1005", "WH-BER", "36", "case of 12"),
            ("SKU-1006", "WH-BER", "", "ea"),
        ),
        "staging": (
            (*_INVENTORY_HEADER, "valid"),
            ("SKU-1001", "WH-AMS", "120", "ea", "true"),
            ("SKU-1002", "WH-AMS", "48", "ea", "true"),
            ("SKU-1003", "WH-RTM", "1200", "ea", "true"),
            ("SKU-1004", "WH-RTM", "-3", "ea", "false"),
            ("SKU-1005", "WH-BER", "432", "ea", "true"),
            ("SKU-1006", "WH-BER", "", "ea", "false"),
        ),
        "final": (
            ("sku", "location", "quantity_on_hand", "previous_quantity"),
            ("SKU-1001", "WH-AMS", "120", "112"),
            ("SKU-1002", "WH-AMS", "48", "60"),
            ("SKU-1003", "WH-RTM", "1200", "1150"),
            ("SKU-1005", "WH-BER", "432", "420"),
        ),
        "errors": (
            ("row", "sku", "error"),
            ("5", "SKU-1004", "quantity must be >= 0, got -3"),
            ("7", "SKU-1006", 'quantity is required ("" given)'),
        ),
    },
    summary="inventory import: pending, 8 steps, completed with input/staging/output/errors files",
)
_CLARET_FAILING = _ClaretImport(
    job_log_id=1002,
    job_type="product-import",
    description="Product Import",
    stem="products",
    phases=(
        _Phase(0.0, "pending", 0),
        _Phase(0.5, "in_progress", 0),
        _Phase(2.0, "in_progress", 3),
        _Phase(3.5, "failed", 3),
    ),
    files={
        "input": (
            ("sku", "title", "price", "currency"),
            ("SKU-2001", "Oak side table", "129.00", "EUR"),
            ("SKU-2002", 'Walnut shelf, 80 cm "Loft"', "12,50", "EUR"),
            ("SKU-2003", "Linen cushion", "abc", "EUR"),
        ),
        "errors": (
            ("row", "sku", "field", "error"),
            ("3", "SKU-2002", "price", 'price must be a number, got "12,50"'),
            ("4", "SKU-2003", "price", 'price must be a number, got "abc"'),
        ),
    },
    summary="product import: fails while validating rows, with an errors file",
)


# --- MerchantOps ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Problem:
    """One JobErrorResponse (an error or a warning), raised at script second ``at``."""

    at: float
    entity_key: str
    error_type: str
    message: str
    step: str | None
    details: dict[str, Any] | None
    entity_type: str = "product"

    def render(self, t: _Timeline) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "entity_key": self.entity_key,
            "error_type": self.error_type,
            "message": self.message,
            "step": self.step,
            "timestamp": t.ts(self.at),
            "details": self.details,
        }


_STATUS_FIELDS = (
    "job_id", "status", "progress_percentage", "processed_items", "total_items", "failed_items",
)


@dataclass(frozen=True)
class _MerchantOpsJob(_Script):
    job_id: str
    job_type: str
    total_items: int
    phases: tuple[_Phase, ...]  # amount = items handled, successfully or not
    errors: tuple[_Problem, ...]
    warnings: tuple[_Problem, ...]
    summary: str
    error_message: str | None = None
    error_details: dict[str, Any] | None = None

    def detail(self, t: _Timeline) -> dict[str, Any]:
        phase, handled_f = self.where(t.s)
        handled = int(handled_f or 0)
        ended = t.s >= self.ends
        errors = [e.render(t) for e in self.errors if e.at <= t.s]
        warnings = [w.render(t) for w in self.warnings if w.at <= t.s]
        failed = min(handled, len({e["entity_key"] for e in errors}))
        processed = handled - failed
        return {
            "job_id": self.job_id,
            "job_type": self.job_type,
            "status": phase.status,
            "total_items": self.total_items,
            "processed_items": processed,
            "failed_items": failed,
            "warned_items": len({w["entity_key"] for w in warnings}),
            "progress_percentage": round(100.0 * handled / self.total_items, 1),
            "success_rate": round(100.0 * processed / handled, 2) if handled else 0.0,
            "created_at": t.ts(-1.0),
            "started_at": t.ts(self.starts) if t.s >= self.starts else None,
            "completed_at": t.ts(self.ends) if ended else None,
            "duration_seconds": t.real_seconds(self.starts, self.ends) if ended else None,
            "triggered_by": "ops@demo.example",
            "error_message": self.error_message if ended else None,
            "error_details": self.error_details if ended else None,
            "metadata": {"source": "catalog-sync", "target_fields": ["title", "material"]},
            "errors": errors,
            "warnings": warnings,
            "reference_keys": [
                {"entity_type": "product", "key": f"SKU-{10001 + i}"}
                for i in range(self.total_items)
            ],
        }

    def status(self, t: _Timeline) -> dict[str, Any]:
        detail = self.detail(t)
        return {name: detail[name] for name in _STATUS_FIELDS}


_MERCHANTOPS_ENRICHMENT = _MerchantOpsJob(
    job_id="enr_7Hq2",
    job_type="enrichment",
    total_items=120,
    phases=(
        _Phase(0.0, "queued", 0),
        _Phase(0.5, "processing", 0),
        _Phase(6.5, "completed", 120),
    ),
    errors=(
        _Problem(1.5, "SKU-10012", "validation_error",
                 'Field "title" exceeds 120 characters, got 187', "validate",
                 {"field": "title", "max_length": 120, "actual_length": 187}),
        _Problem(2.8, "SKU-10037", "enrichment_failed",
                 'Model output could not be parsed, expected a JSON object:\n'
                 'unexpected token "}" at line 3, column 14', "enrich",
                 {"model": "catalog-enricher-v2", "attempts": 3}),
        _Problem(4.1, "SKU-10063", "not_found",
                 "Source page returned HTTP 404", None,
                 {"url": "https://shop.example.com/p/10063", "http_status": 404}),
        _Problem(5.6, "DOC-0931", "timeout",
                 "Spec sheet download timed out after 30s", "fetch_documents",
                 {"timeout_seconds": 30}, entity_type="document"),
    ),
    warnings=(
        _Problem(2.0, "SKU-10021", "target_gap",
                 'No value found for attribute "material", left empty', "enrich",
                 {"attribute": "material"}),
        _Problem(4.9, "SKU-10088", "missing_image",
                 "No product image found; enriched without one", None, None),
    ),
    summary="enrichment of 120 products: processing, completed with 4 failed items and warnings",
)
_MERCHANTOPS_CRAWL = _MerchantOpsJob(
    job_id="crw_9Zx4",
    job_type="crawl",
    total_items=80,
    phases=(
        _Phase(0.0, "queued", 0),
        _Phase(0.5, "processing", 0),
        _Phase(3.0, "failed", 32),
    ),
    errors=(
        _Problem(2.9, "SKU-10031", "upstream_unavailable",
                 "Source site answered HTTP 503 for 5 pages in a row", "crawl",
                 {"http_status": 503, "consecutive_failures": 5}),
    ),
    warnings=(),
    error_message="Crawl aborted: https://shop.example.com answered HTTP 503 for 5 pages in a row",
    error_details={"http_status": 503, "last_url": "https://shop.example.com/p/10031"},
    summary="crawl of 80 pages: fails at 40% with an error_message",
)


# --- Julep ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _JulepJob(_Script):
    job_id: str
    name: str
    has_progress: bool
    phases: tuple[_Phase, ...]  # amount = progress percent
    summary: str

    def render(self, t: _Timeline) -> dict[str, Any]:
        phase, progress = self.where(t.s)
        return {
            "id": self.job_id,
            "created_at": t.ts(-1.5),
            "updated_at": t.ts(min(t.s, self.ends)),
            "name": self.name,
            "reason": phase.reason,
            "has_progress": self.has_progress,
            "progress": round(float(progress or 0), 1) if self.has_progress else 0.0,
            "state": phase.status,
        }


_JULEP_INDEXING = _JulepJob(
    job_id="5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40",
    name="Index knowledge base",
    has_progress=True,
    phases=(
        _Phase(0.0, "pending", 0),
        _Phase(0.5, "in_progress", 0),
        _Phase(3.5, "retrying", 45,
               "Embedding provider rate-limited the request (HTTP 429); retrying in 1s"),
        _Phase(4.5, "in_progress", 45),
        _Phase(7.0, "succeeded", 100),
    ),
    summary="indexing: pending, in_progress, retrying (with a reason), in_progress, succeeded",
)
_JULEP_SUMMARY = _JulepJob(
    job_id="b71e4d08-93a2-4f6c-8e15-0c2d9a6f4e3b",
    name="Summarize session transcripts",
    has_progress=False,
    phases=(
        _Phase(0.0, "pending"),
        _Phase(1.0, "in_progress"),
        _Phase(4.0, "succeeded"),
    ),
    summary="summary with has_progress false: pending, in_progress, succeeded",
)


# --- Retailgrid -----------------------------------------------------------------------------

_GRID_ID = "2d7f0b3e-6c41-4a58-9e2f-7b1c8d3a5f60"


@dataclass(frozen=True)
class _RetailgridJob(_Script):
    job_id: str
    job_type: str
    phases: tuple[_Phase, ...]  # amount = progress percent, None while queued
    summary: str
    grid_items_count: int | None = None
    count_known_early: bool = False
    related_grid_fill_job_id: str | None = None
    error_message: str | None = None

    def render(self, t: _Timeline) -> dict[str, Any]:
        phase, progress = self.where(t.s)
        ended = t.s >= self.ends
        return {
            "job_id": self.job_id,
            "job_type": self.job_type,
            "status": phase.status,
            "progress": None if progress is None else math.floor(progress),
            "created_at": t.ts(-1.0),
            "started_at": t.ts(self.starts) if t.s >= self.starts else None,
            "completed_at": t.ts(self.ends) if ended else None,
            "error_message": self.error_message if ended else None,
            "grid_id": _GRID_ID,
            # The bulk upsert learns its grid-fill job, and the row count, when it completes.
            "related_grid_fill_job_id": self.related_grid_fill_job_id if ended else None,
            "grid_items_count": (
                self.grid_items_count if ended or self.count_known_early else None
            ),
        }


_RETAILGRID_FILL = _RetailgridJob(
    job_id="c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38",
    job_type="grid_fill",
    phases=(
        _Phase(0.0, "queued"),
        _Phase(0.5, "processing", 0),
        _Phase(3.5, "completed", 100),
    ),
    summary="grid fill started by the bulk upsert: queued, processing, completed",
    grid_items_count=1250,
    count_known_early=True,
)
_RETAILGRID_UPSERT = _RetailgridJob(
    job_id="8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6",
    job_type="bulk_upsert",
    phases=(
        _Phase(0.0, "queued"),
        _Phase(1.0, "processing", 0),
        _Phase(5.0, "completed", 100),
    ),
    summary="bulk upsert: queued, processing 0-100, completed with a related grid-fill job",
    grid_items_count=1250,
    related_grid_fill_job_id=_RETAILGRID_FILL.job_id,
)
_RETAILGRID_FAILING = _RetailgridJob(
    job_id="e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84",
    job_type="csv_import",
    phases=(
        _Phase(0.0, "queued"),
        _Phase(0.5, "processing", 0),
        _Phase(3.0, "failed", 35),
    ),
    summary="CSV import: queued, processing, failed at 35% with an error_message",
    error_message='Row 412: column "price" must be a number, got "12,50"',
)


_AnyJob = _ClaretImport | _MerchantOpsJob | _JulepJob | _RetailgridJob

# (provider, job id) -> script, in catalog order.
_JOBS: dict[tuple[str, str], _AnyJob] = {
    ("claret", "1001"): _CLARET_INVENTORY,
    ("claret", "1002"): _CLARET_FAILING,
    ("merchantops", _MERCHANTOPS_ENRICHMENT.job_id): _MERCHANTOPS_ENRICHMENT,
    ("merchantops", _MERCHANTOPS_CRAWL.job_id): _MERCHANTOPS_CRAWL,
    ("julep", _JULEP_INDEXING.job_id): _JULEP_INDEXING,
    ("julep", _JULEP_SUMMARY.job_id): _JULEP_SUMMARY,
    ("retailgrid", _RETAILGRID_UPSERT.job_id): _RETAILGRID_UPSERT,
    ("retailgrid", _RETAILGRID_FILL.job_id): _RETAILGRID_FILL,
    ("retailgrid", _RETAILGRID_FAILING.job_id): _RETAILGRID_FAILING,
}
_DEMO_JOBS = (
    ("claret", "1001"),
    ("merchantops", _MERCHANTOPS_ENRICHMENT.job_id),
    ("julep", _JULEP_INDEXING.job_id),
    ("retailgrid", _RETAILGRID_UPSERT.job_id),
    ("retailgrid", _RETAILGRID_FAILING.job_id),
)


# --- HTTP -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: Any, *headers: tuple[str, str]) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), "application/json", headers)


def _uuid_error(value: str) -> _Answer:
    # FastAPI's answer to a path parameter that is not a UUID.
    return _json(422, {"detail": [{
        "type": "uuid_parsing",
        "loc": ["path", "job_id"],
        "msg": "Input should be a valid UUID, unable to parse string as a UUID",
        "input": value,
    }]})


_NOT_FOUND = _json(404, {"detail": "Not Found"})
_JOB_NOT_FOUND = _json(404, {"detail": "Job not found"})
# Claret answers a job it does not know with 422, not 404; this body is its doc's, verbatim.
_CLARET_JOB_NOT_FOUND = _json(422, {
    "message": "Job not found or you do not have access to this job.",
    "error": {"error": "Job log ID does not exist"},
})


class Simulator:
    """All four providers on one loopback port, each under its own path prefix."""

    def __init__(
        self,
        *,
        token: str = "demo-token",
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        tenant: str = "demo",
        organization_id: str = "org_demo",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.token = token
        self.speed = speed
        self.tenant = tenant
        self.organization_id = organization_id
        self._clock = clock
        self._lock = threading.Lock()
        self._first_seen: dict[tuple[str, str], tuple[float, float]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.demo_jobs: list[tuple[str, str]] = list(_DEMO_JOBS)
        self.catalog: list[tuple[str, str, str]] = [
            (provider, job_id, job.summary) for (provider, job_id), job in _JOBS.items()
        ]
        self._httpd = _Server((host, port), _handler_for(self))
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> Simulator:
        if self._thread is None:
            # stop() waits for serve_forever's next poll: keep it short for the tests' sake.
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                name="jobwatch-simulator", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def base_url(self, provider: str) -> str:
        if provider not in _PREFIX:
            raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
        return self.url + _PREFIX[provider]

    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for provider in PROVIDERS:
            env[f"JOBWATCH_{provider.upper()}_BASE_URL"] = self.base_url(provider)
            env[f"JOBWATCH_{provider.upper()}_TOKEN"] = self.token
        env["JOBWATCH_CLARET_TENANT"] = self.tenant
        env["JOBWATCH_MERCHANTOPS_ORGANIZATION_ID"] = self.organization_id
        return env

    # --- job clocks ---

    def _timeline(self, provider: str, job_id: str) -> _Timeline:
        """The job's clock, started by this request if it is the job's first."""
        now = self._clock()
        with self._lock:
            first = self._first_seen.setdefault((provider, job_id), (now, time.time()))
        return self._reading(first, now)

    def _timeline_if_started(self, provider: str, job_id: str) -> _Timeline | None:
        now = self._clock()
        with self._lock:
            first = self._first_seen.get((provider, job_id))
        return None if first is None else self._reading(first, now)

    def _reading(self, first: tuple[float, float], now: float) -> _Timeline:
        s = max(0.0, (now - first[0]) * self.speed)
        return _Timeline(s=s, first_wall=first[1], speed=self.speed)

    def _record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, headers))

    # --- routing ---

    def _answer(self, path: str, headers: dict[str, str]) -> _Answer:
        # Split before decoding, so an encoded "/" inside a job id stays inside it.
        parts = [unquote(part) for part in path.split("/")[1:]]
        provider, rest = parts[0], parts[1:]
        if provider == "retailgrid":
            return self._retailgrid(rest, headers)
        if provider == "merchantops":
            return self._merchantops(rest, headers)
        if provider == "julep" and rest[:1] == ["api"]:
            return self._julep(rest[1:], headers)
        if provider == "claret":
            return self._claret(rest, headers)
        return _NOT_FOUND

    def _bearer(self, headers: dict[str, str]) -> bool | None:
        """True for the right token, False for a wrong one, None when none was sent."""
        value = headers.get("authorization")
        if not value:
            return None
        scheme, _, credentials = value.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self.token.encode(),
        )

    def _fastapi_auth(self, headers: dict[str, str]) -> _Answer | None:
        ok = self._bearer(headers)
        if ok is None:
            return _json(401, {"detail": "Not authenticated"}, ("WWW-Authenticate", "Bearer"))
        if not ok:
            return _json(401, {"detail": "Invalid authentication credentials"},
                         ("WWW-Authenticate", "Bearer"))
        return None

    def _uuid_job(self, provider: str, rest: list[str], headers: dict[str, str]) -> _Answer:
        refused = self._fastapi_auth(headers)
        if refused:
            return refused
        try:
            job_id = str(uuid.UUID(rest[0]))
        except ValueError:
            return _uuid_error(rest[0])
        job = _JOBS.get((provider, job_id))
        if not isinstance(job, (_JulepJob, _RetailgridJob)):
            return _JOB_NOT_FOUND
        return _json(200, job.render(self._timeline(provider, job_id)))

    def _retailgrid(self, rest: list[str], headers: dict[str, str]) -> _Answer:
        if len(rest) != 3 or rest[:2] != ["v1", "jobs"] or not rest[2]:
            return _NOT_FOUND
        return self._uuid_job("retailgrid", rest[2:], headers)

    def _julep(self, rest: list[str], headers: dict[str, str]) -> _Answer:
        if len(rest) != 2 or rest[0] != "jobs" or not rest[1]:
            return _NOT_FOUND
        return self._uuid_job("julep", rest[1:], headers)

    def _merchantops(self, rest: list[str], headers: dict[str, str]) -> _Answer:
        if rest[:2] != ["api", "jobs"] or len(rest) not in (3, 4) or not rest[2]:
            return _NOT_FOUND
        if len(rest) == 4 and rest[3] != "status":
            return _NOT_FOUND
        refused = self._fastapi_auth(headers)
        if refused:
            return refused
        organization = headers.get("x-organization-id")
        if organization is not None and organization != self.organization_id:
            return _json(403, {"detail": f"Not a member of organization {organization}"})
        job = _JOBS.get(("merchantops", rest[2]))
        if not isinstance(job, _MerchantOpsJob):
            return _JOB_NOT_FOUND
        t = self._timeline("merchantops", job.job_id)
        return _json(200, job.status(t) if len(rest) == 4 else job.detail(t))

    def _claret(self, rest: list[str], headers: dict[str, str]) -> _Answer:
        not_found = _json(404, {"message": "Not Found"})
        if len(rest) < 2:
            return not_found
        tenant, route = rest[0], rest[1:]
        is_status = len(route) == 5 and route[:4] == ["api", "v1", "imports", "status"]
        # Laravel's route only takes digits for {job_log_id}: anything else matches no route.
        if is_status and not (route[4].isascii() and route[4].isdigit()):
            return not_found
        if not is_status and route[:1] != ["download"]:
            return not_found
        # Authentication comes first, as on the other providers: without the right token a
        # caller learns nothing, not even which tenants exist.
        if not self._bearer(headers):
            return _json(401, {"message": "Unauthenticated."})
        if tenant != self.tenant:
            return _json(404, {"message": "Tenant not found."})
        if is_status:
            return self._claret_status(int(route[4]))
        return self._claret_file("/" + "/".join(rest))

    def _claret_status(self, job_log_id: int) -> _Answer:
        job = _JOBS.get(("claret", str(job_log_id)))
        if not isinstance(job, _ClaretImport):
            return _CLARET_JOB_NOT_FOUND
        t = self._timeline("claret", str(job_log_id))
        return _json(200, {
            "message": "Job status retrieved successfully",
            "content": job.content(t, self.tenant, self.url),
        })

    def _claret_file(self, path: str) -> _Answer:
        for (provider, job_id), job in _JOBS.items():
            if provider != "claret" or not isinstance(job, _ClaretImport):
                continue
            t = self._timeline_if_started(provider, job_id)
            if t is None:
                continue
            published = [p for paths in job.paths(t, self.tenant).values() for p in paths]
            if path in published:
                name = path.rsplit("/", 1)[-1]
                return _Answer(200, job.body(path), "text/csv; charset=utf-8",
                               (("Content-Disposition", f'attachment; filename="{name}"'),))
        return _json(404, {"message": "File not found."})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay silent: a client that hangs up mid-answer is not the simulator's problem."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server_version = "jobwatch-simulator"
    sys_version = ""
    timeout = 30  # idle keep-alive connections end on their own
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms
    # for the delayed ACK on every answer.
    disable_nagle_algorithm = True
    simulator: Simulator

    def log_message(self, format: str, *args: Any) -> None:
        """Print nothing: the demo owns the terminal."""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _not_allowed(self) -> None:
        self._serve(send_body=True, allowed=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _serve(self, *, send_body: bool, allowed: bool = True) -> None:
        path = urlsplit(self.path).path
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.simulator._record(self.command, path, headers)
        self._drain_body(headers)
        if not allowed:
            answer = _json(405, {"detail": "Method Not Allowed"}, ("Allow", "GET"))
        elif not path.startswith("/"):
            answer = _NOT_FOUND
        else:
            answer = self.simulator._answer(path, headers)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(answer.body)

    def _drain_body(self, headers: dict[str, str]) -> None:
        # A body left unread would be taken for the next request on this connection.
        if "transfer-encoding" in headers:
            self.close_connection = True
            return
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length) > 0:
            self.rfile.read(int(length))


def _handler_for(simulator: Simulator) -> type[_Handler]:
    return type("SimulatorHandler", (_Handler,), {"simulator": simulator})
