"""`jobwatch status` end to end: the CLI as a subprocess against a loopback fake provider."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jobwatch import __version__
from tests.conftest import TOKEN, assert_clean_error, assert_no_secret, clean_env, provider_env
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.helpers import RG_PATH, rg_status

PAYLOADS = Path(__file__).resolve().parent / "payloads"
EXPECTED: dict[str, dict[str, Any]] = json.loads((PAYLOADS / "expected.json").read_text())
UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
JSON_KEYS = {"provider", "profile", "job_id", "state", "status", "terminal", "progress", "done",
             "total", "unit", "failed_items", "message", "job_type", "created_at", "started_at",
             "finished_at", "url", "artifacts", "raw"}
PATHS = {
    "claret": "/acme/api/v1/imports/status/{}",
    "julep": "/jobs/{}",
    "retailgrid": "/v1/jobs/{}",
    "merchantops": "/api/jobs/{}/status",
}
GOOD_IDS = {"claret": "12345", "julep": UUID, "retailgrid": UUID, "merchantops": "job_8f3a2c41"}


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def job_id_of(provider: str, payload: dict[str, Any]) -> str:
    if provider == "claret":
        return str(payload["content"]["job_log_id"])
    return str(payload["id"] if provider == "julep" else payload["job_id"])


def status(run_cli, fake: FakeServer, provider: str, job_id: str, *args: str,
           env: dict[str, str] | None = None, **fields: str) -> subprocess.CompletedProcess[str]:
    return run_cli("status", provider, job_id, *args,
                   env={**provider_env(fake, provider, **fields), **(env or {})})


def assert_ok(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert_no_secret(result)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- each provider against its payload files -------------------------------------------------


CASES = [
    # (payload file, exit code, texts the human summary shows)
    ("claret/completed.json", 0, ["claret 12345", "succeeded (completed)", "8/8 steps (100%)",
                                 "inventory-import", "artifacts:"]),
    ("claret/failed.json", 1, ["claret 12348", "failed", "3/8 steps (38%)"]),
    ("claret/in_progress.json", 3, ["running (in_progress)", "3/8 steps (38%)",
                                    "Validating rows"]),
    ("claret/pending.json", 3, ["pending", "0/8 steps (0%)"]),
    ("julep/succeeded.json", 0, ["succeeded", "100%"]),
    ("julep/failed.json", 1, ["failed", "12%", "Worker crashed: out of memory"]),
    ("julep/aborted.json", 1, ["canceled (aborted)", "63%", "Aborted by user"]),
    ("julep/retrying.json", 3, ["running (retrying)", "45%", "rate-limited"]),
    ("julep/unknown.json", 3, ["unknown"]),
    ("merchantops/status_completed.json", 0, ["succeeded (completed)", "120/120 items (100%)"]),
    ("merchantops/status_completed_failed_items.json", 0,
     ["succeeded (completed)", "120/120 items (100%), 4 failed"]),
    ("merchantops/status_failed.json", 1, ["failed", "32/80 items (40%), 2 failed"]),
    ("merchantops/status_processing.json", 3, ["running (processing)", "45/120 items (38%)"]),
    ("merchantops/status_unknown_word.json", 3, ["unknown (reticulating)", "15/120 items"]),
    ("retailgrid/completed_with_related.json", 0, ["succeeded (completed)", "100%"]),
    ("retailgrid/failed.json", 1, ["failed", "35%", 'Row 412: column "price" must be a number']),
    ("retailgrid/processing.json", 3, ["running (processing)", "42%", "bulk_upsert"]),
    ("retailgrid/queued.json", 3, ["pending (queued)"]),
    ("retailgrid/unknown_word_completed.json", 0, ["succeeded (settled)"]),
    ("retailgrid/unknown_word_completed_with_error.json", 1,
     ["failed (halted)", "Grid is locked by another import"]),
    ("retailgrid/unknown_word_running.json", 3, ["unknown (indexing)", "55%"]),
]


def route_payload(fake: FakeServer, name: str) -> tuple[str, str, dict[str, Any]]:
    provider = name.split("/")[0]
    payload = load(name)
    job_id = job_id_of(provider, payload)
    fake.route(PATHS[provider].format(job_id), json_reply(payload))
    return provider, job_id, payload


@pytest.mark.parametrize(("name", "code", "texts"), CASES, ids=[c[0] for c in CASES])
def test_status_human_output_and_exit_code(run_cli, fake, name, code, texts) -> None:
    provider, job_id, _ = route_payload(fake, name)
    result = status(run_cli, fake, provider, job_id)
    assert_ok(result, code)
    for text in texts:
        assert text in result.stdout, (text, result.stdout)
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes
    assert result.stderr == ""
    assert len(fake.requests) == 1
    assert fake.requests[0].path == PATHS[provider].format(job_id)


@pytest.mark.parametrize("name", ["claret/in_progress.json", "julep/aborted.json",
                                  "merchantops/status_failed.json",
                                  "retailgrid/completed_with_related.json"])
def test_status_json_has_the_spec_keys(run_cli, fake, name) -> None:
    provider, job_id, payload = route_payload(fake, name)
    result = status(run_cli, fake, provider, job_id, "--json")
    assert_ok(result, {"claret/in_progress.json": 3, "julep/aborted.json": 1,
                       "merchantops/status_failed.json": 1,
                       "retailgrid/completed_with_related.json": 0}[name])
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    job = json.loads(result.stdout)
    assert set(job) == JSON_KEYS
    assert job["provider"] == provider
    assert job["profile"] == "default"
    assert job["job_id"] == job_id
    assert job["raw"] == payload
    for key, value in EXPECTED[name].items():
        if key == "unit" and job["progress"] is None:
            continue  # see test_adapters: expected.json and the adapters disagree here
        assert job[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    assert isinstance(job["artifacts"], list)


def test_status_json_claret_artifacts_point_at_the_base_url(run_cli, fake) -> None:
    route_payload(fake, "claret/completed.json")
    result = status(run_cli, fake, "claret", "12345", "--json")
    assert_ok(result, 0)
    job = json.loads(result.stdout)
    assert job["started_at"] == "2024-01-01T10:00:00Z"
    assert job["finished_at"] == "2024-01-01T10:02:30Z"
    assert job["url"].endswith("/imports/logs/12345")
    assert [a["category"] for a in job["artifacts"]] == ["input", "staging", "output", "errors"]
    assert all(a["url"].startswith(fake.url + "/tenant/download/") for a in job["artifacts"])


def test_status_quiet_prints_nothing(run_cli, fake) -> None:
    route_payload(fake, "claret/failed.json")
    result = status(run_cli, fake, "claret", "12348", "--quiet")
    assert_ok(result, 1)
    assert result.stdout == ""


# -- what the provider receives ------------------------------------------------------------


@pytest.mark.parametrize("provider", ["claret", "julep", "retailgrid", "merchantops"])
def test_status_sends_bearer_token_and_user_agent(run_cli, fake, provider) -> None:
    name = {"claret": "claret/completed.json", "julep": "julep/succeeded.json",
            "retailgrid": "retailgrid/completed_with_related.json",
            "merchantops": "merchantops/status_completed.json"}[provider]
    _, job_id, _ = route_payload(fake, name)
    result = status(run_cli, fake, provider, job_id)
    assert_ok(result, 0)
    [request] = fake.requests
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == f"jobwatch/{__version__}"
    assert "x-organization-id" not in request.headers
    assert "cookie" not in request.headers


def test_merchantops_sends_organization_id_when_set(run_cli, fake) -> None:
    route_payload(fake, "merchantops/status_completed.json")
    result = status(run_cli, fake, "merchantops", "job_8f3a2c41", organization_id="org_123")
    assert_ok(result, 0)
    [request] = fake.requests
    assert request.headers["x-organization-id"] == "org_123"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.path == "/api/jobs/job_8f3a2c41/status"  # polls the light endpoint only


def test_claret_path_has_tenant_and_job_log_id(run_cli, fake) -> None:
    route_payload(fake, "claret/completed.json")
    result = status(run_cli, fake, "claret", "12345")
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == ["/acme/api/v1/imports/status/12345"]


def test_julep_base_url_path_is_kept(run_cli, fake) -> None:
    payload = load("julep/succeeded.json")
    fake.route(f"/api/jobs/{payload['id']}", json_reply(payload))
    result = status(run_cli, fake, "julep", payload["id"].upper(), base_url=fake.url + "/api/")
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [f"/api/jobs/{payload['id']}"]


# -- bad input: exit 2, nothing sent ---------------------------------------------------------


BAD_IDS = [
    ("claret", ""), ("claret", "abc"), ("claret", "1.5"), ("claret", "-1"), ("claret", "../x"),
    ("claret", "1\x1b[2J"), ("claret", "1\n2"),
    ("julep", ""), ("julep", "abc"), ("julep", "1.5"), ("julep", "-1"), ("julep", "../x"),
    ("julep", "12345"), ("julep", UUID + "\x07"),
    ("retailgrid", ""), ("retailgrid", "abc"), ("retailgrid", "-1"), ("retailgrid", "../x"),
    ("retailgrid", UUID[:-1]), ("retailgrid", "\t\x01"),
    ("merchantops", ""), ("merchantops", "job\x1b[31m"), ("merchantops", "a\nb"),
]


@pytest.mark.parametrize(("provider", "bad"), BAD_IDS, ids=[f"{p}-{b!r}" for p, b in BAD_IDS])
def test_malformed_job_id_is_a_usage_error_before_any_request(run_cli, fake, provider,
                                                                bad) -> None:
    # "--" so that "-1" reaches the id check rather than the option parser.
    result = run_cli("status", provider, "--", bad, env=provider_env(fake, provider))
    assert_clean_error(result, 2)
    assert_no_secret(result)
    assert f"{provider} job ids are" in result.stderr
    assert "hint: for example: jobwatch status" in result.stderr
    assert fake.requests == []


def test_dash_one_without_separator_is_still_a_usage_error(run_cli, fake) -> None:
    result = run_cli("status", "claret", "-1", env=provider_env(fake, "claret"))
    assert_clean_error(result, 2)
    assert fake.requests == []


def test_malformed_id_is_reported_before_config_problems(run_cli, fake) -> None:
    # No token, no tenant: the id is still the first thing checked (exit 2, not 6).
    result = run_cli("status", "claret", "abc")
    assert_clean_error(result, 2)


def test_dot_dot_tenant_stays_encoded(run_cli, fake) -> None:
    fake.route("/..%2Fx/api/v1/imports/status/1", json_reply(load("claret/completed.json")))
    result = status(run_cli, fake, "claret", "1", tenant="../x")
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == ["/..%2Fx/api/v1/imports/status/1"]


@pytest.mark.parametrize(("job_id", "path"), [("..", "/api/jobs/%2E%2E/status"),
                                              ("../x", "/api/jobs/..%2Fx/status"),
                                              ("a/../b", "/api/jobs/a%2F..%2Fb/status")])
def test_merchantops_dot_dot_id_stays_encoded(run_cli, fake, job_id, path) -> None:
    fake.route(path, json_reply(load("merchantops/status_completed.json")))
    result = run_cli("status", "merchantops", "--", job_id,
                     env=provider_env(fake, "merchantops"))
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [path]


# -- HTTP answers → exit codes ---------------------------------------------------------------


def test_401_is_auth_error_naming_the_token_source(run_cli, fake) -> None:
    fake.route(PATHS["claret"].format(1), json_reply({"message": "Unauthenticated."}, 401))
    result = status(run_cli, fake, "claret", "1")
    assert_clean_error(result, 5)
    assert_no_secret(result)
    assert "401" in result.stderr
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hint and "JOBWATCH_CLARET_TOKEN" in hint[0]
    assert len(fake.requests) == 1  # not retried


def test_403_is_auth_error(run_cli, fake) -> None:
    fake.route(PATHS["merchantops"].format("j1"), json_reply({"detail": "Forbidden"}, 403))
    result = status(run_cli, fake, "merchantops", "j1", organization_id="org_9")
    assert_clean_error(result, 5)
    assert_no_secret(result)
    assert "403" in result.stderr
    assert "JOBWATCH_MERCHANTOPS_TOKEN" in result.stderr
    assert len(fake.requests) == 1


def test_404_is_not_found(run_cli, fake) -> None:
    # No route: the fake answers 404.
    result = status(run_cli, fake, "retailgrid", UUID)
    assert_clean_error(result, 4)
    assert_no_secret(result)
    assert UUID in result.stderr
    assert len(fake.requests) == 1


def test_claret_422_job_not_found_is_not_found(run_cli, fake) -> None:
    fake.route(PATHS["claret"].format(999), json_reply(load("claret/not_found_422.json"), 422))
    result = status(run_cli, fake, "claret", "999")
    assert_clean_error(result, 4)
    assert_no_secret(result)
    assert "999" in result.stderr and "not found" in result.stderr
    assert len(fake.requests) == 1


def test_claret_other_422_is_not_not_found(run_cli, fake) -> None:
    fake.route(PATHS["claret"].format(5), json_reply({"message": "The given data was invalid."},
                                                     422))
    result = status(run_cli, fake, "claret", "5")
    assert_clean_error(result, 7)
    assert_no_secret(result)


@pytest.mark.parametrize("body", [[], "null", ["Job not found"]])
def test_claret_422_with_a_non_object_body_is_a_clean_error(run_cli, fake, body) -> None:
    reply = Reply(422, body.encode() if isinstance(body, str) else json.dumps(body).encode(),
                  headers={"Content-Type": "application/json"})
    fake.route(PATHS["claret"].format(5), reply)
    result = status(run_cli, fake, "claret", "5")
    assert_clean_error(result, 7)


def test_500_storm_gives_up_after_three_attempts(run_cli, fake) -> None:
    fake.route(PATHS["claret"].format(1), json_reply({"error": "boom"}, 500))
    result = status(run_cli, fake, "claret", "1")
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert "500" in result.stderr
    assert len(fake.requests) == 3


@pytest.mark.slow
def test_429_retry_after_is_honoured(run_cli, fake) -> None:
    payload = load("julep/succeeded.json")
    fake.route(PATHS["julep"].format(payload["id"]),
               json_reply({"detail": "slow down"}, 429, headers={"Retry-After": "1"}),
               json_reply(payload))
    result = status(run_cli, fake, "julep", payload["id"])
    assert_ok(result, 0)
    assert len(fake.requests) == 2
    assert fake.requests[1].at - fake.requests[0].at >= 0.9


def test_a_retry_after_longer_than_status_waits_gives_up_at_once(run_cli, fake) -> None:
    fake.route(RG_PATH, Reply(429, b"slow down", {"Retry-After": "100"}))
    started = time.monotonic()
    result = rg_status(run_cli, fake)
    assert time.monotonic() - started < 10
    assert_clean_error(result, 7)
    assert "asks to retry in 100s" in result.stderr
    assert fake.hits(RG_PATH) == 1  # never asked again before the provider said to


def test_html_200_is_answering_badly(run_cli, fake) -> None:
    fake.route(PATHS["retailgrid"].format(UUID),
               Reply(200, "<html><body>Maintenance</body></html>",
                     headers={"Content-Type": "text/html"}))
    result = status(run_cli, fake, "retailgrid", UUID)
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert "text/html" in result.stderr
    assert len(fake.requests) == 3


def test_json_without_status_is_answering_badly(run_cli, fake) -> None:
    fake.route(PATHS["merchantops"].format("j1"), json_reply({"job_id": "j1", "progress": 3}))
    result = status(run_cli, fake, "merchantops", "j1")
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert len(fake.requests) == 3


@pytest.mark.slow
def test_claret_answer_without_content_is_answering_badly(run_cli, fake) -> None:
    fake.route(PATHS["claret"].format(1), json_reply({"message": "ok", "status": "completed"}))
    result = status(run_cli, fake, "claret", "1")
    assert_clean_error(result, 7)
    assert len(fake.requests) == 3


@pytest.mark.slow
def test_connection_refused_is_unreachable(run_cli, fake) -> None:
    port = closed_port()
    result = run_cli("status", "claret", "1",
                     env=provider_env(fake, "claret", base_url=f"http://127.0.0.1:{port}"))
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert f"127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize("base_url", ["http://[::1", "http://127.0.0.1:99999"])
def test_malformed_base_url_is_a_config_error(run_cli, fake, base_url) -> None:
    result = run_cli("status", "claret", "1", env=provider_env(fake, "claret", base_url=base_url))
    assert_clean_error(result, 6)
    assert_no_secret(result)


@pytest.mark.slow
def test_deeply_nested_json_is_answering_badly(run_cli, fake) -> None:
    fake.route(PATHS["merchantops"].format("j1"),
               Reply(200, b"[" * 100_000, headers={"Content-Type": "application/json"}))
    result = status(run_cli, fake, "merchantops", "j1")
    assert_clean_error(result, 7)
    assert_no_secret(result)


# -- --verbose -------------------------------------------------------------------------------


REQUEST_LINE = re.compile(r"^jobwatch: GET (\S+) (\d{3}) (\d+)ms$")


def request_lines(stderr: str) -> list[re.Match[str]]:
    return [m for m in map(REQUEST_LINE.match, stderr.splitlines()) if m]


def test_verbose_prints_one_line_per_request(run_cli, fake) -> None:
    fake.route(PATHS["claret"].format(7), json_reply({"error": "busy"}, 503),
               json_reply(load("claret/completed.json")))
    result = status(run_cli, fake, "claret", "7", "--verbose")
    assert_ok(result, 0)
    lines = request_lines(result.stderr)
    url = fake.url + PATHS["claret"].format(7)
    assert [(m.group(1), m.group(2)) for m in lines] == [(url, "503"), (url, "200")]
    assert len(fake.requests) == 2
    assert "Bearer" not in result.stderr


@pytest.mark.slow
def test_verbose_never_shows_a_token_echoed_in_an_error_body(run_cli, fake) -> None:
    body = {"error": f"bad token {TOKEN}", "echo": f"Authorization: Bearer {TOKEN}"}
    fake.route(PATHS["claret"].format(1), json_reply(body, 500))
    result = status(run_cli, fake, "claret", "1", "-v")
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert len(request_lines(result.stderr)) == 3
    assert TOKEN[4:-2] not in result.stderr


@pytest.mark.slow
def test_verbose_shows_the_redacted_start_of_a_bad_body(run_cli, fake) -> None:
    fake.route(PATHS["retailgrid"].format(UUID),
               Reply(200, f"<html>your token {TOKEN} is not welcome</html>",
                     headers={"Content-Type": "text/html"}))
    result = status(run_cli, fake, "retailgrid", UUID, "--verbose")
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert "<html>your token" in result.stderr  # the first bytes of the body, redacted


def test_verbose_redacts_a_token_echoed_in_another_4xx_body(run_cli, fake) -> None:
    fake.route(PATHS["julep"].format(UUID), Reply(400, f"invalid key {TOKEN}"))
    result = status(run_cli, fake, "julep", UUID, "--verbose")
    assert_clean_error(result, 7)
    assert_no_secret(result)
    assert "invalid key" in result.stderr


def test_a_password_in_the_base_url_is_refused_and_never_printed(run_cli, fake) -> None:
    route_payload(fake, "claret/completed.json")
    base_url = fake.url.replace("http://", "http://user:pa55word_x9@")
    result = status(run_cli, fake, "claret", "12345", "-v", base_url=base_url)
    assert_clean_error(result, 6)
    assert "carries a user name or password" in result.stderr
    assert_no_secret(result, "pa55word_x9")
    assert fake.requests == []


def test_without_verbose_no_request_lines(run_cli, fake) -> None:
    route_payload(fake, "claret/completed.json")
    result = status(run_cli, fake, "claret", "12345")
    assert_ok(result, 0)
    assert request_lines(result.stderr) == []


@pytest.mark.parametrize(("flag", "suggested"), [((), True), (("-v",), False)])
def test_the_unreachable_hint_suggests_verbose_only_without_it(run_cli, fake, flag,
                                                               suggested) -> None:
    fake.route(PATHS["claret"].format(1), json_reply({"error": "down"}, 500))
    result = status(run_cli, fake, "claret", "1", *flag)
    assert_clean_error(result, 7)
    assert "gave up after 3 attempts" in result.stderr and ") (" not in result.stderr
    assert ("--verbose shows each request" in result.stderr) is suggested


# -- answers bounded in size and time ----------------------------------------------------------


# VmHWM, not ru_maxrss: that one keeps the RSS of the pytest process the child was forked from.
RSS_PROBE = """
import re, sys
from jobwatch.__main__ import run
code = run(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
sys.stderr.write(f"MAXRSS_KIB {peak}\\n")
sys.exit(code)
"""


def _status_with_peak_memory(tmp_path: Path, fake: FakeServer) -> tuple[int, str, int]:
    result = subprocess.run([sys.executable, "-c", RSS_PROBE, "status", "claret", "1"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=clean_env(tmp_path, **provider_env(fake, "claret")))
    peak = int(re.search(r"MAXRSS_KIB (\d+)", result.stderr).group(1))
    return result.returncode, result.stderr, peak


def _json_of(size: int, compress: bool) -> bytes:
    """A valid Claret answer of ``size`` bytes, mostly JSON whitespace."""
    import zlib

    head, tail = b'{"message": "ok", "content": {"status": "in_progress"', b"}}"
    if not compress:
        return head + b" " * size + tail
    encoder = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [encoder.compress(head)]
    parts += [encoder.compress(b" " * (1 << 20)) for _ in range(size >> 20)]
    return b"".join(parts) + encoder.compress(tail) + encoder.flush()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("compress", [True, False], ids=["gzip-bomb", "oversized"])
def test_a_huge_status_answer_is_answering_badly_in_small_memory(fake, tmp_path,
                                                                 compress: bool) -> None:
    # 96 MiB of valid JSON, compressed to ~100 KiB or sent as is.
    headers = {"Content-Encoding": "gzip"} if compress else {}
    fake.route(PATHS["claret"].format(1), Reply(200, _json_of(96 << 20, compress), headers))
    code, stderr, peak_kib = _status_with_peak_memory(tmp_path, fake)
    assert code == 7, stderr
    assert "answered more than 8 MiB" in stderr
    assert peak_kib < 100 * 1024, peak_kib  # an interpreter with httpx is ~40 MiB
    assert fake.hits(PATHS["claret"].format(1)) == 3  # answering badly is retried


@pytest.mark.slow
def test_a_status_answer_dribbled_for_ever_gives_up(fake, monkeypatch, capsys) -> None:
    # A byte now and then never trips a read timeout; the limit on the whole answer does
    # (1 s here instead of the real 60 s).
    import time

    from jobwatch import __main__, http
    from tests.rawserver import RawServer, answer, dribbling

    raw = RawServer()
    raw.routes["/acme/api/v1/imports/status/1"] = dribbling(
        answer("200 OK", {"Transfer-Encoding": "chunked"}), b"1\r\n \r\n", 200)
    monkeypatch.setattr(http, "API_TIME_LIMIT", 1.0)
    for name, value in provider_env(fake, "claret", base_url=raw.url).items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    try:
        assert __main__.run(["status", "claret", "1"]) == 7
    finally:
        raw.close()
    assert time.monotonic() - started < 3 * 1.5 + 3  # three attempts, and backoff between
    err = capsys.readouterr().err
    assert "took more than 1s to answer; gave up after 3 attempts" in err
