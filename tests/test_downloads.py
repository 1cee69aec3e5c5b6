"""jobwatch.downloads and jobwatch.safefs over real loopback HTTP: safe names, a .part of its
own + rename, symlinks, retries."""

from __future__ import annotations

import errno
import gzip
import os
import re
import stat
import zlib
from pathlib import Path

import httpx
import pytest

from jobwatch.downloads import CHUNK_SIZE, download_file
from jobwatch.errors import DownloadError, ExitCode
from jobwatch.http import make_client, origin_of
from jobwatch.redact import Redactor
from jobwatch.safefs import check_component, open_safe_dir, safe_file_name, write_atomically
from tests.conftest import within
from tests.fakeserver import Reply

TOKEN = "tok_SECRET_123456"
ORG = "org_secret_987"
CREDENTIALS = {"Authorization": f"Bearer {TOKEN}", "X-Organization-ID": ORG}


class Recorder:
    def __init__(self, on_advance=None) -> None:
        self.events: list[tuple] = []
        self.on_advance = on_advance

    def start(self, label: str, total: int | None) -> None:
        self.events.append(("start", label, total))

    def advance(self, n: int) -> None:
        self.events.append(("advance", n))
        if self.on_advance is not None:
            self.on_advance(n)

    def finish(self, label: str, ok: bool) -> None:
        self.events.append(("finish", label, ok))

    def advanced(self) -> list[int]:
        return [e[1] for e in self.events if e[0] == "advance"]


@pytest.fixture
def client():
    with make_client() as c:
        yield c


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


@pytest.fixture
def raw():
    from tests.rawserver import RawServer

    server = RawServer()
    yield server
    server.close()


def fetch(client, fake, url: str, directory: Path, name: str, **kwargs):
    sleeps: list[float] = kwargs.pop("sleeps", [])
    kwargs.setdefault("sleep", sleeps.append)
    return download_file(client, url, directory, name, credentials=CREDENTIALS,
                         trusted=origin_of(fake.url), redact=Redactor([TOKEN, ORG]), **kwargs)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def safe_dir(root: Path, *components: str) -> Path:
    with open_safe_dir(root, *components) as held:
        return held.path


# --- names and directories ---------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("https://h.example/t/download/report.csv?sig=abc&x=/../y#frag", "report.csv"),
    ("/tenant/download/errors%20list.csv", "errors list.csv"),
    ("http://h.example/a/b/../../c", "c"),
    ("/x/caf%C3%A9.csv", "café.csv"),
    ("plain.txt", "plain.txt"),
    ("/x/.hidden", ".hidden"),
    ("/x/%E6%97%A5%E6%9C%AC.csv", "日本.csv"),
    ("/x/%EF%BD%86ull.csv", "ｆull.csv"),  # folds to "full.csv": a look-alike, not a path
    ("/x/a..b", "a..b"),
])
def test_safe_file_name_takes_last_decoded_segment(source: str, expected: str) -> None:
    assert safe_file_name(source) == expected


@pytest.mark.parametrize("source", [
    "", "https://h.example/", "https://h.example/dl/.", "/dl/..", "..",
    "%2e%2e%2fx", "/dl/%2e%2e%2fx", "/dl/%2E%2E", "/dl/%2e",
    "/dl/..%5c..%5cx", "/dl/a%2Fb", "/dl/a%00b", "/dl/bad%0aname.csv", "/dl/x%1b%5b31m",
    "/dl/x%7f", "/dl/%ff%fe", "/dl/%E2%80%AEvsc.exe", "/dl/a\\b",
    # invisible: zero width space, word joiner, BOM, soft hyphen, Mongolian vowel separator
    "/dl/%E2%80%8Bzw.csv", "/dl/a%E2%81%A0b", "/dl/%EF%BB%BFx", "/dl/soft%C2%ADhy",
    "/dl/x%E1%A0%8E",
    "/dl/%EE%80%80x", "/dl/x%CD%B8",  # private use U+E000, unassigned U+0378
    "/dl/a\ud800b.csv",  # a lone surrogate, as a provider's JSON escape can carry
    # look-alikes that read as (or NFKC-normalize to) "..", "/" or "\\"
    "/dl/%EF%BC%8E%EF%BC%8E", "/dl/..%EF%BC%8Fetc", "/dl/a%EF%BC%BCb", "/dl/%E2%80%A5",
    "/dl/..%E2%88%95x", "/dl/a%E2%81%84b",
])
def test_safe_file_name_refuses(source: str) -> None:
    with pytest.raises(DownloadError) as info:
        safe_file_name(source)
    assert info.value.exit_code == ExitCode.DOWNLOAD


