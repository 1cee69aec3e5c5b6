"""The config file's schema (jobwatch/config_schema.py): what it refuses, and how it says so.

Most cases load a file in process (one error line per case, with its path and line); a few run
the CLI to show the exit code and the single `jobwatch: error:` line a user sees.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobwatch.config import (
    COMMON_FIELDS,
    PROFILE_FIELDS,
    PROVIDER_FIELDS,
    fields_of,
    load_defaults,
    load_file,
    resolve_profile,
)
from jobwatch.errors import ConfigError
from tests.conftest import TOKEN, assert_clean_error, provider_env


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def refusal(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_file(path, env={})
    return caught.value


# (file, the message after "path:line: ", the line) — each the first mistake in its file.
WRONG = [
    ('[claret.default]\ntenant = 5\n', "tenant must be a string", 2),
    ('[claret.default]\ntimeout = true\n', 'timeout must be a duration like "30m"', 2),
    ('[claret.default]\ninterval = [1]\n', 'interval must be a duration like "5s"', 2),
    ('[claret.default]\ntimeout = 1979-05-27\n', 'timeout must be a duration like "30m"', 2),
    ('[claret.default]\nverify = 1\n', "verify must be true, false or a CA bundle path", 2),
    ('[claret.default]\nheaders = "X-A: 1"\n', "headers must be a table of strings", 2),
    ('[claret.default]\nheaders = { X-A = 1 }\n', "headers must be a table of strings", 2),
    ('[claret.default]\n\n[claret.default.headers]\nX-A = "a"\nX-B = 2\n',
     "headers must be a table of strings", 5),
    ('[claret.default]\ntimeout = "5x"\n',
     "not a duration: '5x' (use forms like 90, 90s, 5m, 1h30m, 0.5)", 2),
    ('[claret.default]\ninterval = -2\n', "a duration cannot be negative: -2", 2),
    ('[claret.default]\ninterval = nan\n', "not a duration: nan", 2),
    ('[claret.default]\ntimeout = inf\n', "not a duration: inf", 2),
    ('[defaults]\ndownload_dir = false\n', "download_dir must be a string", 2),
    ('[defaults]\nnot_found_grace = "soon"\n', "not a duration: 'soon'", 2),
    ('[defaults]\nnot_found_grace = true\n', 'not_found_grace must be a duration like "2m"', 2),
    ('[defaults]\non_end = 5\n', "on_end must be a shell command", 2),
    ('[defaults]\non_end = "  "\n', "on_end must be a shell command", 2),
    ('[merchantops.default]\norganization_id = 123\n', "organization_id must be a string", 2),
    ('[claret.default]\ntenent = "a"\n', "unknown field 'tenent'", 2),
    ('[defaults]\ntimeout = "1m"\nretries = 3\n', "unknown field 'retries'", 3),
    # The first mistake in the file's order, not in the schema's.
    ('[claret.default]\ntenant = "a"\nverify = 2\ntimeout = false\n',
     "verify must be true, false or a CA bundle path", 3),
    ('[retailgrid.default]\ntoken_env = "X"\n\n[claret.default]\ntimeout = "x"\n'
     '[defaults]\ntimeout = true\n', "not a duration: 'x'", 5),
]


@pytest.mark.parametrize(("text", "says", "line"), WRONG)
def test_each_mistake_is_one_line_with_its_place(tmp_path, text, says, line) -> None:
    error = refusal(tmp_path, text)
    assert error.message.startswith(f"{tmp_path / 'c.toml'}:{line}: "), error.message
    assert says in error.message, error.message
    assert "\n" not in error.message
    assert "pydantic" not in error.message.lower() and "input should" not in error.message


@pytest.mark.parametrize(("text", "says", "hint"), [
    ("[defaults]\ntimeotu = 5\n", "unknown field 'timeotu'", "did you mean 'timeout'?"),
    ('[julep.default]\ntoken_env = "J"\ntenant = "acme"\n', "unknown field 'tenant'",
     "tenant is a field of claret profiles only"),
    ('[claret.default]\norganization_id = "org_1"\n', "unknown field 'organization_id'",
     "organization_id is a field of merchantops profiles only"),
    ('[retailgrid.default]\ntenant = "acme"\n', "unknown field 'tenant'",
     "tenant is a field of claret profiles only"),
    ("[merchantop.default]\n", "unknown section 'merchantop'", "did you mean 'merchantops'?"),
    ('[claret]\ntenant = "a"\n', "profiles are tables named [claret.<profile>]",
     "for example [claret.default]"),
    ('[claret.default]\ntoken = "a"\ntoken_command = "b"\n',
     "[claret.default] sets both token and token_command",
     "keep one of token, token_env, token_command"),
])
def test_hints_name_the_fix(tmp_path, text, says, hint) -> None:
    error = refusal(tmp_path, text)
    assert says in error.message, error.message
    assert error.hint and hint in error.hint, error.hint


def test_a_provider_field_is_valid_only_in_its_providers_profiles(tmp_path) -> None:
    for provider, own in PROVIDER_FIELDS.items():
        for field in PROFILE_FIELDS:
            if field in COMMON_FIELDS:
                continue
            text = f'[{provider}.default]\n{field} = "x"\n'
            if field in own:
                assert load_file(write(tmp_path, text), env={}).exists
            else:
                assert f"unknown field '{field}'" in refusal(tmp_path, text).message
    assert set(PROFILE_FIELDS) == {*COMMON_FIELDS, "tenant", "organization_id"}
    assert fields_of("claret") == (*COMMON_FIELDS, "tenant")
    assert fields_of("julep") == COMMON_FIELDS


def test_the_schema_and_the_field_tables_agree() -> None:
    from jobwatch.config import DEFAULTS_FIELDS
    from jobwatch.config_schema import ConfigFileTable, DefaultsTable

    assert set(DefaultsTable.model_fields) == set(DEFAULTS_FIELDS)
    for provider in PROVIDER_FIELDS:
        section = ConfigFileTable.model_fields[provider].annotation
        profile = section.__args__[1]  # dict[str, <provider>ProfileTable]
        assert set(profile.model_fields) == set(fields_of(provider))


def test_a_valid_file_keeps_values_as_written_with_their_lines(tmp_path) -> None:
    path = write(tmp_path, (
        '[defaults]\ntimeout = "30m"\nnot_found_grace = 90\non_end = "true"\n\n'
        '[claret.default]\ntenant = "acme"\ninterval = "5s"\nverify = false\n'
        'headers = { X-Team = "a" }\n'))
    config = load_file(path, env={})
    defaults = load_defaults(config)
    assert defaults.get("timeout") == "30m"  # config show shows what the user wrote
    timeout = defaults.duration("timeout")
    assert timeout is not None and (timeout.value, timeout.source) == (1800.0, f"{path}:2")
    grace = defaults.duration("not_found_grace")
    assert grace is not None and grace.value == 90.0
    assert defaults.duration("interval") is None
    profile = resolve_profile(config, "claret", "default", {})
    interval = profile.duration("interval")
    assert interval is not None and (interval.value, interval.source) == (5.0, f"{path}:8")
    assert profile.get("verify") is False and profile.get("headers") == {"X-Team": "a"}


def test_a_duration_from_the_environment_is_checked_like_the_files(tmp_path) -> None:
    config = load_file(write(tmp_path, '[claret.default]\ntenant = "a"\n'), env={})
    env = {"JOBWATCH_CLARET_TIMEOUT": "10 minutes"}
    with pytest.raises(ConfigError) as caught:
        resolve_profile(config, "claret", "default", env)
    assert caught.value.message == ("env JOBWATCH_CLARET_TIMEOUT: not a duration: '10 minutes' "
                                    "(use forms like 90, 90s, 5m, 1h30m, 0.5)")
    profile = resolve_profile(config, "claret", "default", {"JOBWATCH_CLARET_TIMEOUT": "2m"})
    timeout = profile.duration("timeout")
    assert timeout is not None and (timeout.value, timeout.source) == (
        120.0, "env JOBWATCH_CLARET_TIMEOUT")


def test_another_providers_field_in_the_environment_is_ignored_with_a_warning(tmp_path) -> None:
    config = load_file(write(tmp_path, ""), env={})
    warnings: list[str] = []
    env = {"JOBWATCH_JULEP_TENANT": "acme", "JOBWATCH_JULEP_TOKEN": TOKEN}
    profile = resolve_profile(config, "julep", "default", env, warn=warnings.append)
    assert "tenant" not in profile.values
    assert warnings == ["JOBWATCH_JULEP_TENANT is ignored: tenant is a field of claret "
                        "profiles only"]


# -- as a user sees it -------------------------------------------------------------------------


def test_tenant_in_a_julep_profile_is_exit_6_before_any_request(run_cli, fake, tmp_path) -> None:
    config = write(tmp_path, f'[julep.default]\nbase_url = "{fake.url}"\ntenant = "acme"\n')
    result = run_cli("--config", str(config), "status", "julep",
                     "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", env={"JOBWATCH_JULEP_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("jobwatch: error:")]
    assert line == f"jobwatch: error: {config}:3: unknown field 'tenant' for julep"
    assert fake.requests == []


def test_config_show_and_check_with_another_providers_field_in_the_environment(
        run_cli, fake) -> None:
    # JOBWATCH_JULEP_TENANT alone does not make a julep profile appear; with a token it does,
    # without the tenant, and `config check` says the variable is ignored.
    from tests.test_config_check import ACCEPTED, probe_path

    fake.route(probe_path("claret"), ACCEPTED["claret"])
    env = {**provider_env(fake, "claret"), "JOBWATCH_JULEP_TENANT": "acme"}
    shown = run_cli("config", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "[claret.default]" in shown.stdout and "[julep." not in shown.stdout
    checked = run_cli("config", "check", env=env)
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    assert "julep" not in checked.stdout

    fake.route(probe_path("julep"), ACCEPTED["julep"])
    env.update(provider_env(fake, "julep"))
    shown = run_cli("config", "show", env=env)
    julep = shown.stdout.split("[julep.default]")[1].split("\n[")[0]
    assert "tenant" not in julep and "base_url" in julep
    checked = run_cli("config", "check", env=env)
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    assert re.search(r"^julep\.default\s+ok\b", checked.stdout, re.MULTILINE), checked.stdout
    assert "JOBWATCH_JULEP_TENANT is ignored" in checked.stderr


def test_a_bad_configured_duration_is_exit_6_even_for_status(run_cli, fake, tmp_path) -> None:
    # Checked when the file is read: a command that does not use it still refuses the file.
    config = write(tmp_path, f'[claret.default]\nbase_url = "{fake.url}"\ntenant = "acme"\n'
                             'timeout = "30 min"\n')
    result = run_cli("--config", str(config), "status", "claret", "1",
                     env={"JOBWATCH_CLARET_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    assert f"{config}:4: not a duration: '30 min'" in result.stderr
    assert fake.requests == []
