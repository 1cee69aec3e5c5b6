"""`wait --on-end CMD` end to end: the real CLI against the loopback fake provider, real
/bin/sh hooks. The runner's own rules (bounds, groups, cleaning) are tests/test_hooks.py's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TOKEN, assert_clean_error, assert_no_secret, clean_env, within
from tests.fakeserver import FakeServer, Reply
from tests.helpers import as_from_a_terminal
from tests.test_wait import FAST, claret, env, route_claret

DUMP = 'env -0 > "{dir}/env-$JOBWATCH_JOB_ID"; ' \
       'printf %s "$JOBWATCH_JOB_JSON" > "{dir}/json-$JOBWATCH_JOB_ID"'


def read_env(path: Path) -> dict[str, str]:
    """The hook's whole environment, as `env -0` wrote it (values may span lines)."""
    pairs = path.read_text(encoding="utf-8").split("\0")
    return dict(pair.partition("=")[::2] for pair in pairs if pair)


def test_the_hook_gets_the_job_in_its_environment(run_cli, fake: FakeServer,
                                                  tmp_path: Path) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8, step="Import done: 8 of 8 \u00e9tapes",
                                 files={"output": ["/acme/d/a.csv", "/acme/d/b.csv"]}))
    fake.route("/acme/d/a.csv", Reply(200, b"a\n"))
    fake.route("/acme/d/b.csv", Reply(200, b"b\n"))
    result = run_cli("wait", "claret", "1", *FAST, "--on-end", DUMP.format(dir=tmp_path),
                     env=env(fake))
    assert result.returncode == 0, result.stderr
    got = read_env(tmp_path / "env-1")
    assert {k: got[k] for k in ("JOBWATCH_PROVIDER", "JOBWATCH_PROFILE", "JOBWATCH_JOB_ID",
                                "JOBWATCH_STATE", "JOBWATCH_OUTCOME", "JOBWATCH_EXIT_CODE",
                                "JOBWATCH_MESSAGE")} == {
        "JOBWATCH_PROVIDER": "claret", "JOBWATCH_PROFILE": "default", "JOBWATCH_JOB_ID": "1",
        "JOBWATCH_STATE": "succeeded", "JOBWATCH_OUTCOME": "succeeded",
        "JOBWATCH_EXIT_CODE": "0", "JOBWATCH_MESSAGE": "Import done: 8 of 8 \u00e9tapes"}
    work = run_cli.cwd / "claret-1" / "output"
    assert got["JOBWATCH_DOWNLOADS"].splitlines() == [str(work / "a.csv"), str(work / "b.csv")]
    line = json.loads((tmp_path / "json-1").read_text(encoding="utf-8"))
    assert (line["outcome"], line["job_id"], len(line["downloads"])) == ("succeeded", "1", 2)
    assert "JOBWATCH_CLARET_TOKEN" not in got  # no secret reaches the hook
    assert TOKEN not in (tmp_path / "env-1").read_text(encoding="utf-8")


def test_hooks_run_one_at_a_time_in_the_order_jobs_ended(run_cli, fake: FakeServer,
                                                         tmp_path: Path) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8))
    route_claret(fake, 2, claret(2, "in_progress", 2), claret(2, "failed", 3))
    log = tmp_path / "log"
    hook = (f'echo "start $JOBWATCH_JOB_ID" >> {log}; sleep 0.3; '
            f'echo "end $JOBWATCH_JOB_ID" >> {log}')
    result = run_cli("wait", "claret", "1", "2", *FAST, "--on-end", hook, env=env(fake))
    assert result.returncode == 1, result.stderr  # job 2 failed: its hook ran all the same
    assert log.read_text().splitlines() == ["start 1", "end 1", "start 2", "end 2"]


def test_the_hooks_output_comes_on_stderr_and_its_failure_is_a_warning(
        run_cli, fake: FakeServer) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8))
    hook = f'echo "seen $JOBWATCH_OUTCOME with {TOKEN}"; echo oops >&2; exit 3'
    result = run_cli("wait", "claret", "1", *FAST, "--on-end", hook, env=env(fake))
    assert result.returncode == 0, result.stderr  # the job's code stands
    assert result.stdout == ""  # stdout stays data
    assert "seen succeeded with ***" in result.stderr and "oops" in result.stderr
    assert result.stderr.count("on-end hook for claret 1 failed with exit code 3") == 1
    assert_no_secret(result)


