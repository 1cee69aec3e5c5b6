"""SPEC "Hardening": what jobwatch reads from a user's command or file (token_command's output,
a CA bundle, the config) is bounded in size and in time, and a command that leaves a child
holding its stdout does not make jobwatch wait for the child.

Black-box: the CLI runs as a process against the loopback fake, with real FIFOs, devices and
shell commands; each case ends in bounded time with one `jobwatch: error:` line (or works).
The timing neighbours of token_command run in process, with its time limit shortened.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobwatch import config as config_module
from jobwatch.config import load_file, resolve_profile, resolve_token
from jobwatch.errors import ConfigError
from tests.conftest import REPO, TOKEN, assert_clean_error, clean_env, provider_env, within
from tests.fakeserver import FakeServer, json_reply
from tests.test_config import CLARET_OK, toml_str

PATH = "/acme/api/v1/imports/status/12345"
UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
RG_PATH = f"/v1/jobs/{UUID}"
CLARET_ENV_WITHOUT_TOKEN = ("JOBWATCH_CLARET_BASE_URL", "JOBWATCH_CLARET_TENANT")


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("jobwatch: error:")]
    assert len(errors) == 1 and len(lines) <= 2, stderr  # the error, and perhaps a hint
    return errors[0]


def timed(run, *args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run(*args, env=env, timeout=within(30))
    return result, time.monotonic() - started


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "a-fifo"
    os.mkfifo(path)
    return path


# -- token_command -----------------------------------------------------------------------------


def with_command(fake: FakeServer, command: str) -> dict[str, str]:
    env = provider_env(fake, "claret")
    del env["JOBWATCH_CLARET_TOKEN"]
    return {**env, "JOBWATCH_CLARET_TOKEN_COMMAND": command}


def measured_run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    """Exit code, stderr and peak memory (MiB) of the jobwatch process itself."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "jobwatch", *args], cwd=cwd, env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        # ru_maxrss is KiB on Linux, bytes on macOS.
        peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return child.returncode, err.read().decode(), peak


def test_a_token_command_printing_200_mb_is_stopped_before_any_request(fake, tmp_path) -> None:
    # It drove jobwatch to ~1 GB and sent a 200 MB header.
    command = f"sh -c {shlex.quote(f'yes {TOKEN} | head -c 200000000')}"
    env = clean_env(tmp_path, **with_command(fake, command))
    started = time.monotonic()
    code, stderr, peak_mib = measured_run(["status", "claret", "12345"], env, tmp_path)
    assert code == 6, stderr
    assert time.monotonic() - started < within(10)
    assert peak_mib < 150, peak_mib
    line = one_error_line(stderr)
    assert line.startswith("jobwatch: error: token_command 'sh' (env JOBWATCH_CLARET_TOKEN_COMMAND)"
                           " printed more than 64 KiB on stdout"), line
    assert TOKEN not in stderr and "Traceback" not in stderr
    assert fake.requests == []


def test_a_token_command_flooding_stderr_is_stopped(run_cli, fake) -> None:
    command = shlex.join([sys.executable, "-c",
                          f"import sys; print({TOKEN!r}); sys.stderr.write('e' * 10**7)"])
    result, seconds = timed(run_cli, "status", "claret", "12345", env=with_command(fake, command))
    assert_clean_error(result, 6)
    assert seconds < within(10)
    assert "printed more than 64 KiB on stderr" in one_error_line(result.stderr)
    assert fake.requests == []


@pytest.fixture
def leftover_pids(tmp_path: Path) -> Iterator[Path]:
    """A file where a test's shell writes the pid of the child it leaves behind; that child is
    killed once the test has looked at it."""
    pid_file = tmp_path / "child.pid"
    yield pid_file
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_child_holding_stdout_does_not_make_jobwatch_wait(run_cli, fake, leftover_pids) -> None:
    # It was "did not finish within 10 s", although the token was printed and sh had exited.
    # The child is the user's business (an agent, perhaps): left running, not killed.
    fake.route(PATH, json_reply(CLARET_OK))
    script = f"sleep 25 & echo $! > {shlex.quote(str(leftover_pids))}; echo {TOKEN}"
    result, seconds = timed(run_cli, "status", "claret", "12345",
                            env=with_command(fake, f"sh -c {shlex.quote(script)}"))
    assert result.returncode == 0, result.stderr
    assert seconds < within(5), seconds
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert alive(int(leftover_pids.read_text()))


