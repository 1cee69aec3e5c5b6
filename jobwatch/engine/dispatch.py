"""The hand-off between the loop and the workers: at most one task per job in flight, results
back through a deque, and the loop woken only while it waits. Every method but ``deliver``
runs on the loop's thread; ``deliver`` runs on whichever thread finished the task."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from jobwatch.engine.workers import Kind, Pool, PoolFactory, Task

if TYPE_CHECKING:
    from jobwatch.clock import Clock
    from jobwatch.engine.watch import Watch


class Dispatcher:
    """``gather``: once a result is in while other tasks are in flight, how long (seconds) the
    loop may wait for more before it takes them. A thousand jobs answer about every half
    millisecond; woken for each, the loop and the worker that wakes it cost more CPU in the
    hand-off than in the answer. 0: each result is taken as it comes."""

    def __init__(self, clock: Clock, pool: PoolFactory, gather: float = 0.0) -> None:
        self.clock = clock
        self.gather = gather
        self._pool_factory = pool
        self._pool: Pool | None = None  # made at the first task: a run may need none
        self.busy: dict[Watch, Kind] = {}  # submitted, its result not yet taken
        self.ends_running = 0  # of those, the "end" tasks
        # append and popleft are atomic; only the loop pops. The Event is set only while the
        # loop waits (_idle), or gathers and the last task in flight has answered: a result
        # that comes while the loop is busy costs no lock.
        self._results: deque[tuple[Kind, Watch, object]] = deque()
        self._ready = threading.Event()
        self._idle = False
        self._gathering = False

    def submit(self, kind: Kind, watch: Watch, task: Task) -> None:
        if self._pool is None:
            self._pool = self._pool_factory(self.deliver)
        self._pool.submit(kind, task, watch, len(self.busy) + 1)
        # Marked once submitted: a Ctrl-C out of an inline task leaves nothing in flight.
        self.busy[watch] = kind
        if kind == "end":
            self.ends_running += 1

    def deliver(self, kind: Kind, watch: Watch, result: object) -> None:
        """From any thread. The result first, then the flag: either the loop, about to wait,
        finds the result, or this sees the flag and wakes it (no wake-up is ever lost)."""
        self._results.append((kind, watch, result))
        if self._idle or (self._gathering and len(self._results) >= len(self.busy)):
            self._ready.set()

    def wait(self, timeout: float) -> None:
        """Until a result is in or ``timeout`` seconds have passed on the clock; then, with
        ``gather``, a little longer while more are on their way (never past ``timeout``)."""
        start = self.clock.now() if self.gather else 0.0
        self._idle = True
        try:
            if not self._results:
                self.clock.wait(self._ready, max(0.0, timeout))
        finally:
            self._idle = False
        self._clear()
        if self.gather and self._results and len(self._results) < len(self.busy):
            self._gather(min(self.gather, start + timeout - self.clock.now()))

    def _gather(self, timeout: float) -> None:
        """Until every task in flight has answered, or ``timeout`` seconds have passed."""
        self._gathering = True
        try:
            if timeout > 0 and len(self._results) < len(self.busy):  # not all in meanwhile
                self.clock.wait(self._ready, timeout)
        finally:
            self._gathering = False
        self._clear()

    def _clear(self) -> None:
        if self._ready.is_set():
            self._ready.clear()  # one set late, after this, only makes the next wait spin once

    def results(self) -> Iterator[tuple[Kind, Watch, object]]:
        """Each result in, as it is taken; one delivered meanwhile comes too."""
        while self._results:
            kind, watch, result = self._results.popleft()
            del self.busy[watch]
            if kind == "end":
                self.ends_running -= 1
            yield kind, watch, result
