"""HTTPie, the second reference of the `status` figure, in a virtual environment of its own.

HTTPie never goes into jobwatch's environment: its dependencies (requests, rich, pygments, ...)
would change what jobwatch imports and resolves. The benchmark builds a venv once, in a cache
directory shared by every run, and marks it ready only after `http --version` answered; a
half-built venv (a run killed mid-install, a failed pip) is removed and built again.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HTTPIE_VERSION = "3.2.4"  # pinned: a new release must not move the reference silently
READY = "jobwatch-bench-ready"
# A full run waits for pip as long as it takes; CI's quick run skips HTTPie instead of
# depending on PyPI (a cold install takes ~10 s here).
QUICK_BUDGET = 30.0
FULL_BUDGET = 600.0


class HTTPieUnavailable(Exception):
    """HTTPie could not be installed (in time): no network, pip failed, the budget ran out."""


@dataclass(frozen=True)
class HTTPie:
    http: Path  # the console script, as a user runs it
    env: dict[str, str]  # what its process needs beyond the benchmark's environment


def cache_root() -> Path:
    """BENCH_CACHE_DIR, else the user's cache directory: kept between runs, unlike the scratch
    work dir, so only the first run on a machine pays for pip."""
    explicit = os.environ.get("BENCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jobwatch-benchmarks"


def prepare(python: Path, work: Path, quick: bool) -> HTTPie:
    """The cached HTTPie (built first if need be) and a scratch config dir that turns its
    update check off. Raises HTTPieUnavailable."""
    deadline = time.monotonic() + (QUICK_BUDGET if quick else FULL_BUDGET)
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    venv = cache_root() / f"httpie-{HTTPIE_VERSION}-{tag}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / f"{venv.name}.lock", deadline):
        if not _usable(venv, deadline):
            _build(python, venv, deadline)
    return HTTPie(http=venv / "bin" / "http", env={"HTTPIE_CONFIG_DIR": str(_config_dir(work))})


def _config_dir(work: Path) -> Path:
    """HTTPie 3 reads config.json from HTTPIE_CONFIG_DIR. With update warnings off it neither
    reads its version file nor spawns the daemon that fetches packages.httpie.io (checked with
    strace: one process, one connect, to the fake server). An empty default_options keeps a
    user's own defaults (--pretty, --verbose, ...) out of the measurement; the plugins dir
    stays empty, so no plugin is loaded."""
    config = work / "httpie-config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps(
        {"disable_update_warnings": True, "default_options": []}))
    return config


def _usable(venv: Path, deadline: float) -> bool:
    """Built to the end, and still runs: the Python it was built on may have gone since."""
    if not (venv / READY).exists():
        return False
    try:
        _check_version(venv, deadline)
    except HTTPieUnavailable:
        return False
    return True


def _build(python: Path, venv: Path, deadline: float) -> None:
    shutil.rmtree(venv, ignore_errors=True)  # a half-built or broken one
    try:
        # The benchmark's interpreter (the one jobwatch runs on) is the base, so HTTPie runs on
        # the same Python version as jobwatch.
        _run_until([python, "-m", "venv", venv], deadline, "python -m venv")
        _run_until([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-input",
                    "--disable-pip-version-check", f"httpie=={HTTPIE_VERSION}"],
                   deadline, f"pip install httpie=={HTTPIE_VERSION}")
        _check_version(venv, deadline)
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    (venv / READY).write_text(HTTPIE_VERSION + "\n")


def _check_version(venv: Path, deadline: float) -> None:
    said = _run_until([venv / "bin" / "http", "--version"], deadline, "http --version").strip()
    if said != HTTPIE_VERSION:
        raise HTTPieUnavailable(f"http --version said {said!r}, expected {HTTPIE_VERSION}")


def _run_until(argv: Sequence[str | os.PathLike[str]], deadline: float, what: str) -> str:
    """Run a step of the install, killed with everything it started when the budget ends;
    its stdout."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise HTTPieUnavailable(f"no time left for {what}")
    try:
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except OSError as exc:  # a script gone from a cached venv, an interpreter gone
        raise HTTPieUnavailable(f"{what} could not start: {exc.strerror}") from None
    try:
        out, err = proc.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise HTTPieUnavailable(f"{what} did not finish in time") from None
    if proc.returncode != 0:
        tail = " | ".join(line for line in err.strip().splitlines()[-2:])
        raise HTTPieUnavailable(f"{what} exited {proc.returncode}: {tail}")
    return out


@contextmanager
def _locked(path: Path, deadline: float) -> Iterator[None]:
    """One builder at a time: two benchmark runs on one machine share the cache."""
    with path.open("a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise HTTPieUnavailable("another run is installing HTTPie") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