@pytest.mark.slow
def test_a_token_written_slowly_is_read_whole(run_cli, fake) -> None:
    fake.route(PATH, json_reply(CLARET_OK))
    script = (f"import sys, time\nfor part in ({TOKEN[:5]!r}, {TOKEN[5:11]!r}, {TOKEN[11:]!r}):\n"
              "    sys.stdout.write(part); sys.stdout.flush(); time.sleep(0.3)\nprint()")
    result, _ = timed(run_cli, "status", "claret", "12345",
                      env=with_command(fake, shlex.join([sys.executable, "-c", script])))
    assert result.returncode == 0, result.stderr
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def command_profile(tmp_path: Path, *argv: str):
    path = tmp_path / "c.toml"
    command = toml_str(shlex.join(argv))
    path.write_text(f'[claret.default]\ntenant = "a"\ntoken_command = {command}\n')
    path.chmod(0o600)
    return resolve_profile(load_file(path, {}), "claret", "default", {})


def test_a_command_that_never_exits_is_killed_at_the_limit(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(config_module, "TOKEN_COMMAND_TIMEOUT", 0.5)
    pid_file = tmp_path / "pid"
    script = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
              "print('tok_partial', flush=True); time.sleep(60)")
    profile = command_profile(tmp_path, sys.executable, "-c", script)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"did not finish within 0\.5 s"):
        resolve_token(profile, {})
    assert 0.5 <= time.monotonic() - started < within(5)
    assert not alive(int(pid_file.read_text()))  # killed, and reaped


@pytest.mark.slow
def test_a_command_that_closes_stdout_is_waited_for_until_it_exits(tmp_path,
                                                                  monkeypatch) -> None:
    # Its exit code decides, so its exit is waited for (within the limit), not its EOF.
    monkeypatch.setattr(config_module, "TOKEN_COMMAND_TIMEOUT", 5)
    closes = "import os, sys, time; print('tok_x', flush=True); os.close(1); time.sleep(0.5); "
    failing = command_profile(tmp_path, sys.executable, "-c", closes + "sys.exit(3)")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="failed with exit code 3"):
        resolve_token(failing, {})
    assert time.monotonic() - started >= 0.5
    succeeding = command_profile(tmp_path, sys.executable, "-c", closes + "sys.exit(0)")
    assert resolve_token(succeeding, {}).value == "tok_x"
    monkeypatch.setattr(config_module, "TOKEN_COMMAND_TIMEOUT", 0.3)
    with pytest.raises(ConfigError, match="did not finish within 0.3 s"):
        resolve_token(failing, {})


# -- FIFOs, devices and giants where a file is expected -----------------------------------------


@pytest.mark.parametrize("how", ["--config", "JOBWATCH_CONFIG"])
def test_a_config_that_is_a_fifo_is_refused_at_once(run_cli, fake, fifo, how) -> None:
    env = provider_env(fake, "claret")
    args = ["--config", str(fifo)] if how == "--config" else []
    result, seconds = timed(run_cli, *args, "status", "claret", "12345",
                            env={**env, **({"JOBWATCH_CONFIG": str(fifo)} if not args else {})})
    assert_clean_error(result, 6)
    assert seconds < within(10)
    assert one_error_line(result.stderr) == (
        f"jobwatch: error: cannot read config file {fifo}: it is a FIFO (named pipe), not a "
        "regular file")
    assert fake.requests == []


@pytest.mark.parametrize(("target", "says"), [
    ("/dev/zero", "it is a character device, not a regular file"),
    ("DIR", "it is a directory, not a regular file"),
    ("BIG", "it is larger than 1 MiB"),
])
def test_a_config_that_is_no_small_regular_file_is_refused(run_cli, tmp_path, target,
                                                          says) -> None:
    if target == "DIR":
        target = str(tmp_path)
    elif target == "BIG":
        big = tmp_path / "big.toml"
        big.write_text("# padding\n" * 120_000)  # 1.2 MB of valid TOML
        target = str(big)
    elif not os.path.exists(target):
        pytest.skip(f"no {target} here")
    result, seconds = timed(run_cli, "--config", target, "config", "show", env={})
    assert_clean_error(result, 6)
    assert seconds < within(10)
    assert one_error_line(result.stderr) == \
        f"jobwatch: error: cannot read config file {target}: {says}"


