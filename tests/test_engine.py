"""The engine's rules on the fake clock, tasks run inline (workers=0): a 10-minute wait in
milliseconds, every poll at an exact time."""

from __future__ import annotations

from typing import Any

import pytest

from jobwatch.engine import MAX_FAILURES, Engine, JobHooks, RetryPolicy, Settings, Watch
from jobwatch.errors import AuthError, NotFoundError, TransientError, UnreachableError
from jobwatch.models import Job, JobState
from tests.enginekit import Recorder, Script, engine_on, simulated
from tests.helpers import Clock


def job(job_id: str, state: str, failed_items: int | None = None) -> Job:
    return Job(provider="claret", job_id=job_id, state=JobState(state), status=state,
               failed_items=failed_items)


def run(answers: dict[str, list[Any]], *, interval: float = 2.0, timeout: float | None = None,
        rand: Any = None, **settings: Any) -> tuple[int, Script, Clock, Recorder, Engine]:
    clock = Clock()
    script = Script(clock, answers)
    recorder = Recorder()
    retry = RetryPolicy(rand=rand) if rand is not None else RetryPolicy()
    engine = Engine(script, recorder,
                    Settings(interval=interval, deadline=timeout, workers=0, retry=retry,
                             **settings), clock=clock)
    code = engine.run([Watch("claret", job_id) for job_id in answers])
    return code, script, clock, recorder, engine


# -- the interval and the deadline -------------------------------------------------------------


def test_polls_at_the_interval_until_the_job_succeeds() -> None:
    code, script, clock, recorder, _ = run(
        {"1": [job("1", "pending"), job("1", "running"), job("1", "succeeded")]}, interval=5)
    assert code == 0
    assert script.polls["1"] == [0.0, 5.0, 10.0]
    assert recorder.finished is not None and recorder.finished[0][0].outcome == "succeeded"


def test_a_ten_minute_timeout_ends_at_the_deadline_with_124() -> None:
    code, script, clock, recorder, engine = run({"1": [job("1", "running")]}, interval=2,
                                                timeout=600)
    assert code == 124
    assert 600 <= clock.now < 601  # stops at the deadline, never sleeps past it
    assert len(script.polls["1"]) == 300
    assert engine.watches[0].outcome == "timeout"


def test_no_sleep_runs_past_the_deadline_even_with_a_long_retry_after() -> None:
    code, script, clock, _, _ = run(
        {"1": [TransientError("HTTP 429", retry_after=300.0)]}, interval=2, timeout=45)
    assert code == 124
    assert clock.now == pytest.approx(45)
    assert max(clock.sleeps) <= 45


def test_a_deadline_past_what_a_wait_can_ask_for_is_no_crash() -> None:
    # --timeout 10000000000 would ask the result queue for a wait past threading.TIMEOUT_MAX
    # (OverflowError) while the only job's poll is in flight: each wait is at most IDLE_WAIT.
    from jobwatch.engine.loop import IDLE_WAIT

    clock = Clock()
    pool, _ = simulated(clock, size=1, duration={"poll:1": 200.0})
    engine = engine_on(clock, lambda w: job(w.job_id, "succeeded"), workers=1, pool=pool,
                       deadline=1e10)
    assert engine.run([Watch("claret", "1")]) == 0
    assert clock.waits == [IDLE_WAIT, IDLE_WAIT, IDLE_WAIT, IDLE_WAIT]  # 200 s, in pieces
    assert clock.now() == 200.0


def test_the_system_clock_takes_a_deadline_past_timeout_max() -> None:
    # The same, on the real clock and a real worker: the answer comes after 0.2 s.
    import time

    from jobwatch.clock import SYSTEM_CLOCK

    def fetch(watch: Watch) -> Job:
        time.sleep(0.2)
        return job(watch.job_id, "succeeded")

    engine = Engine(fetch, Recorder(), Settings(interval=0.2, deadline=time.monotonic() + 1e10,
                                               workers=1), clock=SYSTEM_CLOCK)
    assert engine.run([Watch("claret", "1")]) == 0


# -- retries: Retry-After, backoff, giving up --------------------------------------------------


def test_retry_after_is_honoured_between_polls() -> None:
    code, script, _, _, _ = run(
        {"1": [TransientError("HTTP 429", retry_after=7.0), job("1", "succeeded")]})
    assert code == 0
    assert script.polls["1"] == [0.0, 7.0]


