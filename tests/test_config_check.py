"""`jobwatch config check`: "ok" only when the base_url (and tenant) lead to the status endpoint
and the token is accepted. A bare 404 proves neither: a FastAPI service answers a route that does
not exist before it looks at the token, and Claret says 404 for a tenant it does not know.

Against the loopback fake (each provider's answers set by hand), then against the simulator.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobwatch.adapters import ADAPTERS
from jobwatch.adapters.base import canonical_uuid
from jobwatch.demo.simulator import Simulator
from tests.conftest import TOKEN, assert_no_secret, clean_env, provider_env
from tests.fakeserver import FakeServer, Reply, json_reply

PROVIDERS = ("retailgrid", "merchantops", "julep", "claret")
CLARET_JOB_NOT_FOUND = {"message": "Job not found or you do not have access to this job.",
                        "error": {"error": "Job log ID does not exist"}}
FASTAPI_BAD_UUID = {"detail": [{"type": "uuid_parsing", "loc": ["path", "job_id"],
                                "msg": "Input should be a valid UUID", "input": "x"}]}
# The answer each provider gives its probe once route and token are right.
ACCEPTED = {
    "claret": json_reply(CLARET_JOB_NOT_FOUND, 422),
    "retailgrid": json_reply(FASTAPI_BAD_UUID, 422),
    "julep": json_reply(FASTAPI_BAD_UUID, 422),
    "merchantops": json_reply({"detail": "Job not found"}, 404),
}


def probe_path(provider: str, tenant: str = "acme") -> str:
    adapter = ADAPTERS[provider]
    return adapter.status_path.format(job_id=adapter.probe_id, tenant=tenant)


def line_of(provider: str, stdout: str) -> str:
    [line] = [text for text in stdout.splitlines() if text.startswith(f"{provider}.default ")]
    return line


def verdict(provider: str, stdout: str) -> str:
    match = re.match(rf"{provider}\.default\s+(ok|auth refused|not found|unreachable|"
                     r"config error|error)\b", line_of(provider, stdout))
    assert match, stdout
    return match.group(1)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- against the fake -------------------------------------------------------------------------

def test_uuid_providers_probe_with_a_malformed_id() -> None:
    # FastAPI checks the token before it validates the id: 422 then means "route and token ok".
    for provider in ("retailgrid", "julep"):
        assert canonical_uuid(ADAPTERS[provider].probe_id) is None, provider


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_good_token_is_ok(run_cli, fake: FakeServer, provider: str) -> None:
    fake.route(probe_path(provider), ACCEPTED[provider])
    result = run_cli("config", "check", env=provider_env(fake, provider))
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert verdict(provider, result.stdout) == "ok"
    assert f"token from env JOBWATCH_{provider.upper()}_TOKEN" in line_of(provider, result.stdout)
    [request] = fake.requests
    assert request.path == probe_path(provider)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert_no_secret(result)


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_bad_token_is_auth_refused(run_cli, fake: FakeServer, provider: str,
                                     status: int) -> None:
    fake.route(probe_path(provider), json_reply({"detail": f"Invalid token {TOKEN}"}, status))
    result = run_cli("config", "check", env=provider_env(fake, provider))
    assert result.returncode == 5, (result.stdout, result.stderr)
    assert verdict(provider, result.stdout) == "auth refused"
    assert f"JOBWATCH_{provider.upper()}_TOKEN" in line_of(provider, result.stdout)
    assert_no_secret(result)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_closed_port_is_unreachable(run_cli, fake: FakeServer, provider: str,
                                      closed_port: int) -> None:
    env = provider_env(fake, provider, base_url=f"http://127.0.0.1:{closed_port}")
    result = run_cli("config", "check", env=env)
    assert result.returncode == 7, (result.stdout, result.stderr)
    assert verdict(provider, result.stdout) == "unreachable"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_base_url_is_not_found_whatever_the_token(run_cli, fake: FakeServer,
                                                          provider: str) -> None:
    # The classic mistakes: a doubled or missing path prefix. The fake has no route there, so it
    # answers as FastAPI does for a route that does not exist: 404 {"detail": "Not Found"}.
    fake.route(probe_path(provider), ACCEPTED[provider])
    env = provider_env(fake, provider, base_url=fake.url + "/api")
    result = run_cli("config", "check", env=env)
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert verdict(provider, result.stdout) == "not found"
    line = line_of(provider, result.stdout)
    assert "/api" + probe_path(provider) in line, line  # the URL path it tried
    assert "check base_url" in line, line
    assert_no_secret(result)


@pytest.mark.parametrize("body", [{"detail": "Not Found"}, "<html>404 Not Found</html>"])
def test_merchantops_needs_the_endpoints_own_not_found(run_cli, fake: FakeServer,
                                                       body: object) -> None:
    # A 404 with FastAPI's generic body (or a web server's page) is a missing route, not the
    # endpoint's "Job not found".
    fake.route(probe_path("merchantops"), Reply(404, body))
    result = run_cli("config", "check", env=provider_env(fake, "merchantops"))
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert verdict("merchantops", result.stdout) == "not found"


def test_a_wrong_claret_tenant_is_not_found(run_cli, fake: FakeServer) -> None:
    fake.route(probe_path("claret"), ACCEPTED["claret"])
    fake.route(probe_path("claret", tenant="typo"), json_reply({"message": "Tenant not found."},
                                                               404))
    result = run_cli("config", "check", env=provider_env(fake, "claret", tenant="typo"))
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert verdict("claret", result.stdout) == "not found"
    line = line_of("claret", result.stdout)
    assert "/typo/api/v1/imports/status/" in line and "check base_url and tenant" in line, line


def test_only_claret_s_documented_422_counts(run_cli, fake: FakeServer) -> None:
    # A 422 that is not its "Job not found ..." proves nothing.
    fake.route(probe_path("claret"), json_reply({"message": "The given data was invalid."}, 422))
    result = run_cli("config", "check", env=provider_env(fake, "claret"))
    assert result.returncode != 0, result.stdout
    assert verdict("claret", result.stdout) != "ok"


def test_exit_0_only_when_every_profile_is_ok(run_cli, fake: FakeServer) -> None:
    for provider in PROVIDERS:
        fake.route(probe_path(provider), ACCEPTED[provider])
    env = {k: v for p in PROVIDERS for k, v in provider_env(fake, p).items()}
    result = run_cli("config", "check", env=env)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert [verdict(p, result.stdout) for p in PROVIDERS] == ["ok"] * 4

    # Julep's base_url lacks its /api: one profile not found is enough for exit 6.
    env["JOBWATCH_JULEP_BASE_URL"] = fake.url + "/elsewhere"
    result = run_cli("config", "check", env=env)
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert [verdict(p, result.stdout) for p in PROVIDERS] == ["ok", "ok", "not found", "ok"]


# --- against the simulator --------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator(token="tok_SIM_right") as sim:
        yield sim


def check(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "jobwatch", "-v", "config", "check"], cwd=work,
                          env=clean_env(tmp_path, **env), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


# The mistakes of a first day with jobwatch: a doubled /v1, Julep without /api, MerchantOps with
# /api twice, a mistyped tenant.
def wrong_places(sim: Simulator) -> dict[str, str]:
    return {"JOBWATCH_RETAILGRID_BASE_URL": sim.base_url("retailgrid") + "/v1",
            "JOBWATCH_JULEP_BASE_URL": sim.base_url("julep").removesuffix("/api"),
            "JOBWATCH_MERCHANTOPS_BASE_URL": sim.base_url("merchantops") + "/api",
            "JOBWATCH_CLARET_TENANT": "typo"}


def test_the_simulator_with_the_right_settings_is_ok(tmp_path: Path,
                                                     simulator: Simulator) -> None:
    result = check(tmp_path, simulator.env())
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert [verdict(p, result.stdout) for p in PROVIDERS] == ["ok"] * 4
    assert_no_secret(result, simulator.token)


def test_the_simulator_with_wrong_places_is_not_found(tmp_path: Path,
                                                      simulator: Simulator) -> None:
    result = check(tmp_path, {**simulator.env(), **wrong_places(simulator)})
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert [verdict(p, result.stdout) for p in PROVIDERS] == ["not found"] * 4
    assert "/claret/typo/" in line_of("claret", result.stdout)
    assert_no_secret(result, simulator.token)


def test_the_simulator_with_wrong_tokens_is_auth_refused_wherever_it_can_tell(
        tmp_path: Path, simulator: Simulator) -> None:
    wrong = {f"JOBWATCH_{p.upper()}_TOKEN": "tok_WRONG_0123" for p in PROVIDERS}
    result = check(tmp_path, {**simulator.env(), **wrong})
    assert result.returncode == 5, (result.stdout, result.stderr)
    assert [verdict(p, result.stdout) for p in PROVIDERS] == ["auth refused"] * 4

    # In the wrong places too: Claret checks the token before the tenant, and FastAPI's
    # missing routes stay "not found", never "ok".
    result = check(tmp_path, {**simulator.env(), **wrong, **wrong_places(simulator)})
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert [verdict(p, result.stdout) for p in PROVIDERS] == [
        "not found", "not found", "not found", "auth refused"]
    assert_no_secret(result, "tok_WRONG_0123")


def test_one_request_per_profile_and_only_to_the_simulator(tmp_path: Path,
                                                           simulator: Simulator) -> None:
    result = check(tmp_path, simulator.env())
    requests = re.findall(r"^jobwatch: GET (\S+) (\d+)", result.stderr, re.M)
    assert len(requests) == 4, result.stderr
    assert all(url.startswith(simulator.url + "/") for url, _status in requests), requests
