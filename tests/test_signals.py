"""Interrupts, end to end: SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal, a dropped
ssh session) stop `status`, `wait` and `download` within a second with exit 130, mid-request,
mid-download or in a long Retry-After wait; no .part is left, the files already saved are
reported, and the resume command is printed. A SIGHUP ignored at start (nohup) stays ignored."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env, provider_env, within
from tests.fakeserver import FakeServer, Reply
from tests.helpers import RG_PATH, UUID, as_from_a_terminal, retailgrid, wait_for_requests
from tests.test_wait import FAST, claret, env, route_claret, running, stalled_download

# -- status ----------------------------------------------------------------------------------------


def status_mid_request(tmp_path: Path, fake, *python_args: str) -> subprocess.Popen[str]:
    """`jobwatch status retailgrid UUID`, run by `python -m jobwatch` (or by ``python
    PYTHON_ARGS``), once its request has reached the fake provider."""
    process = subprocess.Popen(
        [sys.executable, *(python_args or ("-m", "jobwatch")), "status", "retailgrid", UUID],
        cwd=tmp_path, env=clean_env(tmp_path, **provider_env(fake, "retailgrid")), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=as_from_a_terminal)
    wait_for_requests(fake, 1, limit=15)
    return process


# SIGHUP: a closed terminal or a dropped ssh session; 130 as for SIGINT and SIGTERM.
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupting_status_mid_request_is_exit_130(tmp_path, fake, sig) -> None:
    fake.route(RG_PATH, Reply(200, b"{}", delay=20))
    process = status_mid_request(tmp_path, fake)
    started = time.monotonic()
    process.send_signal(sig)
    out, err = process.communicate(timeout=15)
    assert time.monotonic() - started < within(2)
    assert process.returncode == 130, err
    assert err == "jobwatch: error: interrupted\n"
    assert out == ""


@pytest.mark.slow
def test_a_sighup_ignored_at_start_stays_ignored(tmp_path, fake) -> None:
    # `nohup jobwatch wait ...` must outlive the terminal.
    fake.route(RG_PATH, Reply(200, json.dumps(retailgrid(status="completed")).encode(),
                              delay=1.0))
    process = status_mid_request(
        tmp_path, fake, "-c", "import signal, runpy, sys; "
        "signal.signal(signal.SIGHUP, signal.SIG_IGN); "
        "runpy.run_module('jobwatch', run_name='__main__')")
    process.send_signal(signal.SIGHUP)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err


# -- wait and download -------------------------------------------------------------------------


def _popen_wait(fake: FakeServer, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "jobwatch", "wait", *args],
                            cwd=work, env=clean_env(tmp_path, **env(fake)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)


def _stderr_until(proc: subprocess.Popen[str], text: str, limit: float = 20) -> str:
    """What the process wrote to stderr, read as it comes until ``text`` is in it."""
    seen = b""
    deadline = time.monotonic() + limit
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"never said {text!r}: {seen.decode()!r}"
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 65536)  # type: ignore[union-attr]
            assert chunk, f"ended before saying {text!r}: {seen.decode()!r}"
            seen += chunk
    return seen.decode()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_the_watch_with_130_and_print_the_resume_command(fake, tmp_path,
                                                                     signum) -> None:
    route_claret(fake, 60, running(60))
    route_claret(fake, 61, running(61))
    proc = _popen_wait(fake, tmp_path, "claret", "60", "61", "--interval", "0.5",
                       "--timeout", "5m")
    wait_for_requests(fake, 2)
    sent = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < within(1.5)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "keep running" in stderr
    assert "resume with: jobwatch wait claret 60 61 --timeout 5m --interval 0.5" in stderr


def test_signal_while_a_request_hangs_still_stops_within_a_second(fake, tmp_path) -> None:
    route_claret(fake, 62, Reply(200, b"{}", delay=20))
    proc = _popen_wait(fake, tmp_path, "claret", "62", "--interval", "0.5")
    wait_for_requests(fake, 1)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < within(1.5)
    assert proc.returncode == 130, stderr


# -- mid-download: no part left, the saved files reported --------------------------------------


def _big_download(fake: FakeServer, job_id: int, size: int = 64 << 20) -> None:
    route_claret(fake, job_id, claret(job_id, "completed", 8, 8,
                                      files={"output": ["/acme/download/big.bin"]}))

    def slow_chunks():
        block = b"x" * (1 << 20)
        for _ in range(size >> 20):
            time.sleep(0.05)
            yield block

    fake.route("/acme/download/big.bin",
               lambda _r: Reply(200, slow_chunks(), content_length=size))


def _wait_for_a_part_file(folder: Path, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not list(folder.rglob("*.part")):
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_download_leaves_no_part_and_says_how_to_resume(fake, tmp_path,
                                                                         signum) -> None:
    _big_download(fake, 83)
    proc = _popen_wait(fake, tmp_path, "claret", "83", *FAST)
    _wait_for_a_part_file(tmp_path / "work")
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130, stderr
    assert not list((tmp_path / "work").rglob("*.part"))
    assert not list((tmp_path / "work").rglob("big.bin"))
    assert "resume with: jobwatch download claret 83" in stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_during_the_download_command_leaves_no_part(fake, tmp_path, signum) -> None:
    # SIGHUP: the terminal closed, the ssh session dropped.
    _big_download(fake, 84)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "jobwatch", "download", "claret", "84"],
                            cwd=work, env=clean_env(tmp_path, **env(fake)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    _wait_for_a_part_file(work)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130, stderr
    assert not list(work.rglob("*.part")) and "Traceback" not in stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_stalled_download_stops_at_once_and_leaves_no_part(
        fake, tmp_path, signum) -> None:
    stalled_download(fake, 91)
    proc = _popen_wait(fake, tmp_path, "claret", "91", *FAST)
    _wait_for_a_part_file(tmp_path / "work")
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < within(1.5)
    assert proc.returncode == 130, stderr
    assert not list((tmp_path / "work").rglob("*.part"))


def test_files_saved_before_a_stop_are_reported(fake, tmp_path) -> None:
    # The small input file lands, the big output file stalls, SIGTERM comes.
    route_claret(fake, 95, claret(95, "completed", 8, 8, files={
        "input": ["/acme/download/in.csv"], "output": ["/acme/download/stuck.bin"]}))
    fake.route("/acme/download/in.csv", Reply(200, b"a,b\n1,2\n"))

    def stuck():
        yield b"x" * 10
        time.sleep(60)
        yield b"x" * 990

    fake.route("/acme/download/stuck.bin", lambda _r: Reply(200, stuck(), content_length=1000))
    proc = _popen_wait(fake, tmp_path, "claret", "95", *FAST, "--json")
    _wait_for_a_part_file(tmp_path / "work")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130, stderr
    line = json.loads(stdout)
    saved = tmp_path / "work" / "claret-95" / "input" / "in.csv"
    assert line["outcome"] == "interrupted"
    assert line["downloads"] == [{"category": "input", "path": str(saved), "bytes": 8}]
    assert saved.read_bytes() == b"a,b\n1,2\n"
    assert not list((tmp_path / "work").rglob("*.part"))


def test_a_signal_during_a_long_retry_after_wait_stops_at_once(fake, tmp_path) -> None:
    route_claret(fake, 92, claret(92, "completed", 8, 8,
                                  files={"output": ["/acme/download/later.bin"]}))
    fake.route("/acme/download/later.bin", Reply(503, b"busy", {"Retry-After": "120"}))
    proc = _popen_wait(fake, tmp_path, "claret", "92", *FAST)
    said = _stderr_until(proc, "retrying in")  # the download is in its Retry-After wait
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < within(1.5)
    assert proc.returncode == 130, said + stderr
    assert "retrying in 2m" in said or "retrying in 120s" in said


def test_ctrl_c_under_quiet_is_said_with_the_command_that_resumes(fake, tmp_path) -> None:
    # --quiet prints nothing but errors; an interrupted watch is one (a timeout is not: 124).
    route_claret(fake, 70, running(70))
    proc = _popen_wait(fake, tmp_path, "claret", "70", *FAST, "-q")
    wait_for_requests(fake, 1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130, stderr
    assert stdout == ""
    assert stderr.splitlines() == ["jobwatch: error: interrupted",
                                   "hint: resume with: jobwatch wait claret 70 --interval 0.2 "
                                   "--quiet"], stderr