def test_safe_dir_creates_root_and_each_level(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    result = safe_dir(root, "claret-1", "errors")
    assert result == root / "claret-1" / "errors"
    assert result.is_dir()
    assert safe_dir(root, "claret-1", "errors") == result  # idempotent


@pytest.mark.parametrize("component", ["..", ".", "", "a/b", "x\ny", "..\\x"])
def test_safe_dir_refuses_bad_components(tmp_path: Path, component: str) -> None:
    with pytest.raises(DownloadError):
        safe_dir(tmp_path / "root", "job", component)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["job", "root"]


def test_safe_dir_refuses_symlinked_component(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "claret-1").symlink_to(outside)
    with pytest.raises(DownloadError, match="symlink"):
        safe_dir(root, "claret-1", "errors")
    assert list(outside.iterdir()) == []


def test_check_component_refuses_a_lone_surrogate() -> None:
    with pytest.raises(DownloadError, match="surrogate"):
        check_component("x\ud800")


def test_unencodable_paths_fail_that_file_only(fake, client, tmp_path: Path) -> None:
    # A lone surrogate passes no check_component, but DIR comes from the user: the OS layer
    # must still answer with a DownloadError, never a UnicodeEncodeError.
    fake.route("/files/a.csv", Reply(200, b"x"))
    bad = tmp_path / "bad\ud800dir"
    with pytest.raises(DownloadError, match="cannot be encoded"):
        safe_dir(bad, "claret-1")
    with pytest.raises(DownloadError, match="cannot be encoded"):
        fetch(client, fake, f"{fake.url}/files/a.csv", bad, "a.csv")
    with pytest.raises(DownloadError, match="cannot be encoded"):
        write_atomically(bad, "a.csv", lambda fd: 0)
    assert fake.hits("/files/a.csv") == 0
    assert list(tmp_path.iterdir()) == []


def test_safe_dir_refuses_file_component(tmp_path: Path) -> None:
    (tmp_path / "claret-1").write_text("x")
    with pytest.raises(DownloadError, match="not a directory"):
        safe_dir(tmp_path, "claret-1", "errors")


# --- the happy path -----------------------------------------------------------------------------

def test_download_writes_file_with_usual_mode(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"id,name\n1,x\n"))
    progress = Recorder()
    old = os.umask(0o027)
    try:
        written = fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv",
                        progress=progress)
    finally:
        os.umask(old)
    assert written == 12
    assert (out / "a.csv").read_bytes() == b"id,name\n1,x\n"
    assert stat.S_IMODE((out / "a.csv").stat().st_mode) == 0o640
    assert leftovers(out) == ["a.csv"]
    assert progress.events == [("start", "a.csv", 12), ("advance", 12), ("finish", "a.csv", True)]


def test_download_streams_in_bounded_chunks(fake, client, out: Path) -> None:
    piece = b"z" * 1_000_000
    fake.route("/big", Reply(200, (piece,) * 6))  # no Content-Length, chunked by the fake
    progress = Recorder()
    written = fetch(client, fake, f"{fake.url}/big", out, "big.bin", progress=progress)
    assert written == 6_000_000 == (out / "big.bin").stat().st_size
    assert sum(progress.advanced()) == written
    assert max(progress.advanced()) <= CHUNK_SIZE
    assert len(progress.advanced()) >= 4


def test_gzip_encoded_body_is_decoded(fake, client, out: Path) -> None:
    data = b"row,value\n" * 5000
    fake.route("/z.csv", Reply(200, gzip.compress(data), {"Content-Encoding": "gzip"}))
    progress = Recorder()
    assert fetch(client, fake, f"{fake.url}/z.csv", out, "z.csv", progress=progress) == len(
        data)
    assert (out / "z.csv").read_bytes() == data
    assert progress.events[0] == ("start", "z.csv", None)  # encoded length is not the file's


def test_every_origin_is_asked_for_the_body_as_stored(fake, other_fake, client,
                                                      out: Path) -> None:
    fake.route("/files/same.csv", Reply(200, b"same"))
    fake.route("/files/moved.csv",
               Reply(302, b"", {"Location": f"{other_fake.url}/store/moved.csv"}))
    other_fake.route("/store/abs.csv", Reply(200, b"abs"))
    other_fake.route("/store/moved.csv", Reply(200, b"moved"))
    for url, name in ((f"{fake.url}/files/same.csv", "same.csv"),
                      (f"{other_fake.url}/store/abs.csv", "abs.csv"),
                      (f"{fake.url}/files/moved.csv", "moved.csv")):
        fetch(client, fake, url, out, name)
    requests = fake.requests + other_fake.requests
    assert len(requests) == 4
    assert all(r.headers["accept-encoding"] == "identity" for r in requests)
    assert all("authorization" not in r.headers for r in other_fake.requests)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    # The run's client itself is left as it was, for the status polls.
    assert client.headers["accept-encoding"] != "identity"


