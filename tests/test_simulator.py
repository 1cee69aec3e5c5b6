"""The built-in simulator answers as the providers' docs say, and its jobs run their scripts.

Shapes are checked against tests/payloads, which are taken from the provider docs: a simulator
answer must have the same keys and value types as the payload for the same status word. Most
tests drive the simulator with a fake clock, so every phase of a job is reached exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobwatch.demo.simulator import Simulator
from tests.conftest import within
from tests.helpers import Clock

PAYLOADS = Path(__file__).parent / "payloads"
TOKEN = "demo-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

CLARET_IMPORT = "1001"
CLARET_FAILING = "1002"
MO_ENRICHMENT = "enr_7Hq2"
MO_CRAWL = "crw_9Zx4"
JULEP_INDEXING = "5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40"
JULEP_NO_PROGRESS = "b71e4d08-93a2-4f6c-8e15-0c2d9a6f4e3b"
RG_UPSERT = "8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6"
RG_FILL = "c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38"
RG_FAILING = "e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84"
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# Objects the docs leave open (additionalProperties): only their type is compared.
FREE_FORM = {"details", "metadata", "error_details"}


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def sim(clock: Clock):
    with Simulator(clock=clock) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator):
    with httpx.Client(base_url=sim.url, headers=AUTH, timeout=5) as http:
        yield http


def path(provider: str, job_id: str, *, detail: bool = False) -> str:
    if provider == "claret":
        return f"/claret/demo/api/v1/imports/status/{job_id}"
    if provider == "merchantops":
        return f"/merchantops/api/jobs/{job_id}" + ("" if detail else "/status")
    if provider == "julep":
        return f"/julep/api/jobs/{job_id}"
    return f"/retailgrid/v1/jobs/{job_id}"


def status_word(provider: str, answer: dict[str, Any]) -> str:
    if provider == "claret":
        return answer["content"]["status"]
    return answer["state" if provider == "julep" else "status"]


def assert_same_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Same keys and JSON types as the doc-shaped payload; a null on either side matches."""
    if actual is None or expected is None:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert sorted(actual) == sorted(expected), where
        for key, value in expected.items():
            if key in FREE_FORM:
                assert actual[key] is None or isinstance(actual[key], dict), f"{where}.{key}"
            else:
                assert_same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        for index, item in enumerate(actual if expected else []):
            assert_same_shape(item, expected[0], f"{where}[{index}]")
    else:
        assert type(actual) is type(expected), f"{where}: {actual!r} vs {expected!r}"


