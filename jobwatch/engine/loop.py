"""The wait loop: polls every job until each has settled, the deadline passes or the user
interrupts. See jobwatch.engine for which thread owns what."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from jobwatch.clock import SYSTEM_CLOCK, Clock
from jobwatch.engine import outcomes
from jobwatch.engine.dispatch import Dispatcher
from jobwatch.engine.events import Observers, changed
from jobwatch.engine.hooks import JobHooks
from jobwatch.engine.ledger import Ledger
from jobwatch.engine.outcomes import StopReason
from jobwatch.engine.retry import GiveUp, RetryPolicy, floored
from jobwatch.engine.schedule import Schedule
from jobwatch.engine.stop import Cancelled, StopSignal
from jobwatch.engine.workers import Kind, PoolFactory, default_pool
from jobwatch.errors import AuthError, ConfigError, ExitCode, JobwatchError, NotFoundError

if TYPE_CHECKING:
    from jobwatch.engine.renderer import Renderer
    from jobwatch.engine.watch import Watch
    from jobwatch.models import Job

STOP_GRACE = 0.5  # after a stop, how long in-flight work gets to notice `cancelled`
# The longest the loop waits at once: when nothing is due and the renderer asked for no tick,
# and under any --timeout or --interval (a wait past threading.TIMEOUT_MAX cannot be asked for).
IDLE_WAIT = 60.0
# How long the loop may wait, once an answer is in, for the others in flight (Dispatcher):
# a wake for every answer of a thousand-job fleet costs more than the answers. Far below any
# interval (MIN_INTERVAL is 0.2 s) and any redraw.
GATHER = 0.005

Fetch = Callable[["Watch"], "Job"]


@dataclass
class Settings:
    interval: float
    deadline: float | None = None  # a reading of the engine's clock
    fail_fast: bool = False
    strict: bool = False
    workers: int = 16  # 0: fetch and run on_end inline, for unit tests
    # From the start of each watch: for this long, "not found" means "not there yet".
    not_found_grace: float = 0.0
    stop_grace: float = STOP_GRACE
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Answers taken together within this many seconds (GATHER in a run; 0, each as it comes,
    # where a test's fake clock counts every wait).
    gather: float = 0.0


class Engine:
    # Near 300 lines on purpose: every change of a watch's state happens in this one class,
    # on one thread, so the counts that keep each answer O(1) (the ledger's, the
    # dispatcher's) cannot drift. The rules it applies live outside it (retry, outcomes).

    def __init__(self, fetch: Fetch, renderer: Renderer, settings: Settings, *,
                 clock: Clock = SYSTEM_CLOCK, hooks: JobHooks | None = None,
                 observers: Observers | None = None, cancelled: StopSignal | None = None,
                 pool: PoolFactory | None = None) -> None:
        self.fetch = fetch
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.hooks = hooks or JobHooks()
        self.observers = observers if observers is not None else Observers()
        # Set when the watch stops early (deadline, Ctrl-C, --fail-fast); on_end code checks
        # it. hooks.on_stop is called once, after the grace period, before run() returns.
        self.cancelled = cancelled if cancelled is not None else StopSignal()
        self.ledger = Ledger()
        self.stopped_by: Watch | None = None
        self._schedule = Schedule()
        self._dispatch = Dispatcher(clock, pool or default_pool(settings.workers),
                                    gather=settings.gather)
        self._ends: deque[Watch] = deque()  # ended jobs waiting for a worker for on_end
        self._stopping = False
        self._stop_called = False

    # -- the run ---------------------------------------------------------------------------

    def run(self, watches: list[Watch]) -> int:
        now = self.clock.now()
        for watch in watches:
            self._add(watch, now)
        finished = False
        try:
            self.renderer.start(self.watches)
            reason = self._watch()
            if reason != "done":
                self._wind_down(reason)
            code = int(ExitCode.INTERRUPTED) if reason == "interrupted" else self.exit_code()
            self.renderer.finish(self.watches, code)
            finished = True
            return code
        finally:
            if not finished:  # a bug, or a second Ctrl-C while finishing
                self._abort()

    @property
    def watches(self) -> list[Watch]:
        """Every watch of the run, in command-line order (followed jobs after their parent)."""
        return self.ledger.watches

    def exit_code(self) -> int:
        return outcomes.run_exit_code(self.watches, stopped=self.stopped_by is not None)

    def _watch(self) -> StopReason | Literal["done"]:
        try:
            return self._loop()
        except KeyboardInterrupt:
            return "interrupted"

    def _wind_down(self, reason: StopReason) -> None:
        """After a stop: tell in-flight work, give it a moment, then settle every job left."""
        self._stopping = True
        self.cancelled.stop(reason)
        # Answers already on their way still count after --fail-fast (the exit code then
        # follows the command line, not which answer won the race); after Ctrl-C or the
        # deadline only on_end work is waited for, to clean up.
        self._grace(polls_too=reason == "stopped")
        self._call_on_stop()
        for watch in self.ledger.still_open():
            outcome = outcomes.give_up(watch, reason, with_errors=watch.ended
                                       and self._with_errors(watch))
            if watch.ended:
                # Its on_end did not finish (or never started): say so, and let the resume
                # notes name the `download` command that fetches its files.
                watch.downloads_cut = self.hooks.on_end is not None
                if outcome == "download_failed":
                    watch.download_failures.append(
                        "the --timeout passed before its files were saved")
            self._finish(watch, outcome, show=False)  # finish() draws the closing lines

    def _grace(self, polls_too: bool) -> None:
        until = self.clock.now() + self.settings.stop_grace
        try:
            while self._dispatch.busy if polls_too else self._dispatch.ends_running:
                left = until - self.clock.now()
                if left <= 0:
                    return
                self._await(left)
        except KeyboardInterrupt:
            return  # a second Ctrl-C: wait no longer

    def _abort(self) -> None:
        self.cancelled.stop(self.cancelled.reason or "interrupted")
        self._call_on_stop()
        abort = getattr(self.renderer, "abort", None)  # see Renderer.abort
        if abort is not None:
            abort()  # the live display gives the terminal its cursor back

    def _call_on_stop(self) -> None:
        if self.hooks.on_stop is not None and not self._stop_called:
            self._stop_called = True
            self.hooks.on_stop()

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> StopReason | Literal["done"]:
        deadline = self.settings.deadline
        while True:
            now = self.clock.now()
            if deadline is not None and now >= deadline:
                return "timeout"
            self._drain()
            if self.stopped_by is None:
                self._launch(now)
                self._drain()  # inline answers: every answer of a round counts, even after a stop
            if self.stopped_by is not None:
                return "stopped"
            if not self.ledger.open:
                return "done"  # polls still in flight for settled jobs are not waited for
            now = self.clock.now()
            wait = min(self._wake_time(now, self.renderer.tick(now)) - now, IDLE_WAIT)
            if self._dispatch.busy:
                self._await(wait)  # an answer wakes it early
            elif wait > 0:
                self.clock.sleep(wait)

    def _wake_time(self, now: float, wish: float | None) -> float:
        times = [t for t in (self._schedule.next_due(), wish, self.settings.deadline)
                 if t is not None]
        return min(times) if times else now + IDLE_WAIT

    def _launch(self, now: float) -> None:
        for watch in self._schedule.pop_due(now):
            if not watch.done and watch not in self._dispatch.busy:
                self._dispatch.submit("poll", watch, self.fetch)

    def _await(self, timeout: float) -> None:
        self._dispatch.wait(timeout)
        self._drain()

    def _drain(self) -> None:
        for kind, watch, result in self._dispatch.results():
            self._handle(kind, watch, result)

    def _handle(self, kind: Kind, watch: Watch, result: object) -> None:
        if kind == "end":
            self._end_done(watch, result)
        else:
            self._answer(watch, result, self.clock.now())
        self._start_ends()  # a worker, or the one kept for polls, may have come free

    # -- one answer ------------------------------------------------------------------------

    def _answer(self, watch: Watch, result: object, now: float) -> None:
        if watch.done:
            return  # settled while this answer was on its way (its token was refused)
        if isinstance(result, BaseException):
            self._failed(watch, result, now)
            return
        watch.failures = 0
        watch.last_problem = None
        watch.waiting = False
        if watch.ended:
            return  # a terminal state is final
        job = cast("Job", result)
        before, watch.job = watch.job, job
        if self.observers and changed(before, job):
            self.observers.update(watch)
        if not self._stopping:
            self._discover(watch, now)
        if job.terminal:
            self._ended(watch, now)
            return
        self.renderer.update(watch)
        if not self._stopping:
            self._schedule.add(watch, now + self._interval(watch))

    def _discover(self, watch: Watch, now: float) -> None:
        for extra in self.hooks.discover(watch):
            if not self.ledger.knows(extra):
                self._add(extra, now)
                self.renderer.add(extra)

    def _add(self, watch: Watch, now: float) -> None:
        watch.started = now
        self.ledger.add(watch)
        self._schedule.add(watch, now)

    def _ended(self, watch: Watch, now: float) -> None:
        watch.ended_at = now  # when the answer came, not when its downloads are done
        self.ledger.job_ended(watch)
        if self.hooks.on_end is None or not self.hooks.needs_end(watch):
            self._settle(watch)
            return
        if self._stopping:
            return  # no new downloads now; _wind_down says what is missing
        self.renderer.update(watch)
        self._ends.append(watch)
        self._start_ends()

    def _start_ends(self) -> None:
        on_end = self.hooks.on_end
        if on_end is None or self._stopping or not self._ends:
            return
        # on_end may hold a worker for minutes (a big download): while some job is still
        # polled, one worker stays free for the polls.
        slots = max(1, self.settings.workers - (1 if self.ledger.polled else 0))
        while self._ends and self._dispatch.ends_running < slots:
            watch = self._ends.popleft()
            if not watch.done:  # not refused with its account's token meanwhile
                self._dispatch.submit("end", watch, on_end)

    def _end_done(self, watch: Watch, result: object) -> None:
        if isinstance(result, Cancelled) or watch.done:
            return  # it noticed the stop (_wind_down settles it), or was refused meanwhile
        if isinstance(result, JobwatchError):
            watch.download_failures.append(result.message)
        elif isinstance(result, BaseException):
            raise result  # a bug in on_end: the run ends with it, the display restored
        self._settle(watch)

    def _settle(self, watch: Watch) -> None:
        assert watch.job is not None
        self._finish(watch, outcomes.settle(watch.job, watch.download_failures,
                                            with_errors=self._with_errors(watch)))
        if self.settings.fail_fast and watch.outcome != "succeeded" and not self._stopping:
            self._stop(watch)

    def _finish(self, watch: Watch, outcome: str, *, show: bool = True) -> None:
        """The one place a watch settles."""
        self.ledger.settle(watch, outcome)
        if show:
            self.renderer.update(watch)
        self.observers.end(watch)

    def _with_errors(self, watch: Watch) -> bool:
        return self.settings.strict and self.hooks.has_errors(watch)

    def _stop(self, watch: Watch) -> None:
        if self.stopped_by is None:
            self.stopped_by = watch

    def _interval(self, watch: Watch) -> float:
        return floored(watch.interval if watch.interval is not None else self.settings.interval)

    # -- one failure -----------------------------------------------------------------------

    def _failed(self, watch: Watch, error: BaseException, now: float) -> None:
        if isinstance(error, NotFoundError) and now - watch.started < self.settings.not_found_grace:
            self._not_yet(watch, error, now)
        elif isinstance(error, (AuthError, NotFoundError)):
            self._refuse(watch, error, now)
        elif not isinstance(error, JobwatchError) or isinstance(error, ConfigError):
            # A bug, or a config no retry can mend (a CA file with no certificates in it,
            # found at the first handshake): the run ends with it.
            raise error
        elif not self._stopping:  # no more retries after a stop: it stays as last seen
            self._transient(watch, error, now)

    def _not_yet(self, watch: Watch, error: NotFoundError, now: float) -> None:
        """Not found within --not-found-grace: a job started a moment ago that the provider
        does not list yet. Polled on at its interval; told once each time it starts waiting."""
        if self._stopping:
            return
        watch.failures = 0
        if not watch.waiting:
            from jobwatch.durations import format_duration

            watch.waiting = True
            watch.last_problem = f"waiting to appear ({error.message})"
            left = watch.started + self.settings.not_found_grace - now
            self.renderer.problem(watch, f"{watch.last_problem}; polled on for up to "
                                         f"{format_duration(left)} more")
            self.observers.waiting(watch)
        self._schedule.add(watch, now + self._interval(watch))

    def _refuse(self, watch: Watch, error: JobwatchError, now: float) -> None:
        refused = [watch]
        if isinstance(error, AuthError):
            # The jobs of the same provider and profile share the token: once it is
            # refused, polling them on helps nobody. Other accounts go on.
            refused += [w for w in self.ledger.still_open()
                        if w.account == watch.account and w is not watch]
        for each in refused:
            each.error = error
            each.ended_at = now
            each.waiting = False
            self._finish(each, outcomes.refused(error))
        if self.settings.fail_fast:
            self._stop(watch)

    def _transient(self, watch: Watch, error: JobwatchError, now: float) -> None:
        watch.failures += 1
        watch.last_problem = error.message
        deadline = self.settings.deadline
        decision = self.settings.retry.decide(error, watch.failures, self._interval(watch),
                                              None if deadline is None else deadline - now)
        if isinstance(decision, GiveUp):
            watch.error = decision.error
            watch.ended_at = now
            self._finish(watch, "unreachable")
            if self.settings.fail_fast:
                self._stop(watch)
            return
        limit = self.settings.retry.max_failures
        self.renderer.problem(watch, f"{error.message}; failure {watch.failures} of {limit} "
                                     f"in a row, retrying in {decision.delay:.1f}s")
        self.observers.retry(watch, error, decision.delay)
        self._schedule.add(watch, now + decision.delay)