def test_gzip_bomb_is_inflated_one_bounded_chunk_at_a_time(fake, client, out: Path) -> None:
    size = 48 * CHUNK_SIZE
    bomb = gzip.compress(bytes(size), compresslevel=9)
    assert len(bomb) < 64 * 1024  # a few dozen KiB on the wire, one socket read
    fake.route("/bomb.bin", Reply(200, bomb, {"Content-Encoding": "gzip"}))
    progress = Recorder()
    assert fetch(client, fake, f"{fake.url}/bomb.bin", out, "bomb.bin",
                 progress=progress) == size
    assert max(progress.advanced()) <= CHUNK_SIZE
    assert sum(progress.advanced()) == size == (out / "bomb.bin").stat().st_size
    assert leftovers(out) == ["bomb.bin"]


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded_in_bounded_chunks(fake, client, out: Path,
                                                   wbits: int) -> None:
    data = b"row,value\n" * (CHUNK_SIZE // 4)  # 2.5 chunks once inflated
    encoder = zlib.compressobj(9, zlib.DEFLATED, wbits)
    body = encoder.compress(data) + encoder.flush()
    fake.route("/d.csv", Reply(200, body, {"Content-Encoding": "deflate"}))
    progress = Recorder()
    assert fetch(client, fake, f"{fake.url}/d.csv", out, "d.csv", progress=progress) == len(
        data)
    assert (out / "d.csv").read_bytes() == data
    assert max(progress.advanced()) <= CHUNK_SIZE


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(200, b"\x8b\x0b\x80" * 10, {"Content-Encoding": "br"}), "Content-Encoding 'br'"),
    (Reply(200, b"\x1f\x8b not gzip at all", {"Content-Encoding": "gzip"}),
     "cannot decode the gzip body"),
])
def test_a_body_we_cannot_decode_fails_that_file_at_once(fake, client, out: Path,
                                                          reply: Reply, message: str) -> None:
    fake.route("/files/a.csv", reply)
    with pytest.raises(DownloadError, match=message) as info:
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert info.value.exit_code == ExitCode.DOWNLOAD
    assert fake.hits("/files/a.csv") == 1  # the server will not change its mind
    assert leftovers(out) == []


def test_a_gzip_stream_that_ends_early_is_retried_then_fails(fake, client, out: Path) -> None:
    cut = gzip.compress(b"x" * 100_000)[:-12]  # whole HTTP body, unfinished gzip stream
    fake.route("/files/a.csv", Reply(200, cut, {"Content-Encoding": "gzip"}))
    with pytest.raises(DownloadError, match="ended early"):
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert fake.hits("/files/a.csv") == 3
    assert leftovers(out) == []


# --- names at the length limit ------------------------------------------------------------------

LONG = "L" * 252  # fits in 255 bytes; LONG.part does not


def test_name_too_long_for_a_part_suffix_uses_a_short_temporary(fake, client,
                                                                out: Path) -> None:
    fake.route("/dl/long", Reply(200, (b"a" * 1000, b"b" * 1000)))
    seen: list[tuple[str, int]] = []

    def look(_n: int) -> None:
        seen.extend((p.name, stat.S_IMODE(p.lstat().st_mode)) for p in out.iterdir())

    assert fetch(client, fake, f"{fake.url}/dl/long", out, LONG,
                 progress=Recorder(on_advance=look)) == 2000
    assert seen and all(re.fullmatch(r"\.jobwatch-[0-9a-f]{16}\.part", name) and mode == 0o600
                        for name, mode in seen)
    assert leftovers(out) == [LONG]
    assert (out / LONG).read_bytes() == b"a" * 1000 + b"b" * 1000


def test_long_name_leaves_no_temporary_on_failure(fake, client, out: Path) -> None:
    fake.route("/dl/long", Reply(200, b"cut", content_length=99))
    with pytest.raises(DownloadError, match="broke off|cut short"):
        fetch(client, fake, f"{fake.url}/dl/long", out, LONG)
    assert leftovers(out) == []


# --- credentials and redirects ------------------------------------------------------------------

def test_credentials_only_reach_the_trusted_origin(fake, other_fake, client,
                                                   out: Path) -> None:
    fake.route("/files/same.csv", Reply(200, b"same"))
    other_fake.route("/store/abs.csv", Reply(200, b"abs"))
    other_fake.route("/store/moved.csv", Reply(200, b"moved"))
    fake.route("/files/moved.csv",
                 Reply(302, b"", {"Location": f"{other_fake.url}/store/moved.csv"}))

    fetch(client, fake, f"{fake.url}/files/same.csv", out, "same.csv")
    fetch(client, fake, f"{other_fake.url}/store/abs.csv", out, "abs.csv")
    fetch(client, fake, f"{fake.url}/files/moved.csv", out, "moved.csv")

    for path in ("/files/same.csv", "/files/moved.csv"):
        (request,) = fake.requests_to(path)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["x-organization-id"] == ORG
    for path in ("/store/abs.csv", "/store/moved.csv"):
        (request,) = other_fake.requests_to(path)
        assert "authorization" not in request.headers
        assert "x-organization-id" not in request.headers
    assert (out / "moved.csv").read_bytes() == b"moved"


