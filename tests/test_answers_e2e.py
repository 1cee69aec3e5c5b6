"""Provider answers through the whole command: `jobwatch status --json` against the loopback
fake server. Wrong-typed fields are null and the job is still shown; an answer without a status
is "answering badly" (exit 7, after three attempts); done is kept within 0..total."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_clean_error, assert_no_secret, provider_env
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.helpers import RG_PATH, retailgrid, rg_status, strict_json

PAYLOADS = Path(__file__).resolve().parent / "payloads"
EXPECTED: dict[str, dict[str, Any] | None] = json.loads(
    (PAYLOADS / "expected.json").read_text())
NO_STATUS = sorted(name for name, fields in EXPECTED.items() if fields is None)
# The payloads that exercise leniency and the clamp (the doc-shaped ones run in
# test_cli_status.py).
LENIENT = ["claret/negative_steps.json", "claret/wrong_types.json", "julep/wrong_types.json",
           "merchantops/status_done_beyond_total.json", "merchantops/status_wrong_types.json",
           "retailgrid/wrong_types.json"]
IDS = {"claret": "7", "julep": "6b1e3c4d-7f8a-4e9b-9c0d-3e4f5a6b7c81",
       "retailgrid": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "merchantops": "job_1"}
PATHS = {"claret": "/acme/api/v1/imports/status/{}", "julep": "/jobs/{}",
         "retailgrid": "/v1/jobs/{}", "merchantops": "/api/jobs/{}/status"}


def status_json(run_cli, fake: FakeServer, provider: str, payload: Any, *args: str):
    job_id = IDS[provider]
    path = PATHS[provider].format(job_id)
    fake.route(path, json_reply(payload))
    result = run_cli("status", provider, job_id, "--json", *args,
                     env=provider_env(fake, provider))
    return result, fake.hits(path)


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", LENIENT)
def test_wrong_typed_fields_are_null_and_the_job_is_still_shown(run_cli, fake, name) -> None:
    provider, payload = name.split("/")[0], load(name)
    result, _ = status_json(run_cli, fake, provider, payload)
    assert result.returncode == 3, result.stderr  # each is a running job
    assert "Traceback" not in result.stderr and result.stderr == ""
    job = json.loads(result.stdout)
    assert job["job_id"] == IDS[provider] and job["raw"] == payload
    for key, value in (EXPECTED[name] or {}).items():
        assert job[key] == value, key


@pytest.mark.slow
@pytest.mark.parametrize("name", NO_STATUS)
def test_an_answer_without_a_status_is_answering_badly(run_cli, fake, name) -> None:
    provider = name.split("/")[0]
    result, hits = status_json(run_cli, fake, provider, load(name), "-v")
    assert_clean_error(result, 7)
    assert f"{provider} answered JSON without a job status" in result.stderr
    assert "body starts:" in result.stderr  # --verbose shows what came instead
    assert result.stdout == ""
    assert hits == 3  # retried, then given up


@pytest.mark.parametrize(("provider", "payload", "done", "total"), [
    ("merchantops", {"job_id": "job_1", "status": "processing", "progress_percentage": 40,
                     "processed_items": 1e308, "total_items": 100, "failed_items": 0},
     100, 100),
    ("merchantops", {"job_id": "job_1", "status": "processing", "progress_percentage": 40,
                     "processed_items": -5, "total_items": 100, "failed_items": 0}, 0, 100),
    ("claret", {"message": "ok", "content": {"job_log_id": 7, "status": "in_progress",
                                             "progress": {"completed_steps": 12,
                                                          "total_steps": 8}}}, 8, 8),
    ("julep", {"id": IDS["julep"], "state": "in_progress", "has_progress": True,
               "progress": 150, "created_at": "2024-05-02T14:00:00Z",
               "updated_at": "2024-05-02T14:00:00Z"}, 100, 100),
])
def test_done_is_kept_within_zero_and_total_in_status_json(run_cli, fake, provider, payload,
                                                           done, total) -> None:
    result, _ = status_json(run_cli, fake, provider, payload)
    assert result.returncode == 3, result.stderr
    assert_no_secret(result)
    job = json.loads(result.stdout)
    assert (job["done"], job["total"]) == (done, total)
    assert 0.0 <= job["progress"] <= 1.0
    assert job["raw"] == payload  # what the provider said is kept


def test_an_answer_nested_deeper_than_pydantic_writes_is_printed(run_cli, fake) -> None:
    nested = "[" * 400 + "]" * 400  # past pydantic's writer (~250), within parse_json
    body = ('{"message": "ok", "content": {"job_log_id": 7, "status": "in_progress"}, '
            f'"extra": {nested}}}')
    fake.route(PATHS["claret"].format(7), Reply(200, body.encode(),
                                                {"Content-Type": "application/json"}))
    result = run_cli("status", "claret", "7", "--json", env=provider_env(fake, "claret"))
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["raw"]["extra"] == json.loads(nested)


# -- numbers JSON cannot carry, or a float cannot hold ---------------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_become_null_not_invalid_json(run_cli, fake, constant) -> None:
    body = json.dumps(retailgrid()).replace('"progress": 40', f'"progress": {constant}')
    fake.route(RG_PATH, Reply(200, body.encode(), {"Content-Type": "application/json"}))
    result = rg_status(run_cli, fake, "--json")
    assert result.returncode == 3, result.stderr
    data = strict_json(result.stdout)
    assert data["progress"] is None and data["done"] is None
    assert data["raw"]["progress"] is None
    human = rg_status(run_cli, fake)
    assert "100%" not in human.stdout and "progress:" not in human.stdout


def test_merchantops_failed_items_out_of_range_is_answering_badly_not_a_crash(run_cli,
                                                                             fake) -> None:
    body = (b'{"job_id": "j1", "status": "processing", "progress_percentage": 5, '
            b'"processed_items": 1, "total_items": 9, "failed_items": 1e999}')
    fake.route("/api/jobs/j1/status", Reply(200, body, {"Content-Type": "application/json"}))
    result = run_cli("status", "merchantops", "j1", env=provider_env(fake, "merchantops"))
    assert result.returncode == 3, result.stderr
    assert "internal error" not in result.stderr


def test_a_count_too_large_for_a_float_is_answering_badly(run_cli, fake) -> None:
    body = ('{"message": "ok", "content": {"job_log_id": 1, "status": "in_progress", '
            '"progress": {"completed_steps": ' + "9" * 400 + ', "total_steps": 8}}}')
    fake.route("/acme/api/v1/imports/status/1",
               Reply(200, body.encode(), {"Content-Type": "application/json"}))
    result = run_cli("status", "claret", "1", env=provider_env(fake, "claret"))
    assert_clean_error(result, 7)
    assert "unexpected shape" in result.stderr


def test_times_with_another_offset_come_out_in_utc_and_raw_keeps_them(run_cli, fake) -> None:
    payload = {"message": "ok", "content": {
        "job_log_id": 7, "status": "completed", "progress": {"completed_steps": 8,
                                                              "total_steps": 8},
        "timestamps": {"started_at": "2024-01-01T12:00:00+02:00",
                       "completed_at": "2024-01-01 10:02:30"}}}
    result, _ = status_json(run_cli, fake, "claret", payload)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert (line["started_at"], line["finished_at"]) == ("2024-01-01T10:00:00Z",
                                                         "2024-01-01T10:02:30Z")
    assert line["raw"]["content"]["timestamps"] == payload["content"]["timestamps"]
