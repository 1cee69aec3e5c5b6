"""jobwatch.engine.outcomes: what a watch counts as, and the run's exit code, with no engine."""

from __future__ import annotations

import pytest

from jobwatch.engine import Watch, settle
from jobwatch.engine.outcomes import give_up, job_failed, refused, run_exit_code
from jobwatch.errors import AuthError, NotFoundError
from jobwatch.models import Job, JobState


def job(state: str) -> Job:
    return Job(provider="claret", job_id="1", state=JobState(state), status=state)


def watch(state: str | None = None, outcome: str | None = None) -> Watch:
    return Watch("claret", "1", job=job(state) if state else None, outcome=outcome)


@pytest.mark.parametrize(("state", "failures", "with_errors", "outcome"), [
    ("succeeded", [], False, "succeeded"),
    ("succeeded", ["x.csv: HTTP 403"], False, "download_failed"),
    ("succeeded", [], True, "failed"),
    ("failed", ["x.csv: HTTP 403"], False, "failed"),  # the job's own failure comes first
    ("canceled", [], False, "failed"),
])
def test_one_outcome_rule_for_wait_and_download(state, failures, with_errors, outcome) -> None:
    assert settle(job(state), failures, with_errors=with_errors) == outcome


def test_a_job_failed_unless_it_succeeded_without_errors() -> None:
    assert not job_failed(job("succeeded"))
    assert job_failed(job("succeeded"), with_errors=True)
    assert job_failed(job("canceled"))


def test_a_refusal_is_auth_or_not_found() -> None:
    assert refused(AuthError("HTTP 401")) == "auth"
    assert refused(NotFoundError("HTTP 404")) == "not_found"


@pytest.mark.parametrize(("state", "reason", "with_errors", "outcome"), [
    (None, "timeout", False, "timeout"),  # never answered
    ("running", "timeout", False, "timeout"),
    ("running", "interrupted", False, "interrupted"),
    ("running", "stopped", False, "interrupted"),  # --fail-fast stopped it
    ("failed", "timeout", False, "failed"),  # ended, its files still coming: its own result
    ("succeeded", "timeout", True, "failed"),
    ("succeeded", "timeout", False, "download_failed"),  # `jobwatch download` fetches them
    ("succeeded", "interrupted", False, "interrupted"),
])
def test_what_a_watch_open_at_a_stop_counts_as(state, reason, with_errors, outcome) -> None:
    assert give_up(watch(state), reason, with_errors=with_errors) == outcome


def test_the_run_exits_with_the_first_code_in_command_line_order() -> None:
    assert run_exit_code([watch(outcome="succeeded")] * 3) == 0
    assert run_exit_code([]) == 0
    assert run_exit_code([watch(outcome="succeeded"), watch(outcome="not_found"),
                          watch(outcome="failed")]) == 4
    assert run_exit_code([watch(outcome="timeout"), watch(outcome="failed")]) == 124
    assert run_exit_code([watch()]) == 124  # no outcome: still waiting


def test_after_fail_fast_the_jobs_left_unwatched_say_nothing() -> None:
    watches = [watch(outcome="interrupted"), watch(outcome="failed")]
    assert run_exit_code(watches) == 130
    assert run_exit_code(watches, stopped=True) == 1