def test_https_to_http_redirect_is_refused(fake, out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"plain"))

    def https_side(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"{fake.url}/files/a.csv"})

    # The https leg is a MockTransport (no TLS fake here); the http leg is the real loopback.
    client = httpx.Client(mounts={"https://": httpx.MockTransport(https_side)}, trust_env=False)
    with client, pytest.raises(DownloadError, match="https") as info:
        download_file(client, "https://files.example/a.csv", out, "a.csv",
                      credentials=CREDENTIALS, trusted=("https", "files.example", 443),
                      redact=Redactor([TOKEN, ORG]), sleep=lambda s: None)
    assert info.value.exit_code == ExitCode.DOWNLOAD
    assert fake.hits("/files/a.csv") == 0
    assert leftovers(out) == []


def test_no_credentials_over_http_when_trusted_origin_is_https(fake, client,
                                                               out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"x"))
    download_file(client, f"{fake.url}/files/a.csv", out, "a.csv", credentials=CREDENTIALS,
                  trusted=("https", "127.0.0.1", fake.port), redact=Redactor([TOKEN]))
    (request,) = fake.requests_to("/files/a.csv")
    assert "authorization" not in request.headers
    assert "x-organization-id" not in request.headers


# --- HTTP failures, retries and stalls ---------------------------------------------------------

def test_server_error_is_retried_then_fails_cleanly(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(500, b"boom"))
    sleeps: list[float] = []
    with pytest.raises(DownloadError, match="HTTP 500") as info:
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv", sleeps=sleeps)
    assert info.value.exit_code == ExitCode.DOWNLOAD
    assert fake.hits("/files/a.csv") == 3
    assert len(sleeps) == 2
    assert leftovers(out) == []


def test_503_then_200_succeeds_honouring_retry_after(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(503, b"busy", {"Retry-After": "7"}), Reply(200, b"ok"))
    sleeps: list[float] = []
    told: list[tuple[str, float]] = []
    assert fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv", sleeps=sleeps,
                 on_retry=lambda message, delay: told.append((message, delay))) == 2
    assert sleeps == [7.0]
    assert told == [(f"cannot download {fake.url}/files/a.csv: HTTP 503", 7.0)]
    assert (out / "a.csv").read_bytes() == b"ok"
    assert leftovers(out) == ["a.csv"]


def test_client_error_fails_at_once_and_redacts_the_url(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(404, b"nope"))
    with pytest.raises(DownloadError) as info:
        fetch(client, fake, f"{fake.url}/files/a.csv?token={TOKEN}", out, "a.csv")
    assert fake.hits("/files/a.csv") == 1
    assert "HTTP 404" in info.value.message
    assert f"{fake.url}/files/a.csv" in info.value.message
    assert TOKEN not in info.value.message
    assert leftovers(out) == []


def test_truncated_body_keeps_nothing(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"only part", content_length=1000))
    with pytest.raises(DownloadError) as info:
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert info.value.exit_code == ExitCode.DOWNLOAD
    assert fake.hits("/files/a.csv") == 3  # a cut body is retried as transient
    assert leftovers(out) == []


def test_invalid_url_is_a_download_error(fake, client, out: Path) -> None:
    with pytest.raises(DownloadError, match="invalid URL"):
        fetch(client, fake, "http://127.0.0.1:99999/a.csv", out, "a.csv")
    assert leftovers(out) == []


def test_a_redirect_to_an_invalid_url_is_a_download_error(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(302, b"", {"Location": "http://127.0.0.1:99999/x"}))
    with pytest.raises(DownloadError, match="HTTP 302 with a Location that is not a URL: "
                                            "'http://127.0.0.1:99999/x'"):
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert leftovers(out) == []


def test_a_body_dribbled_a_byte_at_a_time_is_a_stall(raw, client, out: Path,
                                                     monkeypatch) -> None:
    # A byte every 0.1 s never trips the per-read timeout; the stall rule does.
    import time

    from jobwatch import downloads
    from tests.rawserver import answer

    monkeypatch.setattr(downloads, "STALL_WINDOW", 0.5)

    def handler(conn) -> None:
        conn.sendall(answer("200 OK", {"Content-Length": "100000"}))
        for _ in range(100):
            conn.sendall(b"x")
            time.sleep(0.1)

    raw.routes["/slow.bin"] = handler
    started = time.monotonic()
    with pytest.raises(DownloadError, match="stalled: less than 1024 bytes in 0.5s"):
        download_file(client, f"{raw.url}/slow.bin", out, "slow.bin", credentials={},
                      trusted=origin_of(raw.url), redact=str, attempts=1)
    assert time.monotonic() - started < within(3)
    assert leftovers(out) == []


