"""`jobwatch demo` and `jobwatch demo --serve`, run as a user runs them: in a subprocess, from an
empty directory, with no config and no JOBWATCH_* variables.

The demo takes about 9 s, so its runs start together once per module and the tests read the
results.
"""

from __future__ import annotations

import csv
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobwatch.demo.run import BANNER_END
from tests.conftest import assert_clean_error, assert_no_secret, clean_env
from tests.helpers import as_from_a_terminal

PROVIDERS = ("retailgrid", "merchantops", "julep", "claret")
CLARET_CATEGORIES = ("input", "staging", "output", "errors")
MERCHANTOPS_COLUMNS = ["entity_type", "entity_key", "error_type", "message", "step", "timestamp",
                       "details"]
BROKEN_TOML = "[claret.default\ntenant = \n"
LEAKED_TOKEN = "tok_LEAKED_from_the_users_shell"
DEMO_TIMEOUT = 90
JULEP_JOB = "5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40"
RETAILGRID_UPSERT = "8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6"
RETAILGRID_FILL = "c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38"
RETAILGRID_FAILING = "e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84"


def jobwatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "jobwatch", *args]


@dataclass
class DemoRun:
    base: Path
    returncode: int = -1
    stdout: str = ""
    stderr: str = ""

    @property
    def cwd(self) -> Path:
        return self.base / "work"

    @property
    def xdg(self) -> Path:
        return self.base / "xdg"

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def tmp(self) -> Path:
        return self.base / "tmp"

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def folder(self) -> Path:
        match = re.search(r"^Downloads and error reports are in (.+):$", self.output, re.M)
        assert match, self.output
        return Path(match.group(1))


def _start_demo(base: Path, env: dict[str, str] | None = None,
                files: dict[str, str] | None = None) -> tuple[DemoRun, subprocess.Popen[str]]:
    run = DemoRun(base)
    for folder in (run.cwd, run.xdg, run.home, run.tmp):
        folder.mkdir(parents=True)
    for relative, text in (files or {}).items():
        (base / relative).parent.mkdir(parents=True, exist_ok=True)
        (base / relative).write_text(text)
    # TMPDIR: the demo's download folder lands inside this test's directory.
    process = subprocess.Popen(jobwatch("demo"), cwd=run.cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=clean_env(base, TMPDIR=str(run.tmp), **(env or {})),
                               preexec_fn=as_from_a_terminal)
    return run, process


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoRun]:
    """Three demo runs side by side: a clean user; one whose config file is broken; one whose
    shell exports JOBWATCH_* variables that point elsewhere."""
    base = tmp_path_factory.mktemp("demo")
    started = {
        "clean": _start_demo(base / "clean"),
        "broken_config": _start_demo(
            base / "broken", files={"xdg/jobwatch/config.toml": BROKEN_TOML}),
        "user_env": _start_demo(base / "env", env={
            "JOBWATCH_CONFIG": str(base / "env" / "broken.toml"),
            "JOBWATCH_PROFILE": "staging",
            "JOBWATCH_CLARET_BASE_URL": "http://127.0.0.1:9/claret",
            "JOBWATCH_CLARET_TOKEN": LEAKED_TOKEN,
            "JOBWATCH_JULEP_TOKEN": LEAKED_TOKEN,
        }, files={"broken.toml": BROKEN_TOML}),
    }
    try:
        for run, process in started.values():
            run.stdout, run.stderr = process.communicate(timeout=DEMO_TIMEOUT)
            run.returncode = process.returncode
    finally:
        for _run, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return {name: run for name, (run, _process) in started.items()}


# --- jobwatch demo ----------------------------------------------------------------------------

