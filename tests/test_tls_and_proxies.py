"""TLS trust and proxies, over loopback: a provider with its own CA, the CA certificates read
only when a TLS connection starts, and the proxy variables honoured except for loopback."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from jobwatch.trust import LazyTrust
from tests.conftest import TOKEN, assert_clean_error, provider_env
from tests.fakeserver import FakeServer, json_reply
from tests.helpers import RG_PATH, retailgrid, rg_status

trustme = pytest.importorskip("trustme")

UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
PATH = f"/v1/jobs/{UUID}"
DONE = {"job_id": UUID, "status": "completed", "progress": 100}


# -- the CAs a provider's certificate is checked against -------------------------------------------


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tls_fake(ca) -> Iterator[FakeServer]:
    """The fake provider behind TLS, with a certificate for 127.0.0.1 issued by ``ca``."""
    server = FakeServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)
    server.url = server.url.replace("http://", "https://")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def https(tls_fake: FakeServer) -> FakeServer:
    tls_fake.reset()
    tls_fake.route(PATH, json_reply(DONE))
    return tls_fake


def test_a_ca_bundle_in_verify_is_trusted(run_cli, https, ca_file) -> None:
    result = run_cli("status", "retailgrid", UUID,
                     env=provider_env(https, "retailgrid", verify=ca_file))
    assert result.returncode == 0, result.stderr
    assert https.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_ssl_cert_file_is_honoured_with_the_default_verify(run_cli, https, ca_file) -> None:
    result = run_cli("status", "retailgrid", UUID,
                     env={**provider_env(https, "retailgrid"), "SSL_CERT_FILE": ca_file})
    assert result.returncode == 0, result.stderr


def test_an_unknown_ca_is_refused_and_no_token_is_sent(run_cli, https) -> None:
    # The system's store (or SSL_CERT_FILE, if this machine sets it) knows nothing of ``ca``.
    result = run_cli("status", "retailgrid", UUID, env=provider_env(https, "retailgrid"))
    assert_clean_error(result, 7)
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr or "certificate" in result.stderr
    assert https.requests == []


def test_verify_false_skips_the_check(run_cli, https) -> None:
    result = run_cli("status", "retailgrid", UUID,
                     env=provider_env(https, "retailgrid", verify="false"))
    assert result.returncode == 0, result.stderr


def test_a_missing_ssl_cert_file_is_a_config_error(run_cli, https, tmp_path) -> None:
    result = run_cli("status", "retailgrid", UUID, env={
        **provider_env(https, "retailgrid"), "SSL_CERT_FILE": str(tmp_path / "nope.pem")})
    assert_clean_error(result, 6)
    assert "SSL_CERT_FILE" in result.stderr


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_a_missing_ca_path_is_found_at_the_handshake_not_before(run_cli, fake, https, tmp_path,
                                                                variable) -> None:
    # A plain-http provider never reads them (as curl); an https one finds the path missing
    # at its first handshake, as a config error, not a network one retried.
    missing = {variable: str(tmp_path / "nope")}
    fake.route(PATH, json_reply(DONE))
    plain = run_cli("status", "retailgrid", UUID, env={**provider_env(fake, "retailgrid"),
                                                        **missing})
    assert plain.returncode == 0, plain.stderr
    secure = run_cli("status", "retailgrid", UUID, env={**provider_env(https, "retailgrid"),
                                                         **missing})
    assert_clean_error(secure, 6)
    assert f"{variable}=" in secure.stderr and "no such file or directory" in secure.stderr


def test_no_ca_certificate_is_read_before_the_first_handshake(ca_file, https) -> None:
    import httpx

    trust = LazyTrust({"SSL_CERT_FILE": ca_file})
    assert trust.cert_store_stats()["x509_ca"] == 0
    with httpx.Client(verify=trust) as client:
        assert trust.cert_store_stats()["x509_ca"] == 0  # a client alone reads nothing
        assert client.get(https.url + PATH).status_code == 200
    assert trust.cert_store_stats()["x509_ca"] == 1
    assert trust.verify_mode == ssl.CERT_REQUIRED and trust.check_hostname


@pytest.mark.parametrize("command", ["status", "wait"])
def test_a_ca_file_without_certificates_is_a_config_error_at_once(run_cli, fake, tmp_path,
                                                                  command) -> None:
    # Not a network error (retried, then exit 7): no retry makes the file load.
    empty = tmp_path / "no-certs.pem"
    empty.write_text("no certificate in here\n")
    https_url = fake.url.replace("http://", "https://")
    result = run_cli(command, "retailgrid", UUID, env={
        **provider_env(fake, "retailgrid", base_url=https_url), "SSL_CERT_FILE": str(empty)})
    assert_clean_error(result, 6)
    assert f"cannot load CA certificates from {empty}" in result.stderr
    assert "hint: unset SSL_CERT_FILE or point it at a PEM file" in result.stderr
    # The CLI exits before the server counts its connection: settle() waits for that count.
    assert fake.settle().connections == 1  # no second attempt
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


def test_an_empty_verify_in_the_file_is_a_config_error(run_cli, fake, tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[retailgrid.default]\nbase_url = "{fake.url}"\nverify = ""\n')
    result = run_cli("status", "retailgrid", UUID, "--config", str(config),
                     env={"JOBWATCH_RETAILGRID_TOKEN": TOKEN})
    assert_clean_error(result, 6)
    assert "is empty" in result.stderr


# -- proxies ----------------------------------------------------------------------------------


def test_the_proxy_variables_are_honoured_for_a_remote_provider(run_cli, fake) -> None:
    # The fake server plays the proxy: a plain-http request reaches it in absolute form.
    fake.route(PATH, json_reply(DONE))
    env = provider_env(fake, "retailgrid", base_url="http://retailgrid.invalid")
    result = run_cli("status", "retailgrid", UUID, env={**env, "HTTP_PROXY": fake.url})
    assert result.returncode == 0, result.stderr
    assert fake.requests[0].headers["host"] == "retailgrid.invalid"


def test_no_proxy_is_honoured(run_cli, fake) -> None:
    env = provider_env(fake, "retailgrid", base_url="http://retailgrid.invalid")
    result = run_cli("status", "retailgrid", UUID, env={
        **env, "HTTP_PROXY": fake.url, "NO_PROXY": "retailgrid.invalid"})
    assert_clean_error(result, 7)  # straight to a host that does not exist
    assert fake.requests == []


def test_a_provider_on_loopback_never_goes_through_the_proxy(run_cli, fake) -> None:
    from tests.test_cli_status import closed_port

    fake.route(PATH, json_reply(DONE))
    result = run_cli("status", "retailgrid", UUID, env={
        **provider_env(fake, "retailgrid"), "HTTP_PROXY": f"http://127.0.0.1:{closed_port()}",
        "ALL_PROXY": f"http://127.0.0.1:{closed_port()}"})
    assert result.returncode == 0, result.stderr


REMOTE = "https://api.retailgrid.example"


@pytest.mark.parametrize(("variable", "value"), [
    ("HTTPS_PROXY", "ftp://proxy_user:pw_SECRET_9@proxy.example:1"),
    ("HTTPS_PROXY", "http://[::1"),
    ("ALL_PROXY", "socks5://127.0.0.1:1080"),
])
def test_a_proxy_variable_httpx_cannot_use_is_a_config_error(run_cli, fake, variable,
                                                             value) -> None:
    # The user's setting, so a config error: never "internal error", exit 70.
    try:
        import socksio  # noqa: F401
    except ImportError:
        pass
    else:
        if value.startswith("socks"):
            pytest.skip("socksio is installed: a socks proxy is usable")
    env = provider_env(fake, "retailgrid", base_url=REMOTE)
    result = run_cli("status", "retailgrid", UUID, env={**env, variable: value})
    assert_clean_error(result, 6)
    assert f"cannot use the proxy from {variable}=" in result.stderr
    assert "pw_SECRET_9" not in result.stderr and TOKEN not in result.stderr


@pytest.mark.slow
def test_a_dead_proxy_is_named_in_the_error(run_cli, fake) -> None:
    # "cannot reach http://api.example.invalid" alone would blame the provider.
    from tests.test_cli_status import closed_port

    proxy = f"http://proxy_user:pw_SECRET_9@127.0.0.1:{closed_port()}"
    env = provider_env(fake, "retailgrid", base_url="http://api.example.invalid")
    result = run_cli("status", "retailgrid", UUID, "-v", env={**env, "HTTP_PROXY": proxy})
    assert_clean_error(result, 7)
    shown = proxy.replace("pw_SECRET_9", "***")
    assert f"cannot reach http://api.example.invalid via proxy {shown}" in result.stderr
    assert "pw_SECRET_9" not in result.stderr
    assert "hint: check that proxy, or exempt the host with NO_PROXY" in result.stderr
