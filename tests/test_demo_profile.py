"""`-p demo`: the CLI, run as a process, follows a running simulator's state file, and only one
it has checked: a file of ours (not a symlink, mode 0600, in a directory nobody else can
write), a simulator alive and on loopback, that proves it holds the file's nonce before any
request carries the token. Every refusal is one `jobwatch: error:` line, exit 6, and nothing
sent with the token. JOBWATCH_* variables never reach the demo profile.

The simulator runs in this process here (its state file published as `demo --serve` does, its
lock held by this process), so its recorded requests can be read; tests/test_demo.py runs the
real `jobwatch demo --serve`.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobwatch.demo.run import BANNER_END
from jobwatch.demo.simulator import Simulator
from jobwatch.demo.state import proof, publish
from tests.conftest import TOKEN, assert_clean_error, assert_no_secret, clean_env
from tests.fakeserver import FakeServer, Recorded, json_reply
from tests.helpers import as_from_a_terminal

PAYLOADS = Path(__file__).resolve().parent / "payloads"
SIM_TOKEN = "demo-SIMULATORS0WN"
LEAKED = "tok_LEAKED_from_the_shell_0123"
PLANTED_TOKEN = "demo-PLANTEDtoken0123"
JULEP_JOB = "5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40"
ALIVE = "/__jobwatch/alive"


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    return folder


def demo_env(runtime_dir: Path, **extra: str) -> dict[str, str]:
    return {"XDG_RUNTIME_DIR": str(runtime_dir), **extra}


@pytest.fixture
def sim(runtime_dir: Path) -> Iterator[Simulator]:
    """A simulator published for -p demo, as `demo --serve` does."""
    with Simulator(token=SIM_TOKEN) as simulator:
        published = publish(simulator, demo_env(runtime_dir))
        try:
            yield simulator
        finally:
            published.remove()


def sent_headers(requests: list[tuple[str, str, dict[str, str]]] | list[Recorded]) -> str:
    return json.dumps([r.headers if isinstance(r, Recorded) else r[2] for r in requests])


# --- following a live simulator ---------------------------------------------------------------

def test_p_demo_reaches_the_simulator_and_no_jobwatch_variable_does(
        run_cli: Any, runtime_dir: Path, sim: Simulator, fake: FakeServer) -> None:
    env = demo_env(runtime_dir, JOBWATCH_CLARET_TOKEN=LEAKED, JOBWATCH_CLARET_BASE_URL=fake.url,
                   JOBWATCH_MERCHANTOPS_TOKEN=LEAKED, JOBWATCH_JULEP_BASE_URL=fake.url)
    result = run_cli("status", "claret:1001", "merchantops:enr_7Hq2", f"julep:{JULEP_JOB}",
                     "-p", "demo", "-v", env=env)

    assert result.returncode == 3, result.stderr  # all three just started
    assert fake.requests == [], "a JOBWATCH_* base_url was used under -p demo"
    paths = [path for _method, path, _headers in sim.requests]
    assert paths[0] == ALIVE, paths
    assert "authorization" not in sim.requests[0][2], "the token went with the challenge"
    assert sorted(paths[1:]) == sorted([
        "/claret/demo/api/v1/imports/status/1001", "/merchantops/api/jobs/enr_7Hq2/status",
        f"/julep/api/jobs/{JULEP_JOB}"])
    assert all(h["authorization"] == f"Bearer {SIM_TOKEN}" for _m, _p, h in sim.requests[1:])
    assert LEAKED not in sent_headers(sim.requests)
    assert_no_secret(result, LEAKED)
    assert_no_secret(result, SIM_TOKEN)
    assert f"GET {sim.url}{ALIVE} 200" in result.stderr, result.stderr  # --verbose says so


def test_jobwatch_profile_demo_in_the_environment_works_too(
        run_cli: Any, runtime_dir: Path, sim: Simulator) -> None:
    result = run_cli("status", "claret", "1001", env=demo_env(runtime_dir,
                                                              JOBWATCH_PROFILE="demo"))
    assert result.returncode == 3, result.stderr
    assert "claret 1001" in result.stdout


def test_config_check_with_p_demo_checks_the_simulator(
        run_cli: Any, runtime_dir: Path, sim: Simulator) -> None:
    result = run_cli("-p", "demo", "config", "check", env=demo_env(runtime_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        [f"{provider}.demo", "ok"] for provider in ("retailgrid", "merchantops", "julep",
                                                     "claret")]
    assert_no_secret(result, SIM_TOKEN)


def test_a_config_profile_named_demo_wins_for_its_provider(
        run_cli: Any, tmp_path: Path, runtime_dir: Path, sim: Simulator,
        fake: FakeServer) -> None:
    config = tmp_path / "xdg" / "jobwatch" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[claret.demo]\nbase_url = "{fake.url}"\ntenant = "acme"\n'
                      'token_env = "MY_CLARET_TOKEN"\n')
    fake.route("/acme/api/v1/imports/status/1001",
               json_reply(json.loads((PAYLOADS / "claret" / "completed.json").read_text())))
    env = demo_env(runtime_dir, MY_CLARET_TOKEN=TOKEN)

    result = run_cli("status", "claret:1001", f"julep:{JULEP_JOB}", "-p", "demo", "--json",
                     env=env)

    assert result.returncode == 3, result.stderr  # claret's completed, julep's just started
    (claret,) = fake.requests
    assert claret.headers["authorization"] == f"Bearer {TOKEN}"
    paths = [path for _method, path, _headers in sim.requests]
    assert paths == [ALIVE, f"/julep/api/jobs/{JULEP_JOB}"], paths
    assert TOKEN not in sent_headers(sim.requests)
    assert_no_secret(result)

    # With every provider of the run in the config, no simulator is needed at all.
    alone = run_cli("status", "claret", "1001", "-p", "demo",
                    env=demo_env(tmp_path / "elsewhere", MY_CLARET_TOKEN=TOKEN))
    assert alone.returncode == 0, alone.stderr


# --- refusing what is not ours ----------------------------------------------------------------

def planted(port: int, **changes: Any) -> dict[str, Any]:
    state = {"version": 1, "pid": os.getpid(), "host": "127.0.0.1", "port": port,
             "token": PLANTED_TOKEN, "nonce": "ab" * 32, "fields": {"claret": {"tenant": "acme"}}}
    state.update(changes)
    return state


def plant(runtime_dir: Path, state: dict[str, Any] | bytes, *, mode: int = 0o600,
          lock: bool = True) -> tuple[Path, int | None]:
    """A state file as a live simulator leaves it (its lock held by this process, unless
    ``lock`` is False: then it is a dead one's)."""
    folder = runtime_dir / "jobwatch"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "demo.json"
    path.write_bytes(state if isinstance(state, bytes) else json.dumps(state).encode())
    path.chmod(mode)
    if not lock:
        return path, None
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return path, fd


@pytest.fixture
def locks() -> Iterator[list[int]]:
    held: list[int] = []
    yield held
    for fd in held:
        os.close(fd)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert_clean_error(result, 6)
    assert_no_secret(result, PLANTED_TOKEN)
    errors = [line for line in result.stderr.splitlines() if line.startswith("jobwatch: error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], (word, result.stderr)


def as_root() -> bool:
    return os.geteuid() == 0


def _symlinked_file(runtime_dir: Path, port: int, locks: list[int]) -> None:
    real, fd = plant(runtime_dir, planted(port))
    locks.append(fd or -1)
    moved = runtime_dir / "elsewhere.json"
    real.rename(moved)
    real.symlink_to(moved)


def _symlinked_dir(runtime_dir: Path, port: int, locks: list[int]) -> None:
    other = runtime_dir.parent / "other-run"
    other.mkdir(mode=0o700)
    _path, fd = plant(other, planted(port))
    locks.append(fd or -1)
    (runtime_dir / "jobwatch").symlink_to(other / "jobwatch")


def _open_file(runtime_dir: Path, port: int, locks: list[int]) -> None:
    _path, fd = plant(runtime_dir, planted(port), mode=0o644)
    locks.append(fd or -1)


def _open_dir(runtime_dir: Path, port: int, locks: list[int]) -> None:
    _path, fd = plant(runtime_dir, planted(port))
    locks.append(fd or -1)
    (runtime_dir / "jobwatch").chmod(0o777)


def _foreign_file(runtime_dir: Path, port: int, locks: list[int]) -> None:
    if not as_root():
        pytest.skip("only root can give a file to another user")
    path, fd = plant(runtime_dir, planted(port))
    locks.append(fd or -1)
    os.chown(path, 54321, -1)


def _foreign_dir(runtime_dir: Path, port: int, locks: list[int]) -> None:
    if not as_root():
        pytest.skip("only root can give a directory to another user")
    _path, fd = plant(runtime_dir, planted(port))
    locks.append(fd or -1)
    os.chown(runtime_dir / "jobwatch", 54321, -1)


def _remote_host(runtime_dir: Path, port: int, locks: list[int]) -> None:
    _path, fd = plant(runtime_dir, planted(port, host="192.0.2.10"))
    locks.append(fd or -1)


def _named_host(runtime_dir: Path, port: int, locks: list[int]) -> None:
    _path, fd = plant(runtime_dir, planted(port, host="localhost"))
    locks.append(fd or -1)


def _not_json(runtime_dir: Path, port: int, locks: list[int]) -> None:
    _path, fd = plant(runtime_dir, b"port = 1\n")
    locks.append(fd or -1)


def _oversized(runtime_dir: Path, port: int, locks: list[int]) -> None:
    _path, fd = plant(runtime_dir, json.dumps(planted(port, pad="x" * 20000)).encode())
    locks.append(fd or -1)


REFUSALS = {
    "file is a symlink": (_symlinked_file, ["demo.json for -p demo: it is a symlink"]),
    "directory is a symlink": (_symlinked_dir, ["jobwatch for -p demo: it is a symlink"]),
    "file mode 0644": (_open_file, ["is open to others (mode 0644"]),
    "directory writable by others": (_open_dir, ["is writable by others (mode 0777)"]),
    "file owned by another user": (_foreign_file, ["belongs to another user (uid 54321)"]),
    "directory owned by another user": (_foreign_dir, ["belongs to another user (uid 54321)"]),
    "non-loopback host": (_remote_host, ["'192.0.2.10', not a loopback address"]),
    "host name, not an address": (_named_host, ["'localhost', not a loopback address"]),
    "not JSON": (_not_json, ["is not a state file jobwatch wrote"]),
    "too large": (_oversized, ["is larger than"]),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_state_file_that_is_not_ours_alone_is_refused_before_any_request(
        run_cli: Any, runtime_dir: Path, fake: FakeServer, locks: list[int], case: str) -> None:
    make, words = REFUSALS[case]
    make(runtime_dir, fake.port, locks)
    result = run_cli("status", "claret", "1001", "-p", "demo", env=demo_env(runtime_dir))
    assert_refused(result, "refusing", *words)
    assert fake.requests == []


@pytest.mark.parametrize("answer", ["nothing of ours", "a wrong proof", "another nonce's proof",
                                    "the nonce itself"])
def test_something_else_on_the_port_is_refused_and_never_gets_the_token(
        run_cli: Any, runtime_dir: Path, fake: FakeServer, locks: list[int],
        answer: str) -> None:
    nonce = "ab" * 32

    def replied(request: Recorded) -> Any:
        challenge = request.query.partition("challenge=")[2]
        return json_reply({"proof": {
            "a wrong proof": "00" * 32,
            "another nonce's proof": proof("cd" * 32, challenge or "00" * 16),
            "the nonce itself": nonce,
        }[answer]})

    if answer != "nothing of ours":  # else the fake's 404 for every path
        fake.route(ALIVE, replied)
    _path, fd = plant(runtime_dir, planted(fake.port, nonce=nonce))
    locks.append(fd or -1)

    result = run_cli("wait", "claret", "1001", "-p", "demo", env=demo_env(runtime_dir))

    assert_refused(result, f"refusing http://127.0.0.1:{fake.port} for -p demo",
                   "did not prove", "nothing was sent to it")
    (challenge,) = fake.requests
    assert challenge.path == ALIVE and "authorization" not in challenge.headers
    assert PLANTED_TOKEN not in json.dumps([challenge.headers, challenge.query])


def test_a_state_file_whose_simulator_died_is_stale(
        run_cli: Any, runtime_dir: Path, fake: FakeServer) -> None:
    fake.route(ALIVE, json_reply({"proof": "00"}))
    path, _ = plant(runtime_dir, planted(fake.port), lock=False)  # nobody holds its lock
    result = run_cli("status", "claret", "1001", "-p", "demo", env=demo_env(runtime_dir))
    assert_refused(result, "no simulator is running for -p demo",
                   f"the one that wrote {path} has stopped", "`jobwatch demo --serve`")
    assert fake.requests == []


def test_a_simulator_that_no_longer_listens_is_not_running(
        run_cli: Any, runtime_dir: Path, locks: list[int]) -> None:
    with Simulator() as gone:
        port = gone.port
    _path, fd = plant(runtime_dir, planted(port))
    locks.append(fd or -1)
    result = run_cli("status", "claret", "1001", "-p", "demo", env=demo_env(runtime_dir))
    assert_refused(result, "no simulator is running for -p demo",
                   f"nothing answers on http://127.0.0.1:{port}")


# --- where the state file lives ---------------------------------------------------------------

def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """A real `jobwatch demo --serve`, once its banner is out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "jobwatch", "demo", "--serve"], cwd=tmp_path,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(tmp_path, **env),
        preexec_fn=as_from_a_terminal)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            raise AssertionError(f"no banner: {process.communicate()}") from None
        if line.rstrip("\n") == BANNER_END:
            return process


@pytest.mark.parametrize("runtime", ["unset", "writable by others"])
def test_without_a_usable_runtime_dir_the_state_lives_in_the_user_cache(
        run_cli: Any, tmp_path: Path, runtime: str) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    if runtime == "writable by others":
        shared = tmp_path / "shared-run"
        shared.mkdir()
        shared.chmod(0o777)
        env["XDG_RUNTIME_DIR"] = str(shared)
    full = clean_env(tmp_path, **env)
    if runtime == "unset":
        full.pop("XDG_RUNTIME_DIR", None)
    process = _serve(tmp_path, {k: v for k, v in full.items() if k in env})
    try:
        state = tmp_path / "cache" / "jobwatch" / "run" / "demo.json"
        assert state.stat().st_mode & 0o777 == 0o600
        assert state.parent.stat().st_mode & 0o777 == 0o700
        if runtime == "writable by others":
            assert list((tmp_path / "shared-run").iterdir()) == []
        result = run_cli("status", "claret", "1001", "-p", "demo", env=env)
        assert result.returncode == 3, result.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert not state.exists()