# The lines a plain (piped) demo must print: each provider's jobs ran and ended as scripted.
# The opening banner names all four providers whatever ran, so these look at per-job lines.
JOB_LINES = {
    "claret import succeeded": r"claret 1001: succeeded\b",
    "julep retried": rf"julep {JULEP_JOB}: running \(retrying\)",
    "julep succeeded": rf"julep {JULEP_JOB}: succeeded\b",
    "retailgrid upsert succeeded": rf"retailgrid {RETAILGRID_UPSERT}: succeeded\b",
    "retailgrid grid fill followed": rf"retailgrid {RETAILGRID_FILL}: also watching",
    "retailgrid grid fill succeeded": rf"retailgrid {RETAILGRID_FILL}: succeeded\b",
    "retailgrid import failed": rf"retailgrid {RETAILGRID_FAILING}: failed: Row 412",
    "merchantops error table": r"merchantops enr_7Hq2: 4 error\(s\)",
    "merchantops succeeded": r"merchantops enr_7Hq2: succeeded\b",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["clean", "broken_config", "user_env"])
def test_demo_runs_end_to_end(demos: dict[str, DemoRun], name: str) -> None:
    run = demos[name]
    assert run.returncode == 0, (run.returncode, run.output)
    assert "Traceback" not in run.output
    assert "jobwatch: error" not in run.output
    for provider in PROVIDERS:
        assert provider in run.output.lower(), provider


@pytest.mark.parametrize("what", JOB_LINES)
def test_every_providers_jobs_ran_to_their_end(demos: dict[str, DemoRun], what: str) -> None:
    run = demos["clean"]
    # Plain lines, one per change: "[    7s] claret 1001: succeeded (watched 7s)".
    assert re.search(r"^\[\s*\d+s\] " + JOB_LINES[what], run.stderr, re.M), (what, run.stderr)
    assert "\x1b[" not in run.stderr, "colour or cursor codes in a pipe"


def test_demo_names_a_temporary_folder_holding_the_downloads(demos: dict[str, DemoRun]) -> None:
    run = demos["clean"]
    folder = run.folder
    assert folder.is_dir()
    assert folder.parent == run.tmp, "the demo's downloads belong in a temporary folder"
    for category in CLARET_CATEGORIES:
        files = list((folder / "claret-1001" / category).iterdir())
        assert files, f"no Claret {category} file in {folder}"
        assert all(f.is_file() and f.stat().st_size > 0 for f in files), files
        assert not [f for f in files if f.name.endswith(".part")]
    errors = folder / "merchantops-enr_7Hq2" / "errors.csv"
    with errors.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == MERCHANTOPS_COLUMNS
    assert len(rows) > 1
    for path in folder.rglob("*"):
        if path.is_file():
            assert path.relative_to(folder).as_posix() in run.output, path


def test_demo_leaves_nothing_behind(demos: dict[str, DemoRun]) -> None:
    run = demos["clean"]
    assert list(run.cwd.iterdir()) == [], "the demo wrote into the current directory"
    assert list(run.xdg.iterdir()) == [], "the demo wrote a config file"
    assert list(run.home.iterdir()) == []
    assert list(run.tmp.iterdir()) == [run.folder], "only the named folder may be left"


def test_the_demos_words_agree_with_what_it_did(demos: dict[str, DemoRun]) -> None:
    """It watches five jobs and reports six, exits 0 and reports exit 1: the closing words say
    why, so none of it reads as a contradiction."""
    run = demos["clean"]
    assert re.search(r"done \(exit 1\): 5 succeeded, 1 failed", run.stderr), run.stderr
    closing = run.stderr[run.stderr.index("Downloads and error reports are in"):]
    assert "joined the 5 jobs watched" in closing, closing
    assert "would have exited 1, because one job is scripted to fail" in closing, closing
    assert "The demo itself exits 0." in closing, closing
    assert run.returncode == 0
    for line in closing.splitlines():
        if not line.startswith(("  ", "Downloads")):  # file names and the folder may be long
            assert len(line) < 80, line


def test_a_broken_user_config_does_not_break_the_demo(demos: dict[str, DemoRun]) -> None:
    run = demos["broken_config"]
    assert run.returncode == 0, run.output
    assert "invalid TOML" not in run.output
    config = run.xdg / "jobwatch" / "config.toml"
    assert config.read_text() == BROKEN_TOML, "the demo touched the user's config file"
    assert [p.name for p in run.xdg.rglob("*")] == ["jobwatch", "config.toml"]
    assert list(run.cwd.iterdir()) == []


