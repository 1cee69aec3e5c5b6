"""Where polls and end-of-job work run: a few daemon threads, or inline for unit tests. A
result goes back to the engine through ``deliver``, from whichever thread ran the task; the
engine's loop is the only one that acts on it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from jobwatch.errors import JobwatchError

if TYPE_CHECKING:
    from jobwatch.engine.watch import Watch

Kind = Literal["poll", "end"]
# A task: fetch a job (its Job, or the JobwatchError it raised), or run its on_end (None).
Task = Callable[["Watch"], object]
# What comes back: the task's return value, the JobwatchError it raised, or, from a worker
# thread, any other exception (a bug), which the loop raises in turn.
Deliver = Callable[[Kind, "Watch", object], None]


class Pool(Protocol):
    def submit(self, kind: Kind, task: Task, watch: Watch, in_flight: int) -> None:
        """Run ``task(watch)`` and deliver its result. ``in_flight``: the engine's tasks not
        yet delivered, this one included (a pool starts no more threads than that)."""
        ...


PoolFactory = Callable[[Deliver], Pool]


def run_task(task: Task, watch: Watch) -> object:
    """A JobwatchError is an answer like any other; anything else propagates."""
    try:
        return task(watch)
    except JobwatchError as exc:
        return exc


class InlinePool:
    """Runs each task at once on the caller's thread (``workers=0``): a 10-minute timeout on a
    fake clock tests in milliseconds, and Ctrl-C or a bug comes straight out of the task."""

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver

    def submit(self, kind: Kind, task: Task, watch: Watch, in_flight: int) -> None:
        self.deliver(kind, watch, run_task(task, watch))


class ThreadPool:
    """A few daemon threads sharing the one client, started as work needs them. Daemon, so
    that Ctrl-C or a deadline never waits for a request stuck in flight (a ThreadPoolExecutor
    would be joined at exit)."""

    def __init__(self, size: int, deliver: Deliver) -> None:
        self.size = size
        self.deliver = deliver
        self.tasks: queue.SimpleQueue[tuple[Kind, Task, Watch]] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []

    def submit(self, kind: Kind, task: Task, watch: Watch, in_flight: int) -> None:
        if len(self.threads) < min(self.size, in_flight):
            thread = threading.Thread(target=self._work, daemon=True, name="jobwatch-poll")
            thread.start()
            self.threads.append(thread)
        self.tasks.put((kind, task, watch))

    def _work(self) -> None:
        while True:
            kind, task, watch = self.tasks.get()
            try:
                result = run_task(task, watch)
            except BaseException as exc:  # handed to the loop, which decides
                result = exc
            self.deliver(kind, watch, result)


def default_pool(workers: int) -> PoolFactory:
    """Threads, or inline for ``workers=0``."""
    if workers <= 0:
        return InlinePool
    return lambda deliver: ThreadPool(workers, deliver)