# --- what is already on disk --------------------------------------------------------------------

def precious(tmp_path: Path) -> Path:
    """Someone else's file, which a symlink planted in the download folder points at."""
    target = tmp_path / "secret.txt"
    target.write_text("precious")
    return target


def assert_untouched(link: Path, target: Path) -> None:
    assert os.readlink(link) == str(target)
    assert target.read_text() == "precious"


def test_planted_symlink_is_refused_and_untouched(fake, client, tmp_path: Path,
                                                  out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"evil"))
    target = precious(tmp_path)
    (out / "a.csv").symlink_to(target)
    with pytest.raises(DownloadError, match="symlink"):
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert_untouched(out / "a.csv", target)
    assert leftovers(out) == ["a.csv"]
    assert fake.hits("/files/a.csv") == 0


def test_a_symlink_at_name_part_is_someone_elses_and_untouched(fake, client, tmp_path: Path,
                                                               out: Path) -> None:
    # Each attempt writes a temporary of its own (a.csv.<random>.part): a.csv.part is not it.
    fake.route("/files/a.csv", Reply(200, b"data"))
    target = precious(tmp_path)
    (out / "a.csv.part").symlink_to(target)
    fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert_untouched(out / "a.csv.part", target)
    assert (out / "a.csv").read_bytes() == b"data"
    assert leftovers(out) == ["a.csv", "a.csv.part"]


def test_symlink_planted_at_the_temporary_name_is_not_followed(fake, client, tmp_path: Path,
                                                              out: Path, monkeypatch) -> None:
    # The random name is made predictable, and a symlink planted at it while the request is
    # on its way: O_EXCL|O_NOFOLLOW refuses it, and the next random name is used instead.
    target = precious(tmp_path)
    tags = iter([b"\x00" * 4, b"\x01" * 4])
    monkeypatch.setattr(os, "urandom", lambda n: next(tags))

    def plant(_request) -> Reply:
        (out / "a.csv.00000000.part").symlink_to(target)
        return Reply(200, b"data")

    fake.route("/files/a.csv", plant)
    fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    monkeypatch.undo()
    assert_untouched(out / "a.csv.00000000.part", target)
    assert (out / "a.csv").read_bytes() == b"data"
    assert leftovers(out) == ["a.csv", "a.csv.00000000.part"]


def test_directory_swapped_for_a_symlink_during_the_request(fake, client, tmp_path: Path,
                                                            out: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    def swap(_request) -> Reply:
        out.rename(tmp_path / "moved")
        out.symlink_to(outside)
        return Reply(200, b"data")

    fake.route("/files/a.csv", swap)
    fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert list(outside.iterdir()) == []  # the fd held the directory that was checked
    assert (tmp_path / "moved" / "a.csv").read_bytes() == b"data"


def test_directory_at_target_name_is_refused(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"x"))
    (out / "a.csv").mkdir()
    with pytest.raises(DownloadError, match="directory"):
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert (out / "a.csv").is_dir()
    assert leftovers(out) == ["a.csv"]


def test_a_part_file_not_ours_is_left_alone(fake, client, out: Path) -> None:
    # It may be another run's download in progress: never removed, never renamed into place.
    fake.route("/files/a.csv", Reply(200, b"fresh"))
    (out / "a.csv.part").write_bytes(b"another run's half download")
    fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert (out / "a.csv").read_bytes() == b"fresh"
    assert (out / "a.csv.part").read_bytes() == b"another run's half download"
    assert leftovers(out) == ["a.csv", "a.csv.part"]


def test_existing_file_replaced_only_when_complete(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, (b"new-1;", b"new-2")))
    (out / "a.csv").write_bytes(b"old")
    seen: list[bytes] = []
    progress = Recorder(on_advance=lambda n: seen.append((out / "a.csv").read_bytes()))
    fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv", progress=progress)
    assert seen and all(content == b"old" for content in seen)
    assert (out / "a.csv").read_bytes() == b"new-1;new-2"


@pytest.mark.parametrize("reply", [Reply(500, b"boom"), Reply(200, b"cut", content_length=99)])
def test_existing_file_kept_when_new_download_fails(fake, client, out: Path,
                                                    reply: Reply) -> None:
    fake.route("/files/a.csv", reply)
    (out / "a.csv").write_bytes(b"old")
    with pytest.raises(DownloadError):
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    assert (out / "a.csv").read_bytes() == b"old"
    assert leftovers(out) == ["a.csv"]