def test_the_users_jobwatch_variables_do_not_reach_the_demo(demos: dict[str, DemoRun]) -> None:
    run = demos["user_env"]
    assert run.returncode == 0, run.output
    assert LEAKED_TOKEN not in run.output
    assert "127.0.0.1:9/" not in run.output
    assert "invalid TOML" not in run.output


def _interrupt_demo(base: Path, signum: int, after: str) -> DemoRun:
    """`jobwatch demo`, sent ``signum`` as soon as a line holding ``after`` is on its stderr."""
    run, process = _start_demo(base)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + DEMO_TIMEOUT
        while not any(after in line for line in seen):
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the demo ended before {after!r}: {''.join(seen)}"
            seen.append(line)
        process.send_signal(signum)
        run.returncode = process.wait(timeout=30)
        while (line := lines.get(timeout=30)) is not None:
            seen.append(line)
        run.stdout, run.stderr = process.stdout.read(), "".join(seen)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return run


def _assert_interrupted_honestly(run: DemoRun) -> None:
    assert run.returncode == 130, (run.returncode, run.output)
    assert "demo interrupted" in run.stderr, run.stderr
    # The simulator stops with the demo: nothing keeps running, and a resume command would
    # point at the user's real accounts.
    assert "resume with:" not in run.output, run.output
    assert "keep running" not in run.output, run.output
    assert "Traceback" not in run.output and "jobwatch: error" not in run.output, run.output
    assert list(run.cwd.iterdir()) == []


def test_ctrl_c_early_in_the_demo_removes_the_empty_download_folder(tmp_path: Path) -> None:
    run = _interrupt_demo(tmp_path, signal.SIGINT, after="claret 1001: ")  # first progress
    _assert_interrupted_honestly(run)
    assert "Nothing had been saved yet" in run.stderr, run.stderr
    assert list(run.tmp.iterdir()) == [], "the empty download folder was left behind"


@pytest.mark.slow
def test_sigterm_after_downloads_keeps_and_names_the_folder(tmp_path: Path) -> None:
    run = _interrupt_demo(tmp_path, signal.SIGTERM, after="claret 1001: saved ")
    _assert_interrupted_honestly(run)
    match = re.search(r"^Files saved before the interrupt are in (.+):$", run.stderr, re.M)
    assert match, run.stderr
    folder = Path(match.group(1))
    assert list(run.tmp.iterdir()) == [folder]
    saved = [p for p in folder.rglob("*") if p.is_file()]
    assert saved and not [p for p in saved if p.name.endswith(".part")], saved
    for path in saved:
        assert f"  {path.relative_to(folder).as_posix()}\n" in run.stderr, path


def test_port_without_serve_is_a_usage_error(tmp_path: Path) -> None:
    result = run_with(tmp_path, {}, "demo", "--port", "8765")
    assert_clean_error(result, 2)
    assert result.stderr == "jobwatch: error: --port only applies with --serve\n"


# --- jobwatch demo --serve --------------------------------------------------------------------

@dataclass
class Served:
    process: subprocess.Popen[str]
    runtime_dir: Path
    env: dict[str, str] = field(default_factory=dict)  # the printed exports
    lines: list[str] = field(default_factory=list)

    @property
    def demo_env(self) -> dict[str, str]:
        """What a second terminal of the same user shares with this one for -p demo: the
        runtime directory, and no JOBWATCH_* variable."""
        return runtime_env(self.runtime_dir)

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _out, err = self.process.communicate(timeout=15)
        return self.process.returncode, err


def _read_lines(stream, into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def runtime_env(runtime_dir: Path) -> dict[str, str]:
    """XDG_RUNTIME_DIR of this test's own, as a login session has one: a directory of the
    user's, mode 0700 (never the developer's real one, where a live `demo --serve` may be)."""
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    return {"XDG_RUNTIME_DIR": str(runtime_dir)}


@contextmanager
def serving(base: Path, *args: str, runtime_dir: Path | None = None) -> Iterator[Served]:
    """`jobwatch demo --serve --port 0`, read until it has printed its whole banner."""
    base.mkdir(parents=True, exist_ok=True)
    runtime_dir = runtime_dir or base / "run"
    process = subprocess.Popen(
        jobwatch("demo", "--serve", "--port", "0", *args), cwd=base, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(base, **runtime_env(runtime_dir)), preexec_fn=as_from_a_terminal)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    served = Served(process, runtime_dir)
    try:
        deadline = time.monotonic() + 30
        while not any(line.rstrip("\n") == BANNER_END for line in served.lines):
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            assert line is not None, (
                f"no whole banner from demo --serve: {served.lines} "
                f"(exit {process.poll()})")
            served.lines.append(line)
        for line in served.lines:
            if line.startswith("export "):
                name, _, value = shlex.split(line)[1].partition("=")
                served.env[name] = value
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("serve")) as served:
        yield served


