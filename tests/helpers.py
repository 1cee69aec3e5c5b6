"""Small pieces the test modules share: a fake clock, a live renderer drawn into a string,
waiting for the fake provider to be asked, a Retailgrid job asked for with `jobwatch status`,
and JSON read as strictly as jq does."""

from __future__ import annotations

import heapq
import io
import itertools
import json
import math
import signal
import threading
import time
from collections.abc import Callable

from rich.console import Console

from jobwatch.live.renderer import LiveRenderer
from tests.fakeserver import FakeServer


class _Reading(float):
    """A reading of the fake clock: a number (``clock.now < 10``, as the older tests use it)
    that can also be called, as jobwatch.clock.Clock's ``now()`` is. Kept as a callable
    (``reader = clock.now``, as code passes a bound ``now`` on), it reads the clock again at
    each later call: only a first call with no reading in between is this reading."""

    _clock: Clock
    _serial: int
    _used: bool

    def __call__(self) -> float:
        if not self._used and self._clock._serial == self._serial:
            self._used = True
            return float(self)
        return float(self._clock.now)


class Clock:
    """A fake jobwatch.clock.Clock that moves only when a test moves it (``now = ...``,
    ``advance``), when the code under test sleeps or waits on it (recorded in ``sleeps`` and
    ``waits``), or by ``tick`` seconds after each reading (for code that only reads it, such
    as a download's stall rule).

    ``call_at(when, action)`` runs ``action`` once the clock passes ``when`` in a sleep, a
    wait or an advance, on the thread that moves the clock: a wait ends early when an action
    sets its event. That is how simulated workers (tests/enginekit.py) hand results back at
    exact times, with no threads."""

    def __init__(self, start: float = 0.0, *, tick: float = 0.0) -> None:
        self._now = float(start)
        self.tick = tick
        self.sleeps: list[float] = []
        self.waits: list[float | None] = []
        self._serial = 0  # readings taken so far
        self._actions: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    @property
    def now(self) -> _Reading:
        reading = _Reading(self._now)
        reading._clock, reading._serial, reading._used = self, self._serial + 1, False
        self._serial += 1
        self._now += self.tick
        return reading

    @now.setter
    def now(self, value: float) -> None:
        self._now = float(value)

    def __call__(self) -> float:
        return self.now()

    def call_at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._actions, (when, next(self._order), action))

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self._pass_until(self._now + seconds)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self._pass_until(self._now + seconds)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """An event nobody sets within the wait is not set: the time passes at once."""
        self.waits.append(timeout)
        if not event.is_set():
            assert timeout is not None or self._actions, "waiting forever on a fake clock"
            end = math.inf if timeout is None else self._now + max(0.0, timeout)
            self._pass_until(end, event)
        return event.is_set()

    def _pass_until(self, end: float, event: threading.Event | None = None) -> None:
        """Move to ``end``, running the actions due on the way in order; stop early at the
        action that sets ``event``."""
        while self._actions and self._actions[0][0] <= end:
            when, _, action = heapq.heappop(self._actions)
            self._now = max(self._now, when)
            action()
            if event is not None and event.is_set():
                return
        assert end != math.inf, "waiting forever on a fake clock"
        self._now = max(self._now, end)


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


UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
RG_PATH = f"/v1/jobs/{UUID}"


def retailgrid(status: str = "processing", **fields: object) -> dict[str, object]:
    """Retailgrid's answer for job UUID (at RG_PATH), with ``fields`` changed."""
    return {"job_id": UUID, "status": status, "progress": 40, "error_message": None,
            "job_type": "bulk_upsert", "created_at": "2024-01-01T10:00:00Z", **fields}


def rg_status(run_cli, fake, *args: str, **fields: str):
    """`jobwatch status retailgrid UUID ARGS` against the fake, profile ``fields`` set."""
    from tests.conftest import provider_env

    return run_cli("status", "retailgrid", UUID, *args,
                   env=provider_env(fake, "retailgrid", **fields))


def strict_json(text: str) -> object:
    """JSON as a strict parser (jq, JavaScript, Go) reads it: no NaN, no Infinity."""
    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def as_from_a_terminal() -> None:
    """In the child, before jobwatch starts: SIGINT and SIGHUP at their defaults, as a shell on
    a terminal starts a command. The tests may run where they are ignored (a background job of
    a script, `nohup pytest`): Python then never raises KeyboardInterrupt, and jobwatch
    rightly keeps a SIGHUP ignored at start."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
