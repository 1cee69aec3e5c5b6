"""A .part left by a process that died is removed by the next run that writes the same file;
one a live process is writing is left alone; names jobwatch does not make are never touched.
Real processes (the CLI, killed with SIGKILL) against a raw loopback server, and the window
between creating a part and locking it forced open in-process."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobwatch import safefs
from jobwatch.safefs import open_safe_dir, write_all, write_atomically
from tests.conftest import clean_env, provider_env, within
from tests.rawserver import RawServer, raw_answer

SIZE = 4 << 20
DATA = bytes(range(256)) * (SIZE // 256)
JOB = "/acme/api/v1/imports/status/5"


class Server:
    """Claret job 5 with one file, big.bin. The first ``stalled`` requests for it send a
    piece and then wait until ``release`` is set; later ones get the whole file."""

    def __init__(self, stalled: int) -> None:
        self.raw = RawServer()
        self.release = threading.Event()
        self.asked = 0
        body = json.dumps({"message": "ok", "content": {
            "job_log_id": 5, "status": "completed", "type": "inventory-import",
            "progress": {"completed_steps": 1, "total_steps": 1},
            "files": {"output": ["/dl/big.bin"]}}}).encode()
        self.raw.routes[JOB] = lambda conn: conn.sendall(
            raw_answer(b"200 OK", [b"Content-Type: application/json"], body))
        self.raw.routes["/dl/big.bin"] = self._file
        self.stalled = stalled

    def _file(self, conn: socket.socket) -> None:
        self.asked += 1
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n".encode()
        if self.asked <= self.stalled:
            conn.sendall(head + DATA[:65536])
            self.release.wait(30)
            conn.sendall(DATA[65536:])
        else:
            conn.sendall(head + DATA)


@pytest.fixture
def server() -> Iterator[Server]:
    made = Server(stalled=1)
    yield made
    made.release.set()
    made.raw.close()


def output(tmp_path: Path) -> Path:
    return tmp_path / "work" / "out" / "claret-5" / "output"


def start_download(server: Server, tmp_path: Path) -> subprocess.Popen[str]:
    (tmp_path / "work").mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "jobwatch", "download", "claret", "5", "--download-dir", "out"],
        cwd=tmp_path / "work", env=clean_env(tmp_path, **provider_env(server.raw, "claret")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_part(directory: Path, limit: float = 20) -> Path:
    deadline = time.monotonic() + within(limit)
    while time.monotonic() < deadline:
        parts = list(directory.glob("big.bin.*.part")) if directory.is_dir() else []
        if parts and parts[0].stat().st_size >= 65536:
            return parts[0]
        time.sleep(0.05)
    raise AssertionError("the download never wrote its .part")


def download(run_cli, server: Server):
    return run_cli("download", "claret", "5", "--download-dir", "out",
                   env=provider_env(server.raw, "claret"))


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_the_part_of_a_killed_run_is_removed_by_the_next_one(run_cli, server,
                                                             tmp_path) -> None:
    # Otherwise a kill -9 leaves its 43 MiB of .part for good.
    writer = start_download(server, tmp_path)
    part = wait_for_part(output(tmp_path))
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    assert part.exists()  # SIGKILL leaves it: nothing runs in the dying process
    result = download(run_cli, server)
    assert result.returncode == 0, result.stderr
    assert names(output(tmp_path)) == ["big.bin"]
    assert (output(tmp_path) / "big.bin").read_bytes() == DATA


def test_the_part_of_a_live_run_is_left_alone(run_cli, server, tmp_path) -> None:
    writer = start_download(server, tmp_path)
    try:
        part = wait_for_part(output(tmp_path))
        inode = part.stat().st_ino
        result = download(run_cli, server)  # a second run, same file, while the first lives
        assert result.returncode == 0, result.stderr
        assert part.stat().st_ino == inode and writer.poll() is None
        assert names(output(tmp_path)) == sorted(["big.bin", part.name])
        server.release.set()  # the first run goes on, unharmed, and finishes
        assert writer.wait(within(20)) == 0, writer.stderr.read() if writer.stderr else ""
    finally:
        writer.kill()
        writer.communicate()
    assert names(output(tmp_path)) == ["big.bin"]
    assert (output(tmp_path) / "big.bin").read_bytes() == DATA


def test_names_jobwatch_does_not_make_are_never_touched(run_cli, server, tmp_path) -> None:
    writer = start_download(server, tmp_path)
    dead = wait_for_part(output(tmp_path))
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    here = output(tmp_path)
    precious = tmp_path / "precious.txt"
    precious.write_text("precious")
    decoys = {
        "big.bin.part": "a provider's own x.part",
        "big.bin.DEADBEEF.part": "not our hex",
        "big.bin.0123abcd.part.txt": "another suffix",
        "big.bin.0123abc.part": "seven digits",
        "other.csv.0123abcd.part": "another file's part: not the file being written",
        "big.bin.aaaaaaaa.part": "a finished file's mode, not a part's",
    }
    for name, text in decoys.items():
        (here / name).write_text(text)
        os.chmod(here / name, 0o600 if name != "big.bin.aaaaaaaa.part" else 0o644)
    os.symlink(precious, here / "big.bin.01234567.part")
    (here / "big.bin.89abcdef.part").mkdir()
    os.mkfifo(here / "big.bin.fedcba98.part")
    result = download(run_cli, server)
    assert result.returncode == 0, result.stderr
    assert not dead.exists()
    for name, text in decoys.items():
        assert (here / name).read_text() == text
    assert os.readlink(here / "big.bin.01234567.part") == str(precious)
    assert precious.read_text() == "precious"
    assert (here / "big.bin.89abcdef.part").is_dir()
    assert (here / "big.bin.fedcba98.part").is_fifo()


# -- the window between creating a part and locking it -------------------------------------------

def cleaner_in_the_window(monkeypatch, *, holds: bool) -> list[str]:
    """Make the first part a writer creates meet a cleaner before the writer's flock: it locks
    the part, removes it, and lets go at once (``holds=False``) or only after the writer has
    tried (``holds=True``). Returns the parts the writer tried to lock."""
    real_lock = safefs._lock
    tried: list[str] = []

    def lock(fd: int, *, writer: bool) -> bool:
        if writer:
            name = os.readlink(f"/proc/self/fd/{fd}")
            tried.append(name)
            if len(tried) == 1:
                cleaner = os.open(name, os.O_RDONLY)
                fcntl.flock(cleaner, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(name)
                if holds:
                    try:
                        return real_lock(fd, writer=True)
                    finally:
                        os.close(cleaner)
                os.close(cleaner)
        return real_lock(fd, writer=writer)

    monkeypatch.setattr(safefs, "_lock", lock)
    return tried


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("holds", [False, True], ids=["cleaner-let-go", "cleaner-holds"])
def test_a_cleaner_in_the_window_costs_a_new_name_not_the_file(tmp_path, monkeypatch,
                                                               holds) -> None:
    tried = cleaner_in_the_window(monkeypatch, holds=holds)
    with open_safe_dir(tmp_path, "out") as held:
        assert write_atomically(held, "a.csv", lambda fd: write_all(fd, b"data")) == 4
    assert len(tried) == 2 and tried[0] != tried[1]
    assert names(tmp_path / "out") == ["a.csv"]
    assert (tmp_path / "out" / "a.csv").read_bytes() == b"data"


def test_where_locks_are_not_offered_writes_go_on_and_nothing_is_removed(tmp_path,
                                                                         monkeypatch) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv.0123abcd.part").write_bytes(b"dead, or not: no way to tell")
    os.chmod(out / "a.csv.0123abcd.part", 0o600)
    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert write_atomically(out, "a.csv", lambda fd: write_all(fd, b"data")) == 4
    assert names(out) == ["a.csv", "a.csv.0123abcd.part"]


def test_a_dead_part_is_removed_however_young(tmp_path) -> None:
    # No age rule: the lock alone decides (a part this process created and let go of).
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / "a.csv.0123abcd.part", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.close(fd)
    write_atomically(out, "a.csv", lambda fd: write_all(fd, b"data"))
    assert names(out) == ["a.csv"]


def test_a_long_names_dead_short_part_is_removed(tmp_path) -> None:
    name = "n" * 250 + ".csv"
    out = tmp_path / "out"
    out.mkdir()
    dead = out / ".jobwatch-0123456789abcdef.part"
    dead.write_bytes(b"half")
    os.chmod(dead, 0o600)
    write_atomically(out, name, lambda fd: write_all(fd, b"data"))
    assert names(out) == [name]
