"""What the engine asks of the world about a job, beyond polling it: one small typed object in
place of loose constructor callables. Every field has a default that does nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwatch.engine.watch import Watch


def no_related_jobs(watch: Watch) -> list[Watch]:
    return []


def always(watch: Watch) -> bool:
    return True


def has_failed_items(watch: Watch) -> bool:
    return watch.job is not None and bool(watch.job.failed_items)


@dataclass(frozen=True)
class JobHooks:
    # When a job has ended: its detail answer, files and reports (jobwatch.endofjob). Runs on
    # a worker thread and may take minutes; failures go on the watch (download_failures) or
    # come out as a JobwatchError, and it must give up with Cancelled, or the error the
    # signal's reason calls for, once the engine's StopSignal is set. None: nothing to do,
    # a job settles as its answer comes.
    on_end: Callable[[Watch], None] | None = None
    # Whether on_end has anything to do for this ended job; if not, it settles as its answer
    # comes, with no trip through a worker (`--no-download`, a job without files). On the loop.
    needs_end: Callable[[Watch], bool] = always
    # The jobs an answer tells of that should be watched too (--follow-related), as new
    # watches whose parent is ``watch``. On the loop, for every answer.
    discover: Callable[[Watch], list[Watch]] = no_related_jobs
    # For --strict: an ended job that succeeded, but with failed items or errors. On the loop.
    has_errors: Callable[[Watch], bool] = has_failed_items
    # Once, after an early stop's grace period, before the run returns (removing the .part
    # files of downloads still in flight). On the loop.
    on_stop: Callable[[], None] | None = None