def run_with(tmp_path: Path, env: dict[str, str], *args: str,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A second `jobwatch` in a clean environment plus exactly the variables given."""
    work = cwd or tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    return subprocess.run(jobwatch(*args), cwd=work, env=clean_env(tmp_path, **env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=DEMO_TIMEOUT)


def test_serve_prints_the_variables_for_every_provider(server: Served) -> None:
    expected = {f"JOBWATCH_{p.upper()}_{f}" for p in PROVIDERS for f in ("BASE_URL", "TOKEN")}
    expected |= {"JOBWATCH_CLARET_TENANT", "JOBWATCH_MERCHANTOPS_ORGANIZATION_ID"}
    assert set(server.env) == expected
    for provider in PROVIDERS:
        assert server.env[f"JOBWATCH_{provider.upper()}_BASE_URL"].startswith(
            "http://127.0.0.1:")


@pytest.mark.slow
def test_serve_then_status_wait_download_and_ctrl_c(tmp_path: Path) -> None:
    """-p demo in a second terminal: nothing exported, nothing configured."""
    with serving(tmp_path / "server") as served:
        token = served.env["JOBWATCH_CLARET_TOKEN"]
        state = served.runtime_dir / "jobwatch" / "demo.json"
        assert state.stat().st_mode & 0o777 == 0o600
        status = run_with(tmp_path, served.demo_env, "status", "claret", "1001", "-p", "demo")
        assert status.returncode in (0, 3), (status.returncode, status.stderr)
        assert "claret 1001" in status.stdout + status.stderr

        waited = run_with(tmp_path, served.demo_env, "wait", "claret", "1001", "-p", "demo",
                          "--interval", "0.3")
        assert waited.returncode == 0, (waited.stdout, waited.stderr)

        target = tmp_path / "downloads"
        done = run_with(tmp_path, served.demo_env, "-p", "demo", "download", "claret", "1001",
                        "--download-dir", str(target))
        assert done.returncode == 0, (done.stdout, done.stderr)
        for category in CLARET_CATEGORIES:
            assert list((target / "claret-1001" / category).glob("*.csv")), category
        for result in (status, waited, done):
            assert_no_secret(result, token)

        code, err = served.interrupt()
    assert code == 0, err
    assert "simulator stopped" in err
    assert "Traceback" not in err
    assert not state.exists(), "the state file outlived its simulator"
    after = run_with(tmp_path, served.demo_env, "status", "claret", "1001", "-p", "demo")
    assert_clean_error(after, 6)
    assert "`jobwatch demo --serve`" in after.stderr.splitlines()[0], after.stderr


@pytest.mark.slow
def test_the_banners_examples_work_pasted_in_order(tmp_path: Path) -> None:
    """Every example command `demo --serve` prints, run by a shell in a second terminal with
    nothing exported, ends with the exit code its comment announces."""
    shim = tmp_path / "bin" / "jobwatch"  # `jobwatch` on PATH, as after an install
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m jobwatch "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "terminal-2"
    work.mkdir()
    with serving(tmp_path / "server") as served:
        examples = [re.fullmatch(r"#   (jobwatch .+?)   # (.+)", line.rstrip("\n"))
                    for line in served.lines if line.startswith("#   jobwatch ")]
        assert len(examples) >= 3 and all(examples), served.lines
        env = clean_env(tmp_path, **served.demo_env)
        env["PATH"] = f"{shim.parent}:{env['PATH']}"
        for example in examples:
            assert example is not None
            command, note = example.groups()
            announced = re.search(r"\bexit (\d+)", note)
            assert announced, f"the banner does not say how {command!r} ends"
            expected = int(announced.group(1))
            result = subprocess.run(["/bin/sh", "-c", command], cwd=work, env=env,
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                    timeout=DEMO_TIMEOUT)
            outcome = (result.returncode, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr, outcome
            assert_no_secret(result, served.env["JOBWATCH_CLARET_TOKEN"])
            if 'echo "exit $?"' in command:
                assert result.returncode == 0, outcome
                assert result.stdout.splitlines()[-1] == f"exit {expected}", (command, outcome)
            else:
                assert result.returncode == expected, (command, outcome)
        served.interrupt()
    shown = {example.group(1) for example in examples if example}
    assert any(c.startswith("jobwatch status claret 1001 -p demo") for c in shown), shown
    assert any(c.startswith("jobwatch wait ") for c in shown), shown
    downloads = [c for c in shown if c.startswith("jobwatch download ")]
    assert downloads, shown
    # The download example names its folder, and its files are there.
    target = shlex.split(downloads[0])[shlex.split(downloads[0]).index("--download-dir") + 1]
    for category in CLARET_CATEGORIES:
        assert list((work / target / "claret-1001" / category).glob("*.csv")), category


def test_the_banner_leads_with_p_demo_and_fits_80_columns(server: Served) -> None:
    text = "".join(server.lines)
    assert all(len(line.rstrip("\n")) < 80 for line in server.lines), [
        line for line in server.lines if len(line.rstrip("\n")) >= 80]
    first_example = text.index("#   jobwatch status claret 1001 -p demo   # ")
    assert "#   jobwatch wait merchantops enr_7Hq2 -p demo   # " in text
    assert first_example < text.index("export "), "the exports come after -p demo"
    assert "for tools other than jobwatch" in text[:text.index("export ")].lower()
    assert "#   jobwatch demo --reset   # " in text


@pytest.mark.slow
def test_p_demo_survives_a_restart_and_each_start_runs_the_jobs_afresh(tmp_path: Path) -> None:
    shared = tmp_path / "run"
    with serving(tmp_path / "first", runtime_dir=shared) as first:
        early = run_with(tmp_path, first.demo_env, "status", "claret", "1002", "-p", "demo")
        assert early.returncode == 3, early.stderr
        ended = run_with(tmp_path, first.demo_env, "wait", "claret", "1002", "-p", "demo",
                         "--interval", "0.3")
        assert ended.returncode == 1, ended.stderr  # scripted to fail
        first.interrupt()
    with serving(tmp_path / "second", runtime_dir=shared) as second:
        assert second.env["JOBWATCH_CLARET_TOKEN"] != first.env["JOBWATCH_CLARET_TOKEN"]
        again = run_with(tmp_path, second.demo_env, "status", "claret", "1002", "-p", "demo",
                         "--json")
        assert again.returncode == 3, again.stderr  # from its start again, on the new token
        assert '"state": "pending"' in again.stdout, again.stdout
        second.interrupt()


@pytest.mark.slow
def test_demo_reset_starts_every_job_over(tmp_path: Path, server: Served) -> None:
    env = server.demo_env
    job = "crw_9Zx4"  # 3 s to its failure; no other test of this module asks for it
    waited = run_with(tmp_path, env, "wait", "merchantops", job, "-p", "demo",
                      "--interval", "0.3")
    assert waited.returncode == 1, waited.stderr
    assert run_with(tmp_path, env, "status", "merchantops", job, "-p", "demo").returncode == 1
    reset = run_with(tmp_path, env, "demo", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "starts from its beginning" in reset.stderr
    assert_no_secret(reset, server.env["JOBWATCH_CLARET_TOKEN"])
    fresh = run_with(tmp_path, env, "status", "merchantops", job, "-p", "demo", "--json")
    assert fresh.returncode == 3, fresh.stderr
    assert '"status": "queued"' in fresh.stdout, fresh.stdout


def test_p_demo_and_reset_without_a_simulator_say_how_to_start_one(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "run")
    for args in (("status", "claret", "1001", "-p", "demo"),
                 ("wait", "merchantops", "enr_7Hq2", "-p", "demo"),
                 ("-p", "demo", "download", "claret", "1001"), ("demo", "--reset")):
        result = run_with(tmp_path, env, *args)
        assert_clean_error(result, 6)
        assert result.stderr == ("jobwatch: error: no simulator is running for -p demo: start "
                                 "`jobwatch demo --serve` in another terminal\n"), result.stderr


def test_reset_goes_alone(tmp_path: Path) -> None:
    for extra in (("--serve",), ("--port", "0")):
        result = run_with(tmp_path, runtime_env(tmp_path / "run"), "demo", "--reset", *extra)
        assert_clean_error(result, 2)


def test_a_second_serve_is_refused_while_one_runs(tmp_path: Path, server: Served) -> None:
    result = run_with(tmp_path, server.demo_env, "demo", "--serve", "--port", "0")
    assert_clean_error(result, 2)
    first = result.stderr.splitlines()[0]
    assert "another `jobwatch demo --serve` is running" in first, result.stderr
    assert f"pid {server.process.pid}" in first, result.stderr
    # The first one is still the one -p demo reaches.
    status = run_with(tmp_path, server.demo_env, "status", "julep", JULEP_JOB, "-p", "demo")
    assert status.returncode in (0, 3), status.stderr


def test_serve_on_a_port_in_use_is_a_clean_usage_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_with(tmp_path, {}, "demo", "--serve", "--port", str(port))
    assert_clean_error(result, 2)
    errors = [line for line in result.stderr.splitlines() if line.startswith("jobwatch: error:")]
    assert len(errors) == 1 and str(port) in errors[0], result.stderr


def test_config_check_against_the_simulator(tmp_path: Path, server: Served) -> None:
    result = run_with(tmp_path, server.env, "config", "check")
    assert result.returncode == 0, (result.stdout, result.stderr)
    for provider in PROVIDERS:
        assert re.search(rf"^{provider}\.default\s+ok\b", result.stdout, re.M), result.stdout
    assert_no_secret(result, server.env["JOBWATCH_CLARET_TOKEN"])


def test_config_check_with_a_wrong_token_says_auth_refused(tmp_path: Path,
                                                           server: Served) -> None:
    wrong = "tok_WRONG_0123456789"
    env = {**server.env, "JOBWATCH_CLARET_TOKEN": wrong}
    result = run_with(tmp_path, env, "config", "check")
    assert result.returncode == 5, (result.stdout, result.stderr)
    assert re.search(r"^claret\.default\s+auth refused", result.stdout, re.M), result.stdout
    for provider in PROVIDERS[:3]:
        assert re.search(rf"^{provider}\.default\s+ok\b", result.stdout, re.M), result.stdout
    assert_no_secret(result, wrong)
    assert "Traceback" not in result.stderr


def test_sigterm_stops_the_server_like_ctrl_c(tmp_path: Path) -> None:
    with serving(tmp_path / "server") as served:
        time.sleep(0.5)  # the window right after the banner is the next test's business
        served.process.send_signal(signal.SIGTERM)
        _out, err = served.process.communicate(timeout=15)
    assert served.process.returncode == 0, err
    assert "simulator stopped" in err


# Runs `jobwatch demo --serve` with a signal arriving the instant the banner is out: a script
# (or this module's tests) that reads the banner as "ready" and stops the server at once.
SIGNAL_RIGHT_AFTER_BANNER = """
import os, signal, sys
import jobwatch.ui
from jobwatch.__main__ import main

banner = jobwatch.ui.write_out

def write_then_signal(text, stream=None):
    banner(text, stream)
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))

jobwatch.ui.write_out = write_then_signal
main(["demo", "--serve", "--port", "0"])
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_right_after_the_banner_stops_the_server_cleanly(tmp_path: Path,
                                                                  name: str) -> None:
    result = subprocess.run([sys.executable, "-c", SIGNAL_RIGHT_AFTER_BANNER, name],
                            cwd=tmp_path, env=clean_env(tmp_path), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=30,
                            preexec_fn=as_from_a_terminal)
    assert "jobwatch status claret 1001" in result.stdout, result.stdout
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "simulator stopped" in result.stderr
