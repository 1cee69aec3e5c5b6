"""The one clock. Code that measures or waits on time (the engine's loop, its grace after a
stop and its waits for results; a download's stall rule, deadline and retry waits; the
end-of-job work of `wait`) takes a Clock instead of calling time.monotonic and time.sleep
itself, so a test can pass a fake one and run a 10-minute timeout, or a 60 s stall window,
in milliseconds (tests/helpers.py has that fake).

Readings are monotonic seconds: comparable with each other (a deadline is ``now() + seconds``),
never with wall-clock time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import threading


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Until ``event`` is set or ``timeout`` seconds have passed; whether it is set."""
        ...


class SystemClock:
    """The machine's monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        return event.wait(timeout)


SYSTEM_CLOCK = SystemClock()  # stateless, so one shared instance is a safe default
