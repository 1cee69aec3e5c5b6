"""Output into closed, full and early-closing streams, end to end: stdout or stderr closed,
/dev/full, a pipe whose reader leaves after a byte. Each ends quietly when nothing was lost,
or in the documented exit code with one clean line, and never turns a failure into success."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jobwatch.ui import write_out
from tests.conftest import assert_clean_error, assert_no_secret, clean_env, provider_env
from tests.fakeserver import Reply, json_reply
from tests.helpers import RG_PATH, UUID, retailgrid
from tests.test_cli_status import route_payload


def shell(command: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=clean_env(tmp_path, **env))


JOBWATCH = f"{shlex.quote(sys.executable)} -m jobwatch"


# -- stderr closed, or its reader gone -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["", "-v"])
def test_a_closed_stderr_pipe_never_turns_a_failure_into_success(tmp_path, fake, flag) -> None:
    # 503s: a retry notice (or -v lines) go to stderr, whose reader has gone after one byte.
    fake.route(RG_PATH, Reply(503, b"down", {"Retry-After": "2"}))
    command = (f"{JOBWATCH} status retailgrid {UUID} {flag} 2>&1 | head -c1 >/dev/null; "
               "echo \"rc=${PIPESTATUS[0]}\"")
    result = shell(command, tmp_path, provider_env(fake, "retailgrid"))
    assert result.stdout.strip() == "rc=7", result
    assert fake.hits(RG_PATH) == 3  # the retries went on after the reader left


def test_a_closed_stderr_is_not_a_crash(tmp_path, fake) -> None:
    fake.route(RG_PATH, Reply(404, b"{}"))
    result = shell(f"{JOBWATCH} status retailgrid {UUID} 2>&-; echo \"rc=$?\"", tmp_path,
                   provider_env(fake, "retailgrid"))
    assert result.stdout.strip() == "rc=4", result


def test_the_stderr_guard_keeps_quiet_after_its_reader_left() -> None:
    from jobwatch.streams import GuardedStream

    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError

        def flush(self) -> None:
            raise BrokenPipeError

        def isatty(self) -> bool:
            return True

    saved = os.dup(2)
    try:
        guard = GuardedStream(Closed())
        assert guard.write("x") == 1
        guard.flush()
        assert guard.isatty() is False
    finally:
        os.dup2(saved, 2)  # the guard pointed fd 2 at /dev/null
        os.close(saved)


# -- stdout full or closed -------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "said"), [
    pytest.param("--json >/dev/full", "cannot write to standard output: No space left on device",
                 marks=pytest.mark.skipif(not Path("/dev/full").exists(),
                                          reason="needs /dev/full"), id="full"),
    pytest.param(">&-", "standard output is closed", id="closed"),
])
def test_a_full_or_closed_stdout_is_one_clean_error(tmp_path, fake, args, said) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(status="completed")))
    result = shell(f"{JOBWATCH} status retailgrid {UUID} {args}", tmp_path,
                   provider_env(fake, "retailgrid"))
    assert_clean_error(result, 74)
    assert said in result.stderr
    assert "Exception ignored" not in result.stderr


def test_quiet_needs_no_stdout_at_all(tmp_path, fake) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(status="completed")))
    result = shell(f"{JOBWATCH} status retailgrid {UUID} --quiet >&-; echo \"rc=$?\" >&2",
                   tmp_path, provider_env(fake, "retailgrid"))
    assert result.stderr.strip() == "rc=0", result.stderr


def test_nothing_to_write_is_no_error_on_a_closed_stdout(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    write_out("")  # `jobwatch download ... >&-` with nothing to download


# -- stdout into a pipe its reader closes early ------------------------------------------------


# "head -c 0" and "true" exit before jobwatch writes, so the write surely meets a closed pipe.
PIPE_CASES = [("head -c 5", "--json", '{"pro'), ("head -c 5", "", "clare"),
              ("head -c 0", "--json", ""), ("head -c 0", "", ""), ("true", "--verbose", "")]


@pytest.mark.parametrize(("reader", "flag", "shown"), PIPE_CASES,
                         ids=[f"{r}-{f or 'human'}" for r, f, _ in PIPE_CASES])
def test_output_piped_into_a_reader_that_closes_early_ends_quietly(tmp_path, fake, reader,
                                                                    flag, shown) -> None:
    route_payload(fake, "claret/completed.json")
    command = (f"set +o pipefail; {shlex.quote(sys.executable)} -m jobwatch status claret 12345 "
               f"{flag} | {reader}; echo \"rc=${{PIPESTATUS[0]}}\" >&2")
    result = subprocess.run(["bash", "-c", command], check=False, capture_output=True, text=True,
                            timeout=60, cwd=tmp_path,
                            env=clean_env(tmp_path, **provider_env(fake, "claret")))
    assert result.stdout == shown
    assert "Traceback" not in result.stderr, result.stderr
    assert "BrokenPipe" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "rc=0", result.stderr  # the job succeeded
    assert_no_secret(result)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("args", ["providers", "--help", "wait --help"])
def test_other_output_piped_into_a_closed_reader_ends_quietly(tmp_path, args) -> None:
    command = (f"set +o pipefail; {shlex.quote(sys.executable)} -m jobwatch {args} | true; "
               "echo \"rc=${PIPESTATUS[0]}\" >&2")
    result = subprocess.run(["bash", "-c", command], check=False, capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=clean_env(tmp_path))
    assert result.stderr.strip() == "rc=0", result.stderr


# -- --version and --help --------------------------------------------------------------------------


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", ["--version", "-V", "--help", "wait --help"])
def test_version_and_help_into_a_closed_pipe_end_quietly(tmp_path, args, unbuffered) -> None:
    command = (f"set +o pipefail; {JOBWATCH} {args} | true; "
               "echo \"rc=${PIPESTATUS[0]}\" >&2")
    result = shell(command, tmp_path, {"PYTHONUNBUFFERED": unbuffered})
    assert result.stderr.strip() == "rc=0", result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", ["--version", "--help", "wait --help",
                                  "--show-completion bash"])
def test_version_and_help_into_a_full_stdout_are_exit_74(tmp_path, args) -> None:
    result = shell(f"{JOBWATCH} {args} >/dev/full", tmp_path, {})
    assert_clean_error(result, 74)
    assert "cannot write to standard output: No space left on device" in result.stderr
    assert "Exception ignored" not in result.stderr and "internal error" not in result.stderr


def test_version_into_a_closed_stdout_is_exit_74(tmp_path) -> None:
    result = shell(f"{JOBWATCH} --version >&-", tmp_path, {})
    assert_clean_error(result, 74)
    assert "standard output is closed" in result.stderr
