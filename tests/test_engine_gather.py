"""Dispatcher(gather=...): once an answer is in while others are in flight, the loop waits a
moment for them and takes them together (one wake for several); never past its own timeout,
and not at all when nothing else is on its way."""

from __future__ import annotations

import time

import pytest

from jobwatch.clock import SYSTEM_CLOCK
from jobwatch.engine import Engine, Settings, Watch
from jobwatch.engine.dispatch import Dispatcher
from jobwatch.engine.workers import ThreadPool
from tests.conftest import within
from tests.enginekit import Recorder, job, simulated
from tests.helpers import Clock


def _dispatch(clock: Clock, gather: float, seconds: dict[str, float]) -> Dispatcher:
    pool, _ = simulated(clock, size=len(seconds), duration={f"poll:{k}": v
                                                           for k, v in seconds.items()})
    dispatch = Dispatcher(clock, pool, gather=gather)
    for name in seconds:
        dispatch.submit("poll", Watch("claret", name), lambda w: w.job_id)
    return dispatch


def test_answers_that_come_within_the_gather_are_taken_together() -> None:
    clock = Clock()
    dispatch = _dispatch(clock, 0.005, {"a": 0.001, "b": 0.003, "c": 0.010})
    dispatch.wait(1.0)
    assert [r for _, _, r in dispatch.results()] == ["a", "b"]  # c comes after the gather
    assert clock.now() == pytest.approx(0.006)  # the first answer, then 5 ms more
    dispatch.wait(1.0)
    assert [r for _, _, r in dispatch.results()] == ["c"]  # the last in flight: no gather
    assert clock.now() == pytest.approx(0.010)


def test_the_gather_ends_when_the_last_task_in_flight_answers() -> None:
    clock = Clock()
    dispatch = _dispatch(clock, 0.005, {"a": 0.001, "b": 0.002})
    dispatch.wait(1.0)
    assert [r for _, _, r in dispatch.results()] == ["a", "b"]
    assert clock.now() == pytest.approx(0.002)


def test_the_gather_never_runs_past_the_timeout() -> None:
    clock = Clock()
    dispatch = _dispatch(clock, 0.005, {"a": 0.001, "b": 1.0})
    dispatch.wait(0.003)
    assert [r for _, _, r in dispatch.results()] == ["a"]
    assert clock.now() == pytest.approx(0.003)


def test_without_gather_each_answer_is_taken_as_it_comes() -> None:
    clock = Clock()
    dispatch = _dispatch(clock, 0.0, {"a": 0.001, "b": 0.003})
    dispatch.wait(1.0)
    assert [r for _, _, r in dispatch.results()] == ["a"]
    assert clock.now() == pytest.approx(0.001)


def test_a_gathering_fleet_on_real_threads_loses_no_answer() -> None:
    answers = {str(i): [job(str(i), "running"), job(str(i), "succeeded")] for i in range(200)}
    polls: dict[str, int] = {}

    def fetch(watch: Watch) -> object:
        n = polls[watch.job_id] = polls.get(watch.job_id, 0) + 1
        time.sleep(0.001)
        return answers[watch.job_id][min(n, 2) - 1]

    engine = Engine(fetch, Recorder(), Settings(interval=0.2, workers=16, gather=0.005),
                    clock=SYSTEM_CLOCK)
    started = time.monotonic()
    assert engine.run([Watch("claret", k) for k in answers]) == 0
    assert polls == {k: 2 for k in answers}
    assert time.monotonic() - started < within(5)


def test_a_real_thread_pool_gathers_into_fewer_wakes() -> None:
    dispatch = Dispatcher(SYSTEM_CLOCK, lambda deliver: ThreadPool(8, deliver),
                          gather=within(1.0))
    watches = [Watch("claret", str(n)) for n in range(8)]
    for n, watch in enumerate(watches):
        dispatch.submit("poll", watch, lambda w, n=n: time.sleep(0.002 * n) or w.job_id)
    dispatch.wait(within(5))
    assert len(list(dispatch.results())) == 8  # the gather ends as the last one answers
