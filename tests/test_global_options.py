"""The global options (--config, --profile/-p, --verbose/-v): Click parses them wherever they
stand, before the command or after it; the last one given wins, then the environment, then
the default. Nothing rewrites the arguments before Click."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TOKEN, assert_clean_error
from tests.fakeserver import FakeServer, json_reply


def claret_answer(job_id: int, status: str = "completed") -> dict:
    return {"message": "ok", "content": {"job_log_id": job_id, "status": status}}


@pytest.fixture
def two_profiles(fake: FakeServer, tmp_path: Path) -> Path:
    """A config with claret profiles `default` (tenant home) and `staging` (tenant stage)."""
    for tenant in ("home", "stage", "envy"):
        fake.route(f"/{tenant}/api/v1/imports/status/1", json_reply(claret_answer(1)))
    config = tmp_path / "jobwatch.toml"
    config.write_text(
        f'[claret.default]\nbase_url = "{fake.url}"\ntenant = "home"\ntoken = "{TOKEN}"\n\n'
        f'[claret.staging]\nbase_url = "{fake.url}"\ntenant = "stage"\ntoken = "{TOKEN}"\n\n'
        f'[claret.ci]\nbase_url = "{fake.url}"\ntenant = "envy"\ntoken = "{TOKEN}"\n',
        encoding="utf-8")
    config.chmod(0o600)
    return config


def tenant_asked(fake: FakeServer) -> list[str]:
    return [t for t in ("home", "stage", "envy")
            if fake.hits(f"/{t}/api/v1/imports/status/1")]


@pytest.mark.parametrize(("argv", "tenant"), [
    (["status", "claret", "1"], "home"),
    (["status", "claret", "1", "-p", "staging"], "stage"),
    (["status", "claret", "1", "-pstaging"], "stage"),
    (["status", "claret", "1", "--profile=staging"], "stage"),
    (["status", "claret", "1", "-vp", "staging"], "stage"),
    (["status", "claret", "1", "-qvp", "staging"], "stage"),
    (["-p", "staging", "status", "claret", "1"], "stage"),
    (["-p", "ci", "status", "claret", "1", "-p", "staging"], "stage"),  # the last one given
    (["status", "-p", "staging", "claret", "1"], "stage"),
    (["status", "claret:1", "-p", "staging"], "stage"),
    (["status", "claret@ci:1", "-p", "staging"], "envy"),  # a reference's own profile wins
])
def test_the_profile_is_taken_wherever_it_stands(run_cli, fake, two_profiles, argv,
                                                 tenant) -> None:
    result = run_cli("--config", str(two_profiles), *argv)
    assert result.returncode == 0, result.stderr
    assert tenant_asked(fake) == [tenant]


def test_the_command_line_wins_over_the_environment(run_cli, fake, two_profiles) -> None:
    env = {"JOBWATCH_PROFILE": "ci", "JOBWATCH_CONFIG": str(two_profiles)}
    assert run_cli("status", "claret", "1", env=env).returncode == 0
    assert tenant_asked(fake) == ["envy"]
    fake.reset()
    fake.route("/stage/api/v1/imports/status/1", json_reply(claret_answer(1)))
    assert run_cli("status", "claret", "1", "-p", "staging", env=env).returncode == 0
    assert tenant_asked(fake) == ["stage"]


def test_the_config_option_after_the_command(run_cli, fake, two_profiles) -> None:
    result = run_cli("status", "claret", "1", "--config", str(two_profiles), "--json")
    assert result.returncode == 0, result.stderr
    assert tenant_asked(fake) == ["home"]


@pytest.mark.parametrize("argv", [
    ["status", "claret", "1", "-v"],
    ["-v", "status", "claret", "1"],
    ["status", "claret", "1", "--verbose"],
    ["status", "claret", "1", "-qv"],
])
def test_verbose_before_or_after_the_command(run_cli, fake, two_profiles, argv) -> None:
    result = run_cli("--config", str(two_profiles), *argv)
    assert result.returncode == 0, result.stderr
    assert "GET http://" in result.stderr  # the request line
    assert TOKEN not in result.stderr


def test_a_value_that_looks_like_an_option_is_the_value(run_cli, fake, two_profiles) -> None:
    # The old pre-parser said "option '-p' needs a value"; Click takes -p as the directory.
    fake.route("/home/api/v1/imports/status/1", json_reply(
        {"message": "ok", "content": {"job_log_id": 1, "status": "completed",
                                      "files": {"output": ["/home/f/out.csv"]}}}))
    fake.route("/home/f/out.csv", json_reply({"x": 1}))
    result = run_cli("--config", str(two_profiles), "download", "claret", "1",
                     "--download-dir", "-p")
    assert result.returncode == 0, result.stderr
    assert (run_cli.cwd / "-p" / "claret-1" / "output" / "out.csv").is_file()


def test_artifacts_keeps_its_value_before_a_short_flag(run_cli, fake, two_profiles) -> None:
    # `--artifacts -v`: -v is the value Click gives --artifacts, an unknown category (2).
    result = run_cli("--config", str(two_profiles), "download", "claret", "1",
                     "--artifacts", "-v")
    assert_clean_error(result, 2)
    assert "unknown artifact categories: -v" in result.stderr


@pytest.mark.parametrize(("argv", "words"), [
    (["status", "claret", "1", "-p"], "requires an argument"),
    (["status", "claret", "1", "--config"], "requires an argument"),
    (["status", "claret", "1", "-x"], "No such option"),
    (["status", "claret", "1", "--profile="], "empty"),
])
def test_a_bad_global_option_after_the_command_is_one_usage_line(run_cli, argv,
                                                                 words) -> None:
    result = run_cli(*argv)
    assert_clean_error(result, 2)
    assert words in result.stderr
    assert len([ln for ln in result.stderr.splitlines() if ln.startswith("jobwatch:")]) == 1


def test_ids_after_a_double_dash_are_ids(run_cli, fake, tmp_path) -> None:
    fake.route("/api/jobs/-v/status", json_reply({"job_id": "-v", "status": "done"}))
    env = {"JOBWATCH_MERCHANTOPS_BASE_URL": fake.url, "JOBWATCH_MERCHANTOPS_TOKEN": TOKEN}
    result = run_cli("status", "merchantops", "--", "-v", env=env)
    assert result.returncode == 0, result.stderr
    assert fake.hits("/api/jobs/-v/status") == 1


@pytest.mark.parametrize(("config", "profile", "env", "expected"), [
    (None, None, {}, (None, "default", False)),
    (None, None, {"JOBWATCH_CONFIG": "", "JOBWATCH_PROFILE": ""}, (None, "default", False)),
    (None, None, {"JOBWATCH_CONFIG": "e.toml", "JOBWATCH_PROFILE": "ci"}, ("e.toml", "ci", True)),
    ("f.toml", "dev", {"JOBWATCH_CONFIG": "e.toml", "JOBWATCH_PROFILE": "ci"},
     ("f.toml", "dev", True)),
])
def test_runtime_from_options_puts_the_command_line_over_the_environment(
        config, profile, env, expected) -> None:
    from jobwatch.runtime import Runtime

    runtime = Runtime.from_options(config=config, profile=profile, verbose=False, env=env)
    assert (runtime.config_path, runtime.profile, runtime.profile_chosen) == expected


# -- what a start imports ------------------------------------------------------------------

PROBE = """
import sys
from jobwatch.__main__ import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.__stderr__.write("MODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


def imported_by(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **(env or {})})
    line = [x for x in result.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(line.split()[1:])


def heavy(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in modules for n in names if m == n or m.startswith(n + ".")}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["status", "--help"]])
def test_version_and_help_import_nothing_heavy(args: list[str]) -> None:
    assert heavy(imported_by(args), ("httpx", "httpcore", "rich.live", "rich.progress",
                                     "jobwatch.models", "jobwatch.adapters")) == set()


def test_version_imports_not_even_typer() -> None:
    assert heavy(imported_by(["--version"]), ("typer", "rich", "jobwatch.commands")) == set()


def test_a_status_imports_no_live_display(fake) -> None:
    fake.route("/acme/api/v1/imports/status/1", json_reply(claret_answer(1)))
    env = {"JOBWATCH_CLARET_BASE_URL": fake.url, "JOBWATCH_CLARET_TOKEN": "tok_x",
           "JOBWATCH_CLARET_TENANT": "acme"}
    modules = imported_by(["status", "claret", "1", "--json"], env)
    assert "httpx" in modules  # it did make its request
    assert heavy(modules, ("rich.live", "rich.progress", "rich.table", "jobwatch.live",
                           "jobwatch.engine", "jobwatch.demo")) == set()
