"""`jobwatch wait` end to end: the real CLI, a loopback fake provider, exit codes and output."""

from __future__ import annotations

import email.utils
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    TOKEN,
    assert_clean_error,
    assert_no_secret,
    clean_env,
    provider_env,
    within,
)
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.helpers import wait_for_requests
from tests.ptyutil import PtyRun, run_on_a_pty

CLARET = "/acme/api/v1/imports/status/{}"
FAST = ("--interval", "0.2")


def claret(job_id: int, status: str, done: int = 0, total: int = 8, step: str | None = None,
           files: dict[str, list[str]] | None = None) -> Reply:
    return json_reply({"message": "Job status retrieved successfully", "content": {
        "job_log_id": job_id, "status": status, "type": "inventory-import",
        "description": "Inventory Import",
        "progress": {"completed_steps": done, "total_steps": total, "current_step": step},
        "files": files or {}, "job_status_link": f"https://claret.example/logs/{job_id}",
        "timestamps": {"started_at": "2024-01-01T10:00:00Z", "completed_at": None},
        "user_id": 42}})


def running(job_id: int, done: int = 3) -> Reply:
    return claret(job_id, "in_progress", done, step="Validating rows")


def route_claret(fake: FakeServer, job_id: int, *replies: Reply) -> str:
    path = CLARET.format(job_id)
    fake.route(path, *replies)
    return path


def env(fake: FakeServer, provider: str = "claret", **fields: str) -> dict[str, str]:
    return provider_env(fake, provider, **fields)


def test_progress_to_completion_in_plain_ci_output(fake, run_cli) -> None:
    path = route_claret(fake, 1, claret(1, "pending"), running(1, 3), running(1, 6),
                        claret(1, "completed", 8, 8))
    result = run_cli("wait", "claret", "1", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 4
    assert "3/8 steps" in result.stderr and "6/8 steps" in result.stderr
    assert "succeeded" in result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr  # readable CI logs
    assert result.stdout == ""
    assert_no_secret(result)


def test_failed_job_exits_1(fake, run_cli) -> None:
    route_claret(fake, 2, running(2), claret(2, "failed", 4))
    result = run_cli("wait", "claret", "2", *FAST, "--no-download", env=env(fake))
    assert result.returncode == 1
    assert "failed" in result.stderr


def test_timeout_exits_124_promptly_and_says_how_far_jobs_got(fake, run_cli) -> None:
    route_claret(fake, 3, running(3, 5))
    started = time.monotonic()
    result = run_cli("wait", "claret", "3", "--timeout", "1.5", "--interval", "0.5",
                     env=env(fake))
    elapsed = time.monotonic() - started
    assert result.returncode == 124, result.stderr
    assert elapsed < 1.5 + 2.5  # stops within 1 s of the deadline (+ interpreter start)
    assert "timed out" in result.stderr and "claret 3" in result.stderr
    assert "5/8 steps" in result.stderr
    assert "resume with: jobwatch wait claret 3" in result.stderr


def test_timeout_zero_means_no_limit_and_lifts_a_configured_one(fake, run_cli) -> None:
    path = route_claret(fake, 4, running(4), running(4), claret(4, "completed", 8, 8))
    configured = env(fake, timeout="0.1")  # JOBWATCH_CLARET_TIMEOUT
    assert run_cli("wait", "claret", "4", *FAST, env=configured).returncode == 124
    fake.reset()
    route_claret(fake, 4, running(4), running(4), claret(4, "completed", 8, 8))
    result = run_cli("wait", "claret", "4", *FAST, "--timeout", "0", env=configured)
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 3


def test_several_jobs_mixed_outcomes_take_the_first_in_command_line_order(fake,
                                                                          run_cli) -> None:
    route_claret(fake, 10, running(10), claret(10, "completed", 8, 8))
    route_claret(fake, 11, running(11), running(11), claret(11, "failed", 2))
    # 12 has no route: the fake answers 404
    result = run_cli("wait", "claret", "10", "11", "12", *FAST, env=env(fake))
    assert result.returncode == 1, result.stderr
    result = run_cli("wait", "claret", "12", "11", "10", *FAST, env=env(fake))
    assert result.returncode == 4, result.stderr
    assert "claret 12" in result.stderr and "not found" in result.stderr


def test_json_lines_in_command_line_order_and_nothing_else_on_stdout(fake, run_cli) -> None:
    route_claret(fake, 21, running(21), running(21), claret(21, "completed", 8, 8))
    route_claret(fake, 20, claret(20, "failed", 1))
    result = run_cli("wait", "claret", "21", "20", *FAST, "--json", env=env(fake))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["job_id"], d["outcome"]) for d in lines] == [("21", "succeeded"),
                                                           ("20", "failed")]
    for data in lines:
        assert data["downloads"] == []
        assert {"state", "status", "progress", "done", "total", "unit", "raw"} <= set(data)


