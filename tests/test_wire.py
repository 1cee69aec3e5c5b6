"""Whatever a server may put on the wire ends as a documented exit code with one line, never as
exit 70: any byte in a header or a status line, on success and on error statuses, for API
answers and for downloads; and 3xx answers that cannot be followed. Each case is the real CLI
against a raw loopback server that writes the answer byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import TOKEN, assert_clean_error, provider_env
from tests.rawserver import RawServer, raw_answer, sending

UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
RG_PATH = f"/v1/jobs/{UUID}"
DONE = json.dumps({"job_id": UUID, "status": "completed", "progress": 100}).encode()
CLARET_JOB = "/acme/api/v1/imports/status/5"

# Header lines no well-behaved server sends, each with a byte outside ASCII (or a terminal
# control) where httpx reads text.
ODD_HEADERS = {
    "utf8-value": b"X-Served-By: caf\xc3\xa9",
    "latin1-value": b"X-Served-By: caf\xe9",
    "content-type": b"Content-Type: application/json; charset=\"caf\xc3\xa9\"",
    "retry-after": b"Retry-After: \xc3\xa9t\xc3\xa9",
    "set-cookie": b"Set-Cookie: session=caf\xc3\xa9; Path=/; Domain=\xe9.example",
    "content-disposition": b"Content-Disposition: attachment; filename=\"caf\xc3\xa9.csv\"",
    "controls": b"X-Note: \x1b]0;owned\x07\x1b[2J",
}
# A status line per case: status, reason bytes, the exit code of `status` for it.
ODD_REASONS = {
    "utf8-ok": (b"200 Tr\xc3\xa8s bien", 0),
    "latin1-ok": (b"200 \xe9t\xe9", 0),
    "empty-reason": (b"200 ", 0),
    "utf8-404": (b"404 Introuvable \xc3\xa9", 4),
    "controls-500": (b"500 Erreur \x1b[2J\x07", 7),
    "latin1-429": (b"429 Trop de requ\xeates", 7),
}


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


def error_lines(result, code: int, count: int) -> list[str]:
    """The documented code, ``count`` `jobwatch: error:` lines (a download says one per file
    that failed), no terminal control from the answer, no token; returns those lines."""
    assert_clean_error(result, code)
    lines = [line for line in result.stderr.splitlines() if line.startswith("jobwatch: error:")]
    assert len(lines) == count, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr, result.stderr
    return lines


def assert_one_error_line(result, code: int) -> str:
    return error_lines(result, code, 1)[0]


def assert_success(result) -> None:
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


# -- API answers: `status` and `wait` ---------------------------------------------------------

def answer_with(status: bytes, header: bytes, body: bytes = DONE) -> bytes:
    # Retry-After: 0 keeps the retries of 500 and 429 quick (a garbage one is ignored).
    extra = [b"Retry-After: 0"] if not status.startswith((b"2", b"4 ")) else []
    return raw_answer(status, [b"Content-Type: application/json", header, *extra], body)


@pytest.mark.parametrize(("status", "code"), [(b"200 OK", 0), (b"404 Not Found", 4),
                                              (b"500 Internal Server Error", 7),
                                              (b"429 Too Many Requests", 7)],
                         ids=["200", "404", "500", "429"])
@pytest.mark.parametrize("header", ODD_HEADERS.values(), ids=ODD_HEADERS.keys())
def test_any_byte_in_an_api_answers_header_ends_as_documented(run_cli, raw, header, status,
                                                               code) -> None:
    # `X-Served-By: café` could end `status` with exit 70, internal error:
    # UnicodeEncodeError, whatever the status.
    raw.routes[RG_PATH] = sending(answer_with(status, header))
    result = run_cli("status", "retailgrid", UUID, env=provider_env(raw, "retailgrid"))
    if code == 0:
        assert_success(result)
        assert "succeeded" in result.stdout
    else:
        assert_one_error_line(result, code)
    assert len(raw.paths) == (3 if code == 7 else 1)


@pytest.mark.parametrize(("status", "code"), ODD_REASONS.values(), ids=ODD_REASONS.keys())
def test_any_byte_in_an_api_answers_reason_phrase_ends_as_documented(run_cli, raw, status,
                                                                     code) -> None:
    raw.routes[RG_PATH] = sending(answer_with(status, b"X-Served-By: caf\xc3\xa9"))
    result = run_cli("status", "retailgrid", UUID, env=provider_env(raw, "retailgrid"))
    if code == 0:
        assert_success(result)
    else:
        line = assert_one_error_line(result, code)
        assert f"HTTP {status[:3].decode()}" in line


@pytest.mark.slow
def test_a_nul_in_a_header_is_answering_badly(run_cli, raw) -> None:
    # Not HTTP at all: h11 refuses it, and that is a bad answer (7), retried, not a crash.
    raw.routes[RG_PATH] = sending(answer_with(b"200 OK", b"X-Served-By: a\x00b"))
    result = run_cli("status", "retailgrid", UUID, env=provider_env(raw, "retailgrid"))
    assert "illegal header line" in assert_one_error_line(result, 7)
    assert len(raw.paths) == 3


def test_wait_and_json_read_an_answer_with_odd_headers(run_cli, raw) -> None:
    raw.routes[RG_PATH] = sending(answer_with(b"200 Tr\xc3\xa8s bien",
                                              ODD_HEADERS["utf8-value"]))
    result = run_cli("wait", "retailgrid", UUID, "--json", "--interval", "0.1",
                     env=provider_env(raw, "retailgrid"))
    assert_success(result)
    assert json.loads(result.stdout)["outcome"] == "succeeded"


def test_a_token_echoed_in_an_odd_header_never_shows(run_cli, raw) -> None:
    echoed = b"X-Echo: Bearer " + TOKEN.encode() + b" caf\xc3\xa9"
    raw.routes[RG_PATH] = sending(answer_with(b"500 Erreur \xc3\xa9", echoed, b"{}"))
    result = run_cli("status", "retailgrid", UUID, "-v", env=provider_env(raw, "retailgrid"))
    assert_one_error_line(result, 7)  # which also checks the token is nowhere


# -- downloads --------------------------------------------------------------------------------

def claret_job(raw: RawServer, names: list[str]) -> None:
    files = [f"/dl/{name}" for name in names]
    body = json.dumps({"message": "ok", "content": {
        "job_log_id": 5, "status": "completed", "type": "inventory-import",
        "progress": {"completed_steps": 1, "total_steps": 1}, "files": {"output": files}}})
    raw.routes[CLARET_JOB] = sending(raw_answer(b"200 OK", [b"Content-Type: application/json"],
                                                body.encode()))


def download(run_cli, raw: RawServer):
    return run_cli("download", "claret", "5", "--download-dir", "out",
                   env=provider_env(raw, "claret"))


@pytest.mark.parametrize(("status", "code"), [(b"200 OK", 0), (b"404 Not Found", 8),
                                              (b"500 Internal Server Error", 8),
                                              (b"429 Too Many Requests", 8)],
                         ids=["200", "404", "500", "429"])
def test_any_byte_in_a_downloads_headers_ends_as_documented(run_cli, raw, status,
                                                            code) -> None:
    # One file per odd header, all in one run.
    names = [f"{case}.csv" for case in ODD_HEADERS]
    claret_job(raw, names)
    for name, header in zip(names, ODD_HEADERS.values()):
        raw.routes[f"/dl/{name}"] = sending(answer_with(status, header, b"a,b\n"))
    result = download(run_cli, raw)
    saved = run_cli.cwd / "out" / "claret-5" / "output"
    if code == 0:
        assert_success(result)
        assert sorted(p.name for p in saved.iterdir()) == sorted(names)
        assert all((saved / name).read_bytes() == b"a,b\n" for name in names)
    else:
        for line in error_lines(result, code, len(names)):
            assert f"HTTP {status[:3].decode()}" in line
        assert not saved.exists() or list(saved.iterdir()) == []


def test_any_byte_in_a_downloads_reason_phrase_ends_as_documented(run_cli, raw) -> None:
    cases = {f"{case}.csv": status for case, (status, _) in ODD_REASONS.items()}
    claret_job(raw, list(cases))
    for name, status in cases.items():
        raw.routes[f"/dl/{name}"] = sending(answer_with(status, b"X-Served-By: \xe9",
                                                        b"a,b\n"))
    result = download(run_cli, raw)
    lines = error_lines(result, 8, 3)
    saved = sorted(p.name for p in (run_cli.cwd / "out" / "claret-5" / "output").iterdir())
    assert saved == ["empty-reason.csv", "latin1-ok.csv", "utf8-ok.csv"]
    # The reason as sent, not with every non-ASCII byte dropped.
    assert lines[0].endswith("utf8-404.csv: HTTP 404 Introuvable é")
    assert lines[1].endswith("controls-500.csv: HTTP 500; gave up after 3 attempts")


def test_a_download_redirected_to_a_non_ascii_location_is_followed(run_cli, raw) -> None:
    claret_job(raw, ["moved.csv"])
    raw.routes["/dl/moved.csv"] = sending(raw_answer(b"302 Trouv\xc3\xa9",
                                                     [b"Location: /files/caf\xc3\xa9.csv"]))
    raw.routes["/files/caf%C3%A9.csv"] = sending(raw_answer(b"200 OK", [], b"moved"))
    result = download(run_cli, raw)
    assert_success(result)
    assert (run_cli.cwd / "out" / "claret-5" / "output" / "moved.csv").read_bytes() == b"moved"


# -- 3xx answers that cannot be followed -------------------------------------------------------

UNFOLLOWABLE = {
    "no-location": ([], "answered HTTP 301 without a Location to follow"),
    "empty-location": ([b"Location: "], "answered HTTP 301 with an empty Location"),
    "not-a-url": ([b"Location: http://[::1/x"],
                  "answered HTTP 301 with a Location that is not a URL: 'http://[::1/x'"),
    "bad-port": ([b"Location: http://127.0.0.1:99999/x"],
                 "with a Location that is not a URL: 'http://127.0.0.1:99999/x'"),
    "no-host": ([b"Location: https:///x"], "with a Location that names no host: 'https:///x'"),
    "ftp": ([b"Location: ftp://files.example/x.csv"],
            "redirecting to a ftp URL, which jobwatch does not follow: "
            "'ftp://files.example/x.csv'"),
    "javascript": ([b"Location: javascript:alert(1)"],
                   "redirecting to a javascript URL, which jobwatch does not follow"),
    "file": ([b"Location: file:///etc/passwd"], "redirecting to a file URL"),
}


@pytest.mark.parametrize(("headers", "says"), UNFOLLOWABLE.values(), ids=UNFOLLOWABLE.keys())
def test_a_redirect_that_cannot_be_followed_says_why(run_cli, raw, headers, says) -> None:
    raw.routes[RG_PATH] = sending(raw_answer(b"301 Moved Permanently", headers))
    result = run_cli("status", "retailgrid", UUID, env=provider_env(raw, "retailgrid"))
    line = assert_one_error_line(result, 7)
    assert f"jobwatch: error: {raw.url} " in line and says in line
    assert raw.paths == [RG_PATH]  # not retried: the same answer would come again


@pytest.mark.parametrize("status", [b"302 Found", b"307 Temporary Redirect", b"300 Choices",
                                    b"399 Odd"])
def test_every_3xx_without_a_location_says_so(run_cli, raw, status) -> None:
    raw.routes[RG_PATH] = sending(raw_answer(status, [b"X-Served-By: caf\xc3\xa9"], b"moved"))
    result = run_cli("status", "retailgrid", UUID, env=provider_env(raw, "retailgrid"))
    line = assert_one_error_line(result, 7)
    assert f"answered HTTP {status[:3].decode()} without a Location to follow" in line


def test_a_download_redirect_without_a_location_says_so(run_cli, raw) -> None:
    claret_job(raw, ["a.csv"])
    raw.routes["/dl/a.csv"] = sending(raw_answer(b"302 Found", []))
    result = download(run_cli, raw)
    line = assert_one_error_line(result, 8)
    assert "output/a.csv" in line and "answered HTTP 302 without a Location to follow" in line
    assert raw.paths.count("/dl/a.csv") == 1


def test_a_relative_redirect_with_odd_bytes_still_reaches_the_job(run_cli, raw) -> None:
    raw.routes[RG_PATH] = sending(raw_answer(b"308 D\xe9plac\xe9",
                                             [f"Location: {RG_PATH}/".encode(),
                                              b"Set-Cookie: x=\xe9"]))
    raw.routes[RG_PATH + "/"] = sending(answer_with(b"200 OK", ODD_HEADERS["utf8-value"]))
    result = run_cli("status", "retailgrid", UUID, env=provider_env(raw, "retailgrid"))
    assert_success(result)
