"""jobwatch.httpcore_seam: what it relies on is checked, and both of its paths are right over
raw loopback sockets: the seam (h11 judged, bodies read around it) and the fallback a
different httpcore would get (connections dropped, bodies through httpx)."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobwatch import httpcore_seam
from jobwatch.downloads import DIRECT_MIN, download_file
from jobwatch.errors import DownloadError
from jobwatch.http import make_client, open_response, origin_of
from tests.conftest import within
from tests.fakeserver import Reply
from tests.rawserver import RawServer, answer


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client() as c:
        yield c


@pytest.fixture(params=["seam", "fallback"])
def seam(request, monkeypatch) -> str:
    """Each test below runs on both paths; "fallback" is what another httpcore would get."""
    if request.param == "fallback":
        monkeypatch.setattr(httpcore_seam, "AVAILABLE", False)
    return request.param


def get(client: httpx.Client, server, path: str, out: Path, name: str, **kwargs) -> int:
    return download_file(client, f"{server.url}{path}", out, name, credentials={},
                         trusted=origin_of(server.url), redact=str, **kwargs)


# -- what it relies on -------------------------------------------------------------------------

def test_the_pinned_httpx_and_httpcore_have_what_the_seam_relies_on() -> None:
    # Upgrading past the pins must fail here, not silently lose keep-alive and speed.
    assert httpcore_seam.AVAILABLE
    assert httpcore_seam.relies_on_what_is_there()


def test_an_attribute_no_longer_set_turns_the_seam_off(monkeypatch) -> None:
    from httpcore._sync.http11 import HTTP11Connection

    def renamed(self, origin, stream, keepalive_expiry=None) -> None:
        self._state_machine = None

    monkeypatch.setattr(HTTP11Connection, "__init__", renamed)
    assert not httpcore_seam.relies_on_what_is_there()


def test_a_module_no_longer_there_turns_the_seam_off(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "httpcore._sync.connection_pool", None)
    assert not httpcore_seam.relies_on_what_is_there()


def test_without_the_seam_nothing_is_read_around_httpx(raw, client, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setattr(httpcore_seam, "AVAILABLE", False)
    body = os.urandom(2 * DIRECT_MIN)
    raw.routes["/big"] = lambda conn: conn.sendall(
        answer("200 OK", {"Content-Length": str(len(body))}) + body)
    with client.stream("GET", raw.url + "/big") as response:
        next(response.iter_raw())
        assert httpcore_seam.direct_reader(response) is None


# -- both paths, against servers that misbehave ------------------------------------------------

def test_an_answer_pipelined_behind_a_poll_is_never_the_next_one(raw, client, seam) -> None:
    polls = iter([b'{"status": "processing"}', b'{"status": "completed"}'])
    fake_done = b'{"status": "failed"}'

    def handler(conn: socket.socket) -> None:
        body = next(polls)
        conn.sendall(answer("200 OK", {"Content-Length": str(len(body))}, body)
                     + answer("200 OK", {"Content-Length": str(len(fake_done))}, fake_done))

    raw.routes["/job"] = handler
    answers = [open_response(client, raw.url + "/job", credentials={},
                             trusted=origin_of(raw.url), redact=str).json() for _ in range(2)]
    assert answers == [{"status": "processing"}, {"status": "completed"}]
    assert raw.connections == 2


def test_a_file_pipelined_behind_another_is_never_the_next_file(raw, client, tmp_path,
                                                                 seam) -> None:
    files = {f"/f{n}.bin": bytes([n]) * (3000 + n) for n in range(3)}
    evil = b"EVIL" * 500

    def handler_for(body: bytes):
        return lambda conn: conn.sendall(
            answer("200 OK", {"Content-Length": str(len(body))}) + body
            + answer("200 OK", {"Content-Length": str(len(evil))}) + evil)

    for path, body in files.items():
        raw.routes[path] = handler_for(body)
    for path, body in files.items():
        get(client, raw, path, tmp_path, path[1:])
        assert (tmp_path / path[1:]).read_bytes() == body
    assert raw.connections == len(files)


def test_small_files_share_a_connection_only_where_h11_can_be_asked(raw, client, tmp_path,
                                                                    seam) -> None:
    body = b"id,name\n" * 100
    for n in range(4):
        raw.routes[f"/{n}.csv"] = lambda conn: conn.sendall(
            answer("200 OK", {"Content-Length": str(len(body))}, body))
    for n in range(4):
        get(client, raw, f"/{n}.csv", tmp_path, f"{n}.csv")
        assert (tmp_path / f"{n}.csv").read_bytes() == body
    # The fallback cannot tell a clean connection from an overfed one: it drops each.
    assert raw.connections == (1 if seam == "seam" else 4)


def test_a_large_file_is_exact_on_both_paths(raw, client, tmp_path, seam,
                                             monkeypatch) -> None:
    readers = []
    direct_reader = httpcore_seam.direct_reader
    monkeypatch.setattr(httpcore_seam, "direct_reader",
                        lambda response: readers.append(direct_reader(response)) or readers[-1])
    body = os.urandom(3 * DIRECT_MIN + 12345)
    small = b"small"

    def large(conn: socket.socket) -> None:
        conn.sendall(answer("200 OK", {"Content-Length": str(len(body))}) + body[:1000])
        time.sleep(0.05)  # h11 hands over the first piece alone
        conn.sendall(body[1000:])

    raw.routes["/big.bin"] = large
    raw.routes["/small.txt"] = lambda conn: conn.sendall(
        answer("200 OK", {"Content-Length": "5"}, small))
    assert get(client, raw, "/big.bin", tmp_path, "big.bin") == len(body)
    assert (tmp_path / "big.bin").read_bytes() == body
    get(client, raw, "/small.txt", tmp_path, "small.txt")
    # Read around h11, the connection never saw its end; the fallback drops every one.
    assert raw.connections == 2
    assert [reader is not None for reader in readers] == [seam == "seam"]


def test_chunked_framing_never_lands_in_the_file(raw, client, tmp_path, seam) -> None:
    payload = bytes(range(256)) * (3 * 4096)
    first, rest = payload[:100], payload[100:]

    def handler(conn: socket.socket) -> None:
        conn.sendall(answer("200 OK", {"Transfer-Encoding": "chunked",
                                       "Content-Length": str(len(payload))}))
        conn.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        time.sleep(0.05)
        for at in range(0, len(rest), 65536):
            piece = rest[at:at + 65536]
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.sendall(b"0\r\n\r\n")

    raw.routes["/a.bin"] = handler
    assert get(client, raw, "/a.bin", tmp_path, "a.bin") == len(payload)
    assert (tmp_path / "a.bin").read_bytes() == payload


def test_a_connection_reset_mid_body_is_a_clean_failure(raw, client, tmp_path, seam) -> None:
    # On the seam path the read is httpcore's own: its error must come out as httpx's.
    announced = 4 * DIRECT_MIN

    def reset(conn: socket.socket) -> None:
        conn.sendall(answer("200 OK", {"Content-Length": str(announced)}) + b"x" * 1000)
        time.sleep(0.05)
        conn.sendall(b"y" * DIRECT_MIN)
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    raw.routes["/cut.bin"] = reset
    with pytest.raises(DownloadError, match=r"broke off after \d+ bytes \(ReadError"):
        get(client, raw, "/cut.bin", tmp_path, "cut.bin", attempts=1)
    assert list(tmp_path.iterdir()) == []


def test_a_read_timeout_mid_body_is_a_clean_failure(raw, tmp_path, seam) -> None:
    announced = 4 * DIRECT_MIN

    def stall(conn: socket.socket) -> None:
        conn.sendall(answer("200 OK", {"Content-Length": str(announced)}) + b"x" * 1000)
        time.sleep(0.05)
        conn.sendall(b"y" * 1000)
        time.sleep(3)

    raw.routes["/stall.bin"] = stall
    started = time.monotonic()
    with httpx.Client(timeout=0.5) as impatient:
        with pytest.raises(DownloadError, match=r"broke off after \d+ bytes \(ReadTimeout"):
            get(impatient, raw, "/stall.bin", tmp_path, "stall.bin", attempts=1)
    assert time.monotonic() - started < within(2.5)
    assert list(tmp_path.iterdir()) == []


def test_the_fake_server_agrees(seam, tmp_path) -> None:
    # The benchmark's server (http.server): a 5 MiB body with a Content-Length, whole.
    from tests.fakeserver import FakeServer

    data = os.urandom(5 * DIRECT_MIN)
    server = FakeServer().start()
    try:
        server.route("/f.bin", Reply(200, data))
        with make_client() as client:
            assert get(client, server, "/f.bin", tmp_path, "f.bin") == len(data)
    finally:
        server.stop()
    assert (tmp_path / "f.bin").read_bytes() == data
