"""A certificate that does not verify is not retried: one attempt (one TCP connection, no
completed handshake, no request), exit 7 (8 for a file), and a hint naming what fixes it.
Other TLS failures stay transient. The real CLI against a raw TLS server on loopback."""

from __future__ import annotations

import datetime
import json
import ssl
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.conftest import assert_clean_error, provider_env, within
from tests.rawserver import RawServer, raw_answer, sending

trustme = pytest.importorskip("trustme")

UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
PATH = f"/v1/jobs/{UUID}"
DONE = json.dumps({"job_id": UUID, "status": "completed", "progress": 100}).encode()
CA_HINT = 'hint: if the provider uses a private CA, set verify = "/path/to/ca.pem" in its profile'


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_server(ca, *identities: str, **cert: datetime.datetime) -> RawServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*identities, **cert).configure_cert(context)
    server = RawServer(tls=context)
    server.routes[PATH] = sending(raw_answer(b"200 OK", [b"Content-Type: application/json"],
                                             DONE))
    return server


@pytest.fixture
def untrusted(ca) -> Iterator[RawServer]:
    """Right host, but signed by a CA no one told jobwatch about."""
    server = tls_server(ca, "127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def wrong_host(ca) -> Iterator[RawServer]:
    """Signed by the trusted CA, but for another host."""
    server = tls_server(ca, "jobwatch.invalid")
    yield server
    server.close()


@pytest.fixture
def expired(ca) -> Iterator[RawServer]:
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    server = tls_server(ca, "127.0.0.1", not_before=past - datetime.timedelta(days=30),
                        not_after=past)
    yield server
    server.close()


def lines_of(result, start: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(start)]


def assert_one_attempt(server: RawServer) -> None:
    assert server.settle().connections == 1
    assert server.handshakes == 0 and server.paths == []  # so no token went anywhere


@pytest.mark.parametrize("command", ["status", "wait"])
def test_an_unknown_ca_is_one_attempt_with_the_hint_that_fixes_it(run_cli, untrusted,
                                                                  command) -> None:
    # No retry fixes it: not 3 tries by status and 10 by wait (~8 s), "check the base_url".
    started = time.monotonic()
    result = run_cli(command, "retailgrid", UUID, env=provider_env(untrusted, "retailgrid"))
    assert_clean_error(result, 7)
    [line] = lines_of(result, "jobwatch: error:")  # wait names the job first
    assert line.endswith(f"the TLS certificate of {untrusted.url} does not verify: unable to "
                         "get local issuer certificate")
    assert lines_of(result, "hint:") == [
        CA_HINT + " (or JOBWATCH_<PROVIDER>_VERIFY), or SSL_CERT_FILE"]
    assert "retrying" not in result.stderr and "gave up" not in result.stderr
    assert_one_attempt(untrusted)
    assert time.monotonic() - started < within(5)


def test_wait_json_says_unreachable_after_one_attempt(run_cli, untrusted) -> None:
    result = run_cli("wait", "retailgrid", UUID, "--json",
                     env=provider_env(untrusted, "retailgrid"))
    assert result.returncode == 7, result.stderr
    assert json.loads(result.stdout)["outcome"] == "unreachable"
    assert_one_attempt(untrusted)


@pytest.mark.parametrize("how", ["verify", "SSL_CERT_FILE"])
def test_the_settings_the_hint_names_do_fix_it(run_cli, untrusted, ca_file, how) -> None:
    env = (provider_env(untrusted, "retailgrid", verify=ca_file) if how == "verify" else
           {**provider_env(untrusted, "retailgrid"), "SSL_CERT_FILE": ca_file})
    result = run_cli("status", "retailgrid", UUID, env=env)
    assert result.returncode == 0, result.stderr
    assert untrusted.handshakes == 1


@pytest.mark.parametrize("command", ["status", "wait"])
def test_a_certificate_for_another_host_is_one_attempt_naming_base_url(run_cli, wrong_host,
                                                                       ca_file,
                                                                       command) -> None:
    result = run_cli(command, "retailgrid", UUID,
                     env=provider_env(wrong_host, "retailgrid", verify=ca_file))
    assert_clean_error(result, 7)
    assert ("does not verify: IP address mismatch, certificate is not valid for '127.0.0.1'"
            in result.stderr)
    assert lines_of(result, "hint:") == [
        "hint: the certificate is for another host: give base_url the host name it names "
        "(verify = false would trust an impostor too)"]
    assert_one_attempt(wrong_host)


def test_a_host_name_mismatch_too(run_cli, wrong_host, ca_file) -> None:
    env = provider_env(wrong_host, "retailgrid", verify=ca_file,
                       base_url=wrong_host.url.replace("127.0.0.1", "localhost"))
    result = run_cli("status", "retailgrid", UUID, env=env)
    assert_clean_error(result, 7)
    assert "does not verify: Hostname mismatch" in result.stderr
    assert "give base_url the host name it names" in result.stderr
    assert wrong_host.handshakes == 0 and wrong_host.paths == []


def test_an_expired_certificate_points_at_the_clock(run_cli, expired, ca_file) -> None:
    result = run_cli("status", "retailgrid", UUID,
                     env=provider_env(expired, "retailgrid", verify=ca_file))
    assert_clean_error(result, 7)
    assert "does not verify: certificate has expired" in result.stderr
    assert lines_of(result, "hint:") == [
        "hint: check this machine's clock; if it is right, the provider must renew it"]
    assert_one_attempt(expired)


def test_a_file_on_a_host_whose_certificate_does_not_verify_is_one_attempt(run_cli, fake,
                                                                          untrusted) -> None:
    # The API is fine (plain http); the file lives on another origin behind TLS.
    from tests.fakeserver import json_reply

    fake.route("/acme/api/v1/imports/status/5", json_reply({"message": "ok", "content": {
        "job_log_id": 5, "status": "completed", "type": "inventory-import",
        "progress": {"completed_steps": 1, "total_steps": 1},
        "files": {"output": [f"{untrusted.url}/dl/a.csv"]}}}))
    result = run_cli("download", "claret", "5", "--download-dir", "out",
                     env=provider_env(fake, "claret"))
    assert_clean_error(result, 8)
    [line] = lines_of(result, "jobwatch: error:")
    assert line.endswith(f"output/a.csv: the TLS certificate of {untrusted.url} does not "
                         "verify: unable to get local issuer certificate; "
                         + CA_HINT.removeprefix("hint: ") + " (or JOBWATCH_<PROVIDER>_VERIFY), "
                         "or SSL_CERT_FILE")
    assert_one_attempt(untrusted)
    assert not (run_cli.cwd / "out" / "claret-5" / "output").exists() or not any(
        (run_cli.cwd / "out" / "claret-5" / "output").iterdir())


def test_a_tls_failure_that_is_not_the_certificate_is_still_retried(run_cli) -> None:
    # An https base_url on a port that answers plain HTTP at once: not a certificate, not
    # final (a proxy or a load balancer in a bad minute looks like this too).
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    try:
        result = run_cli("status", "retailgrid", UUID,
                         env=provider_env(SimpleNamespace(url=url), "retailgrid"))
    finally:
        listener.close()
    assert_clean_error(result, 7)
    assert "does not verify" not in result.stderr
    assert "gave up after 3 attempts" in result.stderr
    assert len(accepted) == 3
