"""`wait --not-found-grace` end to end: the real CLI against the loopback fake provider. The
exact poll times are the engine's tests' (tests/test_engine.py, on the fake clock); these
check what a user sees and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import assert_clean_error, provider_env
from tests.fakeserver import FakeServer, Reply, json_reply

FAST = ("--interval", "0.2")
STATUS = "/acme/api/v1/imports/status/{}"


def claret(job_id: int, status: str) -> Reply:
    return json_reply({"message": "Job status retrieved successfully", "content": {
        "job_log_id": job_id, "status": status, "type": "inventory-import",
        "progress": {"completed_steps": 8 if status == "completed" else 2, "total_steps": 8,
                     "current_step": None}, "files": {},
        "timestamps": {"started_at": "2024-01-01T10:00:00Z"}}})


def unknown_to_claret(job_id: int) -> Reply:
    # Claret answers 422 "Job not found ..." for a job it does not know, not 404.
    return json_reply({"message": f"Job not found for id {job_id}",
                       "error": {"job_log_id": ["not found"]}}, status=422)


NOT_FOUND_404 = json_reply({"detail": "Not Found"}, status=404)


def env(fake: FakeServer) -> dict[str, str]:
    return provider_env(fake, "claret")


def test_a_job_that_answers_404_then_appears_is_waited_for(fake, run_cli) -> None:
    path = STATUS.format(31)
    fake.route(path, NOT_FOUND_404, NOT_FOUND_404, claret(31, "in_progress"),
               claret(31, "completed"))
    result = run_cli("wait", "claret", "31", *FAST, "--not-found-grace", "30s", env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 4
    waiting = [line.split("] ", 1)[1] for line in result.stderr.splitlines()
               if "waiting to appear" in line]
    assert waiting == ["claret 31: waiting to appear (claret job 31 not found (HTTP 404)); "
                       "polled on for up to 30s more"]  # once, not at every poll
    assert "succeeded" in result.stderr


def test_claret_s_422_job_not_found_is_waited_for_too(fake, run_cli) -> None:
    path = STATUS.format(32)
    fake.route(path, unknown_to_claret(32), claret(32, "completed"))
    result = run_cli("wait", "claret", "32", *FAST, "--not-found-grace", "1m", "--json",
                     env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 2
    assert "waiting to appear (claret job 32 not found (HTTP 422" in result.stderr
    assert json.loads(result.stdout)["outcome"] == "succeeded"


def test_still_unknown_after_the_grace_is_not_found(fake, run_cli) -> None:
    path = STATUS.format(33)
    fake.route(path, unknown_to_claret(33))
    result = run_cli("wait", "claret", "33", *FAST, "--not-found-grace", "1", "--json",
                     env=env(fake))
    assert_clean_error(result, 4)
    # Polled on through the grace: at 0, 0.2, ... 1.0 on a quiet machine. A grace of 1 s
    # (not 0.5) leaves room for the polls a busy machine delays.
    assert fake.hits(path) >= 3
    assert "waiting to appear" in result.stderr
    line = json.loads(result.stdout)
    assert line["outcome"] == "not_found" and "not found" in line["message"]


def test_a_timeout_during_the_grace_is_124(fake, run_cli) -> None:
    fake.route(STATUS.format(34), NOT_FOUND_404)
    result = run_cli("wait", "claret", "34", *FAST, "--not-found-grace", "10m", "--timeout",
                     "0.6", "--json", env=env(fake))
    assert result.returncode == 124, result.stderr
    line = json.loads(result.stdout)
    assert line["outcome"] == "timeout"
    assert line["message"] == "waiting to appear (claret job 34 not found (HTTP 404))"
    # The provider answered every poll: the closing lines say what it answered.
    assert "no answer yet" not in result.stderr
    assert "claret 34: waiting to appear at the timeout" in result.stderr
    assert "timed out with 1 job(s) not ended: claret 34 (waiting to appear)" in result.stderr


def test_without_a_grace_not_found_is_at_once(fake, run_cli) -> None:
    fake.route(STATUS.format(35), NOT_FOUND_404, claret(35, "completed"))
    result = run_cli("wait", "claret", "35", *FAST, env=env(fake))
    assert_clean_error(result, 4)
    assert fake.hits(STATUS.format(35)) == 1
    assert "waiting to appear" not in result.stderr


def test_the_grace_from_defaults_and_the_flag_that_lifts_it(fake, run_cli,
                                                             tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\nnot_found_grace = "1m"\n')
    path = STATUS.format(36)
    fake.route(path, NOT_FOUND_404, claret(36, "completed"))
    result = run_cli("wait", "claret", "36", *FAST, "--config", str(config), env=env(fake))
    assert result.returncode == 0, result.stderr
    assert "waiting to appear" in result.stderr
    fake.reset()
    fake.route(path, NOT_FOUND_404, claret(36, "completed"))
    result = run_cli("wait", "claret", "36", *FAST, "--config", str(config),
                     "--not-found-grace", "0", env=env(fake))
    assert_clean_error(result, 4)
    assert fake.hits(path) == 1


def test_a_bad_grace_is_a_usage_error_before_the_config_is_read(fake, run_cli,
                                                                 tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[defaults\n")  # a config error (6), if it were read
    for value in ("-5", "soon", "5m30", ""):
        result = run_cli("wait", "claret", "37", f"--not-found-grace={value}", "--config",
                         str(broken), env=env(fake))
        assert_clean_error(result, 2)
        assert "--not-found-grace" in result.stderr
    assert fake.requests == []


def test_help_names_the_option() -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    result = subprocess.run([sys.executable, "-m", "jobwatch", "wait", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=60,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "--not-found-grace" in result.stdout and "waiting to appear" not in result.stdout
