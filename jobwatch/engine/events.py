"""What the engine sees, told as it happens to observers: the seam for `--events`, `--on-end`
and anything else that follows a run without drawing it.

The calls, for each watch, in the order things happen:

- ``update(watch)``: its first answer, then each answer that changed the job's state,
  progress (fraction, done, total) or message. ``watch.job`` is that answer.
- ``waiting(watch)``: the provider does not know the job yet and --not-found-grace has not
  passed; told when the watch starts waiting, not at every poll.
- ``retry(watch, error, retry_in)``: a transient failure; the next attempt in ``retry_in``
  seconds (after the last failure the engine tolerates there is no retry, only the end).
- ``download(watch, saved)``: a file saved (category, path, bytes), as each one lands.
- ``end(watch)``: the watch settled: its outcome is final and its downloads are done (or cut).
  Exactly once per watch, and always its last call.

Threads: the engine's loop makes every call but one. ``download`` comes from the worker thread
that runs the job's end-of-job work, where each file lands. ``Observers`` serializes them
all: an observer sees one call at a time, and nothing about a watch after its ``end`` (a
file that lands during the grace after a stop, once the watch was given up, is not told).
Observers should return quickly: the loop, or a download, waits for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from jobwatch.artifacts import Saved
    from jobwatch.engine.watch import Watch
    from jobwatch.errors import JobwatchError
    from jobwatch.models import Job


class Observer(Protocol):
    def update(self, watch: Watch) -> None: ...
    def waiting(self, watch: Watch) -> None: ...
    def retry(self, watch: Watch, error: JobwatchError, retry_in: float) -> None: ...
    def download(self, watch: Watch, saved: Saved) -> None: ...
    def end(self, watch: Watch) -> None: ...


class NoObserver:
    """An observer that ignores everything: subclass it and override what you need."""

    def update(self, watch: Watch) -> None:
        pass

    def waiting(self, watch: Watch) -> None:
        pass

    def retry(self, watch: Watch, error: JobwatchError, retry_in: float) -> None:
        pass

    def download(self, watch: Watch, saved: Saved) -> None:
        pass

    def end(self, watch: Watch) -> None:
        pass


def changed(before: Job | None, after: Job) -> bool:
    """Whether an answer is worth an ``update``: the first, or one that moved."""
    return before is None or _seen(before) != _seen(after)


def _seen(job: Job) -> tuple[object, ...]:
    return job.state, job.progress, job.done, job.total, job.message


class Observers:
    """Several observers as one, in the order given, safe to call from any thread (see the
    module docstring)."""

    def __init__(self, observers: Iterable[Observer] = ()) -> None:
        self._observers = tuple(observers)
        self._lock = threading.Lock()
        self._ended: set[Watch] = set()  # the watches whose end was told

    def __bool__(self) -> bool:
        return bool(self._observers)

    # Each call is checked for observers first: with none (the common run), telling costs
    # one test, not a closure and a lock.

    def update(self, watch: Watch) -> None:
        if self._observers:
            self._tell(watch, lambda observer: observer.update(watch))

    def waiting(self, watch: Watch) -> None:
        if self._observers:
            self._tell(watch, lambda observer: observer.waiting(watch))

    def retry(self, watch: Watch, error: JobwatchError, retry_in: float) -> None:
        if self._observers:
            self._tell(watch, lambda observer: observer.retry(watch, error, retry_in))

    def download(self, watch: Watch, saved: Saved) -> None:
        if self._observers:
            self._tell(watch, lambda observer: observer.download(watch, saved))

    def end(self, watch: Watch) -> None:
        if self._observers:
            self._tell(watch, lambda observer: observer.end(watch), last=True)

    def _tell(self, watch: Watch, call: Callable[[Observer], None], last: bool = False
              ) -> None:
        with self._lock:
            if watch in self._ended:
                return
            if last:
                self._ended.add(watch)
            for observer in self._observers:
                call(observer)