def test_two_runs_on_one_dir_never_rename_each_others_half_written_file(fake, out: Path
                                                                        ) -> None:
    # Run A is writing a.csv; run B starts on the same name and stalls half-way.
    # A must rename its own complete file into place, not B's half-written one, and B's
    # temporary must survive A (it is not A's to remove).
    import threading
    import time

    a_half_sent = threading.Event()
    a_may_end, b_may_end = threading.Event(), threading.Event()

    def body(first: bytes, second: bytes, pause: threading.Event,
             sent: threading.Event | None = None):
        yield first
        if sent is not None:
            sent.set()
        pause.wait(10)
        yield second

    fake.route("/a.csv", lambda _r: Reply(200, body(b"A" * 1000, b"A" * 1000, a_may_end,
                                                    a_half_sent), content_length=2000))
    fake.route("/b.csv", lambda _r: Reply(200, body(b"B" * 1000, b"B" * 1000, b_may_end),
                                          content_length=2000))
    results: dict[str, object] = {}

    def run(which: str) -> None:
        with make_client() as own:
            try:
                results[which] = fetch(own, fake, f"{fake.url}/{which}.csv", out, "a.csv",
                                       attempts=1)
            except DownloadError as exc:
                results[which] = exc

    def halves_on_disk() -> list[int]:
        return sorted(part.stat().st_size for part in out.glob("a.csv.*.part"))

    a = threading.Thread(target=run, args=("a",))
    a.start()
    assert a_half_sent.wait(10)
    b = threading.Thread(target=run, args=("b",))
    b.start()
    # A ends only once both halves are in their parts on disk: a half the server has sent
    # may not be read yet, and A could otherwise end before B's part even exists.
    deadline = time.monotonic() + 10
    while halves_on_disk() != [1000, 1000]:
        assert time.monotonic() < deadline, halves_on_disk()
        time.sleep(0.01)
    a_may_end.set()
    a.join(10)
    assert results["a"] == 2000
    assert (out / "a.csv").read_bytes() == b"A" * 2000
    assert len(list(out.glob("a.csv.*.part"))) == 1  # B's, still being written
    b_may_end.set()
    b.join(10)
    assert results["b"] == 2000
    assert (out / "a.csv").read_bytes() == b"B" * 2000
    assert leftovers(out) == ["a.csv"]


# --- the OS says no -----------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory modes")
def test_unwritable_directory(fake, client, out: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"x"))
    out.chmod(0o500)
    try:
        with pytest.raises(DownloadError, match="Permission denied") as info:
            fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    finally:
        out.chmod(0o700)
    assert str(out / "a.csv") in info.value.message
    assert leftovers(out) == []


def test_directory_under_a_regular_file(fake, client, tmp_path: Path) -> None:
    fake.route("/files/a.csv", Reply(200, b"x"))
    (tmp_path / "file").write_text("i am a file")
    directory = tmp_path / "file" / "sub"
    with pytest.raises(DownloadError, match="Not a directory") as info:
        fetch(client, fake, f"{fake.url}/files/a.csv", directory, "a.csv")
    assert info.value.exit_code == ExitCode.DOWNLOAD
    assert (tmp_path / "file").read_text() == "i am a file"


def test_disk_full_mid_stream(fake, client, out: Path, monkeypatch) -> None:
    fake.route("/files/a.csv", Reply(200, b"x" * 1000))
    real_write = os.write

    def full_disk(fd: int, data) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".part"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    if not os.path.exists("/proc/self/fd"):
        pytest.skip("needs /proc")
    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(DownloadError) as info:
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    monkeypatch.undo()
    assert info.value.message == f"cannot write {out / 'a.csv'}: No space left on device"
    assert info.value.exit_code == ExitCode.DOWNLOAD
    assert leftovers(out) == []


def test_permission_denied_creating_part(fake, client, out: Path, monkeypatch) -> None:
    fake.route("/files/a.csv", Reply(200, b"x"))
    real_open = os.open

    def denied(path, flags, *args, **kwargs):
        if str(path).endswith(".part"):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(DownloadError) as info:
        fetch(client, fake, f"{fake.url}/files/a.csv", out, "a.csv")
    monkeypatch.undo()
    assert info.value.message == f"cannot write {out / 'a.csv'}: Permission denied"
    assert leftovers(out) == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_interruption_mid_stream_leaves_no_part(fake, client, out: Path,
                                                interruption: type[BaseException]) -> None:
    fake.route("/files/big", Reply(200, (b"y" * 200_000,) * 4))

    def interrupt(n: int) -> None:
        assert [p.name for p in out.glob("big.bin.*.part")]  # really mid-stream, .part on disk
        raise interruption()

    progress = Recorder(on_advance=interrupt)
    with pytest.raises(interruption):
        fetch(client, fake, f"{fake.url}/files/big", out, "big.bin", progress=progress)
    assert leftovers(out) == []
    assert progress.events[-1] == ("finish", "big.bin", False)


