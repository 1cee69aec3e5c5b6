"""The read path of an API answer (jobwatch.http.open_response without ``stream``): the
common answer, as stored, comes back as the very response it came on, body read, headers as
sent, connection kept; a compressed one as a copy that no longer claims its wire framing.
Both ways the bounds of size and time hold (tests/test_http.py tries those)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from jobwatch import httpcore_seam
from jobwatch.http import make_client, open_response, origin_of
from tests.rawserver import RawServer, raw_answer, sending

STATUS = b'{"status": "processing", "note": "caf\xc3\xa9"}'


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


@pytest.fixture(params=[True, False], ids=["kept-in-place", "copied"])
def in_place(request, monkeypatch) -> bool:
    """Both ways with_body can go: into the response itself, or a copy (another httpx)."""
    monkeypatch.setattr(httpcore_seam, "READS_INTO_CONTENT", request.param)
    return request.param


def read(url: str) -> httpx.Response:
    with make_client() as client:
        return open_response(client, url, credentials={}, trusted=origin_of(url), redact=str)


def test_the_pinned_httpx_keeps_a_read_body_where_the_seam_puts_it() -> None:
    assert httpcore_seam.reads_into_content()


def test_an_answer_as_stored_is_read_whole_with_its_header_bytes(raw, in_place) -> None:
    raw.routes["/job"] = sending(raw_answer(b"200 OK", [b"X-Served-By: caf\xe9",
                                                        b"Content-Type: application/json"],
                                            STATUS))
    response = read(raw.url + "/job")
    assert response.content == STATUS and response.json()["note"] == "café"
    assert (b"X-Served-By", b"caf\xe9") in response.headers.raw  # the bytes that came
    assert response.is_closed and response.request.url == raw.url + "/job"


def test_a_chunked_answer_is_read_without_its_framing(raw, in_place) -> None:
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(STATUS), STATUS)
    raw.routes["/job"] = sending(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 + framed)
    assert read(raw.url + "/job").content == STATUS


def test_a_compressed_answer_is_a_copy_that_says_what_it_now_is(raw) -> None:
    packed = gzip.compress(STATUS)
    raw.routes["/job"] = sending(raw_answer(b"200 OK", [b"Content-Encoding: gzip",
                                                        b"X-Served-By: caf\xe9"], packed))
    response = read(raw.url + "/job")
    assert response.content == STATUS
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(STATUS))
    assert (b"X-Served-By", b"caf\xe9") in response.headers.raw


def test_polls_share_one_connection(raw, in_place) -> None:
    raw.routes["/job"] = sending(raw_answer(b"200 OK", [], STATUS))
    with make_client() as client:
        for _ in range(3):
            answer = open_response(client, raw.url + "/job", credentials={},
                                   trusted=origin_of(raw.url), redact=str)
            assert answer.content == STATUS
    assert raw.connections == 1


def test_the_pinned_httpx_offers_cookies_where_the_seam_declines_them() -> None:
    assert httpcore_seam.offers_cookies()


@pytest.mark.parametrize("declined", [True, False], ids=["never-offered", "offered-refused"])
def test_a_cookie_is_never_kept_nor_sent_back(raw, monkeypatch, declined) -> None:
    monkeypatch.setattr(httpcore_seam, "OFFERS_COOKIES", declined)
    def answer_with_a_cookie(conn) -> None:
        conn.sendall(raw_answer(b"200 OK", [b"Set-Cookie: sid=abc; Path=/"], STATUS))

    raw.routes["/set"] = answer_with_a_cookie
    raw.routes["/next"] = sending(raw_answer(b"200 OK", [], STATUS))
    with make_client() as client:
        for path in ("/set", "/next"):
            open_response(client, raw.url + path, credentials={}, trusted=origin_of(raw.url),
                          redact=str)
        assert list(client.cookies.jar) == []
        assert type(client.cookies).__name__ == ("Unoffered" if declined else "Cookies")
