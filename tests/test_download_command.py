"""`jobwatch download JOBS...` as a user runs it: several jobs and references at once, and
what an interrupted download leaves said (the files saved, the command that fetches the rest,
the --json lines), as `wait` does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, clean_env
from tests.fakeserver import FakeServer, Reply
from tests.helpers import as_from_a_terminal
from tests.test_wait import claret, env, route_claret


def _files(fake: FakeServer, job_id: int, *names: str) -> None:
    route_claret(fake, job_id, claret(job_id, "completed", 8, 8, files={
        "output": [f"/acme/download/{job_id}/{name}" for name in names]}))
    for name in names:
        fake.route(f"/acme/download/{job_id}/{name}", Reply(200, f"{job_id},{name}\n".encode()))


def _stuck(fake: FakeServer, job_id: int) -> None:
    route_claret(fake, job_id, claret(job_id, "completed", 8, 8,
                                      files={"output": [f"/acme/download/{job_id}/big.bin"]}))

    def dribble():
        yield b"x" * 10
        time.sleep(60)
        yield b"x" * 990

    fake.route(f"/acme/download/{job_id}/big.bin",
               lambda _r: Reply(200, dribble(), content_length=1000))


def test_several_jobs_are_downloaded_in_one_command(run_cli, fake) -> None:
    _files(fake, 1, "a.csv")
    _files(fake, 2, "b.csv", "c.csv")
    result = run_cli("download", "claret", "1", "2", env=env(fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(run_cli.cwd / "claret-1" / "output" / "a.csv"),
        str(run_cli.cwd / "claret-2" / "output" / "b.csv"),
        str(run_cli.cwd / "claret-2" / "output" / "c.csv")]


def test_quiet_prints_nothing_but_errors(run_cli, fake) -> None:
    _files(fake, 1, "a.csv")
    result = run_cli("download", "claret", "1", "-q", env=env(fake))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (run_cli.cwd / "claret-1" / "output" / "a.csv").is_file()


def test_a_job_still_running_among_others_is_3_and_the_rest_still_land(run_cli, fake) -> None:
    route_claret(fake, 1, claret(1, "in_progress", 3))
    _files(fake, 2, "b.csv")
    result = run_cli("download", "claret:1", "claret:2", env=env(fake))
    assert result.returncode == 3, result.stderr
    assert "claret job 1 has not ended yet" in result.stderr
    assert (run_cli.cwd / "claret-2" / "output" / "b.csv").is_file()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_download_says_how_to_fetch_the_rest(fake, tmp_path: Path,
                                                           signum) -> None:
    _files(fake, 1, "a.csv")
    _stuck(fake, 2)
    _files(fake, 3, "c.csv")
    route_claret(fake, 4, Reply(422, b'{"message": "Job not found: 4"}'))
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobwatch", "download", "claret", "1", "2", "4", "3", "--json",
         "--download-dir", "out"], cwd=work, env=clean_env(tmp_path, **env(fake)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 20
    while not list(work.rglob("big.bin*.part")):  # job 1's file is saved by then
        assert time.monotonic() < deadline, "the download of job 2 never started"
        time.sleep(0.05)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert ("resume with: jobwatch download claret 2 3 --download-dir out --json"
            in stderr), stderr
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [(line["job_id"], line["outcome"]) for line in lines] == [
        ("1", "succeeded"), ("2", "interrupted"), ("4", "not_found"), ("3", "interrupted")]
    assert lines[0]["downloads"][0]["path"] == "out/claret-1/output/a.csv"
    assert not list(work.rglob("*.part"))


def test_json_has_a_line_for_each_job_that_could_not_be_read(run_cli, fake) -> None:
    # As `wait --json` does: not found, refused and unreachable jobs get their line, in
    # command-line order; a job still running gets none (no outcome says "running").
    _files(fake, 1, "a.csv")
    route_claret(fake, 2, Reply(422, b'{"message": "Job not found: 2"}'))
    route_claret(fake, 3, claret(3, "in_progress", 3, 8))
    result = run_cli("download", "claret", "2", "1", "3", "--json", env=env(fake))
    assert result.returncode == 4, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["job_id"], line["outcome"]) for line in lines] == [
        ("2", "not_found"), ("1", "succeeded")]
    assert "not found" in lines[0]["message"] and lines[0]["downloads"] == []
    alone = run_cli("download", "claret", "2", "--json", env=env(fake))
    assert alone.returncode == 4
    assert [json.loads(line)["outcome"] for line in alone.stdout.splitlines()] == ["not_found"]
    assert alone.stderr.startswith("jobwatch: error: claret job 2 not found")


@pytest.mark.parametrize("command", ["wait", "download"])
@pytest.mark.parametrize("value", ["--download-dir=", "--download-dir= "])
def test_an_empty_download_dir_is_a_usage_error_before_the_config(run_cli, command,
                                                                   value) -> None:
    # No token anywhere: the usage error (2) comes before the config error (6).
    result = run_cli(command, "claret", "1", value)
    assert_clean_error(result, 2)
    assert "--download-dir needs a directory" in result.stderr
    assert list(run_cli.cwd.iterdir()) == []