def test_a_body_complete_when_the_deadline_passes_is_kept(fake, client, out: Path) -> None:
    import time

    def late_last_chunk():
        yield b"a" * 10
        time.sleep(0.6)  # the deadline passes while the last bytes are on their way
        yield b"b" * 10

    fake.route("/slow", lambda _r: Reply(200, late_last_chunk(), content_length=20))
    deadline = time.monotonic() + 0.3
    assert fetch(client, fake, fake.url + "/slow", out, "slow.bin", deadline=deadline) == 20
    assert (out / "slow.bin").read_bytes() == b"a" * 10 + b"b" * 10


def test_a_body_still_arriving_at_the_deadline_is_a_timeout(fake, client, out: Path) -> None:
    import time

    from jobwatch.errors import DownloadTimeout

    def slow():
        for _ in range(10):
            yield b"a" * 10
            time.sleep(0.2)

    fake.route("/slow", lambda _r: Reply(200, slow(), content_length=100))
    with pytest.raises(DownloadTimeout):
        fetch(client, fake, fake.url + "/slow", out, "slow.bin", deadline=time.monotonic() + 0.3)
    assert leftovers(out) == []
    hits = fake.hits("/slow")
    with pytest.raises(DownloadTimeout):  # a deadline already past: no request at all
        fetch(client, fake, fake.url + "/slow", out, "slow.bin", deadline=time.monotonic())
    assert fake.hits("/slow") == hits


# --- the body read straight from the connection -----------------------------------------------

def test_a_large_body_arrives_whole_and_the_connection_is_not_reused(fake, client,
                                                                     out: Path) -> None:
    # Past h11's first piece the body is read from the connection itself: every byte must
    # land, in order, and the connection (whose end h11 never saw) must not serve again.
    import os

    data = os.urandom(5 * 1024 * 1024 + 123)
    fake.route("/dl/big.bin", Reply(200, data))  # the server would keep the connection open
    fake.route("/dl/small.txt", Reply(200, b"small"))
    sizes: list[int] = []

    class Count:
        def start(self, label: str, total: int | None) -> None:
            assert total == len(data)

        def advance(self, n: int) -> None:
            sizes.append(n)

        def finish(self, label: str, ok: bool) -> None:
            assert ok

    assert fetch(client, fake, f"{fake.url}/dl/big.bin", out, "big.bin",
                 progress=Count()) == len(data)
    assert (out / "big.bin").read_bytes() == data
    assert sum(sizes) == len(data) and max(sizes) <= 1 << 20
    assert fetch(client, fake, f"{fake.url}/dl/small.txt", out, "small.txt") == 5
    assert fake.connections == 2


def test_a_server_sending_more_than_it_announced_gets_only_what_it_announced(
        fake, client, out: Path) -> None:
    fake.route("/dl/x.bin", Reply(200, (b"a" * 70_000, b"b" * 70_000, b"EXTRA"),
                                  content_length=140_000))
    assert fetch(client, fake, f"{fake.url}/dl/x.bin", out, "x.bin") == 140_000
    assert (out / "x.bin").read_bytes() == b"a" * 70_000 + b"b" * 70_000


def test_chunked_framing_with_a_content_length_never_lands_in_the_file(raw, client,
                                                                       out: Path) -> None:
    # Transfer-Encoding wins over Content-Length (RFC 9112, and h11). A read around h11 after
    # its first piece could write the chunk-size lines into the file, and pass the length
    # check by counting the framing too.
    import time

    from tests.rawserver import answer

    payload = bytes(range(256)) * (3 * 4096)  # 3 MiB: far more than a small remainder
    first, rest = payload[:100], payload[100:]

    def handler(conn) -> None:
        conn.sendall(answer("200 OK", {"Transfer-Encoding": "chunked",
                                       "Content-Length": str(len(payload))}))
        conn.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        time.sleep(0.2)  # h11 hands over the first chunk alone
        for at in range(0, len(rest), 65536):
            piece = rest[at:at + 65536]
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.sendall(b"0\r\n\r\n")

    raw.routes["/a.bin"] = handler
    written = download_file(client, f"{raw.url}/a.bin", out, "a.bin", credentials={},
                            trusted=origin_of(raw.url), redact=str)
    assert written == len(payload)
    assert (out / "a.bin").read_bytes() == payload


def test_a_small_body_leaves_its_connection_in_the_pool(fake, client, out: Path) -> None:
    # h11 reads a small body to its end, so one connection serves them all.
    for n in range(4):
        fake.route(f"/files/{n}.csv", Reply(200, b"id,name\n" * 100))
    for n in range(4):
        fetch(client, fake, f"{fake.url}/files/{n}.csv", out, f"{n}.csv")
    assert fake.connections == 1
    assert leftovers(out) == ["0.csv", "1.csv", "2.csv", "3.csv"]