def test_backoff_grows_exponentially_and_is_capped() -> None:
    # rand() == 1.0 gives the top of each window: the interval plus a jittered extra of up to
    # interval * (2**(n-1) - 1), capped at 10 intervals in all (and at 60 s).
    answers = [TransientError("HTTP 503")] * 6 + [job("1", "succeeded")]
    code, script, _, _, _ = run({"1": answers}, interval=1.0, rand=lambda: 1.0)
    assert code == 0
    gaps = [b - a for a, b in zip(script.polls["1"], script.polls["1"][1:])]
    assert gaps == pytest.approx([1, 2, 4, 8, 10, 10])


def test_backoff_never_polls_faster_than_the_interval() -> None:
    # Full jitter from 0 would poll a failing Claret faster than its 5 s interval.
    answers = [TransientError("HTTP 503")] * 3 + [job("1", "succeeded")]
    code, script, _, _, _ = run({"1": answers}, interval=5.0, rand=lambda: 0.0)
    gaps = [b - a for a, b in zip(script.polls["1"], script.polls["1"][1:])]
    assert code == 0 and gaps == pytest.approx([5, 5, 5])


def test_backoff_jitter_spreads_between_the_interval_and_the_window() -> None:
    answers = [TransientError("HTTP 503")] * 3 + [job("1", "succeeded")]
    code, script, _, _, _ = run({"1": answers}, interval=2.0, rand=lambda: 0.5)
    gaps = [b - a for a, b in zip(script.polls["1"], script.polls["1"][1:])]
    # extras: 0, 0.5 * 2 * (2 - 1), 0.5 * 2 * (4 - 1)
    assert code == 0 and gaps == pytest.approx([2, 3, 5])


def test_retry_after_zero_does_not_burn_the_failure_budget() -> None:
    # Taken at its word, `Retry-After: 0` spends all 10 tries in 0.4 s: each waits the interval.
    answers = [TransientError("HTTP 503", retry_after=0.0)] * 12 + [job("1", "succeeded")]
    code, script, clock, _, engine = run({"1": answers}, interval=1.0, timeout=600)
    assert code == 7  # still gives up after 10 in a row ...
    gaps = [b - a for a, b in zip(script.polls["1"], script.polls["1"][1:])]
    assert gaps == pytest.approx([1.0] * 9)  # ... but never faster than the interval


def test_retry_after_below_the_floor_waits_at_least_the_floor() -> None:
    answers = [TransientError("HTTP 429", retry_after=0.0), job("1", "succeeded")]
    code, script, _, _, _ = run({"1": answers}, interval=0.05)
    assert code == 0
    assert script.polls["1"][1] - script.polls["1"][0] == pytest.approx(0.2)


def test_retry_after_longer_than_the_interval_is_honoured_and_capped_at_300() -> None:
    answers = [TransientError("HTTP 429", retry_after=900.0), job("1", "succeeded")]
    code, script, _, _, _ = run({"1": answers}, interval=2.0)
    assert code == 0
    assert script.polls["1"] == [0.0, 300.0]


def test_gives_up_after_ten_failures_in_a_row_with_7() -> None:
    code, script, _, _, engine = run({"1": [UnreachableError("garbage")]}, rand=lambda: 0.5)
    assert code == 7
    assert len(script.polls["1"]) == MAX_FAILURES
    assert engine.watches[0].outcome == "unreachable"


def test_the_retry_count_names_the_failures_that_end_it() -> None:
    _, _, _, recorder, engine = run({"1": [TransientError("HTTP 503")]}, interval=1)
    problems = recorder.problems()
    assert problems[0].startswith(f"HTTP 503; failure 1 of {MAX_FAILURES} in a row, retrying")
    assert problems[-1].startswith(f"HTTP 503; failure {MAX_FAILURES - 1} of {MAX_FAILURES}")
    assert engine.watches[0].error.message == (
        f"HTTP 503; gave up after {MAX_FAILURES} failures in a row")


def test_one_bad_answer_in_a_long_wait_never_kills_it() -> None:
    good, bad = job("1", "running"), TransientError("HTTP 502")
    answers = ([good] * 5 + [bad] * 9) * 3 + [job("1", "succeeded")]
    code, script, _, _, _ = run({"1": answers}, rand=lambda: 0.5)
    assert code == 0
    assert len(script.polls["1"]) == len(answers)