def assert_timestamps(value: Any, where: str = "$") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if (key.endswith("_at") or key == "timestamp") and item is not None:
                assert ISO_Z.match(item), f"{where}.{key}: {item!r}"
            assert_timestamps(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_timestamps(item, f"{where}[{index}]")


@pytest.mark.parametrize(
    ("provider", "job_id", "seconds", "detail", "payload"),
    [
        ("claret", CLARET_IMPORT, 0.0, False, "claret/pending.json"),
        ("claret", CLARET_IMPORT, 4.0, False, "claret/in_progress.json"),
        ("claret", CLARET_IMPORT, 7.0, False, "claret/completed.json"),
        ("claret", CLARET_FAILING, 4.0, False, "claret/failed.json"),
        ("merchantops", MO_ENRICHMENT, 2.0, False, "merchantops/status_processing.json"),
        ("merchantops", MO_ENRICHMENT, 7.0, False,
         "merchantops/status_completed_failed_items.json"),
        ("merchantops", MO_ENRICHMENT, 7.0, True,
         "merchantops/detail_completed_with_errors.json"),
        ("merchantops", MO_CRAWL, 4.0, False, "merchantops/status_failed.json"),
        ("merchantops", MO_CRAWL, 4.0, True, "merchantops/detail_failed.json"),
        ("julep", JULEP_INDEXING, 0.0, False, "julep/pending.json"),
        ("julep", JULEP_INDEXING, 2.0, False, "julep/in_progress.json"),
        ("julep", JULEP_INDEXING, 4.0, False, "julep/retrying.json"),
        ("julep", JULEP_INDEXING, 8.0, False, "julep/succeeded.json"),
        ("julep", JULEP_NO_PROGRESS, 2.0, False, "julep/no_progress.json"),
        ("retailgrid", RG_UPSERT, 0.0, False, "retailgrid/queued.json"),
        ("retailgrid", RG_UPSERT, 3.0, False, "retailgrid/processing.json"),
        ("retailgrid", RG_UPSERT, 5.0, False, "retailgrid/completed_with_related.json"),
        ("retailgrid", RG_FAILING, 3.0, False, "retailgrid/failed.json"),
    ],
)
def test_answers_have_the_shape_of_the_doc_payloads(
    client: httpx.Client, clock: Clock,
    provider: str, job_id: str, seconds: float, detail: bool, payload: str,
) -> None:
    expected = json.loads((PAYLOADS / payload).read_text())
    client.get(path(provider, job_id, detail=detail)).raise_for_status()
    clock.now += seconds
    response = client.get(path(provider, job_id, detail=detail))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert status_word(provider, answer) == status_word(provider, expected)
    assert_same_shape(answer, expected)
    assert_timestamps(answer)


def test_retailgrid_upsert_names_its_grid_fill_job_when_it_completes(
    client: httpx.Client, clock: Clock,
) -> None:
    assert client.get(path("retailgrid", RG_UPSERT)).json()["related_grid_fill_job_id"] is None
    clock.now += 5.0
    done = client.get(path("retailgrid", RG_UPSERT)).json()
    assert done["related_grid_fill_job_id"] == RG_FILL
    assert done["grid_items_count"] == 1250 and done["grid_id"]

    fill = client.get(path("retailgrid", RG_FILL)).json()
    assert fill["status"] == "queued" and fill["grid_id"] == done["grid_id"]
    clock.now += 3.5
    assert client.get(path("retailgrid", RG_FILL)).json()["status"] == "completed"


def test_merchantops_detail_has_awkward_errors_and_warnings(
    client: httpx.Client, clock: Clock,
) -> None:
    client.get(path("merchantops", MO_ENRICHMENT))
    clock.now += 7.0
    detail = client.get(path("merchantops", MO_ENRICHMENT, detail=True)).json()

    assert detail["failed_items"] == len(detail["errors"]) >= 3
    assert detail["warned_items"] == len(detail["warnings"]) >= 1
    assert any("," in e["message"] and '"' in e["message"] and "\n" in e["message"]
               for e in detail["errors"])
    assert any(e["step"] is None for e in detail["errors"])
    assert all(isinstance(e["details"], dict) for e in detail["errors"])
    assert detail["processed_items"] + detail["failed_items"] == detail["total_items"]
    assert 0 < detail["success_rate"] < 100
    assert len(detail["reference_keys"]) == detail["total_items"]


EXPECTED_LIVES = {
    ("claret", CLARET_IMPORT): ["pending", "in_progress", "completed"],
    ("claret", CLARET_FAILING): ["pending", "in_progress", "failed"],
    ("merchantops", MO_ENRICHMENT): ["queued", "processing", "completed"],
    ("merchantops", MO_CRAWL): ["queued", "processing", "failed"],
    ("julep", JULEP_INDEXING): ["pending", "in_progress", "retrying", "in_progress", "succeeded"],
    ("julep", JULEP_NO_PROGRESS): ["pending", "in_progress", "succeeded"],
    ("retailgrid", RG_UPSERT): ["queued", "processing", "completed"],
    ("retailgrid", RG_FILL): ["queued", "processing", "completed"],
    ("retailgrid", RG_FAILING): ["queued", "processing", "failed"],
}


def progress_of(provider: str, answer: dict[str, Any]) -> float:
    if provider == "claret":
        return answer["content"]["progress"]["completed_steps"]
    if provider == "merchantops":
        return answer["progress_percentage"]
    return answer["progress"] or 0


def test_every_scripted_job_lives_its_whole_life_within_8_seconds(
    sim: Simulator, client: httpx.Client, clock: Clock,
) -> None:
    assert {(provider, job_id) for provider, job_id, _ in sim.catalog} == set(EXPECTED_LIVES)
    lives: dict[tuple[str, str], list[str]] = {key: [] for key in EXPECTED_LIVES}
    last_progress: dict[tuple[str, str], float] = {}
    claret_steps: list[str] = []
    start = clock.now
    while clock.now - start <= 8.0:
        for (provider, job_id), life in lives.items():
            answer = client.get(path(provider, job_id)).json()
            word = status_word(provider, answer)
            if not life or life[-1] != word:
                life.append(word)
            progress = progress_of(provider, answer)
            assert progress >= last_progress.get((provider, job_id), 0), (provider, job_id)
            last_progress[(provider, job_id)] = progress
            if job_id == CLARET_IMPORT:
                step = answer["content"]["progress"]["current_step"]
                if step and step not in claret_steps:
                    claret_steps.append(step)
        clock.now += 0.1

    assert lives == EXPECTED_LIVES
    assert len(claret_steps) == 8 and "Validating rows" in claret_steps


def test_jobs_run_on_the_real_clock_scaled_by_speed() -> None:
    ends = {"claret": {"completed", "failed"}, "merchantops": {"completed", "failed"},
            "julep": {"succeeded", "failed", "aborted"}, "retailgrid": {"completed", "failed"}}
    with Simulator(speed=20) as sim, httpx.Client(base_url=sim.url, headers=AUTH) as http:
        assert {provider for provider, _ in sim.demo_jobs} == set(ends)
        waiting = set(sim.demo_jobs)
        final: dict[tuple[str, str], str] = {}
        began = time.monotonic()
        while waiting and time.monotonic() - began < 3.0:
            for provider, job_id in sorted(waiting):
                word = status_word(provider, http.get(path(provider, job_id)).json())
                if word in ends[provider]:
                    final[(provider, job_id)] = word
                    waiting.discard((provider, job_id))
            time.sleep(0.02)
        elapsed = time.monotonic() - began

    assert not waiting
    assert elapsed < within(8.0 / 20 + 1.0)
    assert final[("retailgrid", RG_FAILING)] == "failed"
    assert final[("claret", CLARET_IMPORT)] == "completed"


@pytest.mark.parametrize(
    ("route", "body"),
    [
        (path("claret", CLARET_IMPORT), {"message": "Unauthenticated."}),
        ("/claret/demo/download/demo/user-uploads/x/2024-01-01/1001/a.csv",
         {"message": "Unauthenticated."}),
        (path("merchantops", MO_ENRICHMENT), None),
        (path("merchantops", MO_ENRICHMENT, detail=True), None),
        (path("julep", JULEP_INDEXING), None),
        (path("retailgrid", RG_UPSERT), None),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic ZGVtbw=="])
def test_a_missing_or_wrong_token_is_refused_with_401(
    sim: Simulator, route: str, body: dict[str, str] | None, authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(sim.url + route, headers=headers)

    assert response.status_code == 401
    if body is not None:
        assert response.json() == body
    else:
        assert isinstance(response.json()["detail"], str)


def test_merchantops_refuses_another_organization(client: httpx.Client) -> None:
    own = client.get(path("merchantops", MO_ENRICHMENT),
                     headers={"X-Organization-ID": "org_demo"})
    other = client.get(path("merchantops", MO_ENRICHMENT),
                       headers={"X-Organization-ID": "org_other"})

    assert own.status_code == 200
    assert other.status_code == 403
    assert isinstance(other.json()["detail"], str)


def test_claret_answers_an_unknown_job_with_its_documented_422(client: httpx.Client) -> None:
    response = client.get(path("claret", "999999"))

    assert response.status_code == 422
    assert response.json() == json.loads((PAYLOADS / "claret/not_found_422.json").read_text())


@pytest.mark.parametrize(
    ("route", "status", "body"),
    [
        (path("claret", "abc"), 404, None),
        ("/claret/other-tenant/api/v1/imports/status/1001", 404, None),
        (path("merchantops", "enr_nope"), 404, {"detail": "Job not found"}),
        (path("merchantops", "enr_nope", detail=True), 404, {"detail": "Job not found"}),
        (path("julep", UNKNOWN_UUID), 404, {"detail": "Job not found"}),
        (path("retailgrid", UNKNOWN_UUID), 404, {"detail": "Job not found"}),
        ("/", 404, None),
        ("/nope", 404, None),
        ("/retailgrid/v2/jobs/" + RG_UPSERT, 404, None),
        ("/julep/jobs/" + JULEP_INDEXING, 404, None),
        ("/merchantops/api/jobs/enr_7Hq2/status/extra", 404, None),
    ],
)
def test_unknown_jobs_and_paths(
    client: httpx.Client, route: str, status: int, body: dict[str, str] | None,
) -> None:
    response = client.get(route)

    assert response.status_code == status
    if body is not None:
        assert response.json() == body


@pytest.mark.parametrize("provider", ["julep", "retailgrid"])
@pytest.mark.parametrize("job_id", ["not-a-uuid", "1001", "..%2Fjobs"])
def test_a_non_uuid_id_is_a_validation_error(
    client: httpx.Client, provider: str, job_id: str,
) -> None:
    response = client.get(path(provider, job_id))

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["path", "job_id"]
    assert isinstance(error["msg"], str) and isinstance(error["type"], str)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token"])
@pytest.mark.parametrize("tenant", ["demo", "other-tenant"])
def test_claret_checks_the_token_before_the_tenant(
    sim: Simulator, tenant: str, authorization: str | None,
) -> None:
    # As the FastAPI providers do: without the right token a caller learns nothing, not even
    # which tenants exist (and `config check` can tell a bad token from a bad tenant).
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{sim.url}/claret/{tenant}/api/v1/imports/status/0", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_claret_says_404_for_an_unknown_tenant_once_the_token_is_right(
    client: httpx.Client,
) -> None:
    response = client.get("/claret/other-tenant/api/v1/imports/status/0")

    assert response.status_code == 404


@pytest.mark.parametrize("provider", ["julep", "retailgrid"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token"])
def test_a_malformed_id_is_refused_before_it_is_validated(
    sim: Simulator, provider: str, authorization: str | None,
) -> None:
    # FastAPI resolves the auth dependency before path parameters: 401, not 422.
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(sim.url + path(provider, "jobwatch-config-check"), headers=headers)

    assert response.status_code == 401


@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}"])
@pytest.mark.parametrize(
    "route",
    [
        "/retailgrid/v1/v1/jobs/jobwatch-config-check",
        "/julep/jobs/jobwatch-config-check",
        "/merchantops/api/api/jobs/jobwatch-config-check/status",
        "/merchantops/jobs/enr_7Hq2/status",
    ],
)
def test_a_route_that_does_not_exist_is_fastapis_generic_404(
    sim: Simulator, route: str, authorization: str | None,
) -> None:
    # Before any auth, and never the endpoint's own {"detail": "Job not found"}.
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(sim.url + route, headers=headers)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_claret_files_download_once_published(
    sim: Simulator, client: httpx.Client, clock: Clock,
) -> None:
    early = client.get(path("claret", CLARET_IMPORT)).json()["content"]["files"]
    (untouched,) = early["input"]
    assert untouched.startswith("/demo/download/demo/user-uploads/inventory-import/")
    assert early["output"] == []
    final = untouched.replace("_untouched.csv", "_final.csv")
    assert client.get(sim.base_url("claret") + final).status_code == 404

    clock.now += 7.0
    files = client.get(path("claret", CLARET_IMPORT)).json()["content"]["files"]
    assert all(len(files[category]) == 1 for category in ("input", "staging", "output", "errors"))
    assert files["output"] == [final]
    for (relative,) in files.values():
        response = client.get(sim.base_url("claret") + relative)
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content) > 0
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert len(rows) >= 2 and all(len(row) == len(rows[0]) for row in rows)


def test_failed_claret_import_publishes_an_errors_file(
    sim: Simulator, client: httpx.Client, clock: Clock,
) -> None:
    client.get(path("claret", CLARET_FAILING))
    clock.now += 4.0
    content = client.get(path("claret", CLARET_FAILING)).json()["content"]

    assert content["status"] == "failed"
    assert content["files"]["output"] == []
    (errors,) = content["files"]["errors"]
    response = client.get(sim.base_url("claret") + errors)
    assert response.status_code == 200
    assert "price must be a number" in response.text


def test_keep_alive_serves_many_requests_over_one_connection(
    sim: Simulator, client: httpx.Client,
) -> None:
    routes = [path("claret", CLARET_IMPORT), "/nope", path("julep", JULEP_INDEXING),
              path("claret", "999"), path("merchantops", MO_ENRICHMENT, detail=True)]
    ports = set()
    for route in routes:
        response = client.get(route)
        assert response.http_version == "HTTP/1.1"
        ports.add(response.extensions["network_stream"].get_extra_info("client_addr"))

    assert len(ports) == 1


def test_requests_are_recorded_with_lower_cased_headers(
    sim: Simulator, client: httpx.Client,
) -> None:
    client.get(path("merchantops", MO_ENRICHMENT) + "?verbose=1",
               headers={"X-Organization-ID": "org_demo"})

    method, recorded_path, headers = sim.requests[-1]
    assert (method, recorded_path) == ("GET", path("merchantops", MO_ENRICHMENT))
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-organization-id"] == "org_demo"


def test_other_methods_are_not_allowed(sim: Simulator) -> None:
    response = httpx.post(sim.url + path("retailgrid", RG_UPSERT), headers=AUTH, json={"a": 1})
    assert response.status_code == 405


def test_env_points_jobwatch_at_the_simulator() -> None:
    with Simulator(token="t0k", tenant="acme", organization_id="org_9") as sim:
        env = sim.env()
        assert env["JOBWATCH_CLARET_BASE_URL"] == sim.url + "/claret"
        assert env["JOBWATCH_JULEP_BASE_URL"] == sim.url + "/julep/api"
        assert env["JOBWATCH_MERCHANTOPS_BASE_URL"] == sim.base_url("merchantops")
        assert env["JOBWATCH_RETAILGRID_BASE_URL"] == sim.base_url("retailgrid")
        for provider in ("CLARET", "JULEP", "MERCHANTOPS", "RETAILGRID"):
            assert env[f"JOBWATCH_{provider}_TOKEN"] == "t0k"
        assert env["JOBWATCH_CLARET_TENANT"] == "acme"
        assert env["JOBWATCH_MERCHANTOPS_ORGANIZATION_ID"] == "org_9"
        assert sim.url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{sim.url}/claret/acme/api/v1/imports/status/1001",
                             headers={"Authorization": "Bearer t0k"})
        assert response.status_code == 200
        with pytest.raises(ValueError, match="unknown provider"):
            sim.base_url("nope")


def test_the_simulator_prints_nothing(sim: Simulator, capfd: pytest.CaptureFixture[str]) -> None:
    httpx.get(sim.url + "/nope")
    httpx.get(sim.url + path("claret", "1"))
    with httpx.Client() as http:
        http.get(sim.url + path("julep", JULEP_INDEXING), headers=AUTH)

    assert capfd.readouterr() == ("", "")


def test_stop_without_start_returns_at_once() -> None:
    began = time.monotonic()
    Simulator().stop()
    assert time.monotonic() - began < within(1.0)


def test_importing_the_simulator_pulls_in_no_third_party_module() -> None:
    code = (
        "import sys, jobwatch.demo; assert 'jobwatch.demo.simulator' not in sys.modules; "
        "import jobwatch.demo.simulator; "
        "print(sorted({'httpx', 'pydantic', 'rich', 'typer'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
