"""When the live display redraws, on the injected clock (the engine's; a test's fake one).

Events only mark the display dirty; the engine's tick redraws, at most every MIN_REDRAW after
the previous redraw *ended*, and less often when a redraw is costly (more than a fifth of
that gap). While nothing changes the spinner still moves, every SPIN seconds, or slower so
that it never takes more than SPIN_SHARE of a core. Pure: it only does arithmetic on times."""

from __future__ import annotations


class Pacing:
    MIN_REDRAW = 0.1
    SPIN = 0.125
    SPIN_SHARE = 0.03  # of a core, at most, for the spinner while idle

    def __init__(self) -> None:
        self.dirty = True
        self.last_redraw = float("-inf")
        self.next_spin = float("-inf")
        self.cost = 0.0  # of the last redraw, in seconds of the clock

    def gap(self) -> float:
        # ~10 redraws a second at most; fewer when one redraw costs more than 20 ms.
        return max(self.MIN_REDRAW, 5 * self.cost)

    def changed(self) -> None:
        self.dirty = True

    def due(self, now: float) -> bool:
        """A redraw is due at a tick: something changed and the gap has passed, or the
        spinner's next frame is."""
        return (self.dirty and self.may_redraw(now)) or now >= self.next_spin

    def may_redraw(self, now: float) -> bool:
        """Whether a change may be drawn now (downloads redraw as bytes arrive)."""
        return now >= self.last_redraw + self.gap()

    def wish(self) -> float:
        """When the next tick is wanted: the spinner's frame, or sooner for a change."""
        if self.dirty:
            return min(self.next_spin, self.last_redraw + self.gap())
        return self.next_spin

    def drawn(self, began: float, ended: float) -> None:
        """A redraw ran from ``began`` to ``ended``. The next ones are timed from its end: a
        slow redraw never makes the next one come sooner."""
        self.cost = max(0.0, ended - began)
        self.dirty = False
        self.last_redraw = ended
        self.next_spin = ended + max(self.SPIN, self.cost / self.SPIN_SHARE)
