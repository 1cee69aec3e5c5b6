"""Shared fixtures: a loopback fake provider, and the CLI run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeserver import FakeServer

TOKEN = "tok_SECRET_abc123"
REPO = Path(__file__).resolve().parent.parent
# Real-time limits ("stops within a second") hold on a quiet machine; a slow or busy CI runner
# can stretch them with JOBWATCH_TEST_SLACK=2 (or more) instead of editing the tests.
SLACK = float(os.environ.get("JOBWATCH_TEST_SLACK") or 1)


def within(seconds: float) -> float:
    """A real-time limit, stretched by JOBWATCH_TEST_SLACK."""
    return seconds * SLACK


# One server per test module, reset for each test: starting and stopping one per test adds up.
@pytest.fixture(scope="module")
def _module_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _module_other_server() -> Iterator[FakeServer]:
    try:
        server = FakeServer("127.0.0.2").start()
    except OSError:  # macOS has only 127.0.0.1 unless an alias is added
        pytest.skip("127.0.0.2 is not a loopback address here")
    yield server
    server.stop()


@pytest.fixture
def fake(_module_server: FakeServer) -> FakeServer:
    """The fake provider on 127.0.0.1, with no routes and no recorded requests."""
    return _module_server.reset()


@pytest.fixture
def other_fake(_module_other_server: FakeServer) -> FakeServer:
    """A second fake host (127.0.0.2): another origin, for credential-leak tests."""
    return _module_other_server.reset()


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no config file and no JOBWATCH_* variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JOBWATCH_") and k not in ("NO_COLOR", "FORCE_COLOR")
           and not k.lower().endswith("_proxy")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=str(REPO), COLUMNS="120")
    env.update(extra)
    return env


def provider_env(fake: FakeServer, provider: str, **fields: str) -> dict[str, str]:
    """JOBWATCH_<PROVIDER>_* pointing at the fake server, with the test token."""
    values = {"base_url": fake.url, "token": TOKEN, **fields}
    if provider == "claret":
        values.setdefault("tenant", "acme")
    return {f"JOBWATCH_{provider.upper()}_{k.upper()}": v for k, v in values.items()}


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run `python -m jobwatch ARGS` in a clean environment, cwd tmp_path/work."""
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jobwatch", *args], cwd=work,
                              env=clean_env(tmp_path, **(env or {})), capture_output=True,
                              text=True, timeout=timeout, input=input)

    run.cwd = work  # type: ignore[attr-defined]
    return run


def assert_no_secret(result: subprocess.CompletedProcess[str], secret: str = TOKEN) -> None:
    assert secret not in result.stdout, result.stdout
    assert secret not in result.stderr, result.stderr


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int) -> None:
    """The documented exit code, a `jobwatch: error:` line, never a traceback, and never the
    token (every error path is a place it could leak from)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert "jobwatch: error:" in result.stderr, result.stderr
    assert_no_secret(result)
