"""`jobwatch wait` end to end: the real CLI, a loopback fake provider, exit codes and output."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

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


def merchantops_status(status: str, processed: int, failed: int = 0) -> Reply:
    return json_reply({"job_id": "job_1", "status": status, "progress_percentage":
                       processed, "processed_items": processed, "total_items": 100,
                       "failed_items": failed})


# -- outcomes and exit codes -------------------------------------------------------------------


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


def test_a_failed_job_whose_files_fail_is_failed_for_wait_and_download(fake, run_cli) -> None:
    # One outcome rule. Exit codes: wait 1 (the job failed); download 8
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


# -- polling: the interval, retries, giving up -------------------------------------------------


@pytest.mark.slow
def test_500_storm_then_recovery(fake, run_cli) -> None:
    path = route_claret(fake, 40, Reply(500, b"oops"), Reply(502, b""), Reply(503, b""),
                        claret(40, "completed", 8, 8))
    result = run_cli("wait", "claret", "40", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 4
    assert "HTTP 500" in result.stderr


@pytest.mark.slow
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


@pytest.mark.slow
def test_garbage_json_in_the_middle_of_a_wait_is_survived(fake, run_cli) -> None:
    path = route_claret(fake, 42, running(42), Reply(200, b"<html>maintenance</html>",
                                                     {"Content-Type": "text/html"}),
                        Reply(200, b"{not json"), claret(42, "completed", 8, 8))
    result = run_cli("wait", "claret", "42", *FAST, env=env(fake))
    assert result.returncode == 0, result.stderr
    assert fake.hits(path) == 4


@pytest.mark.slow
def test_unreachable_host_gives_up_with_7(run_cli, tmp_path) -> None:
    closed = FakeServer().start()
    url = closed.url
    closed.stop()  # nothing listens on that port any more
    result = run_cli("wait", "claret", "43", "--interval", "0.2",
                     env={"JOBWATCH_CLARET_BASE_URL": url, "JOBWATCH_CLARET_TOKEN": TOKEN,
                          "JOBWATCH_CLARET_TENANT": "acme"}, timeout=60)
    assert result.returncode == 7, result.stderr
    assert "cannot reach" in result.stderr
    # The count says how many failures in a row end it, and then they do.
    assert "failure 9 of 10 in a row, retrying in" in result.stderr
    assert "failure 10 of 10" not in result.stderr
    assert "gave up after 10 failures in a row" in result.stderr
    assert_no_secret(result)


@pytest.mark.slow
def test_interval_is_respected(fake, run_cli) -> None:
    path = route_claret(fake, 44, running(44), running(44), running(44),
                        claret(44, "completed", 8, 8))
    result = run_cli("wait", "claret", "44", "--interval", "0.5", env=env(fake))
    assert result.returncode == 0
    times = [r.at for r in fake.requests_to(path)]
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.45 <= gap < 1.5 for gap in gaps), gaps


@pytest.mark.slow
def test_claret_defaults_to_a_5_second_interval(fake, run_cli) -> None:
    path = route_claret(fake, 45, running(45))
    result = run_cli("wait", "claret", "45", "--timeout", "2.5", env=env(fake))
    assert result.returncode == 124
    assert fake.hits(path) == 1  # the second poll would only come at 5 s


@pytest.mark.slow
def test_interval_zero_means_the_floor_not_the_default(fake, run_cli) -> None:
    # 0 is the floor, not "unset": Claret's default would poll every 5 s.
    path = route_claret(fake, 91, running(91))
    result = run_cli("wait", "claret", "91", "--interval", "0", "--timeout", "2.5",
                     env=env(fake))
    assert result.returncode == 124, result.stderr
    times = [r.at for r in fake.requests_to(path)]
    # ~12 polls on a quiet machine; at least 5 even when a busy one delays them (and 1 at
    # Claret's 5 s default).
    assert len(times) >= 5
    assert all(b - a >= 0.19 for a, b in zip(times, times[1:]))  # never below 0.2 s


# -- the timeout, with requests and downloads in flight ----------------------------------------


@pytest.mark.slow
def test_timeout_exits_124_promptly_and_says_how_far_jobs_got(fake, run_cli) -> None:
    path = route_claret(fake, 3, running(3, 5))
    started = time.monotonic()
    result = run_cli("wait", "claret", "3", "--timeout", "1.5", "--interval", "0.5",
                     env=env(fake))
    elapsed = time.monotonic() - started
    first = fake.requests_to(path)[0].at  # the watch (and its deadline) began just before
    assert result.returncode == 124, result.stderr
    # Timed from the first poll: a busy machine can take seconds just to start Python.
    assert time.monotonic() - first < within(1.5 + 1)  # stops within 1 s of the deadline
    assert elapsed < within(1.5 + 1 + 3)  # (+ interpreter start-up)
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


@pytest.mark.parametrize("quiet", [("-q",), ()], ids=["quiet", "plain"])
def test_a_huge_timeout_is_no_crash(fake, run_cli, quiet) -> None:
    # A wait past threading.TIMEOUT_MAX raises OverflowError (which would be exit 70).
    route_claret(fake, 96, running(96), claret(96, "completed", 8, 8))
    result = run_cli("wait", "claret", "96", *FAST, "--timeout", "10000000000", *quiet,
                     "--no-download", env=env(fake))
    assert result.returncode == 0, result.stderr
    configured = run_cli("wait", "claret", "96", *FAST, *quiet, "--no-download",
                         env=env(fake, timeout="3000000h"))
    assert configured.returncode == 0, configured.stderr


@pytest.mark.slow
def test_a_request_in_flight_at_the_deadline_still_names_the_job_and_how_far_it_got(
        fake, run_cli) -> None:
    # The second poll hangs past the deadline.
    path = route_claret(fake, 90, running(90, 2), Reply(200, b"{}", delay=20))
    started = time.monotonic()
    result = run_cli("wait", "claret", "90", "--timeout", "2", "--interval", "0.5",
                     env=env(fake))
    first = fake.requests_to(path)[0].at  # the watch (and its deadline) began just before
    assert result.returncode == 124, result.stderr
    assert time.monotonic() - first < within(2 + 1)  # stops within a second of the deadline
    assert time.monotonic() - started < within(2 + 1 + 3)  # (+ interpreter start-up)
    assert ("timed out with 1 job(s) still running: claret 90 (2/8 steps (25%), "
            "Validating rows)") in result.stderr
    assert "claret 90: still running at the timeout" in result.stderr
    assert "resume with: jobwatch wait claret 90 --timeout 2 --interval 0.5" in result.stderr


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


@pytest.mark.slow
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


def stalled_download(fake: FakeServer, job_id: int) -> None:
    """A finished job whose file sends 10 bytes of 1000, then nothing for a minute."""
    route_claret(fake, job_id, claret(job_id, "completed", 8, 8,
                                      files={"output": ["/acme/download/stuck.bin"]}))

    def stuck():
        yield b"x" * 10
        time.sleep(60)
        yield b"x" * 990

    fake.route("/acme/download/stuck.bin", lambda _r: Reply(200, stuck(), content_length=1000))


@pytest.mark.slow
def test_a_stalled_download_is_cut_at_the_deadline_and_leaves_no_part(fake, run_cli) -> None:
    path = CLARET.format(90)
    stalled_download(fake, 90)
    started = time.monotonic()
    result = run_cli("wait", "claret", "90", *FAST, "--timeout", "2", env=env(fake))
    first = fake.requests_to(path)[0].at  # the watch (and its deadline) began just before
    # Timed from the first poll: a busy machine can take seconds just to start Python.
    assert time.monotonic() - first < within(2 + 1 + 0.5)  # 1 s, and the 0.5 s stop grace
    assert time.monotonic() - started < within(2 + 1 + 0.5 + 3)  # (+ interpreter start-up)
    assert result.returncode == 8, result.stderr
    assert not list(run_cli.cwd.rglob("*.part")) and not list(run_cli.cwd.rglob("stuck.bin"))
    assert "resume with: jobwatch download claret 90" in result.stderr


# -- usage errors: nothing is asked ------------------------------------------------------------


def test_interval_and_timeout_are_validated(fake, run_cli) -> None:
    assert_clean_error(run_cli("wait", "claret", "1", "--timeout", "10 minutes",
                               env=env(fake)), 2)
    assert_clean_error(run_cli("wait", "claret", "1", "--interval", "fast", env=env(fake)), 2)
    assert fake.requests == []


@pytest.mark.parametrize("flag", ["--timeout", "--interval"])
def test_a_bad_duration_is_a_usage_error_before_any_config_error(run_cli, flag) -> None:
    # No token anywhere (exit 6 once the config is resolved): the mistake on the command line
    # is still the one reported, with exit 2.
    result = run_cli("wait", "claret", "1", flag, "5x")
    assert_clean_error(result, 2)
    assert f"{flag}: not a duration: '5x'" in result.stderr


@pytest.mark.parametrize("command", ["wait", "download"])
@pytest.mark.parametrize("selection", [",", " , ", ""])
def test_an_empty_artifact_selection_is_a_usage_error(fake, run_cli, command,
                                                      selection) -> None:
    # Not "none" (exit 0, nothing downloaded): a slip in a script would pass unseen.
    route_claret(fake, 97, claret(97, "completed", 8, 8))
    result = run_cli(command, "claret", "97", "--artifacts", selection, env=env(fake))
    assert_clean_error(result, 2)
    assert "names no category" in result.stderr
    assert fake.requests == []


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


@pytest.mark.parametrize("provider", ["julep", "retailgrid"])
def test_download_for_a_provider_without_artifacts_says_so_up_front(fake, run_cli,
                                                                   provider) -> None:
    # Not exit 3 with a hint to `wait`, which downloads nothing either.
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


# -- details, reports and --strict -------------------------------------------------------------


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


# -- --follow-related --------------------------------------------------------------------------


@pytest.mark.slow
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


# -- on a terminal -----------------------------------------------------------------------------


def _wait_on_a_pty(fake: FakeServer, tmp_path: Path, *args: str, **extra_env: str) -> PtyRun:
    work = tmp_path / "work"
    work.mkdir()
    return run_on_a_pty(["wait", *args], clean_env(tmp_path, TERM="xterm-256color",
                                                   **extra_env, **env(fake)), work, limit=30)


@pytest.mark.slow
def test_live_display_under_a_pseudo_terminal_shows_a_bar(fake, tmp_path) -> None:
    route_claret(fake, 70, running(70, 2), running(70, 4), running(70, 6),
                 claret(70, "completed", 8, 8))
    code, text, _ = _wait_on_a_pty(fake, tmp_path, "claret", "70", "--interval", "0.3")
    assert code == 0, text
    assert "━" in text  # rich's bar
    assert "\x1b[" in text  # drawn live, with colour and cursor control
    assert "\x1b[?25h" in text  # the cursor is shown again at the end
    assert "claret 70" in text and "succeeded" in text


@pytest.mark.slow
def test_no_color_removes_colour_from_the_live_display(fake, tmp_path) -> None:
    route_claret(fake, 71, claret(71, "completed", 8, 8))
    code, text, _ = _wait_on_a_pty(fake, tmp_path, "claret", "71", "--interval", "0.3",
                                   NO_COLOR="1")
    assert code == 0, text
    assert "\x1b[32m" not in text and "\x1b[1;32m" not in text  # no green "succeeded"
