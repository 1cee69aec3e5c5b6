"""Artifacts end to end: the real CLI against the loopback fake, checked by the files it leaves
and the requests it makes, not only by its exit code."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN, assert_clean_error, provider_env
from tests.fakeserver import FakeServer, Reply, json_reply

FAST = ("--interval", "0.2")


def claret(fake: FakeServer, job_id: int, status: str, files: dict[str, list[str]]) -> None:
    fake.route(f"/acme/api/v1/imports/status/{job_id}", json_reply({
        "message": "Job status retrieved successfully", "content": {
            "job_log_id": job_id, "status": status, "type": "inventory-import",
            "progress": {"completed_steps": 8, "total_steps": 8, "current_step": None},
            "files": files, "timestamps": {"started_at": "2024-01-01T10:00:00Z"}}}))


def merchantops(fake: FakeServer, job_id: str, status: dict, detail: dict) -> None:
    answer = {"job_id": job_id, "status": "completed", "progress_percentage": 100,
              "processed_items": 10, "total_items": 10, "failed_items": 0}
    fake.route(f"/api/jobs/{job_id}/status", json_reply({**answer, **status}))
    fake.route(f"/api/jobs/{job_id}", json_reply({**answer, "errors": [], "warnings": [],
                                                  **detail}))


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def secret_outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "secret.txt"
    target.write_text("precious")
    return target


# --- what is downloaded, and where ---------------------------------------------------------------

def test_no_download_fetches_and_writes_nothing(fake, run_cli) -> None:
    claret(fake, 201, "completed", {"output": ["/dl/out.csv"], "errors": ["/dl/err.csv"]})
    fake.route("/dl/out.csv", Reply(200, b"out"))
    fake.route("/dl/err.csv", Reply(200, b"err"))
    result = run_cli("wait", "claret", "201", *FAST, "--no-download", "--json",
                     env=provider_env(fake, "claret"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["downloads"] == []
    assert fake.hits("/dl/out.csv") + fake.hits("/dl/err.csv") == 0
    assert list(run_cli.cwd.iterdir()) == []


@pytest.mark.slow
def test_failed_job_with_a_failing_artifact_exits_1_not_8(fake, run_cli) -> None:
    claret(fake, 202, "failed", {"errors": ["/dl/e.csv"]})
    fake.route("/dl/e.csv", Reply(500, b"boom"))
    result = run_cli("wait", "claret", "202", *FAST, env=provider_env(fake, "claret"))
    assert result.returncode == 1, result.stderr
    assert fake.hits("/dl/e.csv") == 3  # it did try, and that failure is reported
    assert "HTTP 500" in result.stderr
    assert files_under(run_cli.cwd) == []


def test_download_dir_from_defaults_expands_the_home_directory(fake, run_cli,
                                                                tmp_path: Path) -> None:
    home = tmp_path / "home-of-user"
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\ndownload_dir = "~/dl-here"\n')
    claret(fake, 203, "completed", {"output": ["/dl/ok.csv"]})
    fake.route("/dl/ok.csv", Reply(200, b"ok"))
    result = run_cli("download", "claret", "203", "--config", str(config),
                     env={**provider_env(fake, "claret"), "HOME": str(home)})
    assert result.returncode == 0, result.stderr
    saved = home / "dl-here" / "claret-203" / "output" / "ok.csv"
    assert result.stdout == f"{saved}\n"
    assert saved.read_bytes() == b"ok"
    assert list(run_cli.cwd.iterdir()) == []


def test_download_of_a_running_job_exits_3_and_fetches_no_file(fake, run_cli) -> None:
    fake.route("/acme/api/v1/imports/status/204", json_reply({"message": "ok", "content": {
        "job_log_id": 204, "status": "in_progress", "files": {"output": ["/dl/early.csv"]},
        "progress": {"completed_steps": 3, "total_steps": 8}}}))
    fake.route("/dl/early.csv", Reply(200, b"early"))
    result = run_cli("download", "claret", "204", env=provider_env(fake, "claret"))
    assert_clean_error(result, 3)
    assert "hint: wait for it and download in one go: jobwatch wait claret 204" in result.stderr
    assert fake.hits("/dl/early.csv") == 0
    assert list(run_cli.cwd.iterdir()) == []


def test_relative_and_traversal_claret_paths_stay_inside_dir(fake, run_cli,
                                                            tmp_path: Path) -> None:
    claret(fake, 207, "completed",
           {"errors": ["../../etc/x", "tenant/download/rel.csv", "/dl/%2e%2e%2fy"]})
    fake.route("/etc/x", Reply(200, b"x"))
    fake.route("/tenant/download/rel.csv", Reply(200, b"rel"))
    root = tmp_path / "dl" / "root"
    before = set(files_under(tmp_path))
    result = run_cli("wait", "claret", "207", *FAST, "--download-dir", str(root), "--json",
                     env=provider_env(fake, "claret"))
    assert result.returncode == 8, result.stderr  # the %2e%2e%2f name is refused
    assert "'../y'" in result.stderr
    assert [d["path"] for d in json.loads(result.stdout)["downloads"]] == [
        str(root / "claret-207" / "errors" / "x"),
        str(root / "claret-207" / "errors" / "rel.csv")]
    new = set(files_under(tmp_path)) - before
    assert new == {"dl/root/claret-207/errors/x", "dl/root/claret-207/errors/rel.csv"}
    # Relative to the base_url, so the same origin: our credentials go with it.
    (request,) = fake.requests_to("/tenant/download/rel.csv")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


# --- MerchantOps reports follow the detail answer ------------------------------------------------

REPORTS = ["errors.csv", "job.json", "warnings.csv"]


def test_clean_merchantops_job_writes_no_reports(fake, run_cli) -> None:
    merchantops(fake, "clean", {}, {"warned_items": 0})
    result = run_cli("wait", "merchantops", "clean", *FAST, "--json", "--strict",
                     env=provider_env(fake, "merchantops"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["downloads"] == []
    assert fake.hits("/api/jobs/clean") == 1
    assert list(run_cli.cwd.iterdir()) == []


@pytest.mark.parametrize(("detail", "strict_code"), [
    ({"failed_items": 5}, 1),  # the status answer said 0 failed
    ({"errors": [{"entity_key": "SKU-1", "message": "bad"}]}, 1),
    ({"status": "failed"}, 1),
    ({"warned_items": 3}, 0),  # warnings are written down, but are not errors for --strict
    ({"warnings": [{"entity_key": "SKU-2", "message": "meh"}]}, 0),
], ids=["failed_items", "errors", "failed", "warned_items", "warnings"])
def test_merchantops_reports_and_strict_follow_the_detail_answer(fake, run_cli, detail: dict,
                                                                 strict_code: int) -> None:
    merchantops(fake, "w1", {}, detail)
    result = run_cli("wait", "merchantops", "w1", *FAST, "--json",
                     env=provider_env(fake, "merchantops"))
    assert result.returncode == 0, result.stderr
    assert sorted(Path(d["path"]).name for d in json.loads(result.stdout)["downloads"]) == REPORTS
    assert files_under(run_cli.cwd) == [f"merchantops-w1/{name}" for name in REPORTS]
    strict = run_cli("wait", "merchantops", "w1", *FAST, "--strict", "--no-download",
                     env=provider_env(fake, "merchantops"))
    assert strict.returncode == strict_code, strict.stderr


# --- planted symlinks ----------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["before", "during the request"])
def test_symlink_at_name_part_is_never_written_through(fake, run_cli, tmp_path: Path,
                                                       when: str) -> None:
    # The download writes a temporary of its own (a.csv.<random>.part), created O_EXCL: a
    # symlink at a.csv.part is someone else's, left alone.
    target = secret_outside(tmp_path)
    part = run_cli.cwd / "claret-205" / "output" / "a.csv.part"

    def plant(_request) -> Reply:
        part.symlink_to(target)
        return Reply(200, b"evil")

    claret(fake, 205, "completed", {"output": ["/dl/a.csv"]})
    if when == "before":
        part.parent.mkdir(parents=True)
        part.symlink_to(target)
        fake.route("/dl/a.csv", Reply(200, b"evil"))
    else:
        part.parent.mkdir(parents=True)
        fake.route("/dl/a.csv", plant)
    result = run_cli("wait", "claret", "205", *FAST, env=provider_env(fake, "claret"))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "precious"
    assert os.readlink(part) == str(target)
    assert sorted(os.listdir(part.parent)) == ["a.csv", "a.csv.part"]
    assert (part.parent / "a.csv").read_bytes() == b"evil"


def test_symlink_planted_at_the_target_mid_body_is_refused(fake, run_cli,
                                                           tmp_path: Path) -> None:
    target = secret_outside(tmp_path)
    final = run_cli.cwd / "claret-206" / "output" / "a.csv"

    def body() -> Iterator[bytes]:
        yield b"first half;"
        final.symlink_to(target)  # while the file is still arriving
        time.sleep(0.1)
        yield b"second half"

    claret(fake, 206, "completed", {"output": ["/dl/a.csv"]})
    fake.route("/dl/a.csv", lambda _request: Reply(200, body(), content_length=22))
    result = run_cli("wait", "claret", "206", *FAST, env=provider_env(fake, "claret"))
    assert result.returncode == 8, result.stderr
    assert f"refusing to replace a symlink: {final}" in result.stderr
    assert os.readlink(final) == str(target)
    assert target.read_text() == "precious"
    assert os.listdir(final.parent) == ["a.csv"]  # the symlink, and no .part


# --- the OS says no ------------------------------------------------------------------------------

@pytest.mark.parametrize("below", [False, True], ids=["a-file", "under-a-file"])
def test_unwritable_download_dir_is_exit_8_with_path_and_reason(fake, run_cli, tmp_path: Path,
                                                                below: bool) -> None:
    # A regular file as DIR stops root as surely as anyone: this runs under any uid.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("keep")
    directory = blocker / "sub" if below else blocker
    claret(fake, 208, "completed", {"output": ["/dl/a.csv"], "errors": ["/dl/e.csv"]})
    fake.route("/dl/a.csv", Reply(200, b"a"))
    fake.route("/dl/e.csv", Reply(200, b"e"))
    result = run_cli("wait", "claret", "208", *FAST, "--download-dir", str(directory),
                     env=provider_env(fake, "claret"))
    assert_clean_error(result, 8)
    assert f"{directory}: Not a directory" in result.stderr
    assert blocker.read_text() == "keep"
    assert fake.hits("/dl/a.csv") + fake.hits("/dl/e.csv") == 0


# --- retries are not silent ----------------------------------------------------------------------

@pytest.mark.slow
def test_a_retried_download_says_so(fake, run_cli) -> None:
    claret(fake, 209, "completed", {"output": ["/dl/a.csv"]})
    fake.route("/dl/a.csv", Reply(503, b"busy", {"Retry-After": "1"}), Reply(200, b"a"))
    result = run_cli("wait", "claret", "209", *FAST, env=provider_env(fake, "claret"))
    assert result.returncode == 0, result.stderr
    assert (f"claret 209: retrying in 1s: cannot download {fake.url}/dl/a.csv: HTTP 503"
            in result.stderr)
    assert (run_cli.cwd / "claret-209" / "output" / "a.csv").read_bytes() == b"a"


# --- files written from provider text carry no terminal controls ------------------------------

# What `cat` would act on: C0 controls (bar TAB and LF, which only move the cursor forward),
# DEL, C1 controls, the bidi controls, line and paragraph separators.
TERMINAL_CONTROLS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
HOSTILE = ("bad\x1b[31mred\x1b[0m \x1b]0;pwned\x07 nul\x00 del\x7f csi\x9b2J "
           "\u202eevil\u202c\r\nline2\rover")
HOSTILE_DETAILS = {"link": "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
                   "c1": "\x9b31m", "bidi": ["\u2066", "\u202e"], "sep": "a\u2028b"}


def test_reports_from_provider_text_carry_no_terminal_controls(fake, run_cli) -> None:
    # `cat errors.csv` would run ESC, OSC, BEL and NUL from the provider: none is kept.
    errors = [{"entity_type": "product", "entity_key": "SKU\x1b[2J-1", "error_type": "e\x07",
               "message": HOSTILE, "step": "\x1b[1mvalidate", "timestamp": "t\x00",
               "details": HOSTILE_DETAILS},
              "\x1b[2Joff-spec entry"]
    warnings = [{"entity_key": "W\x9b1", "message": "tab\there, \u202etxt", "details": None}]
    merchantops(fake, "c1", {"failed_items": 1}, {"failed_items": 1, "errors": errors,
                                                  "warnings": warnings, "note": HOSTILE})
    result = run_cli("wait", "merchantops", "c1", *FAST, "--json",
                     env=provider_env(fake, "merchantops"))
    assert result.returncode == 0, result.stderr
    directory = run_cli.cwd / "merchantops-c1"
    for name in ("errors.csv", "warnings.csv", "job.json"):
        text = (directory / name).read_bytes().decode("utf-8")
        if name.endswith(".csv"):  # CR LF ends each record (RFC 4180); a CR goes nowhere else
            assert re.findall("\r(?!\n)", text) == [] and text.endswith("\r\n")
            text = text.replace("\r\n", "\n")
        assert not TERMINAL_CONTROLS.search(text), (name, TERMINAL_CONTROLS.findall(text))

    rows = read_csv(directory / "errors.csv")
    assert rows[1][:6] == ["product", "SKU [2J-1", "e ", (
        "bad [31mred [0m  ]0;pwned  nul  del  csi 2J  evil \nline2\nover"), " [1mvalidate",
        "t "]
    # The details cell is JSON whose controls are escaped: it reads back as sent.
    assert json.loads(rows[1][6]) == HOSTILE_DETAILS
    assert rows[2][3] == '"\\u001b[2Joff-spec entry"'
    assert read_csv(directory / "warnings.csv")[1][1:4] == ["W 1", "", "tab\there,  txt"]
    # job.json is the answer, exactly, once parsed.
    detail = json.loads((directory / "job.json").read_text(encoding="utf-8"))
    assert detail["errors"] == errors and detail["note"] == HOSTILE
    assert detail["warnings"][0]["message"] == "tab\there, \u202etxt"


def read_csv(path: Path) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_the_hint_for_a_running_job_names_its_profile_and_config(fake, run_cli,
                                                                 tmp_path: Path) -> None:
    # Typed as printed, the hint must watch the same job: same profile, same config file.
    fake.route("/acme/api/v1/imports/status/205", json_reply({"message": "ok", "content": {
        "job_log_id": 205, "status": "in_progress", "progress": {}}}))
    config = tmp_path / "jw.toml"
    config.write_text(f'[claret.staging]\nbase_url = "{fake.url}"\ntoken = "{TOKEN}"\n'
                      'tenant = "acme"\n')
    result = run_cli("download", "claret", "205", "-p", "staging", "--config", str(config))
    assert_clean_error(result, 3)
    assert (f"hint: wait for it and download in one go: jobwatch wait claret 205 --profile "
            f"staging --config {config}") in result.stderr
    named = run_cli("download", "claret@staging:205", "--config", str(config))
    assert_clean_error(named, 3)
    assert (f"hint: wait for it and download in one go: jobwatch wait claret@staging 205 "
            f"--config {config}") in named.stderr
