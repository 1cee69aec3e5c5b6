"""When each watch is next due for a poll: a heap, earliest first."""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwatch.engine.watch import Watch


class Schedule:
    """Due times are clock readings. A watch scheduled twice is due twice: the engine
    schedules a watch only once its answer is in, and skips one that is busy or settled."""

    def __init__(self) -> None:
        # The sequence number breaks ties in the order watches were scheduled (and keeps
        # heapq from comparing two Watch objects).
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()

    def add(self, watch: Watch, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), watch))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Watch]:
        """Every watch due by ``now``, earliest first, taken off the schedule."""
        due: list[Watch] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due

    def __len__(self) -> int:
        return len(self._heap)