def test_a_config_error_from_a_poll_ends_the_run() -> None:
    # A CA file with no certificates in it is found at the first handshake: no retry helps.
    from jobwatch.errors import ConfigError

    with pytest.raises(ConfigError):
        run({"1": [ConfigError("cannot load CA certificates from /x: NO_CERTIFICATE")]})


# -- outcomes and exit codes -------------------------------------------------------------------


def test_a_terminal_state_is_final() -> None:
    code, script, _, recorder, engine = run(
        {"1": [job("1", "running"), job("1", "failed"), job("1", "succeeded")]})
    assert code == 1
    assert len(script.polls["1"]) == 2  # never polled again after the end
    assert engine.watches[0].job.state is JobState.FAILED


def test_exit_code_is_the_first_job_in_command_line_order_that_did_not_succeed() -> None:
    answers = {"1": [job("1", "succeeded")], "2": [NotFoundError("nope")],
               "3": [job("3", "running"), job("3", "failed")]}
    code, _, _, _, engine = run(answers)
    assert code == 4
    assert [w.outcome for w in engine.watches] == ["succeeded", "not_found", "failed"]


def test_timeout_of_an_earlier_job_wins_over_a_later_failure() -> None:
    answers = {"1": [job("1", "running")], "2": [job("2", "failed")]}
    code, _, _, _, engine = run(answers, timeout=30)
    assert code == 124
    assert [w.outcome for w in engine.watches] == ["timeout", "failed"]


def test_all_succeeded_is_zero() -> None:
    code, _, _, _, _ = run({str(i): [job(str(i), "running"), job(str(i), "succeeded")]
                            for i in range(5)})
    assert code == 0


def test_fail_fast_stops_at_the_first_failure() -> None:
    answers = {"1": [job("1", "running")], "2": [job("2", "running"), job("2", "failed")]}
    code, script, clock, _, engine = run(answers, fail_fast=True, timeout=600)
    assert code == 1
    assert clock.now < 10
    assert [w.outcome for w in engine.watches] == ["interrupted", "failed"]


def test_without_fail_fast_the_others_are_still_watched() -> None:
    answers = {"1": [job("1", "running")] * 3 + [job("1", "succeeded")],
               "2": [job("2", "failed")]}
    code, script, _, _, engine = run(answers)
    assert code == 1
    assert engine.watches[0].outcome == "succeeded"


def test_fail_fast_keeps_every_answer_of_the_round() -> None:
    answers = {"1": [job("1", "failed")], "2": [job("2", "succeeded")]}
    code, _, _, _, engine = run(answers, fail_fast=True)
    assert code == 1
    assert [w.outcome for w in engine.watches] == ["failed", "succeeded"]


def test_fail_fast_code_follows_the_command_line_not_the_order_answers_arrive() -> None:
    clock = Clock()
    answers = {"1": [job("1", "failed")], "2": [NotFoundError("job 2 not found")]}
    pool, _ = simulated(clock, size=2, duration={"poll:1": 0.2})  # job 1 answers last
    engine = engine_on(clock, Script(clock, answers), interval=1, workers=2, fail_fast=True,
                       pool=pool)
    assert engine.run([Watch("claret", "1"), Watch("claret", "2")]) == 1
    assert [w.outcome for w in engine.watches] == ["failed", "not_found"]
    assert clock.now() == pytest.approx(0.2)  # job 1's answer came within the stop's grace


def test_a_refused_token_stops_the_jobs_of_its_profile_at_once() -> None:
    answers = {"1": [job("1", "running")], "2": [AuthError("HTTP 401")]}
    code, script, clock, _, engine = run(answers, timeout=600)
    assert code == 5
    assert clock.now < 1
    assert [w.outcome for w in engine.watches] == ["auth", "auth"]


