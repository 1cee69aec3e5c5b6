"""The run's watches in command-line order, with counts kept as watches change state, so that
handling an answer never scans all of them (a thousand jobs, three polls each: the scans
were most of the engine's CPU)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobwatch.engine.watch import Watch


class Ledger:
    """Changed by the engine's loop only. A watch is *open* until it has an outcome, and
    *polled* while it is open and its job has not ended."""

    def __init__(self) -> None:
        self.watches: list[Watch] = []  # command-line order, followed jobs after their parent
        self.open = 0
        self.polled = 0
        self._keys: set[tuple[str, str, str]] = set()

    def knows(self, watch: Watch) -> bool:
        return watch.key in self._keys

    def add(self, watch: Watch) -> None:
        self._keys.add(watch.key)
        self.open += 1
        self.polled += 1
        self.watches.insert(self._position(watch), watch)

    def job_ended(self, watch: Watch) -> None:
        """Its job has ended (the watch stays open while its files come)."""
        self.polled -= 1

    def settle(self, watch: Watch, outcome: str) -> None:
        if not watch.ended:
            self.polled -= 1
        self.open -= 1
        watch.outcome = outcome

    def still_open(self) -> list[Watch]:
        return [w for w in self.watches if not w.done]

    def _position(self, watch: Watch) -> int:
        """Command-line order, with a followed job after its parent and the parent's other
        followed jobs."""
        parent = watch.parent
        if parent is None or parent not in self.watches:
            return len(self.watches)
        position = self.watches.index(parent) + 1
        while position < len(self.watches) and self.watches[position].parent is parent:
            position += 1
        return position
