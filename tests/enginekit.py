"""What the engine's tests share: a renderer and an observer that record, scripted answers,
and workers simulated on the fake clock, so that tests of the thread pool's rules (a slow
poll, a long download, a stuck request) count exactly, with no real thread and no sleep."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from jobwatch.engine import Engine, JobHooks, NoObserver, Observers, Settings, Watch
from jobwatch.engine.workers import Deliver, Kind, Task
from jobwatch.errors import JobwatchError
from jobwatch.models import Job, JobState
from tests.helpers import Clock


class Recorder:
    """A renderer that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.finished: tuple[list[Watch], int] | None = None

    def start(self, watches: list[Watch]) -> None:
        self.events += [("start", w.label) for w in watches]

    def add(self, watch: Watch) -> None:
        self.events.append(("add", watch.label))

    def update(self, watch: Watch) -> None:
        self.events.append(("update", watch.label))

    def problem(self, watch: Watch, text: str) -> None:
        self.events.append(("problem", text))

    def tick(self, now: float) -> float | None:
        return None

    def finish(self, watches: list[Watch], code: int) -> None:
        self.finished = (watches, code)

    def problems(self) -> list[str]:
        return [text for kind, text in self.events if kind == "problem"]


class Recording(NoObserver):
    """An observer that records each call as (call, job id, detail), with the clock's time."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock
        self.calls: list[tuple[str, str, Any]] = []
        self.times: list[float] = []

    def _note(self, call: str, watch: Watch, detail: Any = None) -> None:
        self.calls.append((call, watch.job_id, detail))
        if self.clock is not None:
            self.times.append(self.clock())

    def update(self, watch: Watch) -> None:
        assert watch.job is not None
        self._note("update", watch, watch.job.state.value)

    def waiting(self, watch: Watch) -> None:
        self._note("waiting", watch)

    def retry(self, watch: Watch, error: JobwatchError, retry_in: float) -> None:
        self._note("retry", watch, round(retry_in, 6))

    def download(self, watch: Watch, saved: Any) -> None:
        self._note("download", watch, saved)

    def end(self, watch: Watch) -> None:
        self._note("end", watch, watch.outcome)

    def of(self, job_id: str) -> list[tuple[str, Any]]:
        return [(call, detail) for call, who, detail in self.calls if who == job_id]


def job(job_id: str, state: str, progress: float | None = None, *,
        failed_items: int | None = None, message: str | None = None) -> Job:
    return Job(provider="claret", job_id=job_id, state=JobState(state), status=state,
               progress=progress, failed_items=failed_items, message=message)


class Script:
    """Answers per job id, in order; the last answer repeats (an exception is raised).
    Records when each poll happened."""

    def __init__(self, clock: Clock, answers: dict[str, list[Any]]) -> None:
        self.clock = clock
        self.answers = answers
        self.polls: dict[str, list[float]] = {k: [] for k in answers}

    def __call__(self, watch: Watch) -> Any:
        times = self.polls.setdefault(watch.job_id, [])
        times.append(self.clock())
        answers = self.answers[watch.job_id]
        answer = answers[min(len(times) - 1, len(answers) - 1)]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def gaps(self, job_id: str) -> list[float]:
        times = self.polls[job_id]
        return [b - a for a, b in zip(times, times[1:])]


Duration = Callable[[Kind, Watch], float]


class SimulatedPool:
    """The engine's workers, simulated on the fake clock: ``size`` workers; a task runs when
    one takes it (its call made then, on the test's thread, so a fetch records the clock's
    time of the request) and its result comes back ``duration(kind, watch)`` seconds later
    on the clock (math.inf: a worker stuck for good). Records, per kind, the most tasks that
    ran at once, and per job the most in flight."""

    def __init__(self, clock: Clock, deliver: Deliver, size: int, duration: Duration) -> None:
        self.clock = clock
        self.deliver = deliver
        self.size = size
        self.duration = duration
        self.queued: deque[tuple[Kind, Task, Watch]] = deque()
        self.running: list[tuple[Kind, Watch]] = []
        self.most: dict[str, int] = {}  # "poll", "end", or a job id: the most at once
        self.started: list[tuple[float, Kind, str]] = []

    def submit(self, kind: Kind, task: Task, watch: Watch, in_flight: int) -> None:
        self.queued.append((kind, task, watch))
        self._start()

    def _start(self) -> None:
        while self.queued and len(self.running) < self.size:
            kind, task, watch = self.queued.popleft()
            self.running.append((kind, watch))
            self._count(kind, watch)
            now = self.clock()
            self.started.append((now, kind, watch.job_id))
            try:
                result: object = task(watch)
            except BaseException as exc:  # as a worker thread hands it back
                result = exc
            took = self.duration(kind, watch)
            if took != math.inf:
                self.clock.call_at(now + took, lambda k=kind, w=watch, r=result:
                                   self._finish(k, w, r))

    def release(self, job_id: str, after: float, effect: Callable[[], object]) -> None:
        """A stuck task of ``job_id`` ends ``after`` seconds from now, handing back what
        ``effect()`` returns then (work that noticed a stop: it cleans up and returns, or
        hands back Cancelled)."""
        kind, watch = next((k, w) for k, w in self.running if w.job_id == job_id)

        def finish() -> None:
            try:
                result = effect()
            except BaseException as exc:  # as a worker thread hands it back
                result = exc
            self._finish(kind, watch, result)

        self.clock.call_at(self.clock() + after, finish)

    def _count(self, kind: Kind, watch: Watch) -> None:
        for key in (kind, watch.job_id):
            now = sum(1 for k, w in self.running if key in (k, w.job_id))
            self.most[key] = max(self.most.get(key, 0), now)

    def _finish(self, kind: Kind, watch: Watch, result: object) -> None:
        self.running.remove((kind, watch))
        self.deliver(kind, watch, result)
        self._start()


def simulated(clock: Clock, size: int, duration: Duration | dict[str, float] | None = None
              ) -> tuple[Callable[[Deliver], SimulatedPool], list[SimulatedPool]]:
    """A pool factory for Engine(pool=...), and a list that will hold the pool it makes.
    ``duration`` by (kind, watch), or a dict: "poll:<id>" or "end:<id>" -> seconds (0 for
    any other)."""
    made: list[SimulatedPool] = []
    if duration is None or isinstance(duration, dict):
        table = duration or {}

        def took(kind: Kind, watch: Watch) -> float:
            return table.get(f"{kind}:{watch.job_id}", 0.0)
    else:
        took = duration

    def factory(deliver: Deliver) -> SimulatedPool:
        made.append(SimulatedPool(clock, deliver, size, took))
        return made[-1]

    return factory, made


def engine_on(clock: Clock, fetch: Callable[[Watch], Any], renderer: Any = None, *,
              hooks: JobHooks | None = None, observers: list[Any] | None = None,
              pool: Any = None, **settings: Any) -> Engine:
    """An engine on the fake clock; ``deadline`` is seconds from now, as --timeout is."""
    settings.setdefault("interval", 0.2)
    settings.setdefault("workers", 0)
    if settings.get("deadline") is not None:
        settings["deadline"] += clock.now()
    return Engine(fetch, renderer if renderer is not None else Recorder(), Settings(**settings),
                  clock=clock, hooks=hooks, observers=Observers(observers or []), pool=pool)
