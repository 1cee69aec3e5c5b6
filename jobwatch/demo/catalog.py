"""The catalog of scripted jobs: what each simulated job does over time, and with what data.

Each provider's module (claret.py, merchantops.py, ...) turns these into its own wire format;
nothing here knows a URL, an envelope or a status word. Times are script seconds from the
job's first request. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobwatch.demo.script import FAILED, RETRYING, RUNNING, SUCCEEDED, WAITING, Phase, ScriptedJob

# --- Claret: imports that publish CSV files as they go ---------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClaretImport(ScriptedJob):
    provider: str = "claret"
    job_type: str
    description: str
    stem: str  # of its file names
    files: dict[str, tuple[tuple[str, ...], ...]]  # kind (input, staging, final, errors) -> rows
    user_id: int = 42


_INVENTORY_HEADER = ("sku", "location", "quantity", "unit")
CLARET_INVENTORY = ClaretImport(
    job_id="1001",
    job_type="inventory-import",
    description="Inventory Import",
    stem="inventory",
    phases=(  # amount: steps done, of 8
        Phase(0.0, WAITING, 0),
        Phase(1.0, RUNNING, 0),
        Phase(7.0, SUCCEEDED, 8),
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
    summary="inventory import: pending, 8 steps, completed, with 4 files to download",
)
CLARET_FAILING = ClaretImport(
    job_id="1002",
    job_type="product-import",
    description="Product Import",
    stem="products",
    phases=(
        Phase(0.0, WAITING, 0),
        Phase(0.5, RUNNING, 0),
        Phase(2.0, RUNNING, 3),
        Phase(3.5, FAILED, 3),
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


# --- MerchantOps: item jobs that collect errors and warnings ---------------------------------

@dataclass(frozen=True)
class Problem:
    """One error or warning about one entity, raised at script second ``at``."""

    at: float
    entity_key: str
    error_type: str
    message: str
    step: str | None
    details: dict[str, Any] | None
    entity_type: str = "product"


@dataclass(frozen=True, kw_only=True)
class MerchantOpsJob(ScriptedJob):
    provider: str = "merchantops"
    job_type: str
    total_items: int  # phases' amount: items handled, successfully or not
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    error_message: str | None = None
    error_details: dict[str, Any] | None = None


MERCHANTOPS_ENRICHMENT = MerchantOpsJob(
    job_id="enr_7Hq2",
    job_type="enrichment",
    total_items=120,
    phases=(
        Phase(0.0, WAITING, 0),
        Phase(0.5, RUNNING, 0),
        Phase(6.5, SUCCEEDED, 120),
    ),
    errors=(
        Problem(1.5, "SKU-10012", "validation_error",
                'Field "title" exceeds 120 characters, got 187', "validate",
                {"field": "title", "max_length": 120, "actual_length": 187}),
        Problem(2.8, "SKU-10037", "enrichment_failed",
                'Model output could not be parsed, expected a JSON object:\n'
                'unexpected token "}" at line 3, column 14', "enrich",
                {"model": "catalog-enricher-v2", "attempts": 3}),
        Problem(4.1, "SKU-10063", "not_found",
                "Source page returned HTTP 404", None,
                {"url": "https://shop.example.com/p/10063", "http_status": 404}),
        Problem(5.6, "DOC-0931", "timeout",
                "Spec sheet download timed out after 30s", "fetch_documents",
                {"timeout_seconds": 30}, entity_type="document"),
    ),
    warnings=(
        Problem(2.0, "SKU-10021", "target_gap",
                'No value found for attribute "material", left empty', "enrich",
                {"attribute": "material"}),
        Problem(4.9, "SKU-10088", "missing_image",
                "No product image found; enriched without one", None, None),
    ),
    summary="enrichment of 120 products: completed with 4 failed items, 2 warnings",
)
MERCHANTOPS_CRAWL = MerchantOpsJob(
    job_id="crw_9Zx4",
    job_type="crawl",
    total_items=80,
    phases=(
        Phase(0.0, WAITING, 0),
        Phase(0.5, RUNNING, 0),
        Phase(3.0, FAILED, 32),
    ),
    errors=(
        Problem(2.9, "SKU-10031", "upstream_unavailable",
                "Source site answered HTTP 503 for 5 pages in a row", "crawl",
                {"http_status": 503, "consecutive_failures": 5}),
    ),
    warnings=(),
    error_message="Crawl aborted: https://shop.example.com answered HTTP 503 for 5 pages in a row",
    error_details={"http_status": 503, "last_url": "https://shop.example.com/p/10031"},
    summary="crawl of 80 pages: fails at 40% with an error_message",
)


# --- Julep: tasks with a progress percent, or none -------------------------------------------

@dataclass(frozen=True, kw_only=True)
class JulepJob(ScriptedJob):
    provider: str = "julep"
    name: str
    has_progress: bool  # phases' amount: progress percent


JULEP_INDEXING = JulepJob(
    job_id="5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40",
    name="Index knowledge base",
    has_progress=True,
    phases=(
        Phase(0.0, WAITING, 0),
        Phase(0.5, RUNNING, 0),
        Phase(3.5, RETRYING, 45,
              "Embedding provider rate-limited the request (HTTP 429); retrying in 1s"),
        Phase(4.5, RUNNING, 45),
        Phase(7.0, SUCCEEDED, 100),
    ),
    summary="indexing: pending, in_progress, retrying (with a reason), succeeded",
)
JULEP_SUMMARY = JulepJob(
    job_id="b71e4d08-93a2-4f6c-8e15-0c2d9a6f4e3b",
    name="Summarize session transcripts",
    has_progress=False,
    phases=(
        Phase(0.0, WAITING),
        Phase(1.0, RUNNING),
        Phase(4.0, SUCCEEDED),
    ),
    summary="summary with has_progress false: pending, in_progress, succeeded",
)


# --- Retailgrid: grid jobs, one of which starts another --------------------------------------

GRID_ID = "2d7f0b3e-6c41-4a58-9e2f-7b1c8d3a5f60"


@dataclass(frozen=True, kw_only=True)
class RetailgridJob(ScriptedJob):
    provider: str = "retailgrid"
    job_type: str  # phases' amount: progress percent, None while queued
    grid_id: str = GRID_ID
    grid_items_count: int | None = None
    count_known_early: bool = False  # else the count is known once the job has ended
    related_grid_fill_job_id: str | None = None  # named once the job has ended
    error_message: str | None = None


RETAILGRID_FILL = RetailgridJob(
    job_id="c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38",
    job_type="grid_fill",
    phases=(
        Phase(0.0, WAITING),
        Phase(0.5, RUNNING, 0),
        Phase(3.5, SUCCEEDED, 100),
    ),
    summary="grid fill started by the bulk upsert: queued, processing, completed",
    grid_items_count=1250,
    count_known_early=True,
)
RETAILGRID_UPSERT = RetailgridJob(
    job_id="8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6",
    job_type="bulk_upsert",
    phases=(
        Phase(0.0, WAITING),
        Phase(1.0, RUNNING, 0),
        Phase(5.0, SUCCEEDED, 100),
    ),
    summary="bulk upsert: queued, processing, completed; starts a related grid fill",
    grid_items_count=1250,
    related_grid_fill_job_id=RETAILGRID_FILL.job_id,
)
RETAILGRID_FAILING = RetailgridJob(
    job_id="e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84",
    job_type="csv_import",
    phases=(
        Phase(0.0, WAITING),
        Phase(0.5, RUNNING, 0),
        Phase(3.0, FAILED, 35),
    ),
    summary="CSV import: queued, processing, failed at 35% with an error_message",
    error_message='Row 412: column "price" must be a number, got "12,50"',
)


# Every job the simulator knows, in the order `demo --serve` lists them.
JOBS: tuple[ScriptedJob, ...] = (
    CLARET_INVENTORY, CLARET_FAILING,
    MERCHANTOPS_ENRICHMENT, MERCHANTOPS_CRAWL,
    JULEP_INDEXING, JULEP_SUMMARY,
    RETAILGRID_UPSERT, RETAILGRID_FILL, RETAILGRID_FAILING,
)
# What `jobwatch demo` watches (the grid fill joins, as the upsert's related job).
DEMO_JOBS: tuple[ScriptedJob, ...] = (
    CLARET_INVENTORY, MERCHANTOPS_ENRICHMENT, JULEP_INDEXING, RETAILGRID_UPSERT,
    RETAILGRID_FAILING,
)
_BY_KEY = {(job.provider, job.job_id): job for job in JOBS}


def find(provider: str, job_id: str) -> ScriptedJob | None:
    return _BY_KEY.get((provider, job_id))


def of(provider: str) -> list[ScriptedJob]:
    return [job for job in JOBS if job.provider == provider]