def test_a_refused_token_leaves_the_jobs_of_other_profiles_watched() -> None:
    clock = Clock()
    answers = {"1": [job("1", "running"), job("1", "succeeded")], "2": [AuthError("HTTP 401")],
               "3": [job("3", "running")]}
    script = Script(clock, answers)
    engine = Engine(script, Recorder(), Settings(interval=2, workers=0), clock=clock)
    code = engine.run([Watch("claret", "1", profile="prod"), Watch("claret", "2"),
                       Watch("claret", "3")])
    assert [w.outcome for w in engine.watches] == ["succeeded", "auth", "auth"]
    assert script.polls["1"] == [0.0, 2.0]  # polled on to its end
    assert len(script.polls["3"]) == 1  # not asked again with the refused token
    assert code == 5  # the first job in command-line order that did not succeed


def test_strict_counts_failed_items_as_a_failure() -> None:
    answers = {"1": [job("1", "succeeded", failed_items=3)]}
    assert run(answers)[0] == 0
    assert run(answers, strict=True)[0] == 1


def test_strict_asks_the_has_errors_hook() -> None:
    clock = Clock()
    engine = Engine(Script(clock, {"1": [job("1", "succeeded")]}), Recorder(),
                    Settings(interval=1, workers=0, strict=True), clock=clock,
                    hooks=JobHooks(has_errors=lambda watch: True))
    assert engine.run([Watch("claret", "1")]) == 1


# -- related jobs, workers, Ctrl-C -------------------------------------------------------------


def test_discovered_related_jobs_are_watched_after_their_parent() -> None:
    answers = {"p": [job("p", "running"), job("p", "succeeded")], "q": [job("q", "succeeded")],
               "r": [job("r", "running"), job("r", "running"), job("r", "succeeded")]}

    def discover(watch: Watch) -> list[Watch]:
        return [Watch("claret", "r", parent=watch)] if watch.job_id == "p" else []

    clock = Clock()
    script = Script(clock, answers)
    engine = Engine(script, Recorder(), Settings(interval=1, workers=0), clock=clock,
                    hooks=JobHooks(discover=discover))
    code = engine.run([Watch("claret", "p"), Watch("claret", "q")])
    assert code == 0
    assert [w.job_id for w in engine.watches] == ["p", "r", "q"]
    assert len(script.polls["r"]) == 3


def test_the_thread_pool_gives_the_same_answers_as_inline_polling() -> None:
    # Real threads on the real clock: the one test here of jobwatch.engine.workers.ThreadPool
    # with many jobs (the floor of 0.2 s between a job's two polls is all it waits).
    from jobwatch.clock import SYSTEM_CLOCK

    answers = {str(i): [job(str(i), "running"), job(str(i), "succeeded")] for i in range(40)}
    script = Script(Clock(), answers)
    engine = Engine(script, Recorder(), Settings(interval=0.2, workers=8), clock=SYSTEM_CLOCK)
    code = engine.run([Watch("claret", k) for k in answers])
    assert code == 0
    assert all(len(script.polls[k]) == 2 for k in answers)


def test_an_ended_job_with_nothing_to_fetch_settles_without_a_worker() -> None:
    clock = Clock()
    ran: list[str] = []
    pool, made = simulated(clock, 2, {"end:1": 5.0, "end:2": 5.0})
    engine = engine_on(clock, lambda w: job(w.job_id, "succeeded"), workers=2, pool=pool,
                       hooks=JobHooks(on_end=lambda w: ran.append(w.job_id),
                                      needs_end=lambda w: w.job_id == "2"))
    assert engine.run([Watch("claret", "1"), Watch("claret", "2")]) == 0
    assert ran == ["2"] and [k for _, k, _ in made[0].started].count("end") == 1
    assert [w.outcome for w in engine.watches] == ["succeeded", "succeeded"]
    assert clock.now() == 5.0  # only job 2 waited for its files


def test_ctrl_c_marks_running_jobs_interrupted_and_exits_130() -> None:
    class CtrlC(Clock):
        def sleep(self, seconds: float) -> None:
            raise KeyboardInterrupt

    clock = CtrlC()
    recorder = Recorder()
    engine = Engine(Script(clock, {"1": [job("1", "running")]}), recorder,
                    Settings(interval=1, workers=0), clock=clock)
    assert engine.run([Watch("claret", "1")]) == 130
    assert engine.watches[0].outcome == "interrupted"
    assert recorder.finished is not None and recorder.finished[1] == 130


# -- --not-found-grace ---------------------------------------------------------------------


NOT_YET = NotFoundError("claret job 1 not found (HTTP 404)")


