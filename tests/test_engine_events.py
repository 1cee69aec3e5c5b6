"""jobwatch.engine.events: what observers hear, in the order things happen, on the fake clock
(and once over loopback, through `wait`'s own wiring, for the files EndOfJob saves)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from jobwatch.artifacts import Saved
from jobwatch.clock import SYSTEM_CLOCK
from jobwatch.engine import Engine, JobHooks, NoObserver, Observers, Settings, Watch
from jobwatch.errors import AuthError, NotFoundError, TransientError
from tests.enginekit import Recorder, Recording, Script, engine_on, job, simulated
from tests.helpers import Clock


def observed(answers: dict[str, list[Any]], *, hooks: JobHooks | None = None,
             **settings: Any) -> tuple[int, Recording, Engine]:
    clock = Clock()
    recording = Recording(clock)
    engine = engine_on(clock, Script(clock, answers), hooks=hooks, observers=[recording],
                       **settings)
    code = engine.run([Watch("claret", job_id) for job_id in answers])
    return code, recording, engine


def assert_one_end_each_and_last(recording: Recording, engine: Engine) -> None:
    for watch in engine.watches:
        calls = recording.of(watch.job_id)
        assert [c for c, _ in calls].count("end") == 1, calls
        assert calls[-1] == ("end", watch.outcome), calls


def test_update_at_the_first_answer_and_at_each_change_only() -> None:
    answers = {"1": [job("1", "pending"), job("1", "running", 0.1), job("1", "running", 0.1),
                     job("1", "running", 0.5), job("1", "running", 0.5, message="step 2"),
                     job("1", "running", 0.5, message="step 2"), job("1", "succeeded", 1.0)]}
    code, recording, engine = observed(answers, interval=1)
    assert code == 0
    assert recording.of("1") == [("update", "pending"), ("update", "running"),
                                 ("update", "running"), ("update", "running"),
                                 ("update", "succeeded"), ("end", "succeeded")]
    assert recording.times == [0, 1, 3, 4, 6, 6]  # the polls at 2 and 5 changed nothing


def test_a_transient_failure_is_a_retry_with_the_delay_the_engine_waits() -> None:
    answers = {"1": [TransientError("HTTP 503"), TransientError("HTTP 429", retry_after=7.0),
                     job("1", "succeeded")]}
    code, recording, _ = observed(answers, interval=2)
    assert code == 0
    assert recording.calls[:2] == [("retry", "1", 2.0), ("retry", "1", 7.0)]
    assert recording.times[:3] == [0, 2, 9]  # each next attempt after the delay told


def test_giving_up_tells_no_retry_only_the_end() -> None:
    code, recording, engine = observed({"1": [TransientError("HTTP 503")]}, interval=1,
                                       retry=_no_jitter())
    assert code == 7
    calls = recording.of("1")
    assert [c for c, _ in calls] == ["retry"] * 9 + ["end"]
    assert calls[-1] == ("end", "unreachable")


def _no_jitter() -> Any:
    from jobwatch.engine import RetryPolicy

    return RetryPolicy(rand=lambda: 0.0)


def test_waiting_is_told_once_while_the_job_is_not_found_yet() -> None:
    not_yet = NotFoundError("claret job 1 not found (HTTP 404)")
    answers = {"1": [not_yet, not_yet, not_yet, job("1", "succeeded")]}
    code, recording, _ = observed(answers, interval=2, not_found_grace=30)
    assert code == 0
    assert recording.of("1") == [("waiting", None), ("update", "succeeded"),
                                 ("end", "succeeded")]
    assert recording.times == [0, 6, 6]


def test_not_found_after_the_grace_ends_it() -> None:
    code, recording, _ = observed({"1": [NotFoundError("gone")]}, interval=2,
                                  not_found_grace=3)
    assert code == 4
    assert recording.of("1") == [("waiting", None), ("end", "not_found")]


def test_every_job_ends_exactly_once_and_last_whatever_its_outcome() -> None:
    answers = {"ok": [job("ok", "running"), job("ok", "succeeded")],
               "bad": [job("bad", "failed")],
               "gone": [NotFoundError("gone")],
               "flaky": [TransientError("HTTP 502")] * 3 + [job("flaky", "running")],
               "slow": [job("slow", "running")]}
    code, recording, engine = observed(answers, interval=1, deadline=20)
    assert code == 1  # "bad", the first on the command line that is not 0 ... after "ok"
    assert [w.outcome for w in engine.watches] == ["succeeded", "failed", "not_found",
                                                   "timeout", "timeout"]
    assert_one_end_each_and_last(recording, engine)
    assert [c for c, _ in recording.of("flaky")] == ["retry"] * 3 + ["update", "end"]


def test_a_refused_token_ends_every_job_of_its_account() -> None:
    answers = {"1": [job("1", "running")], "2": [AuthError("HTTP 401")]}
    code, recording, engine = observed(answers)
    assert code == 5
    assert recording.of("1") == [("update", "running"), ("end", "auth")]
    assert recording.of("2") == [("end", "auth")]


def test_files_are_told_as_they_land_between_the_last_update_and_the_end() -> None:
    clock = Clock()
    recording = Recording(clock)
    observers = Observers([recording])

    def on_end(watch: Watch) -> None:  # what EndOfJob does through on_saved, on its worker
        for name in ("a.csv", "b.csv"):
            observers.download(watch, Saved("output", Path(name), 10))

    pool, _ = simulated(clock, 4, {"end:1": 3.0})
    engine = Engine(Script(clock, {"1": [job("1", "succeeded")], "2": [job("2", "running")]}),
                    Recorder(), Settings(interval=1, workers=4, deadline=5), clock=clock,
                    hooks=JobHooks(on_end=on_end), observers=observers, pool=pool)
    assert engine.run([Watch("claret", "1"), Watch("claret", "2")]) == 124
    assert [(c, getattr(d, "path", d)) for c, d in recording.of("1")] == [
        ("update", "succeeded"), ("download", Path("a.csv")), ("download", Path("b.csv")),
        ("end", "succeeded")]
    # "1" ends when its on_end is done (3 s), "2" at the deadline.
    assert recording.calls[-2:] == [("end", "1", "succeeded"), ("end", "2", "timeout")]
    assert recording.times[-2:] == [3, 5]
    assert_one_end_each_and_last(recording, engine)


def test_nothing_is_told_of_a_watch_after_its_end() -> None:
    recording = Recording()
    observers = Observers([recording])
    watch = Watch("claret", "1", job=job("1", "succeeded"), outcome="interrupted")
    observers.end(watch)
    observers.download(watch, Saved("output", Path("late.csv"), 1))  # landed in the grace
    observers.update(watch)
    observers.end(watch)
    assert recording.calls == [("end", "1", "interrupted")]


def test_several_observers_hear_everything_in_the_order_given() -> None:
    heard: list[str] = []

    class Named(NoObserver):
        def __init__(self, name: str) -> None:
            self.name = name

        def update(self, watch: Watch) -> None:
            heard.append(f"{self.name} update")

        def end(self, watch: Watch) -> None:
            heard.append(f"{self.name} end")

    clock = Clock()
    engine = engine_on(clock, lambda w: job(w.job_id, "succeeded"),
                       observers=[Named("a"), Named("b")])
    assert engine.run([Watch("claret", "1")]) == 0
    assert heard == ["a update", "b update", "a end", "b end"]


def test_calls_from_workers_and_the_loop_never_overlap() -> None:
    # Real threads: downloads told from a worker while the loop tells updates and ends.
    inside = threading.Lock()
    overlaps: list[str] = []

    class Exclusive(NoObserver):
        def _enter(self, what: str) -> None:
            if not inside.acquire(blocking=False):
                overlaps.append(what)
                return
            threading.Event().wait(0.001)  # hold it a moment
            inside.release()

        def update(self, watch: Watch) -> None:
            self._enter("update")

        def download(self, watch: Watch, saved: Any) -> None:
            self._enter("download")

        def end(self, watch: Watch) -> None:
            self._enter("end")

    observers = Observers([Exclusive()])

    def on_end(watch: Watch) -> None:
        for n in range(20):
            observers.download(watch, Saved("output", Path(f"{n}.csv"), 1))

    engine = Engine(lambda w: job(w.job_id, "succeeded"), Recorder(),
                    Settings(interval=0.2, workers=8), clock=SYSTEM_CLOCK,
                    hooks=JobHooks(on_end=on_end), observers=observers)
    assert engine.run([Watch("claret", str(n)) for n in range(8)]) == 0
    assert overlaps == []


@pytest.mark.parametrize("observers", [[], None])
def test_no_observer_is_the_default(observers: Any) -> None:
    clock = Clock()
    engine = Engine(lambda w: job(w.job_id, "succeeded"), Recorder(),
                    Settings(interval=1, workers=0), clock=clock,
                    observers=None if observers is None else Observers(observers))
    assert engine.run([Watch("claret", "1")]) == 0 and not engine.observers


def test_wait_tells_each_file_it_saves_then_the_end(fake, tmp_path: Path) -> None:
    # Through `wait`'s own wiring: EndOfJob tells each file as it lands, from its worker.
    import io

    from jobwatch.config import ConfigFile
    from jobwatch.output import Output
    from jobwatch.refs import JobRef
    from jobwatch.runtime import Runtime
    from jobwatch.watch import WaitOptions, watch_jobs
    from tests.conftest import provider_env
    from tests.fakeserver import Reply, json_reply

    fake.route("/acme/api/v1/imports/status/77", json_reply({"message": "ok", "content": {
        "job_log_id": 77, "status": "completed", "type": "inventory-import",
        "progress": {"completed_steps": 8, "total_steps": 8},
        "files": {"output": ["/dl/a.csv"], "errors": ["/dl/e.csv"]},
        "timestamps": {"started_at": "2024-01-01T10:00:00Z"}}}))
    fake.route("/dl/a.csv", Reply(200, b"aaa"))
    fake.route("/dl/e.csv", Reply(200, b"ee"))
    runtime = Runtime(env=provider_env(fake, "claret"), stderr=io.StringIO())
    runtime._config = ConfigFile(Path("(none)"), explicit=False, exists=False)
    recording = Recording()
    code = watch_jobs(runtime, [JobRef("claret", None, "77")],
                      WaitOptions(interval="0.2", download_dir=str(tmp_path)),
                      Output.choose(runtime), observers=[recording])
    assert code == 0
    calls = recording.of("77")
    assert [c for c, _ in calls] == ["update", "download", "download", "end"]
    saved = {(s.category, s.path.name, s.bytes) for c, s in calls if c == "download"}
    assert saved == {("output", "a.csv", 3), ("errors", "e.csv", 2)}
