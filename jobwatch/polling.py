"""The wait loop: polls every job on one client until each has ended, the deadline passes or
the user interrupts. The clock, the sleep, the fetch and the renderer are passed in, so a
10-minute timeout is tested in milliseconds.

Threads: the loop runs on the caller's thread and is the only one that changes the schedule
and the outcomes, and the only one the engine calls the renderer from. Polls, and each ended
job's ``on_end`` (its detail call and downloads), run on a small pool of daemon threads and
hand their results back through one queue; the loop handles each result as it arrives, so a
slow request or a long download holds up only its own job. ``on_end`` code may call the
renderer from its worker thread too: the renderers take a lock.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jobwatch.errors import (
    AuthError,
    ConfigError,
    ExitCode,
    JobwatchError,
    NotFoundError,
    UnreachableError,
)
from jobwatch.http import RETRY_AFTER_CAP, CertificateError, TransientError
from jobwatch.models import JobState

MIN_INTERVAL = 0.2
MAX_FAILURES = 10
BACKOFF_CAP = 60.0  # and never more than BACKOFF_INTERVALS polling intervals
BACKOFF_INTERVALS = 10
GRACE = 0.5  # after a stop, how long in-flight on_end work gets to notice `cancelled`
# The longest the loop waits at once: when nothing is due and the renderer asked for no tick,
# and under any --timeout or --interval (a wait past threading.TIMEOUT_MAX cannot be asked for).
IDLE_WAIT = 60.0

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
    profile: str = "default"
    show_profile: bool = False  # in the label: the run mixes profiles, this one is not the default
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
        at = f"@{self.profile}" if self.show_profile else ""
        return f"{self.provider}{at} {self.job_id}"

    @property
    def account(self) -> tuple[str, str]:
        """The provider and profile: the jobs that share a token."""
        return self.provider, self.profile

    @property
    def done(self) -> bool:
        """Settled: nothing more happens to this watch."""
        return self.outcome is not None

    @property
    def ended(self) -> bool:
        """The job itself has ended (its files may still be on their way)."""
        return self.job is not None and self.job.terminal

    @property
    def exit_code(self) -> int:
        return int(OUTCOME_CODES.get(self.outcome or "timeout", ExitCode.TIMEOUT))


class Renderer(Protocol):
    def start(self, watches: list[Watch]) -> None: ...
    def add(self, watch: Watch) -> None: ...
    def update(self, watch: Watch) -> None: ...
    def problem(self, watch: Watch, text: str) -> None: ...
    # The loop calls tick whenever it wakes; the answer is when (on the clock) the renderer
    # next wants one (a heartbeat, a spinner frame), or None. The loop sleeps until then at most.
    def tick(self, now: float) -> float | None: ...
    def finish(self, watches: list[Watch], code: int) -> None: ...
    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None: ...
    def download_progress(self, watch: Watch) -> Any: ...
    # After a bug or a second Ctrl-C while finishing: give the terminal back (the live
    # display's cursor). The plain and quiet renderers have nothing to undo and may lack it.
    def abort(self) -> None: ...


def job_failed(job: Any, *, with_errors: bool = False) -> bool:
    """An ended job counts as failed: it did not succeed, or (--strict) ``with_errors``."""
    return job.state is not JobState.SUCCEEDED or with_errors


def settle(job: Any, download_failures: list[str], *, with_errors: bool = False) -> str:
    """The outcome of an ended job once its files are fetched, for `wait` and `download`
    alike: a failed job is "failed" whatever happened to its files; a good one whose files
    did not all arrive is "download_failed"."""
    if job_failed(job, with_errors=with_errors):
        return "failed"
    return "download_failed" if download_failures else "succeeded"


@dataclass
class Settings:
    interval: float
    deadline: float | None = None  # on the injected clock
    fail_fast: bool = False
    strict: bool = False
    workers: int = 16  # 0: fetch and run on_end inline, for unit tests
    max_failures: int = MAX_FAILURES
    grace: float = GRACE


class StopSignal(threading.Event):
    """Set once when the watch stops early; ``reason`` is "timeout", "interrupted" or
    "stopped" (--fail-fast, a refused token). on_end code in a worker thread checks it
    between steps and gives up, cleaning after itself."""

    reason: str | None = None

    def stop(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
            self.set()


class Cancelled(BaseException):
    """Raised inside on_end work once the watch has stopped. A BaseException, as
    KeyboardInterrupt is, so no `except Exception` on the way swallows it and every `finally`
    (the removal of a .part file) runs."""


class Engine:
    def __init__(self, fetch: Callable[[Watch], Any], renderer: Renderer, settings: Settings, *,
                 clock: Callable[[], float], sleep: Callable[[float], None],
                 on_end: Callable[[Watch], None] | None = None,
                 discover: Callable[[Watch], list[Watch]] | None = None,
                 has_errors: Callable[[Watch], bool] | None = None,
                 rand: Callable[[], float] | None = None,
                 on_stop: Callable[[], None] | None = None,
                 cancelled: StopSignal | None = None) -> None:
        self.fetch = fetch
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.on_end = on_end
        self.discover = discover
        self.has_errors = has_errors or (lambda watch: bool(watch.job.failed_items))
        self.rand = rand or random.random
        # Set when the watch stops early (deadline, Ctrl-C, --fail-fast); on_end code checks
        # it. on_stop is called once, after the grace period, before run() returns.
        self.cancelled = cancelled if cancelled is not None else StopSignal()
        self.on_stop = on_stop
        self.watches: list[Watch] = []
        self.stopped_by: Watch | None = None
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._pool: _Pool | None = None
        self._results: queue.Queue[tuple[str, Watch, Any]] = queue.Queue()
        self._busy: dict[Watch, str] = {}  # at most one task per job: "poll" or "end"
        self._ends: deque[Watch] = deque()  # ended jobs waiting for a worker for on_end
        self._stopping = False
        self._stop_called = False

    # -- the run ---------------------------------------------------------------------------

    def run(self, watches: list[Watch]) -> int:
        now = self.clock()
        for watch in watches:
            self._add(watch, now)
        finished = False
        try:
            self.renderer.start(self.watches)
            reason = self._watch()
            self._wind_down(reason)
            code = int(ExitCode.INTERRUPTED) if reason == "interrupted" else self.exit_code()
            self.renderer.finish(self.watches, code)
            finished = True
            return code
        finally:
            if not finished:  # a bug, or a second Ctrl-C while finishing
                self._abort()

    def active(self) -> list[Watch]:
        return [w for w in self.watches if not w.done]

    def exit_code(self) -> int:
        # Command-line order (followed jobs sit after their parent). After a stop, the jobs
        # left unwatched say nothing; of those whose answers had arrived by then (or during
        # the grace period), the first on the command line speaks.
        for watch in self.watches:
            if self.stopped_by is not None and watch.outcome == "interrupted":
                continue
            if watch.exit_code != ExitCode.OK:
                return watch.exit_code
        return int(ExitCode.OK)

    def _watch(self) -> str:
        try:
            return self._loop()
        except KeyboardInterrupt:
            return "interrupted"

    def _wind_down(self, reason: str) -> None:
        """After a stop: tell in-flight work, give it a moment, then settle every job left."""
        if reason == "done":
            return
        self._stopping = True
        self.cancelled.stop(reason)
        # Answers already on their way still count after --fail-fast (the exit code then
        # follows the command line, not which answer won the race); after Ctrl-C or the
        # deadline only on_end work is waited for, to clean up.
        self._grace(polls_too=reason == "stopped")
        self._call_on_stop()
        for watch in self.active():
            self._give_up(watch, reason)

    def _grace(self, polls_too: bool) -> None:
        # Real time, not the injected clock: this waits for threads.
        until = time.monotonic() + self.settings.grace
        try:
            while any(polls_too or kind == "end" for kind in self._busy.values()):
                left = until - time.monotonic()
                if left <= 0:
                    return
                self._await(left)
        except KeyboardInterrupt:
            return  # a second Ctrl-C: wait no longer

    def _give_up(self, watch: Watch, reason: str) -> None:
        if not watch.ended:
            watch.outcome = "timeout" if reason == "timeout" else "interrupted"
            return
        # It ended, but its on_end did not finish (or never started): say so, and let the
        # resume notes name the `download` command that fetches its files.
        watch.downloads_cut = self.on_end is not None
        if job_failed(watch.job, with_errors=self._with_errors(watch)):
            watch.outcome = "failed"
        elif reason == "timeout":
            watch.outcome = "download_failed"
            watch.download_failures.append("the --timeout passed before its files were saved")
        else:
            watch.outcome = "interrupted"

    def _abort(self) -> None:
        self.cancelled.stop(self.cancelled.reason or "interrupted")
        self._call_on_stop()
        abort = getattr(self.renderer, "abort", None)  # see Renderer.abort
        if abort is not None:
            abort()  # the live display gives the terminal its cursor back

    def _call_on_stop(self) -> None:
        if self.on_stop is not None and not self._stop_called:
            self._stop_called = True
            self.on_stop()

    # -- the loop --------------------------------------------------------------------------

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

    def _loop(self) -> str:
        while True:
            now = self.clock()
            deadline = self.settings.deadline
            if deadline is not None and now >= deadline:
                return "timeout"
            self._drain()
            if self.stopped_by is None:
                self._launch(now)
            if self.stopped_by is not None:
                return "stopped"
            if not self.active():
                return "done"  # polls still in flight for settled jobs are not waited for
            now = self.clock()
            wait = min(self._wake_time(now, self.renderer.tick(now)) - now, IDLE_WAIT)
            if self._busy:
                self._await(wait)  # an answer wakes it early
            elif wait > 0:
                self.sleep(wait)

    def _wake_time(self, now: float, wish: float | None) -> float:
        times = [t for t in (self._heap[0][0] if self._heap else None, wish,
                             self.settings.deadline) if t is not None]
        return min(times) if times else now + IDLE_WAIT

    def _launch(self, now: float) -> None:
        due: list[Watch] = []
        while self._heap and self._heap[0][0] <= now:
            watch = heapq.heappop(self._heap)[2]
            if not watch.done and watch not in self._busy:
                due.append(watch)
        if self.settings.workers <= 0:
            answers = [(watch, _call(self.fetch, watch)) for watch in due]
            for watch, answer in answers:  # a round: every answer counts, even after a stop
                self._polled(watch, answer, self.clock())
            return
        for watch in due:
            self._submit("poll", watch, self.fetch)

    def _submit(self, kind: str, watch: Watch, call: Callable[[Watch], Any]) -> None:
        if self._pool is None:
            self._pool = _Pool(self.settings.workers, self._results)
        self._busy[watch] = kind
        self._pool.submit(kind, call, watch, wanted=len(self._busy))

    def _await(self, timeout: float) -> None:
        try:
            item = self._results.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        self._handle(*item)
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                item = self._results.get_nowait()
            except queue.Empty:
                return
            self._handle(*item)

    def _handle(self, kind: str, watch: Watch, result: Any) -> None:
        self._busy.pop(watch, None)
        if kind == "end":
            self._end_done(watch, result)
        else:
            self._polled(watch, result, self.clock())
        self._start_ends()  # a worker, or the one kept for polls, may have come free

    # -- one answer ------------------------------------------------------------------------

    def _polled(self, watch: Watch, result: Any, now: float) -> None:
        if watch.done:
            return  # settled while this answer was on its way (its token was refused)
        if isinstance(result, BaseException):
            self._failed_poll(watch, result, now)
            return
        watch.failures = 0
        watch.last_problem = None
        if watch.ended:
            return  # a terminal state is final
        watch.job = result
        if not self._stopping:
            for extra in (self.discover(watch) if self.discover else []):
                if not any(w.account == extra.account and w.job_id == extra.job_id
                           for w in self.watches):
                    self._add(extra, now)
                    self.renderer.add(extra)
        if result.terminal:
            self._ended(watch, now)
            return
        self.renderer.update(watch)
        if not self._stopping:
            self._schedule(watch, now + self._interval(watch))

    def _ended(self, watch: Watch, now: float) -> None:
        watch.ended_at = now  # when the answer came, not when its downloads are done
        if self.on_end is None:
            self._settle(watch)
            return
        if self._stopping:
            return  # no new downloads now; _give_up says what is missing
        self.renderer.update(watch)
        if self.settings.workers <= 0:
            self.on_end(watch)  # Ctrl-C here leaves it "interrupted"
            self._settle(watch)
            return
        self._ends.append(watch)
        self._start_ends()

    def _start_ends(self) -> None:
        on_end = self.on_end
        if on_end is None or self._stopping or not self._ends:
            return
        # on_end may hold a worker for minutes (a big download): while some job is still
        # polled, one worker stays free for the polls.
        polled = any(not w.ended for w in self.active())
        slots = max(1, self.settings.workers - (1 if polled else 0))
        running = sum(1 for kind in self._busy.values() if kind == "end")
        while self._ends and running < slots:
            self._submit("end", self._ends.popleft(), on_end)
            running += 1

    def _end_done(self, watch: Watch, result: Any) -> None:
        if isinstance(result, Cancelled):
            return  # it noticed the stop; _give_up settles it
        if isinstance(result, JobwatchError):
            watch.download_failures.append(result.message)
        elif isinstance(result, BaseException):
            raise result  # a bug in on_end: the run ends with it, the display restored
        self._settle(watch)

    def _settle(self, watch: Watch) -> None:
        watch.outcome = settle(watch.job, watch.download_failures,
                               with_errors=self._with_errors(watch))
        self.renderer.update(watch)
        if self.settings.fail_fast and watch.outcome != "succeeded" and not self._stopping:
            self._stop(watch)

    def _refused(self, watch: Watch, error: JobwatchError, now: float) -> None:
        watch.outcome = "auth" if isinstance(error, AuthError) else "not_found"
        watch.error = error
        watch.ended_at = now
        self.renderer.update(watch)

    def _with_errors(self, watch: Watch) -> bool:
        return self.settings.strict and self.has_errors(watch)

    def _stop(self, watch: Watch) -> None:
        if self.stopped_by is None:
            self.stopped_by = watch

    def _failed_poll(self, watch: Watch, error: BaseException, now: float) -> None:
        if isinstance(error, (AuthError, NotFoundError)):
            self._refused(watch, error, now)
            if isinstance(error, AuthError):
                # The jobs of the same provider and profile share the token: once it is
                # refused, polling them on helps nobody. Other accounts go on.
                for other in self.active():
                    if other.account == watch.account and other is not watch:
                        self._refused(other, error, now)
            if self.settings.fail_fast:
                self._stop(watch)
            return
        if not isinstance(error, JobwatchError) or isinstance(error, ConfigError):
            # A bug, or a config no retry can mend (a CA file with no certificates in it,
            # found at the first handshake): the run ends with it.
            raise error
        if self._stopping:
            return  # no more retries; it stays as it was last seen
        watch.failures += 1
        watch.last_problem = error.message
        limit = self.settings.max_failures
        # A certificate that does not verify is final: the next poll meets the same one.
        final = isinstance(error, CertificateError)
        if watch.failures >= limit or final:
            watch.outcome = "unreachable"
            watch.error = error if final else UnreachableError(
                f"{error.message}; gave up after {watch.failures} failures in a row",
                hint=error.hint)
            watch.ended_at = now
            self.renderer.update(watch)
            if self.settings.fail_fast:
                self._stop(watch)
            return
        delay = self._retry_delay(watch, error)
        if self.settings.deadline is not None:
            delay = min(delay, max(0.0, self.settings.deadline - now))
        self.renderer.problem(watch, f"{error.message}; failure {watch.failures} of {limit} "
                                     f"in a row, retrying in {delay:.1f}s")
        self._schedule(watch, now + delay)

    def _retry_delay(self, watch: Watch, error: JobwatchError) -> float:
        """Never sooner than the job's usual interval: a failing provider is not polled
        harder than a healthy one, and `Retry-After: 0` cannot spend the failure budget in a
        burst. Retry-After is honoured above that; otherwise a full-jitter extra that doubles
        with each failure, up to BACKOFF_INTERVALS intervals (and BACKOFF_CAP) in all."""
        interval = self._interval(watch)
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        if retry_after is not None:
            return min(RETRY_AFTER_CAP, max(retry_after, interval))
        ceiling = max(interval, min(BACKOFF_CAP, max(1.0, BACKOFF_INTERVALS * interval)))
        extra = min(ceiling - interval, interval * (2 ** (watch.failures - 1) - 1))
        return min(RETRY_AFTER_CAP, interval + self.rand() * extra)

    def _interval(self, watch: Watch) -> float:
        chosen = watch.interval if watch.interval is not None else self.settings.interval
        return max(MIN_INTERVAL, chosen)


def _call(call: Callable[[Watch], Any], watch: Watch) -> Any:
    try:
        return call(watch)
    except JobwatchError as exc:
        return exc


class _Pool:
    """A few daemon threads sharing the one client, started as work needs them. Daemon, so
    that Ctrl-C or a deadline never waits for a request stuck in flight (a ThreadPoolExecutor
    would be joined at exit)."""

    def __init__(self, size: int, results: queue.Queue[tuple[str, Watch, Any]]) -> None:
        self.size = size
        self.results = results
        self.tasks: queue.Queue[tuple[str, Callable[[Watch], Any], Watch]] = queue.Queue()
        self.threads: list[threading.Thread] = []

    def submit(self, kind: str, call: Callable[[Watch], Any], watch: Watch, *,
               wanted: int) -> None:
        if len(self.threads) < min(self.size, wanted):
            thread = threading.Thread(target=self._worker, daemon=True, name="jobwatch-poll")
            thread.start()
            self.threads.append(thread)
        self.tasks.put((kind, call, watch))

    def _worker(self) -> None:
        while True:
            kind, call, watch = self.tasks.get()
            try:
                outcome = _call(call, watch)
            except BaseException as exc:  # handed to the loop, which decides
                outcome = exc
            self.results.put((kind, watch, outcome))