def test_fail_fast_stops_at_the_first_failure_and_says_which(fake, run_cli) -> None:
    route_claret(fake, 30, running(30))
    route_claret(fake, 31, running(31), claret(31, "failed", 2))
    started = time.monotonic()
    result = run_cli("wait", "claret", "30", "31", *FAST, "--fail-fast", "--timeout", "60",
                     env=env(fake))
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 20
    assert "after claret 31 ended failed" in result.stderr


def test_500_storm_then_recovery(fake, run_cli) -> None:
    path = route_claret(fake, 40, Reply(500, b"oops"), Reply(502, b""), Reply(503, b""),
                        claret(40, "completed", 8, 8))
    result = run_cli("wait", "claret", "40", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 4
    assert "HTTP 500" in result.stderr


@pytest.mark.parametrize("kind", ["seconds", "http-date"])
def test_429_with_retry_after_is_honoured(fake, run_cli, kind: str) -> None:
    def limited(_request) -> Reply:
        value = "2" if kind == "seconds" else email.utils.formatdate(time.time() + 2,
                                                                    usegmt=True)
        return json_reply({"message": "slow down"}, status=429, headers={"Retry-After": value})

    path = route_claret(fake, 41, limited, claret(41, "completed", 8, 8))
    result = run_cli("wait", "claret", "41", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    first, second = fake.requests_to(path)
    assert second.at - first.at >= 0.9  # waited for Retry-After, not the 0.2 s interval


def test_garbage_json_in_the_middle_of_a_wait_is_survived(fake, run_cli) -> None:
    path = route_claret(fake, 42, running(42), Reply(200, b"<html>maintenance</html>",
                                                     {"Content-Type": "text/html"}),
                        Reply(200, b"{not json"), claret(42, "completed", 8, 8))
    result = run_cli("wait", "claret", "42", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 4


def test_unreachable_host_gives_up_with_7(run_cli, tmp_path) -> None:
    closed = FakeServer().start()
    url = closed.url
    closed.stop()  # nothing listens on that port any more
    result = run_cli("wait", "claret", "43", "--interval", "0.2",
                     env={"JOBWATCH_CLARET_BASE_URL": url, "JOBWATCH_CLARET_TOKEN": TOKEN,
                          "JOBWATCH_CLARET_TENANT": "acme"}, timeout=60)
    assert result.returncode == 7, result.stderr
    assert "cannot reach" in result.stderr
    # Review 2-a D13: the count says how many failures in a row end it, and then they do.
    assert "failure 9 of 10 in a row, retrying in" in result.stderr
    assert "failure 10 of 10" not in result.stderr
    assert "gave up after 10 failures in a row" in result.stderr
    assert_no_secret(result)


def test_interval_is_respected(fake, run_cli) -> None:
    path = route_claret(fake, 44, running(44), running(44), running(44),
                        claret(44, "completed", 8, 8))
    result = run_cli("wait", "claret", "44", "--interval", "0.5", env=env(fake))
    assert result.returncode == 0
    times = [r.at for r in fake.requests_to(path)]
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.45 <= gap < 1.5 for gap in gaps), gaps


def test_claret_defaults_to_a_5_second_interval(fake, run_cli) -> None:
    path = route_claret(fake, 45, running(45))
    result = run_cli("wait", "claret", "45", "--timeout", "2.5", env=env(fake))
    assert result.returncode == 124
    assert fake.hits(path) == 1  # the second poll would only come at 5 s


def test_interval_and_timeout_are_validated(fake, run_cli) -> None:
    assert_clean_error(run_cli("wait", "claret", "1", "--timeout", "10 minutes",
                               env=env(fake)), 2)
    assert_clean_error(run_cli("wait", "claret", "1", "--interval", "fast", env=env(fake)), 2)
    assert fake.requests == []


def merchantops_status(status: str, processed: int, failed: int = 0) -> Reply:
    return json_reply({"job_id": "job_1", "status": status, "progress_percentage":
                       processed, "processed_items": processed, "total_items": 100,
                       "failed_items": failed})


def test_merchantops_polls_status_and_calls_detail_exactly_once(fake, run_cli) -> None:
    fake.route("/api/jobs/job_1/status", merchantops_status("processing", 40),
               merchantops_status("processing", 80, 1), merchantops_status("completed", 100, 2))
    detail = {"job_id": "job_1", "job_type": "enrichment", "status": "completed",
              "total_items": 100, "processed_items": 98, "failed_items": 2,
              "progress_percentage": 100, "success_rate": 98.0,
              "errors": [{"entity_type": "product", "entity_key": "SKU-1",
                          "error_type": "validation", "message": 'bad "title", too long',
                          "step": None, "timestamp": "2024-01-01T10:00:00Z", "details": None},
                         {"entity_type": "product", "entity_key": "SKU-2",
                          "error_type": "timeout", "message": "line one\nline two",
                          "step": "crawl", "timestamp": "2024-01-01T10:01:00Z",
                          "details": {"url": "https://x.example"}}],
              "warnings": []}
    fake.route("/api/jobs/job_1", json_reply(detail))
    result = run_cli("wait", "merchantops", "job_1", *FAST, "--json",
                     env=env(fake, "merchantops", organization_id="org_9"))
    assert result.returncode == 0, result.stderr
    assert fake.hits("/api/jobs/job_1/status") == 3
    assert fake.hits("/api/jobs/job_1") == 1
    assert all(r.headers.get("x-organization-id") == "org_9" for r in fake.requests)
    line = json.loads(result.stdout)
    categories = {d["category"]: d for d in line["downloads"]}
    assert set(categories) == {"errors", "warnings", "job"}
    errors_csv = Path(categories["errors"]["path"])
    assert errors_csv == run_cli.cwd / "merchantops-job_1" / "errors.csv"
    assert "SKU-1" in result.stderr and "2 error(s)" in result.stderr


def test_strict_turns_failed_items_into_exit_1(fake, run_cli) -> None:
    fake.route("/api/jobs/job_2/status", merchantops_status("completed", 100, 3))
    fake.route("/api/jobs/job_2", json_reply({"job_id": "job_2", "status": "completed",
                                              "failed_items": 3, "errors": []}))
    base = env(fake, "merchantops")
    assert run_cli("wait", "merchantops", "job_2", *FAST, "--no-download",
                   env=base).returncode == 0
    result = run_cli("wait", "merchantops", "job_2", *FAST, "--no-download", "--strict",
                     env=base)
    assert result.returncode == 1
    assert "--strict" in result.stderr


def test_follow_related_waits_for_the_grid_fill_job_too(fake, run_cli) -> None:
    parent = "3f1c2a9e-5b7d-4c1e-9a2b-8d6e4f0a1b2c"
    child = "0b6a5a8e-7c1f-4e0b-9d7e-2f3a4b5c6d7e"

    def answer(job_id: str, status: str, progress: int | None, related: str | None = None):
        return json_reply({"job_id": job_id, "job_type": "bulk_upsert", "status": status,
                           "progress": progress, "created_at": "2024-01-01T10:00:00Z",
                           "started_at": None, "completed_at": None, "error_message": None,
                           "grid_id": None, "related_grid_fill_job_id": related,
                           "grid_items_count": None})

    fake.route(f"/v1/jobs/{parent}", answer(parent, "processing", 50),
               answer(parent, "completed", 100, child))
    fake.route(f"/v1/jobs/{child}", answer(child, "processing", 10),
               answer(child, "processing", 60), answer(child, "completed", 100))
    result = run_cli("wait", "retailgrid", parent, *FAST, "--follow-related",
                     env=env(fake, "retailgrid"))
    assert result.returncode == 0, result.stderr
    assert fake.hits(f"/v1/jobs/{child}") == 3
    assert f"retailgrid {child}" in result.stderr
    without = run_cli("wait", "retailgrid", parent, *FAST, env=env(fake, "retailgrid"))
    assert without.returncode == 0
    assert fake.hits(f"/v1/jobs/{child}") == 3  # not followed without the flag


def test_quiet_prints_nothing_on_success(fake, run_cli) -> None:
    route_claret(fake, 50, claret(50, "completed", 8, 8))
    result = run_cli("wait", "claret", "50", *FAST, "--quiet", env=env(fake))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_auth_refused_exits_5_at_once(fake, run_cli) -> None:
    path = route_claret(fake, 51, json_reply({"message": "Unauthenticated."}, status=401))
    result = run_cli("wait", "claret", "51", *FAST, "--timeout", "60", env=env(fake))
    assert result.returncode == 5
    assert fake.hits(path) == 1
    assert "JOBWATCH_CLARET_TOKEN" in result.stderr
    assert_no_secret(result)


def _popen_wait(fake: FakeServer, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "jobwatch", "wait", *args],
                            cwd=work, env=clean_env(tmp_path, **env(fake)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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


def _wait_on_a_pty(fake: FakeServer, tmp_path: Path, *args: str, **extra_env: str) -> PtyRun:
    work = tmp_path / "work"
    work.mkdir()
    return run_on_a_pty(["wait", *args], clean_env(tmp_path, TERM="xterm-256color",
                                                   **extra_env, **env(fake)), work, limit=30)


def test_live_display_under_a_pseudo_terminal_shows_a_bar(fake, tmp_path) -> None:
    route_claret(fake, 70, running(70, 2), running(70, 4), running(70, 6),
                 claret(70, "completed", 8, 8))
    code, text, _ = _wait_on_a_pty(fake, tmp_path, "claret", "70", "--interval", "0.3")
    assert code == 0, text
    assert "━" in text  # rich's bar
    assert "\x1b[" in text  # drawn live, with colour and cursor control
    assert "\x1b[?25h" in text  # the cursor is shown again at the end
    assert "claret 70" in text and "succeeded" in text


def test_no_color_removes_colour_from_the_live_display(fake, tmp_path) -> None:
    route_claret(fake, 71, claret(71, "completed", 8, 8))
    code, text, _ = _wait_on_a_pty(fake, tmp_path, "claret", "71", "--interval", "0.3",
                                   NO_COLOR="1")
    assert code == 0, text
    assert "\x1b[32m" not in text and "\x1b[1;32m" not in text  # no green "succeeded"


# -- hardening found in review --------------------------------------------------------------


def test_provider_text_cannot_inject_escape_codes_into_ci_logs(fake, run_cli) -> None:
    route_claret(fake, 80, claret(80, "in_progress", 2, step="Step \x1b[31mred\x1b[0m\rX"),
                 claret(80, "completed", 8, 8))
    result = run_cli("wait", "claret", "80", *FAST, env=env(fake))
    assert result.returncode == 0
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "Step  [31mred [0m X" in result.stderr


def test_a_failed_job_says_why(fake, run_cli) -> None:
    job = "e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84"
    fake.route(f"/v1/jobs/{job}", json_reply({
        "job_id": job, "job_type": "csv_import", "status": "failed", "progress": 35,
        "created_at": "2024-01-01T10:00:00Z", "started_at": None,
        "completed_at": "2024-01-01T10:01:00Z", "error_message": "Row 412: bad price",
        "grid_id": None, "related_grid_fill_job_id": None, "grid_items_count": None}))
    result = run_cli("wait", "retailgrid", job, *FAST, env=env(fake, "retailgrid"))
    assert result.returncode == 1
    assert "Row 412: bad price" in result.stderr


def test_strict_counts_a_claret_errors_file_as_a_failure(fake, run_cli) -> None:
    files = {"errors": ["/acme/download/e.csv"]}
    route_claret(fake, 81, claret(81, "completed", 8, 8, files=files))
    fake.route("/acme/download/e.csv", Reply(200, b"row,error\n"))
    assert run_cli("wait", "claret", "81", *FAST, "--no-download",
                   env=env(fake)).returncode == 0
    result = run_cli("wait", "claret", "81", *FAST, "--no-download", "--strict", env=env(fake))
    assert result.returncode == 1, result.stderr


def test_no_download_turns_a_failing_detail_into_a_note_not_exit_8(fake, run_cli) -> None:
    fake.route("/api/jobs/job_3/status", merchantops_status("completed", 100, 0))
    fake.route("/api/jobs/job_3", Reply(500, b"oops"))
    result = run_cli("wait", "merchantops", "job_3", *FAST, "--no-download",
                     env=env(fake, "merchantops"))
    assert result.returncode == 0, result.stderr
    assert "no job details" in result.stderr


def test_artifacts_selects_which_merchantops_reports_are_written(fake, run_cli) -> None:
    fake.route("/api/jobs/job_4/status", merchantops_status("completed", 100, 1))
    fake.route("/api/jobs/job_4", json_reply({
        "job_id": "job_4", "status": "completed", "failed_items": 1, "warnings": [],
        "errors": [{"entity_type": "product", "entity_key": "K", "error_type": "x",
                    "message": "m", "timestamp": "2024-01-01T10:00:00Z"}]}))
    result = run_cli("wait", "merchantops", "job_4", *FAST, "--artifacts", "errors",
                     env=env(fake, "merchantops"))
    assert result.returncode == 0, result.stderr
    folder = run_cli.cwd / "merchantops-job_4"
    assert sorted(p.name for p in folder.iterdir()) == ["errors.csv"]


def test_the_timeout_bounds_a_download_that_is_told_to_retry_much_later(fake, run_cli) -> None:
    route_claret(fake, 82, claret(82, "completed", 8, 8,
                                  files={"output": ["/acme/download/slow.csv"]}))
    fake.route("/acme/download/slow.csv",
               Reply(429, b"later", {"Retry-After": "200"}))
    started = time.monotonic()
    result = run_cli("wait", "claret", "82", *FAST, "--timeout", "2", env=env(fake))
    assert time.monotonic() - started < 10
    assert result.returncode == 8, result.stderr
    assert not list(run_cli.cwd.rglob("*.part"))
    assert "resume with: jobwatch download claret 82\n" in result.stderr


def test_a_download_cut_by_the_timeout_names_the_command_that_fetches_it(fake, run_cli) -> None:
    route_claret(fake, 83, claret(83, "completed", 8, 8, files={
        "output": ["/acme/download/big.bin"], "errors": ["/acme/download/e.csv"]}))

    def slow_chunks():
        for _ in range(100):
            time.sleep(0.1)
            yield b"x" * 1024

    fake.route("/acme/download/big.bin",
               lambda _r: Reply(200, slow_chunks(), content_length=100 * 1024))
    fake.route("/acme/download/e.csv", Reply(200, b"a,b\n"))
    result = run_cli("wait", "claret", "83", *FAST, "--timeout", "2", "--artifacts",
                     "output,errors", "--download-dir", "out", env=env(fake))
    assert result.returncode == 8, result.stderr
    assert "the --timeout passed while downloading big.bin" in result.stderr
    assert "1 more file(s) not downloaded" in result.stderr
    assert ("resume with: jobwatch download claret 83 --download-dir out "
            "--artifacts output,errors") in result.stderr
    assert not list(run_cli.cwd.rglob("*.part"))
    assert not list(run_cli.cwd.rglob("big.bin"))


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
    # SIGHUP: the terminal closed, the ssh session dropped (review 2-b D9).
    _big_download(fake, 84)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "jobwatch", "download", "claret", "84"],
                            cwd=work, env=clean_env(tmp_path, **env(fake)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_a_part_file(work)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130, stderr
    assert not list(work.rglob("*.part")) and "Traceback" not in stderr


@pytest.mark.parametrize(("providers", "hint"), [
    (["claret"], "choose from errors, input, output, staging"),
    (["julep"], "julep jobs have no artifacts to download"),
    (["retailgrid"], "retailgrid jobs have no artifacts to download"),
])
def test_unknown_artifact_category_hint_names_the_choices(providers, hint) -> None:
    from jobwatch.endofjob import parse_categories
    from jobwatch.errors import UsageError

    with pytest.raises(UsageError) as raised:
        parse_categories("bogus", providers)
    assert raised.value.hint == hint
    assert parse_categories("Errors, output", ["claret"]) == {"errors", "output"}


# -- review-4: deadlines with work in flight, resume commands, --interval 0 -------------------


def test_a_request_in_flight_at_the_deadline_still_names_the_job_and_how_far_it_got(
        fake, run_cli) -> None:
    # H2: the second poll hangs past the deadline.
    path = route_claret(fake, 90, running(90, 2), Reply(200, b"{}", delay=20))
    started = time.monotonic()
    result = run_cli("wait", "claret", "90", "--timeout", "2", "--interval", "0.5",
                     env=env(fake))
    first = fake.requests_to(path)[0].at  # the watch (and its deadline) began just before
    assert result.returncode == 124, result.stderr
    assert time.monotonic() - first < 2 + 1  # stops within a second of the deadline
    assert time.monotonic() - started < 2 + 1 + 3  # (+ interpreter start-up)
    assert ("timed out with 1 job(s) still running: claret 90 (2/8 steps (25%), "
            "Validating rows)") in result.stderr
    assert "claret 90: still running at the timeout" in result.stderr
    assert "resume with: jobwatch wait claret 90 --timeout 2 --interval 0.5" in result.stderr


def test_interval_zero_means_the_floor_not_the_default(fake, run_cli) -> None:
    # L3: `--interval 0` polled Claret every 5 s (its default).
    path = route_claret(fake, 91, running(91))
    result = run_cli("wait", "claret", "91", "--interval", "0", "--timeout", "2.5",
                     env=env(fake))
    assert result.returncode == 124, result.stderr
    times = [r.at for r in fake.requests_to(path)]
    # ~12 polls on a quiet machine; at least 5 even when a busy one delays them (and 1 at
    # Claret's 5 s default).
    assert len(times) >= 5
    assert all(b - a >= 0.19 for a, b in zip(times, times[1:]))  # never below 0.2 s


def test_resume_command_for_ids_starting_with_a_dash_works_as_printed(fake, run_cli) -> None:
    # L2: `jobwatch wait merchantops -mo_600` reads the id as an option.
    fake.route("/api/jobs/-mo_600/status", merchantops_status("processing", 40))
    result = run_cli("wait", "merchantops", "--interval", "0.2", "--timeout", "0.6", "--",
                     "-mo_600", env=env(fake, "merchantops"))
    assert result.returncode == 124, result.stderr
    printed = "jobwatch wait merchantops --timeout 0.6 --interval 0.2 -- -mo_600"
    assert f"resume with: {printed}" in result.stderr
    again = run_cli(*printed.split()[1:], env=env(fake, "merchantops"))
    assert again.returncode == 124, again.stderr


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
    # M1: with the parent still running, --follow-related finds the grid-fill job again.
    parent = _watch("retailgrid", P, "running", "interrupted")
    watches = [parent, _watch("retailgrid", C, "running", "interrupted", parent=parent)]
    assert _resume(watches, ["--follow-related"]) == [
        f"jobwatch wait retailgrid {P} --follow-related"]


def test_resume_names_a_related_job_whose_parent_has_ended() -> None:
    # M1: the grid-fill job was dropped once its parent had ended.
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


def _stalled_download(fake: FakeServer, job_id: int) -> None:
    """A finished job whose file sends 10 bytes of 1000, then nothing for a minute."""
    route_claret(fake, job_id, claret(job_id, "completed", 8, 8,
                                      files={"output": ["/acme/download/stuck.bin"]}))

    def stuck():
        yield b"x" * 10
        time.sleep(60)
        yield b"x" * 990

    fake.route("/acme/download/stuck.bin", lambda _r: Reply(200, stuck(), content_length=1000))


def test_a_stalled_download_is_cut_at_the_deadline_and_leaves_no_part(fake, run_cli) -> None:
    _stalled_download(fake, 90)
    started = time.monotonic()
    result = run_cli("wait", "claret", "90", *FAST, "--timeout", "2", env=env(fake))
    assert time.monotonic() - started < 2 + 2.5  # interpreter start + 1 s + the grace
    assert result.returncode == 8, result.stderr
    assert not list(run_cli.cwd.rglob("*.part")) and not list(run_cli.cwd.rglob("stuck.bin"))
    assert "resume with: jobwatch download claret 90" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_stalled_download_stops_at_once_and_leaves_no_part(
        fake, tmp_path, signum) -> None:
    _stalled_download(fake, 91)
    proc = _popen_wait(fake, tmp_path, "claret", "91", *FAST)
    _wait_for_a_part_file(tmp_path / "work")
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - sent < within(1.5)
    assert proc.returncode == 130, stderr
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


# -- review 2: what a stop leaves reported, huge timeouts, outcomes, selections ---------------


def test_files_saved_before_a_stop_are_reported(fake, tmp_path) -> None:
    # Review 2-a D3: the small input file lands, the big output file stalls, SIGTERM comes.
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


@pytest.mark.parametrize("quiet", [("-q",), ()], ids=["quiet", "plain"])
def test_a_huge_timeout_is_no_crash(fake, run_cli, quiet) -> None:
    # Review 2-a D4: a wait past threading.TIMEOUT_MAX raised OverflowError (exit 70).
    route_claret(fake, 96, running(96), claret(96, "completed", 8, 8))
    result = run_cli("wait", "claret", "96", *FAST, "--timeout", "10000000000", *quiet,
                     "--no-download", env=env(fake))
    assert result.returncode == 0, result.stderr
    configured = run_cli("wait", "claret", "96", *FAST, *quiet, "--no-download",
                         env=env(fake, timeout="3000000h"))
    assert configured.returncode == 0, configured.stderr


@pytest.mark.parametrize("command", ["wait", "download"])
@pytest.mark.parametrize("selection", [",", " , ", ""])
def test_an_empty_artifact_selection_is_a_usage_error(fake, run_cli, command,
                                                      selection) -> None:
    # Review 2-a D10: `--artifacts ,` meant "none" (exit 0, nothing downloaded).
    route_claret(fake, 97, claret(97, "completed", 8, 8))
    result = run_cli(command, "claret", "97", "--artifacts", selection, env=env(fake))
    assert_clean_error(result, 2)
    assert "names no category" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize("flag", ["--timeout", "--interval"])
def test_a_bad_duration_is_a_usage_error_before_any_config_error(run_cli, flag) -> None:
    # No token anywhere (exit 6 once the config is resolved): the mistake on the command line
    # is still the one reported, with exit 2.
    result = run_cli("wait", "claret", "1", flag, "5x")
    assert_clean_error(result, 2)
    assert f"{flag}: not a duration: '5x'" in result.stderr


@pytest.mark.parametrize("provider", ["julep", "retailgrid"])
def test_download_for_a_provider_without_artifacts_says_so_up_front(fake, run_cli,
                                                                   provider) -> None:
    # Review 2-a D11: it answered exit 3 with a hint to `wait`, which downloads nothing either.
    job = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
    result = run_cli("download", provider, job, env=env(fake, provider))
    assert_clean_error(result, 2)
    assert f"{provider} jobs have no artifacts to download" in result.stderr
    assert f"jobwatch status {provider} {job}" in result.stderr
    assert fake.requests == []


def test_download_checks_the_job_id_before_anything_else(fake, run_cli) -> None:
    # The "no artifacts" hint repeats the id: it said "see the job with: jobwatch status
    # julep 1", a command that fails in turn.
    result = run_cli("download", "julep", "1", env=env(fake, "julep"))
    assert_clean_error(result, 2)
    assert "julep job ids are UUIDs, not '1'" in result.stderr
    assert "no artifacts" not in result.stderr
    assert fake.requests == []


def test_a_failed_job_whose_files_fail_is_failed_for_wait_and_download(fake, run_cli) -> None:
    # Review 2-c item 1: one outcome rule. Exit codes: wait 1 (the job failed); download 8
    # (a file it was asked for is missing), whatever the job's own outcome.
    route_claret(fake, 98, claret(98, "failed", 4, files={"errors": ["/acme/download/e.csv"]}))
    fake.route("/acme/download/e.csv", Reply(403, b"no"))
    waited = run_cli("wait", "claret", "98", *FAST, "--json", env=env(fake))
    downloaded = run_cli("download", "claret", "98", "--json", env=env(fake))
    assert waited.returncode == 1, waited.stderr
    assert downloaded.returncode == 8, downloaded.stderr
    assert json.loads(waited.stdout)["outcome"] == "failed"
    assert json.loads(downloaded.stdout)["outcome"] == "failed"


def test_a_good_job_whose_files_fail_is_download_failed_for_both(fake, run_cli) -> None:
    route_claret(fake, 99, claret(99, "completed", 8, 8,
                                  files={"output": ["/acme/download/o.csv"]}))
    fake.route("/acme/download/o.csv", Reply(403, b"no"))
    waited = run_cli("wait", "claret", "99", *FAST, "--json", env=env(fake))
    downloaded = run_cli("download", "claret", "99", "--json", env=env(fake))
    assert (waited.returncode, downloaded.returncode) == (8, 8)
    assert json.loads(waited.stdout)["outcome"] == "download_failed"
    assert json.loads(downloaded.stdout)["outcome"] == "download_failed"


ESCAPED = TOKEN.replace("t", "\\u0074", 1).replace("_", "\\u005f")  # \u0074ok\u005fSECRET...


def test_a_token_echoed_json_escaped_in_a_detail_answer_is_never_shown_or_saved(
        fake, run_cli) -> None:
    # Review 2-b D3: neither the errors table, the reports, job.json nor --json holds it.
    fake.route("/api/jobs/job_5/status", merchantops_status("failed", 40, 1))
    detail = ('{"job_id": "job_5", "status": "failed", "failed_items": 1, "warnings": [], '
              '"errors": [{"entity_type": "product", "entity_key": "K", "error_type": "auth", '
              f'"message": "key {ESCAPED} lacks scope", "timestamp": "t"}}], '
              f'"{ESCAPED}": "echoed as a key too"}}')
    fake.route("/api/jobs/job_5", Reply(200, detail.encode(),
                                        {"Content-Type": "application/json"}))
    result = run_cli("wait", "merchantops", "job_5", *FAST, "--json",
                     env=env(fake, "merchantops"))
    assert result.returncode == 1, result.stderr
    assert_no_secret(result)
    assert "key *** lacks scope" in result.stderr  # the errors table
    folder = run_cli.cwd / "merchantops-job_5"
    assert sorted(p.name for p in folder.iterdir()) == ["errors.csv", "job.json",
                                                        "warnings.csv"]
    for saved in folder.iterdir():
        assert TOKEN not in saved.read_text(encoding="utf-8"), saved
    assert json.loads((folder / "job.json").read_text())["errors"][0]["message"] == (
        "key *** lacks scope")
