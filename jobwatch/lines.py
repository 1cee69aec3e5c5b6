"""The JSON lines `wait` prints about its jobs: the `wait --json` line of a watched job, and
the `wait --events` objects written as things happen (each line flushed at once). The models
are jobwatch.models'; redaction happens where the line leaves the process (the redacting
stdout), as for every output."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from jobwatch.engine.events import NoObserver

if TYPE_CHECKING:
    from jobwatch.artifacts import Saved
    from jobwatch.engine import Watch
    from jobwatch.errors import JobwatchError
    from jobwatch.models import WaitLine


def wait_line(watch: Watch) -> WaitLine:
    """The job's `wait --json` line: its last answer (or what is known of a job that never
    answered), how its watch ended and what was saved."""
    from jobwatch.models import JobRef, Outcome, WaitLine

    outcome: Outcome = watch.outcome or "timeout"  # type: ignore[assignment]
    downloads = [saved.to_json_dict() for saved in watch.downloads]
    if watch.job is not None:
        return WaitLine.of(watch.job, outcome, downloads)
    ref = JobRef(provider=watch.provider, profile=watch.profile, job_id=watch.job_id)
    message = watch.error.message if watch.error else watch.last_problem
    return WaitLine.unanswered(ref, message, outcome, downloads)


class EventWriter(NoObserver):
    """`wait --events`: one flat JSON object per line, in the order the engine hears things.
    The engine calls from its loop, and `download` from a worker thread: one lock keeps each
    line whole and in order."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write  # one line, without its newline; flushed by the caller
        self._lock = threading.Lock()

    def update(self, watch: Watch) -> None:
        from jobwatch.models import UpdateEvent

        if watch.job is not None:
            self._emit(UpdateEvent.of(watch.job, _now()))

    def waiting(self, watch: Watch) -> None:
        from jobwatch.models import WaitingEvent

        self._emit(WaitingEvent(provider=watch.provider, profile=watch.profile,
                                job_id=watch.job_id, time=_now()))

    def retry(self, watch: Watch, error: JobwatchError, retry_in: float) -> None:
        from jobwatch.models import RetryEvent

        self._emit(RetryEvent(provider=watch.provider, profile=watch.profile,
                              job_id=watch.job_id, time=_now(), error=error.message,
                              retry_in=round(max(0.0, retry_in), 3)))

    def download(self, watch: Watch, saved: Saved) -> None:
        from jobwatch.models import DownloadEvent

        self._emit(DownloadEvent(provider=watch.provider, profile=watch.profile,
                                 job_id=watch.job_id, time=_now(), category=saved.category,
                                 path=str(saved.path), bytes=saved.bytes))

    def end(self, watch: Watch) -> None:
        from jobwatch.models import EndEvent

        self._emit(EndEvent.of_line(wait_line(watch), _now()))

    def _emit(self, event: object) -> None:
        from jobwatch.models import JsonModel, json_line

        assert isinstance(event, JsonModel)
        with self._lock:
            self._write(json_line(event))


def _now() -> datetime:
    return datetime.now(timezone.utc)
