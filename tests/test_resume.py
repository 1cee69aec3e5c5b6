"""The resume command a stopped `wait` prints: the jobs that had not ended and only those, the
options as typed (never --on-end), related jobs through their running parent, a `download` for
files a stop cut short, ids starting with a dash after `--`, several providers and profiles by
reference, a here-document when too long for a shell; and it works as printed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_wait import env, merchantops_status, route_claret, running


def _watch(provider: str, job_id: str, state: str | None, outcome: str | None,
           parent: Any = None, profile: str = "default") -> Any:
    from jobwatch.engine import Watch
    from jobwatch.models import Job, JobState

    watch = Watch(provider, job_id, profile=profile, parent=parent, outcome=outcome)
    if state is not None:
        watch.job = Job(provider=provider, job_id=job_id, state=JobState(state), status=state)
    return watch


def _resume(watches: list[Any], argv: list[str], profile: str = "default",
            config: str | None = None) -> list[str]:
    """The resume commands of a `wait` run with ``argv`` as its options: the Click command
    parses them, as it does for a user."""
    from typer.main import get_command

    from jobwatch.commands import app
    from jobwatch.resume import Resume, resume_commands

    wait = get_command(app).commands["wait"]  # type: ignore[attr-defined]
    ctx = wait.make_context("wait", ["claret", "1", *argv])
    for watch in watches:  # the run's own profile, unless the test named another
        watch.profile = profile if watch.profile == "default" else watch.profile
    return resume_commands(Resume.from_context(ctx, profile, config), watches)


P, C, Q = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
           "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")


def test_resume_lists_only_the_jobs_that_had_not_ended() -> None:
    watches = [_watch("claret", "1", "succeeded", "succeeded"),
               _watch("claret", "2", "running", "timeout"),
               _watch("claret", "3", "failed", "failed"),
               _watch("claret", "4", None, "timeout"),
               _watch("claret", "5", "running", "interrupted")]
    argv = ["--timeout", "5m", "--interval=0.5", "--strict", "-v", "-p", "staging"]
    assert _resume(watches, argv, "staging", "/etc/jobwatch.toml") == [
        "jobwatch wait claret 2 4 5 --profile staging --config /etc/jobwatch.toml "
        "--timeout 5m --interval 0.5 --strict"]


def test_resume_repeats_only_what_was_typed() -> None:
    watches = [_watch("claret", "2", "running", "timeout")]
    assert _resume(watches, []) == ["jobwatch wait claret 2"]
    assert _resume(watches, ["--json", "-q", "--no-download"]) == [
        "jobwatch wait claret 2 --no-download --json --quiet"]


def test_resume_follows_a_related_job_through_its_running_parent() -> None:
    # With the parent still running, --follow-related finds the grid-fill job again.
    parent = _watch("retailgrid", P, "running", "interrupted")
    watches = [parent, _watch("retailgrid", C, "running", "interrupted", parent=parent)]
    assert _resume(watches, ["--follow-related"]) == [
        f"jobwatch wait retailgrid {P} --follow-related"]


def test_resume_names_a_related_job_whose_parent_has_ended() -> None:
    # Its parent has ended: only naming the grid-fill job keeps it watched.
    parent = _watch("retailgrid", P, "succeeded", "succeeded")
    other = _watch("retailgrid", Q, "running", "interrupted")
    watches = [parent, _watch("retailgrid", C, "running", "interrupted", parent=parent), other]
    assert _resume(watches, ["--interval", "1", "--follow-related"]) == [
        f"jobwatch wait retailgrid {C} {Q} --interval 1 --follow-related"]


def test_resume_downloads_what_a_stopped_watch_did_not_fetch() -> None:
    cut = _watch("claret", "7", "succeeded", "interrupted")
    timed = _watch("claret", "8", "succeeded", "download_failed")
    timed.downloads_cut = True
    argv = ["--download-dir", "out dir", "--timeout", "1m"]
    assert _resume([cut, timed, _watch("claret", "9", "running", "timeout")], argv, "p") == [
        "jobwatch wait claret 9 --profile p --timeout 1m --download-dir 'out dir'",
        "jobwatch download claret 7 8 --profile p --download-dir 'out dir'"]


def test_resume_puts_ids_starting_with_a_dash_after_the_options() -> None:
    watches = [_watch("merchantops", "-mo_600", "running", "interrupted"),
               _watch("merchantops", "mo 600", "running", "interrupted"),
               _watch("merchantops", "-mo_601", "succeeded", "interrupted")]
    assert _resume(watches, ["--timeout", "5m"], "x") == [
        "jobwatch wait merchantops --profile x --timeout 5m -- -mo_600 'mo 600'",
        "jobwatch download merchantops --profile x -- -mo_601"]


def test_resume_never_repeats_the_on_end_command() -> None:
    from jobwatch.resume import NEVER_REPEATED

    assert "on_end" in NEVER_REPEATED


def test_resume_names_jobs_of_several_providers_and_profiles_by_reference() -> None:
    watches = [_watch("claret", "1", "running", "timeout"),
               _watch("merchantops", "m:1", "running", "timeout"),
               _watch("claret", "2", "running", "timeout", profile="staging")]
    assert _resume(watches, ["--timeout", "1m"]) == [
        "jobwatch wait claret:1 merchantops:m:1 claret@staging:2 --timeout 1m"]
    assert _resume(watches[2:], []) == ["jobwatch wait claret@staging 2"]


def test_a_resume_too_long_for_a_shell_is_a_here_document() -> None:
    watches = [_watch("claret", str(n), "running", "timeout") for n in range(2000)]
    [command] = _resume(watches, ["--timeout", "1m"])
    lines = command.splitlines()
    assert lines[0] == "jobwatch wait claret - --timeout 1m <<'JOBWATCH_JOBS'"
    assert lines[1:-1] == [str(n) for n in range(2000)]
    assert lines[-1] == "JOBWATCH_JOBS"


# -- end to end --------------------------------------------------------------------------------


@pytest.mark.slow
def test_resume_command_for_ids_starting_with_a_dash_works_as_printed(fake, run_cli) -> None:
    # `jobwatch wait merchantops -mo_600` would read the id as an option.
    fake.route("/api/jobs/-mo_600/status", merchantops_status("processing", 40))
    result = run_cli("wait", "merchantops", "--interval", "0.2", "--timeout", "0.6", "--",
                     "-mo_600", env=env(fake, "merchantops"))
    assert result.returncode == 124, result.stderr
    printed = "jobwatch wait merchantops --timeout 0.6 --interval 0.2 -- -mo_600"
    assert f"resume with: {printed}" in result.stderr
    again = run_cli(*printed.split()[1:], env=env(fake, "merchantops"))
    assert again.returncode == 124, again.stderr


@pytest.mark.parametrize("verbose", [["-v"], ["--verbose"], ["-vp", "default"]])
def test_resume_repeats_verbose_wherever_it_was_given(fake, run_cli, verbose) -> None:
    from tests.test_wait import running

    fake.route("/acme/api/v1/imports/status/5", running(5))
    result = run_cli(*verbose, "wait", "claret", "5", "--timeout", "0.3",
                     env=env(fake, "claret"))
    assert result.returncode == 124, result.stderr
    assert "resume with: jobwatch wait claret 5 --verbose --timeout 0.3" in result.stderr


def test_a_demo_watch_says_it_stopped_and_prints_no_resume_command(fake, tmp_path) -> None:
    # For `jobwatch demo`, whose simulator stops with it: watch_jobs(resume=None).
    import io
    from pathlib import Path

    from jobwatch.clock import SystemClock
    from jobwatch.config import ConfigFile
    from jobwatch.output import Output
    from jobwatch.refs import JobRef
    from jobwatch.resume import Resume
    from jobwatch.runtime import Runtime
    from jobwatch.watch import WaitOptions, watch_jobs

    route_claret(fake, 92, running(92))
    out = io.StringIO()
    runtime = Runtime(env=env(fake), stderr=out)
    runtime._config = ConfigFile(Path("(none)"), explicit=False, exists=False)

    class CtrlC(SystemClock):
        """Ctrl-C once the first answer is in, as the loop sleeps till the next poll."""

        def sleep(self, seconds: float) -> None:
            raise KeyboardInterrupt

    results = {}
    for resumable in (True, False):
        out.seek(0)
        out.truncate()
        code = watch_jobs(runtime, [JobRef("claret", None, "92")], WaitOptions(interval="0.2"),
                          Output.choose(runtime), clock=CtrlC(),
                          resume=Resume() if resumable else None)
        results[resumable] = (code, out.getvalue())
    assert results[True][0] == results[False][0] == 130
    assert "keep running" in results[True][1] and "resume with:" in results[True][1]
    assert "interrupted: the watch stopped" in results[False][1]
    assert "keep running" not in results[False][1]
    assert "resume with" not in results[False][1]