@pytest.mark.slow
def test_a_hook_that_hangs_is_stopped_at_the_timeout(run_cli, fake: FakeServer,
                                                     tmp_path: Path) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8))
    pid_file = tmp_path / "pid"
    hook = f"sleep 300 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    result = run_cli("wait", "claret", "1", *FAST, "--timeout", "3", "--on-end", hook,
                     env=env(fake))
    assert time.monotonic() - started < within(15)
    assert result.returncode == 0, result.stderr
    assert "on-end hook for claret 1 stopped" in result.stderr
    child = int(pid_file.read_text())
    try:  # its whole group is gone, the `sleep` it started too (or a zombie, not running)
        os.kill(child, 0)
        state = Path(f"/proc/{child}/stat").read_text().split()[2]
        assert state == "Z", state
    except (ProcessLookupError, FileNotFoundError):
        pass


@pytest.mark.slow
def test_no_hook_starts_after_the_watch_stopped(run_cli, fake: FakeServer,
                                                tmp_path: Path) -> None:
    route_claret(fake, 1, claret(1, "in_progress", 2))
    log = tmp_path / "log"
    result = run_cli("wait", "claret", "1", *FAST, "--timeout", "1", "--on-end",
                     f"echo ran >> {log}", env=env(fake))
    assert result.returncode == 124, result.stderr
    assert not log.exists()
    assert "--on-end" not in result.stderr.partition("resume with:")[2]  # never repeated
    assert "resume with: jobwatch wait claret 1" in result.stderr


def test_an_empty_command_is_a_usage_error(run_cli, fake: FakeServer) -> None:
    result = run_cli("wait", "claret", "1", "--on-end", "", env=env(fake))
    assert_clean_error(result, 2)
    assert fake.hits("/acme/api/v1/imports/status/1") == 0


def test_on_end_from_the_config(run_cli, fake: FakeServer, tmp_path: Path) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8))
    log = tmp_path / "log"
    config = tmp_path / "jobwatch.toml"
    config.write_text(f"[defaults]\non_end = 'echo \"$JOBWATCH_JOB_ID\" >> {log}'\n")
    config.chmod(0o600)
    result = run_cli("--config", str(config), "wait", "claret", "1", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    assert log.read_text() == "1\n"
    config.chmod(0o666)  # others could change what it runs: refused, before any request
    fake.reset()
    result = run_cli("--config", str(config), "wait", "claret", "1", *FAST, env=env(fake))
    assert_clean_error(result, 6)
    assert fake.hits("/acme/api/v1/imports/status/1") == 0


def test_a_message_with_nul_and_a_lone_surrogate_still_runs_the_hook(
        run_cli, fake: FakeServer, tmp_path: Path) -> None:
    fake.route("/acme/api/v1/imports/status/1", Reply(
        200, b'{"message": "ok", "content": {"job_log_id": 1, "status": "completed", '
             b'"progress": {"current_step": "a\\u0000b\\ud800c"}}}'))
    out = tmp_path / "message"
    result = run_cli("wait", "claret", "1", *FAST, "--on-end",
                     f'printf %s "$JOBWATCH_MESSAGE" > {out}', env=env(fake))
    assert result.returncode == 0, result.stderr
    text = out.read_bytes().decode("utf-8")
    assert "\x00" not in text and text.startswith("a") and text.endswith("c")


@pytest.mark.slow
def test_a_hook_printing_megabytes_passes_through(run_cli, fake: FakeServer) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8))
    result = run_cli("wait", "claret", "1", *FAST, "--on-end", "yes | head -c 4000000",
                     env=env(fake))
    assert result.returncode == 0
    assert result.stderr.count("\ny\n") > 100_000


def test_ctrl_c_while_a_hook_runs_stops_its_group_and_says_so(fake: FakeServer,
                                                              tmp_path: Path) -> None:
    route_claret(fake, 1, claret(1, "completed", 8, 8))
    started = tmp_path / "started"
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "jobwatch", "wait", "claret", "1", *FAST,
                             "--json", "--on-end", f"touch {started}; sleep 300"], cwd=work,
                            env=clean_env(tmp_path, **env(fake)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 20
    while not started.exists():
        assert time.monotonic() < deadline, "the hook never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 130, stderr
    assert "on-end hook for claret 1 stopped" in stderr and "interrupted" in stderr
    # The job had ended: its --json line is printed all the same.
    assert [json.loads(line)["outcome"] for line in stdout.splitlines()] == ["succeeded"]
    # The closing lines said "done (exit 0)": the last line says why the exit is 130 anyway.
    assert stderr.splitlines()[-1] == ("jobwatch: error: interrupted while an on-end hook ran "
                                       "(the watch itself had ended with exit 0)")
    assert "Traceback" not in stderr
