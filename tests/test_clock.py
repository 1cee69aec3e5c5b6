"""jobwatch.clock and the fake one in tests/helpers.py: the same three calls."""

from __future__ import annotations

import threading
import time

import pytest

from jobwatch.clock import SYSTEM_CLOCK, Clock
from tests.conftest import within
from tests.helpers import Clock as FakeClock


def uses(clock: Clock) -> tuple[float, bool]:
    """What code written against the protocol does with either clock."""
    start = clock.now()
    clock.sleep(0.05)
    return clock.now() - start, clock.wait(threading.Event(), 0.05)


def test_the_system_clock_really_passes() -> None:
    started = time.monotonic()
    elapsed, was_set = uses(SYSTEM_CLOCK)
    assert 0.05 <= elapsed < within(1) and not was_set
    assert time.monotonic() - started >= 0.1


def test_the_system_clock_wakes_when_the_event_is_set() -> None:
    event = threading.Event()
    threading.Timer(0.05, event.set).start()
    started = time.monotonic()
    assert SYSTEM_CLOCK.wait(event, 10)
    assert time.monotonic() - started < within(2)


def test_the_fake_clock_passes_at_once_and_keeps_a_record() -> None:
    clock = FakeClock(100.0)
    started = time.monotonic()
    elapsed, was_set = uses(clock)
    assert time.monotonic() - started < 0.05
    assert elapsed == pytest.approx(0.05) and not was_set
    assert clock.sleeps == [0.05] and clock.waits == [0.05]
    assert clock.now() == pytest.approx(100.1)


def test_the_fake_clock_reads_as_a_number_too() -> None:
    clock = FakeClock()
    clock.now = 3.0
    clock.now += 2
    assert clock.now == 5.0 and clock() == 5.0 and clock.now() == 5.0
    event = threading.Event()
    event.set()
    assert clock.wait(event, None) and clock.now == 5.0


def test_a_ticking_fake_clock_moves_at_each_reading() -> None:
    clock = FakeClock(tick=61.0)
    assert [clock.now(), clock.now(), clock()] == [0.0, 61.0, 122.0]


def test_the_fake_clock_runs_what_is_due_as_it_passes_and_a_set_event_ends_a_wait() -> None:
    clock = FakeClock()
    event = threading.Event()
    ran: list[tuple[str, float]] = []
    clock.call_at(2.0, lambda: ran.append(("a", clock.now())))
    clock.call_at(5.0, lambda: (ran.append(("set", clock.now())), event.set()))
    clock.call_at(9.0, lambda: ran.append(("late", clock.now())))
    assert clock.wait(event, 30.0)  # ends at 5, when the event is set
    assert ran == [("a", 2.0), ("set", 5.0)] and clock.now() == 5.0
    clock.sleep(10.0)
    assert ran[-1] == ("late", 9.0) and clock.now() == 15.0


def test_a_bound_now_of_the_fake_clock_keeps_reading_it() -> None:
    clock = FakeClock()
    reader = clock.now  # as code passes it on: retrying(clock=clock.now)
    assert reader() == 0.0
    clock.advance(3.0)
    assert reader() == 3.0 and reader() == 3.0
    ticking = FakeClock(tick=1.0)
    read = ticking.now
    assert [read(), read(), ticking.now()] == [0.0, 1.0, 2.0]
