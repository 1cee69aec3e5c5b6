"""Small pieces the test modules share: a fake clock, a live renderer drawn into a string, and
waiting for the fake provider to be asked."""

from __future__ import annotations

import io
import time

from rich.console import Console

from jobwatch.live.renderer import LiveRenderer
from tests.fakeserver import FakeServer


class Clock:
    """A clock that moves only when a test moves it (``now``), or when the code under test
    sleeps on it (``sleep``, recorded in ``sleeps``)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def live(width: int = 120, height: int = 40, *,
         no_color: bool | None = None) -> tuple[LiveRenderer, Clock, io.StringIO]:
    """A live renderer on a fake clock, drawing as on a colour terminal of that size into a
    string. ``no_color=None`` leaves it to NO_COLOR, as rich does."""
    clock = Clock()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, height=height,
                      color_system="standard", no_color=no_color)
    return LiveRenderer(out, clock, console=console), clock, out


def frame_lines(renderer: LiveRenderer) -> list[str]:
    """The live renderer's current frame, as the lines of text it draws."""
    console = renderer.console
    return ["".join(segment.text for segment in line)
            for line in console.render_lines(renderer._frame(), console.options, pad=False)]


def wait_for_requests(fake: FakeServer, count: int, limit: float = 20) -> None:
    """Until the fake provider has had ``count`` requests; fails after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while len(fake.requests) < count:
        assert time.monotonic() < deadline, "the CLI never polled"
        time.sleep(0.05)
