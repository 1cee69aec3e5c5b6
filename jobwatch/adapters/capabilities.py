"""What only some providers can do, each a small protocol an adapter implements or not.

Every adapter polls (`jobwatch.adapters.base.Adapter`). Beyond that:

- `DetailEndpoint`: a second endpoint asked once when a job ends, whose answer lists the job's
  errors and warnings (MerchantOps). `wait` and `download` write the reports from it and show
  the first errors as a table; the adapter hands over `ReportedError` values, and the table's
  columns, widths and cut are the UI's (`jobwatch.ui.error_table`).
- `RelatedJobs`: jobs an ended job started, for `wait --follow-related` (Retailgrid).

The callers ask with `detail_endpoint(adapter)` / `related_job_ids(adapter, job)`, never with
`hasattr`: a provider gains a capability by implementing the protocol's methods, and mypy
checks them against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import httpx

    from jobwatch.http import Log
    from jobwatch.models import Job


@dataclass(frozen=True)
class ReportedError:
    """One entry of a provider's error list, as a person reads it: its kind, the record it is
    about, what went wrong. Texts as the provider sent them (the UI makes them printable)."""

    kind: str
    key: str
    message: str


@runtime_checkable
class DetailEndpoint(Protocol):
    def detail_url(self, job_id: str) -> str: ...

    def fetch_detail(self, client: httpx.Client, job_id: str, log: Log | None = None) -> Any:
        """The detail answer (JSON), checked like a poll's answer."""

    def wants_detail(self, job: Job) -> bool:
        """Whether the detail answer is worth writing to disk for this ended job."""

    def detail_reports(self, detail: Any) -> tuple[list[Any], list[Any]]:
        """(errors, warnings) listed in a detail answer, as the provider sent them: what the
        reports are written from."""

    def reported_errors(self, errors: list[Any]) -> list[ReportedError]:
        """``errors`` (from `detail_reports`) for a person to read; entries that are not
        errors of the documented shape are left out."""


@runtime_checkable
class RelatedJobs(Protocol):
    def related_job_ids(self, job: Job) -> list[str]:
        """Jobs ``job`` started, in canonical form, for `wait --follow-related`."""


def detail_endpoint(adapter: object) -> DetailEndpoint | None:
    """The adapter as a `DetailEndpoint`, or None for a provider without one."""
    return adapter if isinstance(adapter, DetailEndpoint) else None


def has_detail_endpoint(adapter_class: type) -> bool:
    return issubclass(adapter_class, DetailEndpoint)


def related_job_ids(adapter: object, job: Job) -> list[str]:
    return adapter.related_job_ids(job) if isinstance(adapter, RelatedJobs) else []
