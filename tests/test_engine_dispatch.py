"""jobwatch.engine.dispatch: one task per job in flight, every result taken once, and a loop
waiting on the real clock woken by a result from another thread."""

from __future__ import annotations

import threading
import time

from jobwatch.clock import SYSTEM_CLOCK
from jobwatch.engine import Watch
from jobwatch.engine.dispatch import Dispatcher
from jobwatch.engine.workers import InlinePool, ThreadPool
from tests.conftest import within
from tests.helpers import Clock


def test_results_are_taken_once_and_free_their_job() -> None:
    dispatch = Dispatcher(Clock(), InlinePool)
    a, b = Watch("claret", "a"), Watch("claret", "b")
    dispatch.submit("poll", a, lambda w: "answer a")
    dispatch.submit("end", b, lambda w: None)
    assert set(dispatch.busy) == {a, b} and dispatch.ends_running == 1
    assert list(dispatch.results()) == [("poll", a, "answer a"), ("end", b, None)]
    assert dispatch.busy == {} and dispatch.ends_running == 0
    assert list(dispatch.results()) == []


def test_a_wait_with_a_result_in_does_not_wait() -> None:
    clock = Clock()
    dispatch = Dispatcher(clock, InlinePool)
    dispatch.submit("poll", Watch("claret", "a"), lambda w: "answer")
    dispatch.wait(30)
    assert clock.waits == [] and clock.now() == 0


def test_a_result_from_a_worker_thread_ends_the_wait() -> None:
    release = threading.Event()
    dispatch = Dispatcher(SYSTEM_CLOCK, lambda deliver: ThreadPool(2, deliver))
    watch = Watch("claret", "a")
    dispatch.submit("poll", watch, lambda w: release.wait(5) and "late answer")
    threading.Timer(0.05, release.set).start()
    started = time.monotonic()
    dispatch.wait(30)
    assert time.monotonic() - started < within(2)
    assert list(dispatch.results()) == [("poll", watch, "late answer")]


def test_no_result_is_lost_between_many_threads_and_the_loop() -> None:
    dispatch = Dispatcher(SYSTEM_CLOCK, lambda deliver: ThreadPool(8, deliver))
    watches = [Watch("claret", str(n)) for n in range(400)]
    for watch in watches:
        dispatch.submit("poll", watch, lambda w: w.job_id)
    taken: list[str] = []
    deadline = time.monotonic() + within(10)
    while len(taken) < len(watches):
        assert time.monotonic() < deadline, f"{len(taken)} results taken"
        dispatch.wait(1.0)  # a lost wake-up would show as a 1 s stall, and then a timeout
        taken += [str(result) for _, _, result in dispatch.results()]
    assert sorted(taken) == sorted(w.job_id for w in watches) and dispatch.busy == {}
