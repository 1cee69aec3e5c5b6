"""Hostile answers, hostile environments and closed streams, end to end: each ends in the
documented exit code with one clean line, and never prints a secret."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import (
    TOKEN,
    assert_clean_error,
    assert_no_secret,
    clean_env,
    provider_env,
    within,
)
from tests.fakeserver import Reply, json_reply
from tests.helpers import wait_for_requests

UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
RG_PATH = f"/v1/jobs/{UUID}"


def retailgrid(status: str = "processing", **fields: object) -> dict[str, object]:
    return {"job_id": UUID, "status": status, "progress": 40, "error_message": None,
            "job_type": "bulk_upsert", "created_at": "2024-01-01T10:00:00Z", **fields}


def rg_status(run_cli, fake, *args: str, **fields: str):
    return run_cli("status", "retailgrid", UUID, *args,
                   env=provider_env(fake, "retailgrid", **fields))


def strict_json(text: str) -> object:
    """JSON as a strict parser (jq, JavaScript, Go) reads it: no NaN, no Infinity."""
    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


# -- what the provider sends -------------------------------------------------------------------


def test_a_lone_surrogate_from_the_provider_is_printed_as_a_replacement(run_cli, fake) -> None:
    body = json.dumps(retailgrid(error_message="bad \ud800 text")).encode()
    assert b"\\ud800" in body
    fake.route(RG_PATH, Reply(200, body, {"Content-Type": "application/json"}))
    human = rg_status(run_cli, fake)
    assert human.returncode == 3, human.stderr  # still running: not an internal error
    assert "bad \ufffd text" in human.stdout
    as_json = rg_status(run_cli, fake, "--json")
    assert as_json.returncode == 3, as_json.stderr
    assert strict_json(as_json.stdout)["message"] == "bad \ufffd text"


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


def test_the_summary_shows_the_id_asked_for_not_escape_codes_from_the_answer(run_cli,
                                                                             fake) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(job_id="\x1b]0;PWNED\x07\x1b[31mRED")))
    for args in ((), ("--json",)):
        result = rg_status(run_cli, fake, *args)
        assert result.returncode == 3, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert UUID in result.stdout


def test_a_token_the_provider_echoes_back_is_never_printed(run_cli, fake) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(
        status="failed", error_message=f"token {TOKEN} is revoked")))
    for args in ((), ("--json",)):
        result = rg_status(run_cli, fake, *args)
        assert result.returncode == 1, result.stderr
        assert_no_secret(result)
        assert "token *** is revoked" in result.stdout


def test_a_retry_after_longer_than_status_waits_gives_up_at_once(run_cli, fake) -> None:
    fake.route(RG_PATH, Reply(429, b"slow down", {"Retry-After": "100"}))
    started = time.monotonic()
    result = rg_status(run_cli, fake)
    assert time.monotonic() - started < 10
    assert_clean_error(result, 7)
    assert "asks to retry in 100s" in result.stderr
    assert fake.hits(RG_PATH) == 1  # never asked again before the provider said to


# -- what the user configures ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["?tenant=x", "#frag", "?"])
def test_a_base_url_with_a_query_or_fragment_is_a_config_error(run_cli, fake, suffix) -> None:
    result = rg_status(run_cli, fake, base_url=fake.url + "/v2" + suffix)
    assert_clean_error(result, 6)
    assert "query or a fragment" in result.stderr
    assert fake.requests == []


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


def test_a_verify_file_that_is_not_a_ca_bundle_is_a_config_error(run_cli, fake,
                                                                 tmp_path) -> None:
    bogus = tmp_path / "not-a-ca.pem"
    bogus.write_text("just some text\n")
    result = rg_status(run_cli, fake, verify=str(bogus))
    assert_clean_error(result, 6)
    assert "is not a CA bundle jobwatch can load" in result.stderr
    assert "JOBWATCH_RETAILGRID_VERIFY" in result.stderr


def test_a_verify_file_that_is_a_ca_bundle_is_used(run_cli, fake) -> None:
    import certifi

    fake.route(RG_PATH, json_reply(retailgrid(status="completed", progress=100)))
    result = rg_status(run_cli, fake, verify=certifi.where())
    assert result.returncode == 0, result.stderr


def test_empty_field_variables_count_as_unset(run_cli, fake) -> None:
    # A CI template left blank: JOBWATCH_CLARET_BASE_URL= must not wipe out the default.
    env = {**provider_env(fake, "claret"), "JOBWATCH_CLARET_BASE_URL": "",
           "JOBWATCH_CLARET_VERIFY": "", "JOBWATCH_CLARET_INTERVAL": ""}
    result = run_cli("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert '"https://plan.claret.app"  # default' in result.stdout
    assert "verify" not in result.stdout


def test_an_empty_verify_in_the_file_is_a_config_error(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[retailgrid.default]\nbase_url = "{fake.url}"\nverify = ""\n')
    result = run_cli("status", "retailgrid", UUID, "--config", str(config),
                     env={"JOBWATCH_RETAILGRID_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    assert "is empty" in result.stderr


def test_a_literal_token_next_to_a_broken_line_stays_out_of_the_error(run_cli,
                                                                      tmp_path) -> None:
    for body in (f'[claret.default]\ntoken = "{TOKEN}"\ntenant = "acme\n',
                 f'[claret.default]\ntoken = "{TOKEN}"\ntennant = "acme"\n'):
        config = tmp_path / "c.toml"
        config.write_text(body)
        result = run_cli("status", "claret", "1", "--config", str(config))
        assert_clean_error(result, 6)
        assert_no_secret(result)


def test_the_readable_token_file_warning_is_given_once(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("".join(
        f'[claret.{name}]\nbase_url = "{fake.url}"\ntenant = "acme"\ntoken = "{TOKEN}"\n'
        for name in ("default", "staging", "prod")))
    config.chmod(0o644)
    result = run_cli("config", "check", "--config", str(config))
    assert result.stderr.count("is readable by others") == 1, result.stderr
    assert_no_secret(result)


# -- global options ---------------------------------------------------------------------------


def test_short_profile_glued_to_its_value_works_after_the_command(run_cli, fake,
                                                                  tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[retailgrid.staging]\nbase_url = "{fake.url}"\ntoken_env = "T"\n')
    fake.route(RG_PATH, json_reply(retailgrid(status="completed")))
    result = run_cli("status", "retailgrid", UUID, "-pstaging", "--config", str(config),
                     env={"T": TOKEN})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("option", ["-p", "--profile", "--config"])
def test_a_global_option_without_its_value_says_so(run_cli, option) -> None:
    result = run_cli("status", "claret", "5", option)
    assert_clean_error(result, 2)
    assert f"Option '{option}' requires an argument." in result.stderr
    assert "run 'jobwatch status --help' for examples" in result.stderr


# -- closed and full streams, signals ---------------------------------------------------------


def shell(command: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=clean_env(tmp_path, **env))


JOBWATCH = f"{shlex.quote(sys.executable)} -m jobwatch"


@pytest.mark.parametrize("flag", ["", "-v"])
def test_a_closed_stderr_pipe_never_turns_a_failure_into_success(tmp_path, fake, flag) -> None:
    # 503s: a retry notice (or -v lines) go to stderr, whose reader has gone after one byte.
    fake.route(RG_PATH, Reply(503, b"down", {"Retry-After": "2"}))
    command = (f"{JOBWATCH} status retailgrid {UUID} {flag} 2>&1 | head -c1 >/dev/null; "
               "echo \"rc=${PIPESTATUS[0]}\"")
    result = shell(command, tmp_path, provider_env(fake, "retailgrid"))
    assert result.stdout.strip() == "rc=7", result
    assert fake.hits(RG_PATH) == 3  # the retries went on after the reader left


def test_a_closed_stderr_is_not_a_crash(tmp_path, fake) -> None:
    fake.route(RG_PATH, Reply(404, b"{}"))
    result = shell(f"{JOBWATCH} status retailgrid {UUID} 2>&-; echo \"rc=$?\"", tmp_path,
                   provider_env(fake, "retailgrid"))
    assert result.stdout.strip() == "rc=4", result


@pytest.mark.parametrize(("args", "said"), [
    pytest.param("--json >/dev/full", "cannot write to standard output: No space left on device",
                 marks=pytest.mark.skipif(not Path("/dev/full").exists(),
                                          reason="needs /dev/full"), id="full"),
    pytest.param(">&-", "standard output is closed", id="closed"),
])
def test_a_full_or_closed_stdout_is_one_clean_error(tmp_path, fake, args, said) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(status="completed")))
    result = shell(f"{JOBWATCH} status retailgrid {UUID} {args}", tmp_path,
                   provider_env(fake, "retailgrid"))
    assert_clean_error(result, 74)
    assert said in result.stderr
    assert "Exception ignored" not in result.stderr


def test_quiet_needs_no_stdout_at_all(tmp_path, fake) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(status="completed")))
    result = shell(f"{JOBWATCH} status retailgrid {UUID} --quiet >&-; echo \"rc=$?\" >&2",
                   tmp_path, provider_env(fake, "retailgrid"))
    assert result.stderr.strip() == "rc=0", result.stderr


def status_mid_request(tmp_path: Path, fake, *python_args: str) -> subprocess.Popen[str]:
    """`jobwatch status retailgrid UUID`, run by `python -m jobwatch` (or by ``python
    PYTHON_ARGS``), once its request has reached the fake provider."""
    process = subprocess.Popen(
        [sys.executable, *(python_args or ("-m", "jobwatch")), "status", "retailgrid", UUID],
        cwd=tmp_path, env=clean_env(tmp_path, **provider_env(fake, "retailgrid")), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_requests(fake, 1, limit=15)
    return process


# SIGHUP (review 2-b D9): a closed terminal or a dropped ssh session; 130 as for SIGINT and
# SIGTERM.
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupting_status_mid_request_is_exit_130(tmp_path, fake, sig) -> None:
    fake.route(RG_PATH, Reply(200, b"{}", delay=20))
    process = status_mid_request(tmp_path, fake)
    started = time.monotonic()
    process.send_signal(sig)
    out, err = process.communicate(timeout=15)
    assert time.monotonic() - started < within(2)
    assert process.returncode == 130, err
    assert err == "jobwatch: error: interrupted\n"
    assert out == ""


# -- the last resort ---------------------------------------------------------------------------


def test_a_bug_is_exit_70_and_its_text_is_redacted(monkeypatch, capsys) -> None:
    from jobwatch import __main__

    def boom(args: list[str], secrets: set[str]) -> int:
        secrets.add("tok_registered_secret")
        raise RuntimeError("header tok_registered_secret broke\nsecond line")

    monkeypatch.setattr(__main__, "run_typer", boom)
    assert __main__.run(["config", "show"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("jobwatch: error: internal error: RuntimeError: header *** broke\n")
    assert "tok_registered_secret" not in err and "second line" not in err


def test_the_stderr_guard_keeps_quiet_after_its_reader_left() -> None:
    from jobwatch.streams import GuardedStream

    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError

        def flush(self) -> None:
            raise BrokenPipeError

        def isatty(self) -> bool:
            return True

    saved = os.dup(2)
    try:
        guard = GuardedStream(Closed())
        assert guard.write("x") == 1
        guard.flush()
        assert guard.isatty() is False
    finally:
        os.dup2(saved, 2)  # the guard pointed fd 2 at /dev/null
        os.close(saved)


# -- review 2-b D11: --version and help to a closed or full stdout ----------------------------


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", ["--version", "-V", "--help", "wait --help"])
def test_version_and_help_into_a_closed_pipe_end_quietly(tmp_path, args, unbuffered) -> None:
    command = (f"set +o pipefail; {JOBWATCH} {args} | true; "
               "echo \"rc=${PIPESTATUS[0]}\" >&2")
    result = shell(command, tmp_path, {"PYTHONUNBUFFERED": unbuffered})
    assert result.stderr.strip() == "rc=0", result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", ["--version", "--help", "wait --help",
                                  "--show-completion bash"])
def test_version_and_help_into_a_full_stdout_are_exit_74(tmp_path, args) -> None:
    result = shell(f"{JOBWATCH} {args} >/dev/full", tmp_path, {})
    assert_clean_error(result, 74)
    assert "cannot write to standard output: No space left on device" in result.stderr
    assert "Exception ignored" not in result.stderr and "internal error" not in result.stderr


def test_version_into_a_closed_stdout_is_exit_74(tmp_path) -> None:
    result = shell(f"{JOBWATCH} --version >&-", tmp_path, {})
    assert_clean_error(result, 74)
    assert "standard output is closed" in result.stderr


def test_a_sighup_ignored_at_start_stays_ignored(tmp_path, fake) -> None:
    # `nohup jobwatch wait ...` must outlive the terminal.
    fake.route(RG_PATH, Reply(200, json.dumps(retailgrid(status="completed")).encode(),
                              delay=1.0))
    process = status_mid_request(
        tmp_path, fake, "-c", "import signal, runpy, sys; "
        "signal.signal(signal.SIGHUP, signal.SIG_IGN); "
        "runpy.run_module('jobwatch', run_name='__main__')")
    process.send_signal(signal.SIGHUP)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