def test_verify_naming_a_fifo_is_refused_at_once(run_cli, fake, fifo) -> None:
    result, seconds = timed(run_cli, "status", "retailgrid", UUID,
                            env=provider_env(fake, "retailgrid", verify=str(fifo)))
    assert_clean_error(result, 6)
    assert seconds < within(10)
    assert one_error_line(result.stderr) == (
        f"jobwatch: error: verify = '{fifo}' (env JOBWATCH_RETAILGRID_VERIFY) is a FIFO "
        "(named pipe), not a CA bundle file or directory")
    assert fake.requests == []


def test_verify_naming_a_fifo_in_the_config_file_is_refused_at_once(run_cli, fake, fifo,
                                                                    tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[retailgrid.default]\nbase_url = "{fake.url}"\nverify = "{fifo}"\n')
    result, seconds = timed(run_cli, "--config", str(config), "status", "retailgrid", UUID,
                            env={"JOBWATCH_RETAILGRID_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    assert seconds < within(10)
    assert f"({config}:3) is a FIFO (named pipe)" in one_error_line(result.stderr)


@pytest.mark.parametrize(("target", "says"), [
    ("/dev/zero", "is a character device, not a CA bundle file or directory"),
    ("BIG", "is not a CA bundle jobwatch can load (it is larger than 16 MiB)"),
])
def test_verify_naming_a_device_or_a_giant_is_refused(run_cli, fake, tmp_path, target,
                                                      says) -> None:
    if target == "BIG":
        big = tmp_path / "huge-ca.pem"
        with big.open("wb") as handle:
            handle.truncate(17 * 1024 * 1024)  # sparse: costs no disk
        target = str(big)
    elif not os.path.exists(target):
        pytest.skip(f"no {target} here")
    result, seconds = timed(run_cli, "status", "retailgrid", UUID,
                            env=provider_env(fake, "retailgrid", verify=target))
    assert_clean_error(result, 6)
    assert seconds < within(10)
    assert says in one_error_line(result.stderr)
    assert fake.requests == []


@pytest.mark.parametrize("target", ["FIFO", "/dev/zero"])
def test_ssl_cert_file_naming_a_fifo_or_device_is_refused_at_the_handshake(run_cli, fake,
                                                                           fifo, target) -> None:
    # LazyTrust reads SSL_CERT_FILE at the first handshake: there, not for ever.
    path = str(fifo) if target == "FIFO" else target
    if not os.path.exists(path):
        pytest.skip(f"no {path} here")
    https_url = fake.url.replace("http://", "https://")
    result, seconds = timed(run_cli, "status", "retailgrid", UUID, env={
        **provider_env(fake, "retailgrid", base_url=https_url), "SSL_CERT_FILE": path})
    assert_clean_error(result, 6)
    assert seconds < within(10)
    line = one_error_line(result.stderr)
    assert line.startswith(f"jobwatch: error: cannot load CA certificates from {path}: it is a "
                           ), line
    assert fake.requests == []


def test_a_ca_bundle_with_utf8_comments_and_several_certificates_loads(tmp_path) -> None:
    # Bundles such as Debian's or certifi's name their CAs in comments, in UTF-8; only the
    # certificates are handed to OpenSSL (its cadata must be ASCII).
    trustme = pytest.importorskip("trustme")
    from jobwatch.trust import LazyTrust, ca_bundle_context

    bundle = tmp_path / "bundle.pem"
    certificates = [trustme.CA().cert_pem.bytes() for _ in range(3)]
    bundle.write_bytes(b"".join("# Főtanúsítvány ☃\r\n".encode() + pem for pem in certificates))
    trust = LazyTrust({"SSL_CERT_FILE": str(bundle)})
    trust._load()
    assert trust.cert_store_stats()["x509_ca"] == 3
    context = ca_bundle_context(bundle, "verify")
    assert context.cert_store_stats()["x509_ca"] == 3


def test_the_limits_are_what_the_messages_say() -> None:
    from jobwatch.trust import CA_BUNDLE_LIMIT

    assert config_module.TOKEN_OUTPUT_LIMIT == 64 * 1024
    assert config_module.CONFIG_FILE_LIMIT == 1024 * 1024
    assert CA_BUNDLE_LIMIT == 16 * 1024 * 1024
    assert REPO.joinpath("jobwatch", "bounded.py").exists()
