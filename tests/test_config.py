"""Config end to end: the TOML file, JOBWATCH_* overrides, token sources, and `jobwatch config`."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobwatch.config import load_file, resolve_profile, resolve_token
from jobwatch.errors import ConfigError
from tests.conftest import REPO, TOKEN, assert_clean_error, assert_no_secret, provider_env
from tests.fakeserver import FakeServer, json_reply
from tests.helpers import UUID, rg_status

PAYLOADS = Path(__file__).resolve().parent / "payloads"
CLARET_OK = json.loads((PAYLOADS / "claret/completed.json").read_text())
STATUS_PATH = "/{tenant}/api/v1/imports/status/12345"


def toml_str(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML for these values)."""
    return json.dumps(value)


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def route_ok(fake: FakeServer, tenant: str = "acme") -> str:
    path = STATUS_PATH.format(tenant=tenant)
    fake.route(path, json_reply(CLARET_OK))
    return path


def assert_ok(result: subprocess.CompletedProcess[str], code: int = 0) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert_no_secret(result)


def claret_file(tmp_path: Path, fake: FakeServer, body: str, name: str = "config.toml",
                mode: int = 0o600) -> Path:
    return write(tmp_path / name, f"[claret.default]\nbase_url = {toml_str(fake.url)}\n" + body,
                 mode)


# -- no file, environment only ---------------------------------------------------------------


def test_no_file_and_environment_only_works(run_cli, fake, tmp_path) -> None:
    path = route_ok(fake)
    assert not (tmp_path / "xdg" / "jobwatch" / "config.toml").exists()
    result = run_cli("status", "claret", "12345", env=provider_env(fake, "claret"))
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [path]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_explicit_missing_config_file_is_an_error(run_cli, fake, tmp_path) -> None:
    missing = tmp_path / "nope.toml"
    result = run_cli("--config", str(missing), "status", "claret", "12345",
                     env=provider_env(fake, "claret"))
    assert_clean_error(result, 6)
    assert str(missing) in result.stderr
    assert fake.requests == []


def test_jobwatch_config_env_names_the_file(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, 'tenant = "envfile"\ntoken_env = "MY_TOK"\n')
    path = route_ok(fake, "envfile")
    result = run_cli("status", "claret", "12345",
                     env={"JOBWATCH_CONFIG": str(config), "MY_TOK": TOKEN})
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [path]


def test_default_location_follows_xdg_config_home(run_cli, fake, tmp_path) -> None:
    xdg = tmp_path / "custom-xdg"
    (xdg / "jobwatch").mkdir(parents=True)
    claret_file(xdg / "jobwatch", fake, 'tenant = "xdg"\ntoken_env = "MY_TOK"\n')
    path = route_ok(fake, "xdg")
    result = run_cli("status", "claret", "12345", env={"XDG_CONFIG_HOME": str(xdg),
                                                       "MY_TOK": TOKEN})
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [path]


# -- malformed files -------------------------------------------------------------------------


def test_broken_toml_names_path_line_and_column(run_cli, fake, tmp_path) -> None:
    config = write(tmp_path / "broken.toml", '[claret.default]\ntenant = "acme"\nbase_url = \n')
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env=provider_env(fake, "claret"))
    assert_clean_error(result, 6)
    assert re.search(re.escape(str(config)) + r":3:\d+: invalid TOML", result.stderr), \
        result.stderr
    assert result.stderr.count("\n") <= 2  # one error line and a hint
    assert fake.requests == []


