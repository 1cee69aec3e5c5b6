"""The wait loop: polls every job on one client until each has ended, the deadline passes or
the user interrupts. The clock, the sleep, the fetch and the renderer are passed in, so a
10-minute timeout is tested in milliseconds.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jobwatch.errors import AuthError, ExitCode, JobwatchError, NotFoundError
from jobwatch.http import TransientError, backoff_delay

MIN_INTERVAL = 0.2
MAX_FAILURES = 10
BACKOFF_CAP = 60.0  # and never more than BACKOFF_INTERVALS polling intervals
BACKOFF_INTERVALS = 10
TICK = 1.0  # the loop wakes at least this often, for heartbeats and the elapsed clock

OUTCOME_CODES = {
    "succeeded": ExitCode.OK, "failed": ExitCode.FAILED, "timeout": ExitCode.TIMEOUT,
    "not_found": ExitCode.NOT_FOUND, "auth": ExitCode.AUTH, "unreachable": ExitCode.UNREACHABLE,
    "download_failed": ExitCode.DOWNLOAD, "interrupted": ExitCode.INTERRUPTED,
}


@dataclass(eq=False)
class Watch:
    """One job being watched, and everything the display and the JSON lines need about it."""

    provider: str
    job_id: str
    started: float = 0.0
    job: Any = None  # the latest Job
    outcome: str | None = None
    error: JobwatchError | None = None
    failures: int = 0
    last_problem: str | None = None
    ended_at: float | None = None
    downloads: list[Any] = field(default_factory=list)
    download_failures: list[str] = field(default_factory=list)
    downloads_cut: bool = False  # the --timeout stopped its downloads; `download` resumes them
    parent: Watch | None = None
    detail: dict[str, Any] | None = None
    interval: float | None = None  # overrides Settings.interval (providers differ)

    @property
    def label(self) -> str:
        return f"{self.provider} {self.job_id}"

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def exit_code(self) -> int:
        return int(OUTCOME_CODES.get(self.outcome or "timeout", ExitCode.TIMEOUT))


class Renderer(Protocol):
    def start(self, watches: list[Watch]) -> None: ...
    def add(self, watch: Watch) -> None: ...
    def update(self, watch: Watch) -> None: ...
    def problem(self, watch: Watch, text: str) -> None: ...
    def tick(self, now: float) -> None: ...
    def finish(self, watches: list[Watch], code: int) -> None: ...
    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None: ...
    def download_progress(self, watch: Watch) -> Any: ...


@dataclass
class Settings:
    interval: float
    deadline: float | None = None  # on the injected clock
    fail_fast: bool = False
    strict: bool = False
    workers: int = 16  # 0: fetch inline, for unit tests
    max_failures: int = MAX_FAILURES


class Engine:
    def __init__(self, fetch: Callable[[Watch], Any], renderer: Renderer, settings: Settings, *,
                 clock: Callable[[], float], sleep: Callable[[float], None],
                 on_end: Callable[[Watch], None] | None = None,
                 discover: Callable[[Watch], list[Watch]] | None = None,
                 has_errors: Callable[[Watch], bool] | None = None,
                 rand: Callable[[], float] | None = None) -> None:
        self.fetch = fetch
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.on_end = on_end
        self.discover = discover
        self.has_errors = has_errors or (lambda watch: bool(watch.job.failed_items))
        self.rand = rand
        self.watches: list[Watch] = []
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._pool: _Pool | None = None
        self.stopped_by: Watch | None = None

    # -- the loop --------------------------------------------------------------------------

    def run(self, watches: list[Watch]) -> int:
        now = self.clock()
        for watch in watches:
            self._add(watch, now)
        self.renderer.start(self.watches)
        try:
            self._loop()
        except KeyboardInterrupt:
            for watch in self.active():
                watch.outcome = "interrupted"
            self.renderer.finish(self.watches, int(ExitCode.INTERRUPTED))
            return int(ExitCode.INTERRUPTED)
        if self.stopped_by is not None:  # --fail-fast or a refused token: stop watching the rest
            for watch in self.active():
                watch.outcome = "interrupted"
        code = self.exit_code()
        self.renderer.finish(self.watches, code)
        return code

    def active(self) -> list[Watch]:
        return [w for w in self.watches if not w.done]

    def exit_code(self) -> int:
        # Command-line order (followed jobs sit after their parent). After a stop, the jobs
        # left unwatched say nothing; of those that ended in the same poll round as the one
        # that stopped the watch, the first on the command line speaks.
        for watch in self.watches:
            if self.stopped_by is not None and watch.outcome == "interrupted":
                continue
            if watch.exit_code != ExitCode.OK:
                return watch.exit_code
        return int(ExitCode.OK)

    def _add(self, watch: Watch, now: float) -> None:
        watch.started = now
        position = len(self.watches)
        if watch.parent is not None and watch.parent in self.watches:
            position = self.watches.index(watch.parent) + 1
            while position < len(self.watches) and self.watches[position].parent is watch.parent:
                position += 1
        self.watches.insert(position, watch)
        self._schedule(watch, now)

    def _schedule(self, watch: Watch, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), watch))

    def _loop(self) -> None:
        while self._heap:
            now = self.clock()
            deadline = self.settings.deadline
            if deadline is not None and now >= deadline:
                self._time_out()
                return
            due: list[Watch] = []
            while self._heap and self._heap[0][0] <= now:
                watch = heapq.heappop(self._heap)[2]
                if not watch.done:
                    due.append(watch)
            if due:
                for watch, result in self._poll(due):  # every answer of the round counts
                    self._handle(watch, result)
                if self.stopped_by is not None:
                    return
                continue
            self.renderer.tick(now)
            if not self._heap:
                return
            wake = min(self._heap[0][0], now + TICK)
            if deadline is not None:
                wake = min(wake, deadline)
            self.sleep(max(0.0, wake - now))

    def _poll(self, due: list[Watch]) -> list[tuple[Watch, Any]]:
        if self.settings.workers <= 0:
            return [(watch, _call(self.fetch, watch)) for watch in due]
        if self._pool is None:
            self._pool = _Pool(self.settings.workers)
        return self._pool.run(self.fetch, due, self.clock, self.settings.deadline)

    def _handle(self, watch: Watch, result: Any) -> None:
        now = self.clock()
        if isinstance(result, _Unfinished):  # the deadline passed while it was in flight
            return
        if isinstance(result, BaseException):
            self._failed_poll(watch, result, now)
            return
        watch.failures = 0
        watch.last_problem = None
        if watch.job is not None and watch.job.terminal:
            return  # a terminal state is final
        watch.job = result
        for extra in (self.discover(watch) if self.discover else []):
            if not any(w.provider == extra.provider and w.job_id == extra.job_id
                       for w in self.watches):
                self._add(extra, now)
                self.renderer.add(extra)
        if result.terminal:
            self._end(watch, now)
        else:
            self.renderer.update(watch)
            self._schedule(watch, now + self._interval(watch))

    def _end(self, watch: Watch, now: float) -> None:
        watch.ended_at = now
        if self.on_end is not None:
            self.on_end(watch)  # details and downloads; Ctrl-C here leaves it "interrupted"
        job = watch.job
        failed = job.state.value != "succeeded" or (
            self.settings.strict and self.has_errors(watch))
        watch.outcome = ("failed" if failed else
                         "download_failed" if watch.download_failures else "succeeded")
        self.renderer.update(watch)
        if self.settings.fail_fast and watch.outcome != "succeeded":
            self._stop(watch)

    def _stop(self, watch: Watch) -> None:
        if self.stopped_by is None:
            self.stopped_by = watch

    def _failed_poll(self, watch: Watch, error: BaseException, now: float) -> None:
        if isinstance(error, (AuthError, NotFoundError)):
            watch.outcome = "auth" if isinstance(error, AuthError) else "not_found"
            watch.error = error
            watch.ended_at = now
            self.renderer.update(watch)
            if self.settings.fail_fast or isinstance(error, AuthError):
                # Every job shares the token: once it is refused, polling on helps nobody.
                self._stop(watch)
            return
        if not isinstance(error, JobwatchError):
            raise error
        watch.failures += 1
        watch.last_problem = error.message
        if watch.failures >= self.settings.max_failures:
            watch.outcome = "unreachable"
            watch.error = error
            watch.ended_at = now
            self.renderer.update(watch)
            if self.settings.fail_fast:
                self._stop(watch)
            return
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        if retry_after is not None:
            delay = retry_after
        else:
            jitter = {"rand": self.rand} if self.rand else {}
            interval = self._interval(watch)
            cap = min(BACKOFF_CAP, max(1.0, BACKOFF_INTERVALS * interval))
            delay = max(MIN_INTERVAL, backoff_delay(watch.failures, base=interval, cap=cap,
                                                    **jitter))
        if self.settings.deadline is not None:
            delay = min(delay, max(0.0, self.settings.deadline - now))
        self.renderer.problem(watch, f"{error.message}; retry {watch.failures}/"
                                     f"{self.settings.max_failures - 1} in {delay:.1f}s")
        self._schedule(watch, now + delay)

    def _interval(self, watch: Watch) -> float:
        return max(MIN_INTERVAL, watch.interval or self.settings.interval)

    def _time_out(self) -> None:
        for watch in self.active():
            watch.outcome = "timeout"


class _Unfinished:
    pass


def _call(fetch: Callable[[Watch], Any], watch: Watch) -> Any:
    try:
        return fetch(watch)
    except JobwatchError as exc:
        return exc


class _Pool:
    """A few daemon threads sharing the one client. Daemon, so that Ctrl-C or a deadline never
    waits for a request stuck in flight (a ThreadPoolExecutor would be joined at exit)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tasks: queue.Queue[tuple[Callable[[Watch], Any], Watch, queue.Queue[Any]]] = (
            queue.Queue())
        self.threads: list[threading.Thread] = []

    def _worker(self) -> None:
        while True:
            fetch, watch, results = self.tasks.get()
            try:
                outcome = _call(fetch, watch)
            except BaseException as exc:
                outcome = exc
            results.put((watch, outcome))

    def run(self, fetch: Callable[[Watch], Any], due: list[Watch], clock: Callable[[], float],
            deadline: float | None) -> list[tuple[Watch, Any]]:
        while len(self.threads) < min(self.size, len(due)):
            thread = threading.Thread(target=self._worker, daemon=True, name="jobwatch-poll")
            thread.start()
            self.threads.append(thread)
        results: queue.Queue[Any] = queue.Queue()
        for watch in due:
            self.tasks.put((fetch, watch, results))
        done: list[tuple[Watch, Any]] = []
        waiting = {id(w): w for w in due}
        while waiting:
            timeout = TICK if deadline is None else max(0.0, min(TICK, deadline - clock()))
            try:
                watch, outcome = results.get(timeout=timeout)
            except queue.Empty:
                if deadline is not None and clock() >= deadline:
                    done += [(w, _Unfinished()) for w in waiting.values()]
                    return done
                continue
            waiting.pop(id(watch), None)
            done.append((watch, outcome))
        return done