def test_a_response_pipelined_after_a_small_body_never_becomes_the_next_file(raw, client,
                                                                             out: Path) -> None:
    # A server (or a proxy) sends a second, unasked-for answer right behind a
    # small body, in the same write. h11 keeps those bytes; on a reused connection they would
    # be read as the answer to the next file's request, and saved as that file.
    from tests.rawserver import answer

    files = {f"/f{n}.bin": bytes([n]) * (3000 + n) for n in range(3)}
    evil = b"EVIL" * 500

    def handler_for(body: bytes):
        def handler(conn) -> None:
            conn.sendall(answer("200 OK", {"Content-Length": str(len(body))}) + body
                         + answer("200 OK", {"Content-Length": str(len(evil))}) + evil)
        return handler

    for path, body in files.items():
        raw.routes[path] = handler_for(body)
    for path, body in files.items():
        download_file(client, f"{raw.url}{path}", out, path[1:], credentials={},
                      trusted=origin_of(raw.url), redact=str)
        assert (out / path[1:]).read_bytes() == body
    assert raw.connections == len(files)  # each overfed connection was dropped


def test_a_large_body_is_still_exact_through_the_direct_read(fake, client, out: Path) -> None:
    data = bytes(range(256)) * (12 * 1024)  # 3 MiB with a Content-Length
    fake.route("/big.bin", Reply(200, data))
    assert fetch(client, fake, f"{fake.url}/big.bin", out, "big.bin") == len(data)
    assert (out / "big.bin").read_bytes() == data


# --- on a fake clock (jobwatch.clock): the real rules, at their real sizes, in milliseconds ---

def test_a_dribble_is_a_stall_at_the_real_sixty_second_window(raw, client, out: Path) -> None:
    import time

    from tests.helpers import Clock
    from tests.rawserver import answer

    def handler(conn) -> None:
        conn.sendall(answer("200 OK", {"Content-Length": "100000"}))
        for _ in range(100):
            conn.sendall(b"x" * 10)
            time.sleep(0.01)

    raw.routes["/slow.bin"] = handler
    clock = Clock(tick=61.0)  # each reading a minute after the last: 10 bytes a minute
    started = time.monotonic()
    with pytest.raises(DownloadError, match="stalled: less than 1024 bytes in 60s"):
        download_file(client, f"{raw.url}/slow.bin", out, "slow.bin", credentials={},
                      trusted=origin_of(raw.url), redact=str, attempts=1, clock=clock)
    assert time.monotonic() - started < within(1.5)
    assert leftovers(out) == []


def test_a_body_that_keeps_coming_is_no_stall_however_slow_the_clock(fake, client,
                                                                     out: Path) -> None:
    from tests.helpers import Clock

    data = os.urandom(3 * CHUNK_SIZE)
    fake.route("/big.bin", Reply(200, data))
    assert fetch(client, fake, f"{fake.url}/big.bin", out, "big.bin",
                 clock=Clock(tick=61.0)) == len(data)
    assert (out / "big.bin").read_bytes() == data


def test_the_deadline_passes_mid_body_on_the_fake_clock(fake, client, out: Path) -> None:
    from jobwatch.errors import DownloadTimeout
    from tests.helpers import Clock

    fake.route("/big.bin", Reply(200, os.urandom(8 * CHUNK_SIZE)))
    with pytest.raises(DownloadTimeout, match="the --timeout passed while downloading big.bin"):
        fetch(client, fake, f"{fake.url}/big.bin", out, "big.bin", deadline=100.0,
              clock=Clock(tick=30.0))
    assert leftovers(out) == []


def test_retries_wait_on_the_clock_given(fake, client, out: Path) -> None:
    from tests.helpers import Clock

    fake.route("/a.csv", Reply(503, b"busy", {"Retry-After": "120"}), Reply(200, b"ok"))
    clock = Clock()
    assert fetch(client, fake, f"{fake.url}/a.csv", out, "a.csv", sleep=None, clock=clock) == 2
    assert clock.sleeps == [120.0] and clock() == 120.0


def test_a_retry_after_past_the_deadline_gives_up_at_once_on_the_clock(fake, client,
                                                                       out: Path) -> None:
    from jobwatch.errors import DownloadTimeout
    from tests.helpers import Clock

    fake.route("/a.csv", Reply(503, b"busy", {"Retry-After": "120"}), Reply(200, b"ok"))
    clock = Clock(1000.0)
    with pytest.raises(DownloadTimeout, match="asks to retry in 120s: more than the 60s left"):
        fetch(client, fake, f"{fake.url}/a.csv", out, "a.csv", sleep=None, clock=clock,
              deadline=1060.0)
    assert clock.sleeps == [] and fake.hits("/a.csv") == 1