def test_non_utf8_file_is_a_config_error(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes(b'[claret.default]\ntenant = "caf\xe9"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert str(config) in result.stderr


def test_unknown_field_is_named_with_a_suggestion(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, 'tenent = "acme"\ntoken_env = "X"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env=provider_env(fake, "claret"))
    assert_clean_error(result, 6)
    assert "unknown field 'tenent'" in result.stderr
    assert "did you mean 'tenant'" in result.stderr
    assert f"{config}:3" in result.stderr  # the line of the bad field
    assert fake.requests == []


def test_unknown_field_in_defaults(run_cli, tmp_path) -> None:
    config = write(tmp_path / "c.toml", '[defaults]\ndownload_dri = "/tmp"\n')
    result = run_cli("--config", str(config), "config", "show")
    assert_clean_error(result, 6)
    assert "download_dri" in result.stderr and "download_dir" in result.stderr


def test_unknown_section_is_named_with_a_suggestion(run_cli, fake, tmp_path) -> None:
    config = write(tmp_path / "c.toml", '[clarett.default]\ntenant = "acme"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env=provider_env(fake, "claret"))
    assert_clean_error(result, 6)
    assert "unknown section 'clarett'" in result.stderr
    assert "did you mean 'claret'" in result.stderr
    assert fake.requests == []


def test_provider_section_without_profile_is_an_error(run_cli, tmp_path) -> None:
    config = write(tmp_path / "c.toml", '[claret]\ntenant = "acme"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "[claret.default]" in result.stderr or "[claret.<profile>]" in result.stderr


def test_wrong_field_type_is_an_error(run_cli, tmp_path) -> None:
    config = write(tmp_path / "c.toml", "[claret.default]\ntenant = 5\n")
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "tenant" in result.stderr


def test_two_token_sources_in_one_profile_is_an_error(run_cli, tmp_path) -> None:
    config = write(tmp_path / "c.toml",
                   '[claret.default]\ntenant = "a"\ntoken_env = "A"\ntoken_command = "b"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "token_env" in result.stderr and "token_command" in result.stderr


def test_a_literal_token_next_to_a_broken_line_stays_out_of_the_error(run_cli,
                                                                      tmp_path) -> None:
    for body in (f'[claret.default]\ntoken = "{TOKEN}"\ntenant = "acme\n',
                 f'[claret.default]\ntoken = "{TOKEN}"\ntennant = "acme"\n'):
        config = tmp_path / "c.toml"
        config.write_text(body)
        result = run_cli("status", "claret", "1", "--config", str(config))
        assert_clean_error(result, 6)
        assert_no_secret(result)


# -- profiles --------------------------------------------------------------------------------


def two_profiles(tmp_path: Path, fake: FakeServer) -> Path:
    return write(tmp_path / "profiles.toml", (
        "[claret.default]\n"
        f"base_url = {toml_str(fake.url)}\n"
        'tenant = "one"\n'
        'token_env = "TOK_ONE"\n'
        "\n"
        "[claret.staging]\n"
        f"base_url = {toml_str(fake.url)}\n"
        'tenant = "two"\n'
        'token_env = "TOK_TWO"\n'
    ))


def test_default_profile_is_used_without_flags(run_cli, fake, tmp_path) -> None:
    config = two_profiles(tmp_path, fake)
    route_ok(fake, "one")
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env={"TOK_ONE": TOKEN, "TOK_TWO": "tok_two_other"})
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [STATUS_PATH.format(tenant="one")]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("how", ["--profile", "-p", "env"])
def test_profile_selected_by_flag_or_env(run_cli, fake, tmp_path, how) -> None:
    config = two_profiles(tmp_path, fake)
    route_ok(fake, "two")
    env = {"TOK_ONE": "tok_one_other", "TOK_TWO": TOKEN}
    if how == "env":
        result = run_cli("--config", str(config), "status", "claret", "12345",
                         env={**env, "JOBWATCH_PROFILE": "staging"})
    else:
        result = run_cli("--config", str(config), how, "staging", "status", "claret", "12345",
                         env=env)
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [STATUS_PATH.format(tenant="two")]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_profile_flag_wins_over_env(run_cli, fake, tmp_path) -> None:
    config = two_profiles(tmp_path, fake)
    route_ok(fake, "one")
    result = run_cli("--config", str(config), "status", "claret", "12345", "-p", "default",
                     env={"TOK_ONE": TOKEN, "TOK_TWO": "x", "JOBWATCH_PROFILE": "staging"})
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [STATUS_PATH.format(tenant="one")]


def test_unknown_profile_is_a_config_error(run_cli, fake, tmp_path) -> None:
    config = two_profiles(tmp_path, fake)
    result = run_cli("--config", str(config), "-p", "prod", "status", "claret", "12345",
                     env={"TOK_ONE": TOKEN})
    assert_clean_error(result, 6)
    assert_no_secret(result)
    assert "unknown profile 'prod'" in result.stderr
    assert "default, staging" in result.stderr
    assert fake.requests == []


def test_a_misspelt_demo_profile_suggests_the_built_in_one(run_cli) -> None:
    result = run_cli("status", "claret@demx:1")
    assert_clean_error(result, 6)
    assert "unknown profile 'demx' for claret" in result.stderr
    assert "built in: demo" in result.stderr
    assert "hint: did you mean 'demo'?" in result.stderr


@pytest.mark.parametrize("base_url", [
    "https://user:pa55word@plan.example.com",
    "https://user:pa55word@plan.example.com/x#frag",
    "ftp://user:pa55word@plan.example.com",
    "https://admin:pa55/word@plan.example.com",  # a / in it: urlsplit sees a port
    "user:pa55word@plan.example.com",  # no scheme
    "https://user:pa55@word@plan.example.com",  # an @ in it
])
def test_a_password_in_a_base_url_is_never_printed(run_cli, tmp_path, base_url) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[claret.default]\nbase_url = "{base_url}"\ntoken = "t0ken-abc"\n'
                      'tenant = "acme"\n')
    shown = run_cli("--config", str(config), "config", "show")
    assert shown.returncode == 0, shown.stderr
    assert "pa55" not in shown.stdout and "***@plan.example.com" in shown.stdout
    for args in (["status", "claret", "1"], ["config", "check"]):
        result = run_cli("--config", str(config), *args)
        assert result.returncode == 6, result.stderr
        assert "pa55" not in result.stderr + result.stdout
        assert "carries a user name or password" in result.stderr + result.stdout


def test_config_show_prints_any_profile_name_as_toml(run_cli, tmp_path) -> None:
    from tests.test_docs import tomllib

    config = tmp_path / "c.toml"
    config.write_text('[claret."my team.x"]\nbase_url = "https://x.example"\n'
                      'token = "t0ken-abc"\ntenant = "acme"\n')
    shown = run_cli("--config", str(config), "config", "show")
    assert shown.returncode == 0, shown.stderr
    assert tomllib.loads(shown.stdout)["claret"]["my team.x"]["tenant"] == "acme"


def test_unknown_profile_from_env_without_file(run_cli, fake) -> None:
    result = run_cli("status", "claret", "12345",
                     env={**provider_env(fake, "claret"), "JOBWATCH_PROFILE": "prod"})
    assert_clean_error(result, 6)
    assert "prod" in result.stderr
    assert fake.requests == []


# -- missing and unusable fields -------------------------------------------------------------


def test_missing_tenant_hint_names_the_env_var(run_cli, fake) -> None:
    env = provider_env(fake, "claret")
    del env["JOBWATCH_CLARET_TENANT"]
    result = run_cli("status", "claret", "12345", env=env)
    assert_clean_error(result, 6)
    assert_no_secret(result)
    assert "tenant" in result.stderr
    assert "JOBWATCH_CLARET_TENANT" in result.stderr
    assert fake.requests == []


def test_missing_base_url_for_retailgrid(run_cli, fake) -> None:
    env = provider_env(fake, "retailgrid")
    del env["JOBWATCH_RETAILGRID_BASE_URL"]
    result = run_cli("status", "retailgrid", "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", env=env)
    assert_clean_error(result, 6)
    assert "JOBWATCH_RETAILGRID_BASE_URL" in result.stderr


def test_base_url_that_is_not_http_is_a_config_error(run_cli, fake) -> None:
    result = run_cli("status", "claret", "12345",
                     env=provider_env(fake, "claret", base_url="ftp://files.example"))
    assert_clean_error(result, 6)
    assert "ftp://files.example" in result.stderr


@pytest.mark.parametrize("suffix", ["?tenant=x", "#frag", "?"])
def test_a_base_url_with_a_query_or_fragment_is_a_config_error(run_cli, fake, suffix) -> None:
    result = rg_status(run_cli, fake, base_url=fake.url + "/v2" + suffix)
    assert_clean_error(result, 6)
    assert "query or a fragment" in result.stderr
    assert fake.requests == []


def test_missing_ca_bundle_is_a_config_error(run_cli, fake, tmp_path) -> None:
    result = run_cli("status", "claret", "12345",
                     env=provider_env(fake, "claret", verify=str(tmp_path / "no-ca.pem")))
    assert_clean_error(result, 6)
    assert "no-ca.pem" in result.stderr
    assert fake.requests == []


def test_missing_token_is_a_config_error(run_cli, fake) -> None:
    env = provider_env(fake, "claret")
    del env["JOBWATCH_CLARET_TOKEN"]
    result = run_cli("status", "claret", "12345", env=env)
    assert_clean_error(result, 6)
    assert "no token" in result.stderr
    assert "JOBWATCH_CLARET_TOKEN" in result.stderr
    assert fake.requests == []


def test_empty_token_names_its_variable(run_cli, fake) -> None:
    result = run_cli("status", "claret", "12345",
                     env=provider_env(fake, "claret", token=""))
    assert_clean_error(result, 6)
    assert "empty" in result.stderr
    assert "JOBWATCH_CLARET_TOKEN" in result.stderr
    assert fake.requests == []


def test_empty_token_env_variable_names_it(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, 'tenant = "acme"\ntoken_env = "EMPTY_TOK"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env={"EMPTY_TOK": ""})
    assert_clean_error(result, 6)
    assert "EMPTY_TOK" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize(("env", "hint"), [
    ({"JOBWATCH_CLARET_TOKEN": ""}, "set JOBWATCH_CLARET_TOKEN to your token, or unset it"),
    ({"JOBWATCH_CLARET_TOKEN_ENV": "EMPTY_TOK", "EMPTY_TOK": ""},
     "export EMPTY_TOK=<your token>"),
])
def test_an_empty_token_error_has_a_hint(run_cli, fake, env, hint) -> None:
    base = {k: v for k, v in provider_env(fake, "claret").items()
            if k != "JOBWATCH_CLARET_TOKEN"}
    result = run_cli("status", "claret", "12345", env={**base, **env})
    assert_clean_error(result, 6)
    assert f"hint: {hint}" in result.stderr


@pytest.mark.parametrize("bad", [f"{TOKEN}\n", f"{TOKEN}\nX-Evil: 1", f"{TOKEN}\r",
                                 f"\x1b[2J{TOKEN}", f"{TOKEN}\t", f"{TOKEN}\x7f"])
def test_token_with_control_characters_is_never_sent(run_cli, fake, bad) -> None:
    route_ok(fake)
    result = run_cli("status", "claret", "12345", env=provider_env(fake, "claret", token=bad))
    assert_clean_error(result, 6)
    assert_no_secret(result)
    assert "control character" in result.stderr or "newline" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize("token", [" tok_padded", "tok_padded ", "tök_non_ascii"])
def test_tokens_that_cannot_be_a_header_are_config_errors(run_cli, fake, token) -> None:
    result = run_cli("status", "claret", "1",
                     env=provider_env(fake, "claret", token=token))
    assert_clean_error(result, 6)
    assert "JOBWATCH_CLARET_TOKEN" in result.stderr
    assert fake.requests == []


def test_token_env_naming_an_unset_variable(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, 'tenant = "acme"\ntoken_env = "CLARET_TOKEN_UNSET"\n')
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "CLARET_TOKEN_UNSET" in result.stderr
    assert f"{config}:4" in result.stderr  # where token_env was set
    assert fake.requests == []


def test_organization_id_with_a_newline_is_a_config_error(run_cli, fake) -> None:
    result = run_cli("status", "merchantops", "j1",
                     env=provider_env(fake, "merchantops", organization_id="org_1\nX-Evil: 1"))
    assert_clean_error(result, 6)
    assert "organization_id" in result.stderr or "ORGANIZATION_ID" in result.stderr
    assert fake.requests == []


# -- token_command ---------------------------------------------------------------------------


def command_file(tmp_path: Path, fake: FakeServer, *argv: str) -> Path:
    return claret_file(tmp_path, fake,
                       f'tenant = "acme"\ntoken_command = {toml_str(shlex.join(argv))}\n')


def test_token_command_that_prints_the_token(run_cli, fake, tmp_path) -> None:
    config = command_file(tmp_path, fake, sys.executable, "-c", f"print({TOKEN!r})")
    path = route_ok(fake)
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [path]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_token_command_runs_without_a_shell(run_cli, fake, tmp_path) -> None:
    # "$HOME" is passed literally, not expanded: the token is exactly that text.
    config = command_file(tmp_path, fake, sys.executable, "-c",
                          "import sys; print('tok_' + sys.argv[1])", "$HOME")
    route_ok(fake)
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_ok(result, 0)
    assert fake.requests[0].headers["authorization"] == "Bearer tok_$HOME"


def test_token_command_that_fails(run_cli, fake, tmp_path) -> None:
    config = command_file(tmp_path, fake, sys.executable, "-c", "import sys; sys.exit(3)")
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "token_command" in result.stderr
    assert "exit code 3" in result.stderr
    assert fake.requests == []


def test_a_failing_token_commands_first_stderr_line_is_shown_redacted(run_cli, fake,
                                                                      tmp_path) -> None:
    # `pass` says why (gpg, a locked vault) on stderr; what it printed on stdout, maybe
    # a token, stays hidden even when stderr repeats it.
    script = ("import sys; print('tok_printed_123'); "
              "sys.stderr.write('\\ngpg: decryption failed for tok_printed_123: no secret key\\n"
              "second line\\n'); sys.exit(3)")
    config = command_file(tmp_path, fake, sys.executable, "-c", script)
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "exit code 3: gpg: decryption failed for ***: no secret key" in result.stderr
    assert "tok_printed_123" not in result.stderr and "second line" not in result.stderr


def test_token_command_not_found(run_cli, fake, tmp_path) -> None:
    config = command_file(tmp_path, fake, str(tmp_path / "no-such-helper"), "show", "x")
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "token_command" in result.stderr
    assert "no-such-helper" in result.stderr
    assert fake.requests == []


def test_token_command_that_hangs_is_stopped(monkeypatch, tmp_path) -> None:
    from jobwatch import config as config_module

    monkeypatch.setattr(config_module, "TOKEN_COMMAND_TIMEOUT", 0.3)
    path = tmp_path / "c.toml"
    hang = shlex.join([sys.executable, "-c", "import time; time.sleep(30)"])
    path.write_text(f'[claret.default]\ntenant = "a"\ntoken_command = {toml_str(hang)}\n')
    profile = resolve_profile(load_file(path, {}), "claret", "default", {})
    started = time.monotonic()
    with pytest.raises(ConfigError, match="did not finish within"):
        resolve_token(profile, {})
    assert time.monotonic() - started < 5


def test_token_command_that_prints_nothing(run_cli, fake, tmp_path) -> None:
    config = command_file(tmp_path, fake, sys.executable, "-c", "pass")
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert "token_command" in result.stderr
    assert "empty" in result.stderr
    assert fake.requests == []


def test_token_command_with_two_trailing_newlines_is_refused(run_cli, fake, tmp_path) -> None:
    config = command_file(tmp_path, fake, sys.executable, "-c", f"print({TOKEN!r} + '\\n')")
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_clean_error(result, 6)
    assert_no_secret(result)
    assert fake.requests == []


def test_token_command_from_the_environment(run_cli, fake) -> None:
    env = provider_env(fake, "claret")
    del env["JOBWATCH_CLARET_TOKEN"]
    env["JOBWATCH_CLARET_TOKEN_COMMAND"] = shlex.join([sys.executable, "-c",
                                                       f"print({TOKEN!r})"])
    route_ok(fake)
    result = run_cli("status", "claret", "12345", env=env)
    assert_ok(result, 0)
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# -- environment wins over the file ----------------------------------------------------------


def test_env_wins_over_file_fields(run_cli, fake, tmp_path) -> None:
    config = write(tmp_path / "c.toml", (
        "[claret.default]\n"
        'base_url = "http://127.0.0.1:9"\n'
        'tenant = "from-file"\n'
        'token_env = "FILE_TOK"\n'
    ))
    path = route_ok(fake, "from-env")
    result = run_cli("--config", str(config), "status", "claret", "12345", env={
        "FILE_TOK": "tok_from_file_wrong",
        **provider_env(fake, "claret", tenant="from-env"),
    })
    assert_ok(result, 0)
    assert [r.path for r in fake.requests] == [path]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "tok_from_file_wrong" not in json.dumps(fake.requests[0].headers)


def test_env_organization_id_wins_over_file(run_cli, fake, tmp_path) -> None:
    config = write(tmp_path / "c.toml", (
        "[merchantops.default]\n"
        f"base_url = {toml_str(fake.url)}\n"
        'organization_id = "org_file"\n'
        'token_env = "MO_TOK"\n'
    ))
    fake.route("/api/jobs/j1/status",
               json_reply(json.loads((PAYLOADS / "merchantops/status_completed.json")
                                     .read_text())))
    result = run_cli("--config", str(config), "status", "merchantops", "j1",
                     env={"MO_TOK": TOKEN, "JOBWATCH_MERCHANTOPS_ORGANIZATION_ID": "org_env"})
    assert_ok(result, 0)
    assert fake.requests[0].headers["x-organization-id"] == "org_env"


def test_empty_field_variables_count_as_unset(run_cli, fake) -> None:
    # A CI template left blank: JOBWATCH_CLARET_BASE_URL= must not wipe out the default.
    env = {**provider_env(fake, "claret"), "JOBWATCH_CLARET_BASE_URL": "",
           "JOBWATCH_CLARET_VERIFY": "", "JOBWATCH_CLARET_INTERVAL": ""}
    result = run_cli("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert '"https://plan.claret.app"  # default' in result.stdout
    assert "verify" not in result.stdout


# -- headers ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_file_headers_are_sent_and_never_shown(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, (
        'tenant = "acme"\ntoken_env = "T"\nheaders = { X-Api-Key = "hdr_secret_777" }\n'))
    fake.route(STATUS_PATH.format(tenant="acme"),
               json_reply({"error": "key hdr_secret_777 rejected"}, 500))
    result = run_cli("--config", str(config), "-v", "status", "claret", "12345",
                     env={"T": TOKEN})
    assert_clean_error(result, 7)
    assert fake.requests[0].headers["x-api-key"] == "hdr_secret_777"
    assert_no_secret(result, "hdr_secret_777")
    assert_no_secret(result)


@pytest.mark.parametrize(("name", "says"), [
    ("X Bad", "not a valid header name"), ("X:Y", "not a valid header name"),
    ("", "not a valid header name"), ("Content-Length", "cannot be set here"),
    ("authorization", "cannot be set here"), ("Host", "cannot be set here"),
])
def test_bad_or_reserved_header_names_are_config_errors(run_cli, fake, tmp_path, name,
                                                        says) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[retailgrid.default]\nbase_url = "{fake.url}"\n'
                      f'token = "{TOKEN}"\nheaders = {{ {json.dumps(name)} = "v" }}\n')
    config.chmod(0o600)
    result = run_cli("status", "retailgrid", UUID, "--config", str(config))
    assert_clean_error(result, 6)
    assert says in result.stderr and f"{config}:4" in result.stderr
    assert_no_secret(result)
    assert fake.requests == []


@pytest.mark.parametrize("table", [
    "[claret.default.headers]\nX-Team = \"a\"\nHost = \"evil\"\n",
    "[claret.default.headers]\nX-Team = \"a\"\n\"Host\" = \"evil\"\n",
])
def test_a_header_error_in_a_headers_table_points_at_its_line(run_cli, fake, tmp_path,
                                                              table) -> None:
    # The line of the header itself, not line 1 (the [claret.default] line).
    config = claret_file(tmp_path, fake, 'tenant = "acme"\n' + table)
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env={"JOBWATCH_CLARET_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    assert f"headers ({config}:6): Host cannot be set here" in result.stderr
    assert fake.requests == []


def test_a_bad_header_value_in_a_headers_table_points_at_its_line(run_cli, fake,
                                                                  tmp_path) -> None:
    config = claret_file(tmp_path, fake, 'tenant = "acme"\n\n[claret.default.headers]\n'
                         'X-Team = "a"\nX-Bad = " spaced "\n')
    result = run_cli("--config", str(config), "status", "claret", "12345",
                     env={"JOBWATCH_CLARET_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    assert f"headers.X-Bad ({config}:7)" in result.stderr


# -- literal token permissions ---------------------------------------------------------------


def test_literal_token_in_a_world_readable_file_warns_once(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, f'tenant = "acme"\ntoken = {toml_str(TOKEN)}\n',
                         mode=0o644)
    route_ok(fake)
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_ok(result, 0)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("jobwatch: warning:")
    assert str(config) in warnings[0] and "chmod 600" in warnings[0]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_literal_token_in_a_private_file_does_not_warn(run_cli, fake, tmp_path) -> None:
    config = claret_file(tmp_path, fake, f'tenant = "acme"\ntoken = {toml_str(TOKEN)}\n',
                         mode=0o600)
    route_ok(fake)
    result = run_cli("--config", str(config), "status", "claret", "12345")
    assert_ok(result, 0)
    assert result.stderr == ""


def test_the_readable_token_file_warning_is_given_once(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("".join(
        f'[claret.{name}]\nbase_url = "{fake.url}"\ntenant = "acme"\ntoken = "{TOKEN}"\n'
        for name in ("default", "staging", "prod")))
    config.chmod(0o644)
    result = run_cli("config", "check", "--config", str(config))
    assert result.stderr.count("is readable by others") == 1, result.stderr
    assert_no_secret(result)


# -- config path -----------------------------------------------------------------------------


def test_config_path_follows_xdg_config_home(run_cli, tmp_path) -> None:
    xdg = tmp_path / "elsewhere"
    result = run_cli("config", "path", env={"XDG_CONFIG_HOME": str(xdg)})
    assert_ok(result, 0)
    assert result.stdout == f"{xdg / 'jobwatch' / 'config.toml'}\n"


def test_config_path_with_explicit_file(run_cli, tmp_path) -> None:
    config = write(tmp_path / "mine.toml", "")
    result = run_cli("--config", str(config), "config", "path")
    assert_ok(result, 0)
    assert result.stdout == f"{config}\n"
    result = run_cli("config", "path", env={"JOBWATCH_CONFIG": str(config)})
    assert_ok(result, 0)
    assert result.stdout == f"{config}\n"


def test_config_path_of_a_file_not_yet_created(run_cli, tmp_path) -> None:
    config = tmp_path / "new.toml"
    result = run_cli("--config", str(config), "config", "path")
    assert_ok(result, 0)
    assert result.stdout == f"{config}\n"


def test_config_path_of_a_broken_file(run_cli, tmp_path) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "jobwatch").mkdir(parents=True)
    write(xdg / "jobwatch" / "config.toml", "[claret.default\n")
    result = run_cli("config", "path")
    assert_ok(result, 0)
    assert result.stdout == f"{xdg / 'jobwatch' / 'config.toml'}\n"


def test_config_path_init_and_loading_choose_the_same_file(tmp_path, monkeypatch) -> None:
    from jobwatch.config import choose_path
    from jobwatch.runtime import Runtime
    from jobwatch.settings_view import check_command

    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"JOBWATCH_CONFIG": str(tmp_path / "from-env.toml")}
    assert choose_path("~/x.toml", env) == (tmp_path / "x.toml", True)
    assert choose_path(None, env) == (tmp_path / "from-env.toml", True)
    assert choose_path(None, {**env, "JOBWATCH_CONFIG": ""})[1] is False
    runtime = Runtime.from_options(config="~/x.toml", profile=None, verbose=False, env=env)
    assert runtime.config_file_path() == tmp_path / "x.toml"
    assert check_command(runtime) == "jobwatch --config '~/x.toml' config check"
    plain = Runtime.from_options(config=None, profile=None, verbose=False, env={})
    assert check_command(plain) == "jobwatch config check"


# -- config show -----------------------------------------------------------------------------


def test_config_show_redacts_secrets_and_names_sources(run_cli, tmp_path) -> None:
    config = write(tmp_path / "show.toml", (
        "[defaults]\n"
        'timeout = "30m"\n'
        "\n"
        "[claret.default]\n"
        'tenant = "acme"\n'
        f"token = {toml_str(TOKEN)}\n"
        'headers = { X-Api-Key = "hdr_secret_777", X-Trace = "hdr_secret_888" }\n'
        "\n"
        "[claret.staging]\n"
        'tenant = "acme-staging"\n'
        'token_env = "STAGING_TOK"\n'
    ), mode=0o644)
    result = run_cli("--config", str(config), "config", "show", env={
        "JOBWATCH_CLARET_BASE_URL": "http://127.0.0.1:1234",
        "JOBWATCH_MERCHANTOPS_TOKEN": "mo_secret_token_55",
    })
    assert_ok(result, 0)
    for secret in ("hdr_secret_777", "hdr_secret_888", "mo_secret_token_55"):
        assert_no_secret(result, secret)
    out = result.stdout
    lines = out.splitlines()

    def line(prefix: str, section: str) -> str:
        start = lines.index(section)
        for text in lines[start + 1:]:
            if text.startswith("["):
                break
            if text.startswith(prefix):
                return text
        raise AssertionError(f"{prefix} not in {section}:\n{out}")

    assert str(config) in lines[0]
    assert line("timeout", "[defaults]").endswith(f"# {config}:2")
    assert line("tenant", "[claret.default]") == f'tenant = "acme"  # {config}:5'
    token = line("token", "[claret.default]")
    assert "***" in token and token.endswith(f"# {config}:6")
    headers = line("headers", "[claret.default]")
    assert "X-Api-Key" in headers and "X-Trace" in headers and "***" in headers
    assert headers.endswith(f"# {config}:7")
    assert line("base_url", "[claret.default]") == \
        'base_url = "http://127.0.0.1:1234"  # env JOBWATCH_CLARET_BASE_URL'
    assert "STAGING_TOK" in line("token_env", "[claret.staging]")
    assert "NOT SET" in line("token_env", "[claret.staging]")
    # What it prints is TOML: a file could be started from it.
    from tests.test_docs import tomllib

    shown = tomllib.loads(out)
    assert shown["claret"]["staging"]["token_env"] == "STAGING_TOK"
    assert shown["claret"]["default"]["headers"]["X-Api-Key"] == "***"
    # A provider configured by the environment alone shows up, with its defaults.
    assert line("base_url", "[merchantops.default]") == \
        'base_url = "https://api.merchantops.ai"  # default'
    mo_token = line("token", "[merchantops.default]")
    assert "***" in mo_token and mo_token.endswith("# env JOBWATCH_MERCHANTOPS_TOKEN")
    assert "[julep." not in out and "[retailgrid." not in out
    assert "warning" not in result.stderr


def test_config_show_never_runs_token_command(run_cli, tmp_path) -> None:
    marker = tmp_path / "ran"
    command = shlex.join([sys.executable, "-c",
                          f"open({str(marker)!r}, 'w').write('x'); print('tok_cmd_secret')"])
    config = write(tmp_path / "c.toml",
                   f'[claret.default]\ntenant = "a"\ntoken_command = {toml_str(command)}\n')
    result = run_cli("--config", str(config), "config", "show")
    assert_ok(result, 0)
    assert "token_command" in result.stdout
    assert not marker.exists()


def test_config_show_of_a_broken_file(run_cli, tmp_path) -> None:
    config = write(tmp_path / "c.toml", '[claret.default]\ntenant = "a\n')
    result = run_cli("--config", str(config), "config", "show")
    assert_clean_error(result, 6)
    assert re.search(re.escape(str(config)) + r":2:\d+", result.stderr)


@pytest.mark.parametrize("text", ["[claret.default]\ntenant = 'a\n",
                                  '[claret.default]\ntenant = "a'])
def test_broken_toml_at_end_of_document_still_has_line_and_column(run_cli, tmp_path,
                                                                   text) -> None:
    config = write(tmp_path / "c.toml", text)
    result = run_cli("--config", str(config), "status", "claret", "1")
    assert_clean_error(result, 6)
    assert re.search(re.escape(str(config)) + r":[23]:\d+: invalid TOML", result.stderr), \
        result.stderr


# -- config init -----------------------------------------------------------------------------


def test_config_init_writes_a_private_file_that_loads(run_cli, fake, tmp_path) -> None:
    target = tmp_path / "sub" / "dir" / "config.toml"
    result = run_cli("--config", str(target), "config", "init")
    assert_ok(result, 0)
    assert str(target) in result.stderr
    assert f"then try: jobwatch --config {target} config check" in result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.toml"]  # no .part
    loaded = load_file(target, env={})
    assert loaded.exists and "defaults" in loaded.data
    result = run_cli("--config", str(target), "config", "show")
    assert_ok(result, 0)
    # The starter, with one profile added, drives a real request.
    with target.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[claret.default]\nbase_url = {toml_str(fake.url)}\ntenant = "acme"\n'
                     'token_env = "T"\n')
    route_ok(fake)
    result = run_cli("--config", str(target), "status", "claret", "12345", env={"T": TOKEN})
    assert_ok(result, 0)


def test_config_init_at_the_default_location(run_cli, tmp_path) -> None:
    xdg = tmp_path / "fresh-xdg"
    result = run_cli("config", "init", env={"XDG_CONFIG_HOME": str(xdg)})
    assert_ok(result, 0)
    assert "then try: jobwatch config check" in result.stderr
    target = xdg / "jobwatch" / "config.toml"
    assert target.is_file()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_config_init_refuses_to_overwrite_then_force(run_cli, tmp_path) -> None:
    target = tmp_path / "config.toml"
    assert run_cli("--config", str(target), "config", "init").returncode == 0
    target.write_text("# my edits\n", encoding="utf-8")
    result = run_cli("--config", str(target), "config", "init")
    assert_clean_error(result, 6)
    assert "--force" in result.stderr
    assert target.read_text() == "# my edits\n"
    result = run_cli("--config", str(target), "config", "init", "--force")
    assert_ok(result, 0)
    assert target.read_text() != "# my edits\n"
    assert "defaults" in load_file(target, env={}).data
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_config_init_force_repairs_a_broken_file(run_cli, tmp_path) -> None:
    # The hint of a TOML error promises this works.
    target = write(tmp_path / "c.toml", "[claret.default\n", mode=0o644)
    result = run_cli("--config", str(target), "config", "init", "--force")
    assert_ok(result, 0)
    assert load_file(target, env={}).exists
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_config_init_does_not_follow_a_planted_symlink(run_cli, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    target = tmp_path / "config.toml"
    os.symlink(victim, target)
    result = run_cli("--config", str(target), "config", "init")
    assert_clean_error(result, 6)
    assert victim.read_text() == "keep me\n"


# -- config check ----------------------------------------------------------------------------


CLARET_PROBE = "/acme/api/v1/imports/status/0"


def claret_probe_ok(fake: FakeServer) -> None:
    # Claret's documented answer for a job it does not know: the tenant, route and token are
    # right. A bare 404 proves nothing (tests/test_config_check.py).
    fake.route(CLARET_PROBE, json_reply(
        json.loads((PAYLOADS / "claret/not_found_422.json").read_text()), 422))


def test_config_check_with_a_good_token(run_cli, fake) -> None:
    claret_probe_ok(fake)
    result = run_cli("config", "check", env=provider_env(fake, "claret"))
    assert_ok(result, 0)
    [line] = [text for text in result.stdout.splitlines() if text.strip()]
    assert line.startswith("claret.default")
    assert " ok " in line
    assert "JOBWATCH_CLARET_TOKEN" in line
    assert len(fake.requests) == 1
    assert fake.requests[0].path == CLARET_PROBE
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_config_check_says_not_found_for_a_bare_404(run_cli, fake) -> None:
    # No route: a 404 means a wrong base_url or tenant, whatever the token (it used to be "ok").
    result = run_cli("config", "check", env=provider_env(fake, "claret"))
    assert_ok(result, 6)
    assert re.search(r"^claret\.default\s+not found\b.*check base_url and tenant",
                     result.stdout, re.MULTILINE), result.stdout


def test_config_check_with_a_bad_token(run_cli, fake) -> None:
    fake.route("/acme/api/v1/imports/status/0",
               json_reply({"message": f"Unauthenticated {TOKEN}"}, 401))
    result = run_cli("config", "check", env=provider_env(fake, "claret"))
    assert_ok(result, 5)
    assert_no_secret(result)
    assert "auth refused" in result.stdout
    assert "claret.default" in result.stdout


def test_config_check_reports_each_profile(run_cli, fake, tmp_path) -> None:
    config = write(tmp_path / "c.toml", (
        "[claret.default]\n"
        f"base_url = {toml_str(fake.url)}\n"
        'tenant = "acme"\n'
        'token_env = "GOOD"\n'
        "\n"
        "[claret.broken]\n"
        f"base_url = {toml_str(fake.url)}\n"
        'tenant = "acme"\n'
        'token_env = "UNSET_TOK"\n'
    ))
    claret_probe_ok(fake)
    result = run_cli("--config", str(config), "config", "check", env={"GOOD": TOKEN})
    assert_ok(result, 6)
    out = result.stdout
    assert re.search(r"^claret\.default\s+ok\b", out, re.MULTILINE), out
    assert re.search(r"^claret\.broken\s+config error\b.*UNSET_TOK", out, re.MULTILINE), out


def test_config_check_with_a_profile_checks_that_profile_only(run_cli, fake, tmp_path) -> None:
    # Only the profile named: checking every one, -p unsaid, would hide which one was meant.
    config = write(tmp_path / "c.toml", (
        f'[claret.default]\nbase_url = {toml_str(fake.url)}\ntenant = "acme"\n'
        'token_env = "UNSET_TOK"\n\n'
        f'[claret.staging]\nbase_url = {toml_str(fake.url)}\ntenant = "acme"\n'
        'token_env = "GOOD"\n'))
    claret_probe_ok(fake)
    result = run_cli("--config", str(config), "config", "check", "-p", "staging",
                     env={"GOOD": TOKEN})
    assert_ok(result, 0)
    assert re.search(r"^claret\.staging\s+ok\b", result.stdout, re.MULTILINE), result.stdout
    assert "claret.default" not in result.stdout
    unknown = run_cli("--config", str(config), "config", "check", "-p", "prod")
    assert_clean_error(unknown, 6)
    assert "no profile named 'prod'" in unknown.stderr


def test_the_token_source_has_one_wording(run_cli, fake, tmp_path) -> None:
    # Not "env JOBWATCH_CLARET_TOKEN" on one row and "environment variable GOOD" on another.
    config = write(tmp_path / "c.toml", (
        f'[claret.default]\nbase_url = {toml_str(fake.url)}\ntenant = "acme"\n'
        'token_env = "GOOD"\n'))
    claret_probe_ok(fake)
    result = run_cli("--config", str(config), "config", "check", env={"GOOD": TOKEN})
    assert_ok(result, 0)
    assert "token from env GOOD" in result.stdout
    assert "environment variable" not in result.stdout


def test_config_check_without_profiles(run_cli) -> None:
    result = run_cli("config", "check")
    assert_clean_error(result, 6)


# -- the example file ------------------------------------------------------------------------


def test_config_example_loads(run_cli) -> None:
    example = REPO / "config.example.toml"
    if not example.exists():
        pytest.skip("no config.example.toml at the repository root")
    loaded = load_file(example, env={})
    assert loaded.exists
    for provider, body in loaded.data.items():
        if provider == "defaults":
            continue
        for name in body:
            resolve_profile(loaded, provider, name, {})  # every profile resolves
    result = run_cli("--config", str(example), "config", "show")
    assert_ok(result, 0)


# -- resolve_token in process (sources named in errors) --------------------------------------


def test_resolve_token_names_its_source(tmp_path) -> None:
    config = load_file(write(tmp_path / "c.toml",
                             '[julep.default]\ntoken_env = "JT"\n'), env={})
    profile = resolve_profile(config, "julep", "default", {})
    token = resolve_token(profile, {"JT": "tok_x"})
    assert token.value == "tok_x"
    assert "JT" in token.source


def test_config_show_with_a_profile_shows_that_profile_only(run_cli, fake, tmp_path) -> None:
    config = two_profiles(tmp_path, fake)
    staging = run_cli("--config", str(config), "config", "show", "-p", "staging")
    assert staging.returncode == 0, staging.stderr
    assert "[claret.staging]" in staging.stdout and "[claret.default]" not in staging.stdout
    every = run_cli("--config", str(config), "config", "show")
    assert "[claret.staging]" in every.stdout and "[claret.default]" in every.stdout
    unknown = run_cli("--config", str(config), "config", "show", "-p", "nosuch")
    assert_clean_error(unknown, 6)
    assert "no profile named 'nosuch' to show" in unknown.stderr
    demo = run_cli("--config", str(config), "config", "show", "-p", "demo")
    assert demo.returncode == 0 and "jobwatch demo --serve" in demo.stdout
