"""The polling engine with its real worker pool: answers handled as they arrive, on_end off the
loop, the deadline and Ctrl-C with work in flight, the cancellation hooks, and the loop's sleep
(no once-a-second wakeups for the plain and quiet renderers).

These run on the real clock where threads are involved, with deadlines of a fraction of a
second; the fake clock of test_polling.py cannot advance while a thread blocks."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest

from jobwatch.endofjob import GuardedProgress
from jobwatch.errors import DownloadTimeout, NotFoundError
from jobwatch.models import Job, JobState
from jobwatch.polling import Cancelled, Engine, Settings, StopSignal, Watch
from jobwatch.ui import PlainRenderer, QuietRenderer
from tests.conftest import within
from tests.helpers import Clock
from tests.test_polling import Recorder


def job(job_id: str, state: str, progress: float | None = None) -> Job:
    return Job(provider="claret", job_id=job_id, state=JobState(state), status=state,
               progress=progress)


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


def real_engine(fetch: Any, renderer: Any = None, **kwargs: Any) -> Engine:
    settings = {k: kwargs.pop(k) for k in ("interval", "deadline", "fail_fast", "workers",
                                            "grace") if k in kwargs}
    settings.setdefault("interval", 0.2)
    settings.setdefault("workers", 4)
    if settings.get("deadline") is not None:
        settings["deadline"] += time.monotonic()
    return Engine(fetch, renderer or Recorder(), Settings(**settings), clock=time.monotonic,
                  sleep=time.sleep, **kwargs)


def test_one_slow_poll_does_not_stall_the_other_jobs() -> None:
    # Review-7 D5: every job waited for the slowest request of the round.
    polls: dict[str, int] = {"slow": 0, "fast": 0}

    def fetch(watch: Watch) -> Job:
        polls[watch.job_id] += 1
        if watch.job_id == "slow":
            time.sleep(1.5)
        return job(watch.job_id, "running")

    engine = real_engine(fetch, deadline=1.2)
    started = time.monotonic()
    assert engine.run([Watch("claret", "slow"), Watch("claret", "fast")]) == 124
    assert time.monotonic() - started < within(1.2 + 1)
    assert polls["slow"] == 1
    assert polls["fast"] >= 4  # every 0.2 s meanwhile
    assert [w.outcome for w in engine.watches] == ["timeout", "timeout"]


def test_at_most_one_request_in_flight_per_job() -> None:
    lock = threading.Lock()
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}

    def fetch(watch: Watch) -> Job:
        with lock:
            in_flight[watch.job_id] = in_flight.get(watch.job_id, 0) + 1
            most[watch.job_id] = max(most.get(watch.job_id, 0), in_flight[watch.job_id])
        time.sleep(0.35)  # longer than the interval
        with lock:
            in_flight[watch.job_id] -= 1
        return job(watch.job_id, "running")

    engine = real_engine(fetch, deadline=1.2, workers=8)
    engine.run([Watch("claret", "1"), Watch("claret", "2")])
    assert most == {"1": 1, "2": 1}


def test_downloads_run_off_the_loop_and_the_end_time_is_the_answers() -> None:
    # Review-4 M3: a download stalled every other job, the ticks and the heartbeat.
    polls: dict[str, list[float]] = {"a": [], "b": []}
    download: list[float] = []

    def fetch(watch: Watch) -> Job:
        polls[watch.job_id].append(time.monotonic())
        if watch.job_id == "a" or len(polls["b"]) >= 8:
            return job(watch.job_id, "succeeded")
        return job(watch.job_id, "running")

    def on_end(watch: Watch) -> None:
        if watch.job_id == "a":
            download.append(time.monotonic())
            time.sleep(1.0)  # a long download
            download.append(time.monotonic())

    renderer = Ticking()
    engine = real_engine(fetch, renderer, on_end=on_end)
    started = time.monotonic()
    assert engine.run([Watch("claret", "a"), Watch("claret", "b")]) == 0
    a, b = engine.watches
    assert a.ended_at is not None and a.ended_at - started < 0.3  # not after its download
    during = [t for t in polls["b"] if download[0] < t < download[1]]
    assert len(during) >= 4  # "b" polled on every 0.2 s while "a" downloaded
    assert len([t for t in renderer.ticks if download[0] < t < download[1]]) >= 5
    assert a.outcome == b.outcome == "succeeded"


def test_downloads_of_jobs_that_ended_together_run_side_by_side() -> None:
    lock = threading.Lock()
    running: list[int] = [0, 0]  # now, most

    def on_end(watch: Watch) -> None:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.3)
        with lock:
            running[0] -= 1

    engine = real_engine(lambda w: job(w.job_id, "succeeded"), on_end=on_end, workers=2)
    assert engine.run([Watch("claret", "1"), Watch("claret", "2")]) == 0
    assert running[1] == 2  # no worker is kept for polls once nothing is polled


def test_a_worker_stays_free_for_polls_while_downloads_run() -> None:
    polls: list[float] = []
    release = threading.Event()

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "poll":
            polls.append(time.monotonic())
            return job("poll", "running")
        return job(watch.job_id, "succeeded")

    engine = real_engine(fetch, on_end=lambda w: release.wait(30), workers=3, deadline=1.0)
    try:
        engine.run([Watch("claret", "a"), Watch("claret", "b"), Watch("claret", "c"),
                    Watch("claret", "poll")])
    finally:
        release.set()
    assert len(polls) >= 4  # three downloads, two workers for them, one for the polls


def test_at_the_deadline_a_request_in_flight_is_reported_as_timeout() -> None:
    # Review-4 H2: "timed out with 0 job(s) still running", no resume command.
    hang = threading.Event()

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "2":
            hang.wait(30)
        return job(watch.job_id, "running", 0.25)

    out = io.StringIO()
    renderer = PlainRenderer(out, time.monotonic, resume=lambda ws: ["jobwatch wait again"])
    engine = real_engine(fetch, renderer, deadline=0.5)
    started = time.monotonic()
    try:
        code = engine.run([Watch("claret", "1"), Watch("claret", "2")])
    finally:
        hang.set()
    assert code == 124
    assert time.monotonic() - started < within(0.5 + 1)
    assert [w.outcome for w in engine.watches] == ["timeout", "timeout"]
    text = out.getvalue()
    assert "timed out with 2 job(s) still running: claret 1 (25%); claret 2 (no answer yet)" in text
    assert "resume with: jobwatch wait again" in text


def test_at_the_deadline_an_on_end_in_flight_is_cut_within_a_second() -> None:
    # Review-4 H1: a hanging detail call or download overran --timeout by 30 s.
    stopped: list[float] = []
    seen_signal: list[str | None] = []
    release = threading.Event()

    def on_end(watch: Watch) -> None:
        release.wait(30)  # ignores the signal: the engine must not wait for it

    def on_stop() -> None:
        stopped.append(time.monotonic())
        seen_signal.append(engine.cancelled.reason)

    engine = real_engine(lambda w: job(w.job_id, "succeeded"), on_end=on_end, on_stop=on_stop,
                         deadline=0.5)
    started = time.monotonic()
    try:
        code = engine.run([Watch("claret", "1")])
    finally:
        release.set()
    assert time.monotonic() - started < within(0.5 + 1)
    assert code == 8  # as a download cut by the timeout: `jobwatch download` fetches it
    watch = engine.watches[0]
    assert watch.outcome == "download_failed" and watch.downloads_cut
    assert engine.cancelled.is_set() and seen_signal == ["timeout"]
    assert len(stopped) == 1 and stopped[0] - started >= 0.5 + 0.4  # after the grace


def test_on_end_work_that_notices_the_signal_finishes_within_the_grace() -> None:
    noticed: list[bool] = []

    def on_end(watch: Watch) -> None:
        while not engine.cancelled.wait(0.01):
            pass
        noticed.append(True)
        watch.download_failures.append("cut short")
        watch.downloads_cut = True

    engine = real_engine(lambda w: job(w.job_id, "succeeded"), on_end=on_end, deadline=0.3)
    started = time.monotonic()
    code = engine.run([Watch("claret", "1")])
    assert time.monotonic() - started < within(0.3 + 0.3)  # no need to wait out the grace
    assert noticed == [True]
    assert code == 8 and engine.watches[0].outcome == "download_failed"


def test_ctrl_c_cancels_in_flight_on_end_and_calls_on_stop() -> None:
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

    engine = real_engine(lambda w: job(w.job_id, "succeeded"), CtrlC(), on_end=on_end,
                         on_stop=lambda: events.append("on_stop"))
    started = time.monotonic()
    assert engine.run([Watch("claret", "1")]) == 130
    assert time.monotonic() - started < within(1.5)
    assert events == ["on_end started", "ctrl-c", "on_end saw interrupted", "on_stop"]
    watch = engine.watches[0]
    assert watch.outcome == "interrupted" and watch.downloads_cut  # `download` resumes it


def test_fail_fast_stops_downloads_of_other_jobs_and_calls_on_stop() -> None:
    calls: list[str] = []
    release = threading.Event()

    def fetch(watch: Watch) -> Job:
        if watch.job_id == "ok":
            return job("ok", "succeeded")
        time.sleep(0.1)
        return job("bad", "failed")

    def on_end(watch: Watch) -> None:
        if watch.job_id == "ok":
            release.wait(30)

    engine = real_engine(fetch, on_end=on_end, fail_fast=True,
                         on_stop=lambda: calls.append("on_stop"))
    started = time.monotonic()
    try:
        code = engine.run([Watch("claret", "ok"), Watch("claret", "bad")])
    finally:
        release.set()
    assert code == 1 and time.monotonic() - started < within(1.5)
    assert calls == ["on_stop"] and engine.cancelled.reason == "stopped"
    assert [w.outcome for w in engine.watches] == ["interrupted", "failed"]
    assert engine.watches[0].downloads_cut


def test_no_on_stop_call_when_every_job_simply_ends() -> None:
    calls: list[str] = []
    engine = real_engine(lambda w: job(w.job_id, "succeeded"), on_end=lambda w: None,
                         on_stop=lambda: calls.append("on_stop"))
    assert engine.run([Watch("claret", "1")]) == 0
    assert calls == [] and not engine.cancelled.is_set()


def test_an_unexpected_error_still_takes_the_display_down() -> None:
    # Review-4 M2: an exception that was not a JobwatchError left the cursor hidden.
    def fetch(watch: Watch) -> Job:
        raise OverflowError("integer division result too large for a float")

    renderer = Ticking()
    engine = real_engine(fetch, renderer, on_stop=lambda: None)
    with pytest.raises(OverflowError):
        engine.run([Watch("claret", "1")])
    assert renderer.aborted and engine.cancelled.is_set()


def test_fail_fast_counts_an_answer_already_in_flight() -> None:
    def fetch(watch: Watch) -> Any:
        if watch.job_id == "1":
            time.sleep(0.2)  # within the grace
            return job("1", "failed")
        raise NotFoundError("job 2 not found")

    engine = real_engine(fetch, fail_fast=True)
    assert engine.run([Watch("claret", "1"), Watch("claret", "2")]) == 1
    assert [w.outcome for w in engine.watches] == ["failed", "not_found"]


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
        artifacts = EndOfJob(None, None, None, renderer, Path("."), None, enabled=True,
                              cancelled=signal)
        progress = artifacts._progress(Watch("claret", "1"))
        progress.start("a.csv", 3)
        signal.stop("interrupted")
        with pytest.raises(Cancelled):
            progress.advance(3)
        signal.clear()
        signal.reason = None


# -- how long the loop sleeps (review-7 D8) ----------------------------------------------------


def fake_run(renderer: Any, answers: list[Job], interval: float) -> Clock:
    return fake_run_with(renderer, answers, interval, Clock())


def test_quiet_sleeps_from_poll_to_poll() -> None:
    answers = [job("1", "running")] * 3 + [job("1", "succeeded")]
    clock = fake_run(QuietRenderer(io.StringIO()), answers, interval=30)
    assert clock.sleeps == [30, 30, 30]


def test_plain_sleeps_until_the_next_poll_or_heartbeat_not_every_second() -> None:
    clock = Clock()
    renderer = PlainRenderer(io.StringIO(), clock)
    answers = [job("1", "running", 0.5)] * 2 + [job("1", "succeeded")]
    fake_run_clock = fake_run_with(renderer, answers, interval=100, clock=clock)
    # Polls at 0, 100, 200 (the same answer twice: nothing printed); heartbeats at 60, 120,
    # 180: five sleeps for 200 s, never a one-second tick.
    assert fake_run_clock.sleeps == pytest.approx([60, 40, 20, 60, 20])
    assert renderer.stream.getvalue().count("still waiting") == 3  # type: ignore[attr-defined]


def fake_run_with(renderer: Any, answers: list[Job], interval: float, clock: Clock) -> Clock:
    replies = iter(answers)
    engine = Engine(lambda w: next(replies), renderer, Settings(interval=interval, workers=0),
                    clock=clock, sleep=clock.sleep)
    assert engine.run([Watch("claret", "1")]) == 0
    return clock