def test_a_job_not_found_within_the_grace_is_waited_for_until_it_appears() -> None:
    answers = {"1": [NOT_YET, NOT_YET, job("1", "running"), job("1", "succeeded")]}
    code, script, _, recorder, engine = run(answers, interval=2, not_found_grace=10)
    assert code == 0
    assert script.polls["1"] == [0, 2, 4, 6]  # at the job's own interval
    waiting = [p for p in recorder.problems() if p.startswith("waiting to appear")]
    assert waiting == ["waiting to appear (claret job 1 not found (HTTP 404)); polled on for "
                       "up to 10s more"]  # said once, not at every poll
    watch = engine.watches[0]
    assert not watch.waiting and watch.last_problem is None and watch.failures == 0


def test_while_waiting_the_watch_says_so() -> None:
    clock = Clock()
    seen: list[tuple[bool, str | None]] = []

    def fetch(watch: Watch) -> Job:
        seen.append((watch.waiting, watch.last_problem))
        if len(seen) < 3:
            raise NOT_YET
        return job("1", "succeeded")

    assert engine_on(clock, fetch, not_found_grace=5).run([Watch("claret", "1")]) == 0
    assert seen == [(False, None), (True, f"waiting to appear ({NOT_YET.message})"),
                    (True, f"waiting to appear ({NOT_YET.message})")]


def test_still_not_found_after_the_grace_is_not_found() -> None:
    code, script, clock, _, engine = run({"1": [NOT_YET]}, interval=2, not_found_grace=5)
    assert code == 4
    assert script.polls["1"] == [0, 2, 4, 6]  # 6 s after the watch began: past the grace
    assert engine.watches[0].outcome == "not_found" and not engine.watches[0].waiting
    assert engine.watches[0].error is NOT_YET and clock.now() == 6


def test_a_timeout_during_the_grace_is_a_timeout() -> None:
    code, script, clock, _, engine = run({"1": [NOT_YET]}, interval=2, not_found_grace=60,
                                         timeout=10)
    assert code == 124
    assert script.polls["1"] == [0, 2, 4, 6, 8] and clock.now() == 10
    watch = engine.watches[0]
    assert watch.outcome == "timeout" and watch.last_problem == (
        f"waiting to appear ({NOT_YET.message})")  # what --json's message says


def test_without_a_grace_not_found_is_final_at_once() -> None:
    code, script, _, _, _ = run({"1": [NOT_YET, job("1", "succeeded")]})
    assert code == 4 and script.polls["1"] == [0]


def test_the_grace_counts_from_the_start_of_each_watch() -> None:
    # A followed job found at t=4 has its own grace, from t=4.
    clock = Clock()
    answers = {"p": [job("p", "running")] * 2 + [job("p", "succeeded")], "r": [NOT_YET]}
    script = Script(clock, answers)

    def discover(watch: Watch) -> list[Watch]:
        return [Watch("claret", "r", parent=watch)] if clock.now() >= 4 else []

    engine = Engine(script, Recorder(), Settings(interval=2, workers=0, not_found_grace=5),
                    clock=clock, hooks=JobHooks(discover=discover))
    assert engine.run([Watch("claret", "p")]) == 4
    assert script.polls["r"] == [4, 6, 8, 10]


def test_a_refused_token_within_the_grace_is_still_refused_at_once() -> None:
    code, script, _, _, _ = run({"1": [AuthError("HTTP 401")]}, not_found_grace=60)
    assert code == 5 and script.polls["1"] == [0]


def test_waiting_to_appear_is_no_failure_for_fail_fast() -> None:
    answers = {"1": [NOT_YET, job("1", "succeeded")], "2": [job("2", "running"),
                                                            job("2", "succeeded")]}
    code, _, _, _, engine = run(answers, not_found_grace=10, fail_fast=True)
    assert code == 0 and [w.outcome for w in engine.watches] == ["succeeded", "succeeded"]


def test_not_found_between_transient_failures_resets_the_count() -> None:
    flaky = TransientError("HTTP 503")
    answers = {"1": [flaky] * 9 + [NOT_YET] + [flaky] * 9 + [job("1", "succeeded")]}
    code, script, _, _, _ = run(answers, interval=1, rand=lambda: 0.0, not_found_grace=600)
    assert code == 0 and len(script.polls["1"]) == 20
