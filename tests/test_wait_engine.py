"""The engine with workers: answers handled as they arrive, on_end off the loop, the deadline
and Ctrl-C with work in flight, the cancellation hooks, and the loop's sleep (no
once-a-second wakeups for the plain and quiet renderers).

The workers are simulated on the fake clock (tests/enginekit.py): a slow request or a long
download takes exact seconds of the clock, so each test counts polls exactly ("6 polls by
t=1.2"), in milliseconds. Two tests keep real threads, for what only threads show: a worker
stuck in a request past the deadline does not hold the run, and the stop signal reaches
on_end code on another thread."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest

from jobwatch.clock import SYSTEM_CLOCK
from jobwatch.endofjob import GuardedProgress
from jobwatch.engine import Cancelled, Engine, JobHooks, Settings, StopSignal, Watch
from jobwatch.errors import DownloadTimeout, NotFoundError
from jobwatch.models import Job
from jobwatch.ui import PlainRenderer, QuietRenderer
from tests.conftest import within
from tests.enginekit import Recorder, engine_on, job, simulated
from tests.helpers import Clock


class Ticking(Recorder):
    """A Recorder that asks to be ticked often, and counts the ticks."""

    def __init__(self, every: float = 0.05) -> None:
        super().__init__()
        self.every = every
        self.ticks: list[float] = []
        self.aborted = False

    def tick(self, now: float) -> float:
        self.ticks.append(now)
        return now + self.every

    def abort(self) -> None:
        self.aborted = True


def watches(*ids: str) -> list[Watch]:
    return [Watch("claret", job_id) for job_id in ids]


def running(watch: Watch) -> Job:
    return job(watch.job_id, "running")


def succeeded(watch: Watch) -> Job:
    return job(watch.job_id, "succeeded")


def grid(start: float, step: float, count: int) -> list[float]:
    return [pytest.approx(start + i * step) for i in range(count)]


def test_one_slow_poll_does_not_stall_the_other_jobs() -> None:
    # No job waits for the slowest request of a round.
    clock = Clock()
    polls: dict[str, list[float]] = {"slow": [], "fast": []}

    def fetch(watch: Watch) -> Job:
        polls[watch.job_id].append(clock.now())
        return running(watch)

    pool, _ = simulated(clock, 4, {"poll:slow": 1.5})
    engine = engine_on(clock, fetch, workers=4, pool=pool, deadline=1.2)
    assert engine.run(watches("slow", "fast")) == 124
    assert polls == {"slow": [0.0], "fast": grid(0, 0.2, 6)}  # 0, 0.2, ... 1.0: then 1.2
    assert clock.now() == pytest.approx(1.2)  # no grace for a poll in flight at the deadline
    assert [w.outcome for w in engine.watches] == ["timeout", "timeout"]


def test_at_most_one_request_in_flight_per_job() -> None:
    clock = Clock()
    pool, made = simulated(clock, 8, lambda kind, watch: 0.35)  # longer than the interval
    engine = engine_on(clock, running, workers=8, pool=pool, deadline=1.2)
    engine.run(watches("1", "2"))
    [sim] = made
    assert sim.most["1"] == sim.most["2"] == 1
    # The next poll is due an interval after the answer: at 0, 0.55, 1.1.
    assert [t for t, _, who in sim.started if who == "1"] == grid(0, 0.55, 3)


def test_downloads_run_off_the_loop_and_the_end_time_is_the_answers() -> None:
    # A download stalls no other job, nor the ticks and the heartbeat.
    clock = Clock()
    polls: list[float] = []

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "a":
            return succeeded(watch)
        polls.append(clock.now())
        return succeeded(watch) if len(polls) >= 8 else running(watch)

    renderer = Ticking()
    pool, made = simulated(clock, 4, {"end:a": 1.0})  # a long download
    engine = engine_on(clock, fetch, renderer, workers=4, pool=pool,
                       hooks=JobHooks(on_end=lambda w: None))
    assert engine.run(watches("a", "b")) == 0
    a, b = engine.watches
    assert a.ended_at == 0.0  # when the answer came, not after its download
    assert (0.0, "end", "a") in made[0].started
    assert polls == grid(0, 0.2, 8)  # "b" polled on every 0.2 s while "a" downloaded
    assert len([t for t in renderer.ticks if 0 < t < 1.0]) >= 19  # every 0.05 s
    assert a.outcome == b.outcome == "succeeded"


def test_downloads_of_jobs_that_ended_together_run_side_by_side() -> None:
    clock = Clock()
    pool, made = simulated(clock, 2, lambda kind, watch: 0.3 if kind == "end" else 0.0)
    engine = engine_on(clock, succeeded, workers=2, pool=pool,
                       hooks=JobHooks(on_end=lambda w: None))
    assert engine.run(watches("1", "2")) == 0
    assert made[0].most["end"] == 2  # no worker is kept for polls once nothing is polled
    assert clock.now() == pytest.approx(0.3)


def test_a_worker_stays_free_for_polls_while_downloads_run() -> None:
    clock = Clock()
    polls: list[float] = []

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "poll":
            polls.append(clock.now())
            return running(watch)
        return succeeded(watch)

    stuck = simulated(clock, 3, lambda kind, watch: float("inf") if kind == "end" else 0.0)
    engine = engine_on(clock, fetch, workers=3, pool=stuck[0], deadline=1.0,
                       hooks=JobHooks(on_end=lambda w: None))
    assert engine.run(watches("a", "b", "c", "poll")) == 8
    assert stuck[1][0].most["end"] == 2  # three downloads, two workers for them ...
    assert polls == grid(0, 0.2, 5)  # ... and one for the polls
    assert [w.outcome for w in engine.watches] == ["download_failed"] * 3 + ["timeout"]
    assert all(w.downloads_cut for w in engine.watches[:3])


def test_at_the_deadline_a_request_in_flight_is_reported_as_timeout() -> None:
    # Never "timed out with 0 job(s) still running" and no resume command.
    clock = Clock()
    out = io.StringIO()
    renderer = PlainRenderer(out, clock, resume=lambda ws: ["jobwatch wait again"])
    pool, _ = simulated(clock, 4, {"poll:2": float("inf")})  # never answers
    engine = engine_on(clock, lambda w: job(w.job_id, "running", 0.25), renderer, workers=4,
                       pool=pool, deadline=0.5)
    assert engine.run(watches("1", "2")) == 124
    assert clock.now() == 0.5
    assert [w.outcome for w in engine.watches] == ["timeout", "timeout"]
    text = out.getvalue()
    assert "timed out with 2 job(s) still running: claret 1 (25%); claret 2 (no answer yet)" in text
    assert "resume with: jobwatch wait again" in text


def test_a_worker_really_stuck_in_a_request_does_not_hold_the_run() -> None:
    # Real threads: the stuck worker is a daemon thread nobody joins, and the loop's wait on
    # the real clock ends at the deadline. Bounded: the request is released at the end.
    hang = threading.Event()

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "2":
            hang.wait(30)
        return job(watch.job_id, "running", 0.25)

    engine = Engine(fetch, Recorder(), Settings(interval=0.2, workers=4,
                                                deadline=time.monotonic() + 0.5),
                    clock=SYSTEM_CLOCK)
    started = time.monotonic()
    try:
        code = engine.run(watches("1", "2"))
    finally:
        hang.set()
    assert code == 124
    assert time.monotonic() - started < within(0.5 + 1)
    assert [w.outcome for w in engine.watches] == ["timeout", "timeout"]


def test_at_the_deadline_an_on_end_in_flight_is_cut_after_the_grace() -> None:
    # A hanging detail call or download must not overrun --timeout (it could by 30 s).
    clock = Clock()
    stopped: list[tuple[float, str | None]] = []
    pool, _ = simulated(clock, 4, {"end:1": float("inf")})  # ignores the signal
    engine = engine_on(clock, succeeded, workers=4, pool=pool, deadline=0.5,
                       hooks=JobHooks(on_end=lambda w: None, on_stop=lambda: stopped.append(
                           (clock.now(), engine.cancelled.reason))))
    assert engine.run(watches("1")) == 8  # as a download cut by the timeout: `download` fetches it
    watch = engine.watches[0]
    assert watch.outcome == "download_failed" and watch.downloads_cut
    assert watch.download_failures == ["the --timeout passed before its files were saved"]
    assert stopped == [(1.0, "timeout")]  # after the grace of 0.5 s, once


class Noticing(StopSignal):
    """A stop signal that the simulated on_end work notices ``after`` seconds once set."""

    def __init__(self, notice: Any) -> None:
        super().__init__()
        self.notice = notice

    def stop(self, reason: str) -> None:
        super().stop(reason)
        self.notice()


def test_on_end_work_that_notices_the_signal_ends_the_grace_early() -> None:
    clock = Clock()
    pool, made = simulated(clock, 4, {"end:1": float("inf")})
    stopped: list[float] = []

    def cut_short() -> None:
        watch = engine.watches[0]
        watch.download_failures.append("cut short")
        watch.downloads_cut = True

    signal = Noticing(lambda: made[0].release("1", 0.05, cut_short))
    engine = Engine(succeeded, Recorder(), Settings(interval=0.2, workers=4, deadline=0.3),
                    clock=clock, pool=pool, cancelled=signal,
                    hooks=JobHooks(on_end=lambda w: None,
                                   on_stop=lambda: stopped.append(clock.now())))
    code = engine.run(watches("1"))
    assert stopped == [pytest.approx(0.35)]  # not 0.8: no need to wait out the grace
    assert code == 8 and engine.watches[0].outcome == "download_failed"
    assert engine.watches[0].download_failures == ["cut short"]


def test_ctrl_c_cancels_in_flight_on_end_on_its_thread_and_calls_on_stop() -> None:
    # Real threads: the signal set by the loop reaches on_end on its worker thread.
    events: list[str] = []

    def on_end(watch: Watch) -> None:
        events.append("on_end started")
        if engine.cancelled.wait(5):
            events.append(f"on_end saw {engine.cancelled.reason}")
            raise Cancelled()  # as a download does, once its .part is removed

    class CtrlC(Ticking):
        def tick(self, now: float) -> float:
            if "on_end started" in events and "ctrl-c" not in events:
                events.append("ctrl-c")
                raise KeyboardInterrupt
            return super().tick(now)

    engine = Engine(succeeded, CtrlC(), Settings(interval=0.2, workers=4), clock=SYSTEM_CLOCK,
                    hooks=JobHooks(on_end=on_end, on_stop=lambda: events.append("on_stop")))
    started = time.monotonic()
    assert engine.run(watches("1")) == 130
    assert time.monotonic() - started < within(1.5)
    assert events == ["on_end started", "ctrl-c", "on_end saw interrupted", "on_stop"]
    watch = engine.watches[0]
    assert watch.outcome == "interrupted" and watch.downloads_cut  # `download` resumes it


def test_fail_fast_stops_downloads_of_other_jobs_and_calls_on_stop() -> None:
    clock = Clock()
    calls: list[float] = []

    def fetch(watch: Watch) -> Job:
        return succeeded(watch) if watch.job_id == "ok" else job("bad", "failed")

    pool, _ = simulated(clock, 4, {"end:ok": float("inf"), "poll:bad": 0.1})
    engine = engine_on(clock, fetch, workers=4, pool=pool, fail_fast=True,
                       hooks=JobHooks(on_end=lambda w: None,
                                      on_stop=lambda: calls.append(clock.now())))
    assert engine.run(watches("ok", "bad")) == 1
    assert calls == [pytest.approx(0.6)] and engine.cancelled.reason == "stopped"
    assert [w.outcome for w in engine.watches] == ["interrupted", "failed"]
    assert engine.watches[0].downloads_cut


def test_no_on_stop_call_when_every_job_simply_ends() -> None:
    clock = Clock()
    calls: list[str] = []
    pool, _ = simulated(clock, 4, {"end:1": 0.3})
    engine = engine_on(clock, succeeded, workers=4, pool=pool,
                       hooks=JobHooks(on_end=lambda w: None,
                                      on_stop=lambda: calls.append("on_stop")))
    assert engine.run(watches("1")) == 0
    assert calls == [] and not engine.cancelled.is_set()


def test_an_unexpected_error_still_takes_the_display_down() -> None:
    # An exception that is not a JobwatchError must not leave the cursor hidden.
    def fetch(watch: Watch) -> Job:
        raise OverflowError("integer division result too large for a float")

    clock = Clock()
    renderer = Ticking()
    pool, _ = simulated(clock, 4)
    engine = engine_on(clock, fetch, renderer, workers=4, pool=pool,
                       hooks=JobHooks(on_stop=lambda: None))
    with pytest.raises(OverflowError):
        engine.run(watches("1"))
    assert renderer.aborted and engine.cancelled.is_set()


def test_fail_fast_does_not_wait_past_the_grace_for_an_answer_in_flight() -> None:
    clock = Clock()

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "1":
            return job("1", "failed")
        raise NotFoundError("job 2 not found")

    pool, _ = simulated(clock, 4, {"poll:1": 0.7})  # answers after the grace of 0.5 s
    engine = engine_on(clock, fetch, workers=4, pool=pool, fail_fast=True)
    assert engine.run(watches("1", "2")) == 4  # job 1 says nothing: it was left unwatched
    assert [w.outcome for w in engine.watches] == ["interrupted", "not_found"]
    assert clock.now() == pytest.approx(0.5)


# -- end-of-job work on the same clock -------------------------------------------------------


def test_end_of_job_waits_on_the_engines_clock_and_ends_at_the_stop() -> None:
    from pathlib import Path

    from jobwatch.endofjob import EndOfJob

    clock = Clock()
    signal = StopSignal()
    work = EndOfJob(None, None, None, Recorder(), Path("."), None,  # type: ignore[arg-type]
                    enabled=True, cancelled=signal, clock=clock)
    work._sleep(3.0)  # a retry's wait
    assert clock.waits == [3.0] and clock.now() == 3.0
    signal.stop("interrupted")
    with pytest.raises(Cancelled):
        work._sleep(3.0)
    assert clock.now() == 3.0


@pytest.mark.parametrize(("has_detail", "enabled", "files", "needed"), [
    (False, True, [], False),  # nothing to fetch
    (False, False, ["/out.csv"], False),  # --no-download
    (False, True, ["/out.csv"], True),
    (True, False, [], True),  # MerchantOps: its detail answer, for the error table
])
def test_end_of_job_work_is_needed_only_with_something_to_do(has_detail, enabled, files,
                                                              needed) -> None:
    from pathlib import Path

    from jobwatch.adapters import ADAPTERS
    from jobwatch.endofjob import EndOfJob
    from jobwatch.models import Artifact

    adapter = ADAPTERS["merchantops" if has_detail else "claret"]  # only its capabilities count
    work = EndOfJob(None, adapter, None, Recorder(), Path("."), None,  # type: ignore[arg-type]
                    enabled=enabled)
    ended = job("1", "succeeded").replace(
        artifacts=[Artifact(category="output", url=url) for url in files])
    assert work.needed(Watch("claret", "1", job=ended)) is needed


# -- the guard on download progress ----------------------------------------------------------


def test_guarded_progress_ends_a_download_once_the_watch_stops() -> None:
    class Inner:
        def __init__(self) -> None:
            self.calls: list[Any] = []

        def start(self, label: str, total: int | None) -> None:
            self.calls.append(("start", label))

        def advance(self, n: int) -> None:
            self.calls.append(("advance", n))

        def finish(self, label: str, ok: bool) -> None:
            self.calls.append(("finish", ok))

    signal = StopSignal()
    inner = Inner()
    progress = GuardedProgress(inner, signal)
    progress.start("big.bin", 10)
    progress.advance(5)
    signal.stop("interrupted")
    with pytest.raises(Cancelled):
        progress.advance(5)
    progress.finish("big.bin", False)
    assert inner.calls == [("start", "big.bin"), ("advance", 5), ("advance", 5),
                           ("finish", False)]
    at_deadline = StopSignal()
    at_deadline.stop("timeout")
    with pytest.raises(DownloadTimeout, match="the --timeout passed while downloading x.csv"):
        GuardedProgress(Inner(), at_deadline).start("x.csv", None)


def test_every_renderers_download_progress_is_guarded_by_the_signal() -> None:
    from pathlib import Path

    from jobwatch.endofjob import EndOfJob

    signal = StopSignal()
    for renderer in (PlainRenderer(io.StringIO(), time.monotonic), QuietRenderer(io.StringIO())):
        artifacts = EndOfJob(None, None, None, renderer, Path("."), None,  # type: ignore[arg-type]
                             enabled=True, cancelled=signal)
        progress = artifacts._progress(Watch("claret", "1"))
        progress.start("a.csv", 3)
        signal.stop("interrupted")
        with pytest.raises(Cancelled):
            progress.advance(3)
        signal.clear()
        signal.reason = None


# -- how long the loop sleeps ------------------------------------------------------------------


def fake_run(renderer: Any, answers: list[Job], interval: float, clock: Clock) -> Clock:
    replies = iter(answers)
    engine = Engine(lambda w: next(replies), renderer, Settings(interval=interval, workers=0),
                    clock=clock)
    assert engine.run([Watch("claret", "1")]) == 0
    return clock


def test_quiet_sleeps_from_poll_to_poll() -> None:
    answers = [job("1", "running")] * 3 + [job("1", "succeeded")]
    clock = fake_run(QuietRenderer(io.StringIO()), answers, interval=30, clock=Clock())
    assert clock.sleeps == [30, 30, 30]


def test_plain_sleeps_until_the_next_poll_or_heartbeat_not_every_second() -> None:
    clock = Clock()
    renderer = PlainRenderer(io.StringIO(), clock)
    answers = [job("1", "running", 0.5)] * 2 + [job("1", "succeeded")]
    fake_run(renderer, answers, interval=100, clock=clock)
    # Polls at 0, 100, 200 (the same answer twice: nothing printed); heartbeats at 60, 120,
    # 180: five sleeps for 200 s, never a one-second tick.
    assert clock.sleeps == pytest.approx([60, 40, 20, 60, 20])
    assert renderer.stream.getvalue().count("still waiting") == 3  # type: ignore[attr-defined]
