"""The global options (--config, --profile/-p, --verbose/-v): Click parses them wherever they
stand, before the command or after it; the last one given wins, then the environment, then
the default. Nothing rewrites the arguments before Click."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TOKEN, assert_clean_error, provider_env
from tests.fakeserver import FakeServer, json_reply
from tests.helpers import RG_PATH, UUID, retailgrid
from tests.test_cli_status import PATHS, assert_ok, load, request_lines, route_payload, status


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


# -- where they stand --------------------------------------------------------------------------


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


def test_ids_after_a_double_dash_are_ids(run_cli, fake, tmp_path) -> None:
    fake.route("/api/jobs/-v/status", json_reply({"job_id": "-v", "status": "done"}))
    env = {"JOBWATCH_MERCHANTOPS_BASE_URL": fake.url, "JOBWATCH_MERCHANTOPS_TOKEN": TOKEN}
    result = run_cli("status", "merchantops", "--", "-v", env=env)
    assert result.returncode == 0, result.stderr
    assert fake.hits("/api/jobs/-v/status") == 1


def test_short_profile_glued_to_its_value_works_after_the_command(run_cli, fake,
                                                                  tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[retailgrid.staging]\nbase_url = "{fake.url}"\ntoken_env = "T"\n')
    fake.route(RG_PATH, json_reply(retailgrid(status="completed")))
    result = run_cli("status", "retailgrid", UUID, "-pstaging", "--config", str(config),
                     env={"T": TOKEN})
    assert result.returncode == 0, result.stderr


def test_global_options_after_the_command(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "conf.toml"
    config.write_text(
        "[claret.default]\n"
        'tenant = "wrong"\n'
        'base_url = "http://127.0.0.1:9"\n'
        'token_env = "NOPE_UNSET"\n'
        "\n"
        "[claret.staging]\n"
        f'base_url = "{fake.url}"\n'
        'tenant = "acme-staging"\n'
        'token_env = "STAGING_TOKEN"\n'
    )
    fake.route("/acme-staging/api/v1/imports/status/1", json_reply(load("claret/completed.json")))
    result = run_cli("status", "claret", "1", "-p", "staging", "--config", str(config), "-v",
                     env={"STAGING_TOKEN": TOKEN})
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == ["/acme-staging/api/v1/imports/status/1"]
    assert len(request_lines(result.stderr)) == 1


def test_global_options_with_equals_after_the_command(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "conf.toml"
    config.write_text(f'[julep.ci]\nbase_url = "{fake.url}"\ntoken_env = "CI_TOKEN"\n')
    payload = load("julep/failed.json")
    fake.route(PATHS["julep"].format(payload["id"]), json_reply(payload))
    result = run_cli("status", "julep", payload["id"], f"--config={config}", "--profile=ci",
                     env={"CI_TOKEN": TOKEN})
    assert_ok(result, 1)
    assert len(fake.requests) == 1


def test_combined_short_flags_after_the_command(run_cli, fake) -> None:
    # `-qv` is `-q -v`, and -v is a global option.
    route_payload(fake, "claret/completed.json")
    result = status(run_cli, fake, "claret", "12345", "-qv")
    assert_ok(result, 0)
    assert result.stdout == ""
    assert len(request_lines(result.stderr)) == 1


# -- the command line over the environment -----------------------------------------------------


def test_the_command_line_wins_over_the_environment(run_cli, fake, two_profiles) -> None:
    env = {"JOBWATCH_PROFILE": "ci", "JOBWATCH_CONFIG": str(two_profiles)}
    assert run_cli("status", "claret", "1", env=env).returncode == 0
    assert tenant_asked(fake) == ["envy"]
    fake.reset()
    fake.route("/stage/api/v1/imports/status/1", json_reply(claret_answer(1)))
    assert run_cli("status", "claret", "1", "-p", "staging", env=env).returncode == 0
    assert tenant_asked(fake) == ["stage"]


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


def test_empty_profile_and_config_env_vars_count_as_unset(run_cli, fake) -> None:
    provider, job_id, _ = route_payload(fake, "claret/completed.json")
    env = {**provider_env(fake, provider), "JOBWATCH_PROFILE": "", "JOBWATCH_CONFIG": ""}
    assert run_cli("status", provider, job_id, env=env).returncode == 0
    shown = run_cli("config", "show", env=env)  # through Typer
    assert shown.returncode == 0, shown.stderr


# -- mistakes: one usage line ------------------------------------------------------------------


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


@pytest.mark.parametrize("option", ["-p", "--profile", "--config"])
def test_a_global_option_without_its_value_says_so(run_cli, option) -> None:
    result = run_cli("status", "claret", "5", option)
    assert_clean_error(result, 2)
    assert f"Option '{option}' requires an argument." in result.stderr
    assert "run 'jobwatch status --help' for examples" in result.stderr


@pytest.mark.parametrize("args", [
    ("-p", "", "status", "claret", "1"),           # the hand parser's path
    ("status", "claret", "1", "--profile="),
    ("--config", "", "status", "claret", "1"),
    ("-p", "", "config", "show"),                  # Typer's path
    ("--config=", "config", "show"),
])
def test_an_empty_profile_or_config_is_a_usage_error(run_cli, fake, args) -> None:
    result = run_cli(*args, env=provider_env(fake, "claret"))
    assert_clean_error(result, 2)
    assert "got an empty one" in result.stderr
    assert fake.requests == []
