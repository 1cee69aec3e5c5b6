"""`wait --on-end CMD`'s runner, with real /bin/sh hooks: what they are given, what of their
output is shown, and that no hook, and nothing a hook started, outlives its limit or a Ctrl-C.
Limits that would take minutes are reached on a fake clock."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from jobwatch.errors import ExitCode, UsageError
from jobwatch.hooks import (
    LINE_MAX,
    VALUE_MAX,
    HookJob,
    HookRunner,
    check_command,
    hook_environment,
)
from jobwatch.redact import Redactor
from jobwatch.text import has_control
from tests.conftest import within
from tests.helpers import Clock

TOKEN = "tok_HOOK_s3cr3t_4f9a"
# Writes the hook's environment, as bytes, to the file named by $DUMP.
DUMP_ENV = (f'"{sys.executable}" -c "import os; open(os.environ[\'DUMP\'], \'wb\').write('
            f'b\'\\0\'.join(k + b\'=\' + v for k, v in os.environb.items()))"')


class Seen:
    """What the runner showed: output lines and warnings, as the caller's callbacks got them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self.lines.append(text)

    def warning(self, text: str) -> None:
        with self._lock:
            self.warnings.append(text)

    def wait_for_line(self, text: str, limit: float = 10) -> None:
        end = time.monotonic() + within(limit)
        while text not in self.lines:
            assert time.monotonic() < end, f"the hook never printed {text!r}: {self.lines}"
            time.sleep(0.02)


def job(job_id: str = "12345", **fields: object) -> HookJob:
    values: dict[str, object] = dict(provider="claret", profile="default", job_id=job_id,
                                     state="succeeded", outcome="succeeded", exit_code=0)
    values.update(fields)
    return HookJob(**values)  # type: ignore[arg-type]


def runner(cmd: str, seen: Seen, **options: object) -> HookRunner:
    options.setdefault("env", dict(os.environ))
    options.setdefault("redact", lambda text: text)
    return HookRunner(cmd, on_line=seen.line, on_warning=seen.warning, **options)  # type: ignore[arg-type]


def run(cmd: str, *jobs: HookJob, **options: object) -> Seen:
    seen = Seen()
    hooks = runner(cmd, seen, **options)
    for one in jobs:
        hooks.submit(one)
    hooks.finish()
    return seen


def dumped_env(path: Path) -> dict[bytes, bytes]:
    return dict(item.split(b"=", 1) for item in path.read_bytes().split(b"\0"))


def gone(pid: int, limit: float = 5) -> bool:
    """The process has ended: no such process, or a zombie waiting for its parent (init, for a
    hook's grandchild) to collect it."""
    end = time.monotonic() + within(limit)
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass
        time.sleep(0.02)
    return False


def read_pid(path: Path, limit: float = 10) -> int:
    end = time.monotonic() + within(limit)
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < end, f"the hook never wrote {path.name}"
        time.sleep(0.02)
    return int(path.read_text())


@pytest.fixture
def leftovers():
    """PIDs a test's hooks started; any still running at the end is killed, and is a failure."""
    pids: list[int] = []
    yield pids
    alive = [pid for pid in pids if not gone(pid, limit=0.2)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"hook processes outlived their hook: {alive}"


# The command itself.

@pytest.mark.parametrize("cmd", ["", "   ", "\t\n"])
def test_an_empty_command_is_a_usage_error(cmd: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_command(cmd)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "--on-end" in caught.value.message
    with pytest.raises(UsageError):
        HookRunner(cmd, env={}, on_line=print, on_warning=print, redact=str)


@pytest.mark.parametrize("cmd", ["a\x00b", "x" * (128 * 1024)])
def test_a_command_exec_cannot_take_is_a_usage_error(cmd: str) -> None:
    with pytest.raises(UsageError):
        check_command(cmd)


def test_a_usual_command_passes() -> None:
    check_command('notify-send "$JOBWATCH_JOB_ID" && curl -fsS https://example.test/x')


# What the hook is given.

def test_job_values_arrive_exactly_and_only_in_the_environment(tmp_path: Path) -> None:
    downloads = [tmp_path / "out dir" / "errors.csv", tmp_path / "résumé ✓.json"]
    line = json.dumps({"provider": "claret", "job_id": "12345", "raw": {"k": "v"}})
    message = "Import fertig ✓ — 3 Zeilen\nzweite Zeile; $(rm -rf /) `id` 'quoted'"
    one = job(state="failed", outcome="failed", exit_code=1, message=message, profile="staging",
              downloads=downloads, job_json=line, job_json_without_raw="{}")
    dump = tmp_path / "env"
    env = dict(os.environ, DUMP=str(dump), SOME_SETTING="kept", JOBWATCH_MESSAGE="stale")
    seen = run(DUMP_ENV, one, env=env)
    assert seen.warnings == []
    got = dumped_env(dump)
    assert got[b"JOBWATCH_PROVIDER"] == b"claret"
    assert got[b"JOBWATCH_PROFILE"] == b"staging"
    assert got[b"JOBWATCH_JOB_ID"] == b"12345"
    assert got[b"JOBWATCH_STATE"] == b"failed"
    assert got[b"JOBWATCH_OUTCOME"] == b"failed"
    assert got[b"JOBWATCH_EXIT_CODE"] == b"1"
    assert got[b"JOBWATCH_MESSAGE"] == message.encode()
    assert got[b"JOBWATCH_DOWNLOADS"] == b"\n".join(os.fsencode(p) for p in downloads)
    assert got[b"JOBWATCH_JOB_JSON"] == line.encode()
    assert got[b"SOME_SETTING"] == b"kept"  # the rest of jobwatch's environment is passed on
    assert not dump.with_name("rm").exists()


def test_every_value_is_set_even_when_there_is_nothing_to_say(tmp_path: Path) -> None:
    env = hook_environment(job(), {"JOBWATCH_DOWNLOADS": "/stale/path", "HOME": "/home/x"})
    assert env["JOBWATCH_DOWNLOADS"] == b""
    assert env["JOBWATCH_MESSAGE"] == b""
    assert env["JOBWATCH_JOB_JSON"] == b""
    assert env["HOME"] == "/home/x"


def test_a_nul_or_a_lone_surrogate_is_cleaned_and_the_hook_still_runs(tmp_path: Path) -> None:
    dump = tmp_path / "env"
    one = job(message="before\x00after \ud800 end", job_id="id\udcff")
    seen = run(DUMP_ENV, one, env=dict(os.environ, DUMP=str(dump)))
    assert seen.warnings == []
    got = dumped_env(dump)
    assert got[b"JOBWATCH_MESSAGE"] == "before\ufffdafter \ufffd end".encode()
    assert got[b"JOBWATCH_JOB_ID"] == "id\ufffd".encode()


def test_job_json_falls_back_to_the_line_without_raw(tmp_path: Path) -> None:
    without_raw = json.dumps({"provider": "claret", "job_id": "1", "message": "ok"})
    full = json.dumps({"provider": "claret", "job_id": "1", "raw": {"blob": "x" * 200_000}})
    dump = tmp_path / "env"
    run(DUMP_ENV, job(job_json=full, job_json_without_raw=without_raw),
        env=dict(os.environ, DUMP=str(dump)))
    assert dumped_env(dump)[b"JOBWATCH_JOB_JSON"] == without_raw.encode()
    # When even that is too large, the value is empty rather than JSON cut in the middle.
    huge = json.dumps({"message": "m" * 200_000})
    env = hook_environment(job(job_json=huge, job_json_without_raw=huge), {})
    assert env["JOBWATCH_JOB_JSON"] == b""


def test_large_values_are_bounded(tmp_path: Path) -> None:
    paths = [f"/data/{i:05d}-{'p' * 100}.csv" for i in range(2000)]
    dump = tmp_path / "env"
    seen = run(DUMP_ENV, job(message="ü" * 100_000, downloads=paths, job_id="9" * 10_000),
               env=dict(os.environ, DUMP=str(dump)))
    assert seen.warnings == []
    got = dumped_env(dump)
    message = got[b"JOBWATCH_MESSAGE"].decode()  # still valid UTF-8 after the cut
    assert len(got[b"JOBWATCH_MESSAGE"]) <= VALUE_MAX and message.endswith("…")
    assert set(message[:-1]) == {"ü"}
    saved = got[b"JOBWATCH_DOWNLOADS"].decode().split("\n")
    assert len(got[b"JOBWATCH_DOWNLOADS"]) <= VALUE_MAX
    assert saved == paths[:len(saved)]  # whole paths only
    assert len(got[b"JOBWATCH_JOB_ID"]) <= 4096


def test_the_tokens_jobwatch_was_given_are_not_passed_on(tmp_path: Path) -> None:
    dump = tmp_path / "env"
    env = dict(os.environ, DUMP=str(dump), JOBWATCH_CLARET_TOKEN=TOKEN,
               JOBWATCH_JULEP_TOKEN=TOKEN, MY_CLARET_KEY=TOKEN,
               JOBWATCH_CLARET_TOKEN_ENV="MY_CLARET_KEY", UNRELATED="kept")
    run(DUMP_ENV, job(), env=env, drop=["MY_CLARET_KEY"])
    raw = dump.read_bytes()
    assert TOKEN.encode() not in raw
    got = dumped_env(dump)
    assert got[b"UNRELATED"] == b"kept"
    assert got[b"JOBWATCH_CLARET_TOKEN_ENV"] == b"MY_CLARET_KEY"  # a name, not a secret


def test_stdin_is_dev_null_and_the_hook_is_a_group_of_its_own(tmp_path: Path) -> None:
    seen = run("read line || echo no-input; ps -o pgid= -p $$ | tr -d ' '; echo $$", job())
    assert seen.lines[0] == "no-input"
    assert seen.lines[1] == seen.lines[2]  # its process group is its own
    assert int(seen.lines[1]) != os.getpgrp()


# What of its output is shown.

def test_output_is_redacted_and_holds_no_control_character() -> None:
    cmd = (f"printf 'token={TOKEN}\\n'; printf 'Authorization: Bearer abc.def\\n' >&2; "
           "printf '\\033]0;title\\007\\033[2Jcleared\\r\\nnext\\rover\\n'; "
           "printf 'bidi \\342\\200\\256txt\\n'; printf 'no newline at the end'")
    seen = run(cmd, job(), redact=Redactor([TOKEN]))
    assert seen.lines[:2] == ["token=***", "Authorization: Bearer ***"]
    assert not any(TOKEN in line or has_control(line) for line in seen.lines)
    assert seen.lines[2].endswith("cleared") and seen.lines[3] == "next over"
    assert seen.lines[-1] == "no newline at the end"


def test_a_token_printed_in_two_pieces_is_still_redacted() -> None:
    half = len(TOKEN) // 2
    cmd = f"printf 'a {TOKEN[:half]}'; sleep 0.2; printf '{TOKEN[half:]} b\\n'"
    seen = run(cmd, job(), redact=Redactor([TOKEN]))
    assert seen.lines == ["a *** b"]


def test_a_character_split_between_reads_arrives_whole_and_bad_bytes_are_replaced() -> None:
    seen = run("printf 'gr\\303'; sleep 0.2; printf '\\274n\\n\\377\\376 end\\n'", job())
    assert seen.lines == ["grün", "\ufffd\ufffd end"]


def test_warnings_are_redacted_and_printable() -> None:
    seen = run("exit 4", job(job_id=f"x\x1b[2J{TOKEN}"), redact=Redactor([TOKEN]))
    assert len(seen.warnings) == 1
    assert TOKEN not in seen.warnings[0] and not has_control(seen.warnings[0])


def test_a_long_line_is_cut_even_with_a_token_across_the_cut() -> None:
    cmd = (f"head -c {LINE_MAX - 5} /dev/zero | tr '\\0' a; printf '{TOKEN}'; "
           "head -c 3000000 /dev/zero | tr '\\0' b; echo; echo after")
    seen = run(cmd, job(), redact=Redactor([TOKEN]))
    assert len(seen.lines) == 2 and seen.lines[1] == "after"
    assert len(seen.lines[0]) == LINE_MAX and seen.lines[0].endswith("…")
    assert seen.lines[0].startswith("a" * (LINE_MAX - 5) + "***")


class PeakRSS:
    """The largest resident size of this process while the block runs, sampled every 5 ms."""

    def __init__(self) -> None:
        self.baseline = self.peak = self._rss()
        self._done = threading.Event()

    @staticmethod
    def _rss() -> int:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        import resource  # macOS: the peak so far, in bytes there

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRSS:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


@pytest.mark.slow
@pytest.mark.parametrize("cmd, lines", [
    ("yes | head -c 50000000", 25_000_000),
    # one 30 MB line: shown cut, never held whole
    ("head -c 30000000 /dev/zero | tr '\\0' x; echo; echo end", 2),
])
def test_megabytes_of_output_pass_through_with_flat_memory(cmd: str, lines: int) -> None:
    count = [0, 0]

    def on_line(text: str) -> None:
        count[0] += 1
        count[1] += len(text)

    hooks = HookRunner(cmd, env=dict(os.environ), on_line=on_line, on_warning=print,
                       redact=lambda text: text)
    with PeakRSS() as rss:
        hooks.submit(job())
        hooks.finish()
    assert count[0] == lines
    if lines > 2:
        assert count[1] == lines  # every "y", each on a line of its own
    assert rss.growth < 8 * 1024 * 1024, f"memory grew by {rss.growth / 1e6:.1f} MB"


# One at a time, in order; failures.

def test_hooks_run_one_at_a_time_in_the_order_jobs_ended(tmp_path: Path) -> None:
    log = tmp_path / "log"
    stamp = f'"{sys.executable}" -c "import time; print(time.time())"'
    cmd = (f'echo "start $JOBWATCH_JOB_ID $({stamp})" >> {log}; sleep 0.2; '
           f'echo "end $JOBWATCH_JOB_ID $({stamp})" >> {log}')
    seen = run(cmd, job("3"), job("1"), job("2"))
    assert seen.warnings == []
    entries = [line.split() for line in log.read_text().splitlines()]
    assert [(what, which) for what, which, _ in entries] == [
        ("start", "3"), ("end", "3"), ("start", "1"), ("end", "1"), ("start", "2"), ("end", "2")]
    times = [float(stamp) for _, _, stamp in entries]
    assert times == sorted(times)


def test_a_failing_hook_gets_one_warning_and_the_next_one_runs() -> None:
    cmd = 'if [ "$JOBWATCH_JOB_ID" = 1 ]; then echo "bad $JOBWATCH_JOB_ID"; exit 3; fi; echo ok'
    seen = run(cmd, job("1"), job("2"))
    assert seen.warnings == ["on-end hook for claret 1 failed with exit code 3"]
    assert seen.lines == ["bad 1", "ok"]


def test_a_command_that_does_not_exist_is_one_warning() -> None:
    seen = run("no-such-program-4f9a --flag", job(label="claret@staging 12345"))
    assert seen.warnings == [
        "on-end hook for claret@staging 12345 failed with exit code 127 (command not found)"]
    assert any("no-such-program-4f9a" in line for line in seen.lines)  # the shell's own words


def test_a_hook_killed_by_a_signal_is_one_warning() -> None:
    seen = run("kill -SEGV $$", job())
    assert seen.warnings == ["on-end hook for claret 12345 was ended by SIGSEGV"]


def test_a_hook_that_cannot_start_is_one_warning_and_the_next_one_runs(tmp_path: Path) -> None:
    # An environment no exec accepts (3 MB, over ARG_MAX on Linux and macOS) for the first job.
    big = {f"BIG_{i}": "x" * 100_000 for i in range(30)}
    env = dict(os.environ, **big)
    seen = run("echo ran", job("1"), env=env)
    assert len(seen.warnings) == 1
    assert seen.warnings[0].startswith("on-end hook for claret 1 could not start: ")
    assert seen.lines == []
    assert run("echo ran", job("2")).lines == ["ran"]


# Limits, stop and interrupt.

HANGS = "echo $$ > {dir}/leader; sleep 300 & echo $! > {dir}/child; echo started; wait"


def test_a_hook_that_hangs_is_stopped_at_the_deadline_with_its_group(
        tmp_path: Path, leftovers: list[int]) -> None:
    clock = Clock(1000.0)
    seen = Seen()
    hooks = runner(HANGS.format(dir=tmp_path), seen, deadline=1090.0, clock=clock, grace=0.5)
    hooks.submit(job())
    hooks.submit(job("67890"))
    seen.wait_for_line("started")
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    clock.now = 1095.0
    started = time.monotonic()
    hooks.finish()
    assert time.monotonic() - started < within(3)
    assert seen.warnings == [
        "on-end hook for claret 12345 stopped after 1m35s: the --timeout passed",
        "on-end hook not run for 1 job: the --timeout passed"]
    assert all(gone(pid) for pid in leftovers)


def test_without_a_deadline_a_hook_runs_at_most_max_seconds(
        tmp_path: Path, leftovers: list[int]) -> None:
    clock = Clock()
    seen = Seen()
    hooks = runner(HANGS.format(dir=tmp_path), seen, clock=clock, grace=0.5)
    hooks.submit(job())
    seen.wait_for_line("started")
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    clock.now = 599.0
    time.sleep(0.3)
    assert not seen.warnings  # still within its 10 minutes
    clock.now = 600.0
    hooks.finish()
    assert seen.warnings == [
        "on-end hook for claret 12345 stopped after 10m00s: "
        "on-end hooks run for at most 10m00s"]
    assert all(gone(pid) for pid in leftovers)


def deaf_to_sigterm(tmp_path: Path, child_output: str = "") -> str:
    """A hook whose leader and background child both ignore SIGTERM, their pids in
    tmp_path/leader and tmp_path/child; it says "started" and runs until killed."""
    return (f"trap '' TERM; echo $$ > {tmp_path}/leader; "
            f"sh -c 'trap \"\" TERM; exec sleep 300' {child_output} & "
            f"echo $! > {tmp_path}/child; echo started; while :; do sleep 0.05; done")


@pytest.mark.slow
def test_a_hook_that_ignores_sigterm_is_killed_after_the_grace(
        tmp_path: Path, leftovers: list[int]) -> None:
    cmd = deaf_to_sigterm(tmp_path, child_output="> /dev/null")
    seen = Seen()
    hooks = runner(cmd, seen, max_seconds=0.5, grace=0.5)
    hooks.submit(job())
    seen.wait_for_line("started")
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    started = time.monotonic()
    hooks.finish()
    assert time.monotonic() - started < within(3)
    assert len(seen.warnings) == 1 and "stopped after" in seen.warnings[0]
    assert all(gone(pid) for pid in leftovers)


def test_a_child_left_holding_the_pipe_does_not_hold_jobwatch(
        tmp_path: Path, leftovers: list[int]) -> None:
    cmd = f"sleep 30 & echo $! > {tmp_path}/child; echo done"
    started = time.monotonic()
    seen = run(cmd, job())
    assert time.monotonic() - started < within(3)
    assert seen.lines == ["done"] and seen.warnings == []
    child = read_pid(tmp_path / "child")
    os.kill(child, signal.SIGKILL)  # sent off with `&`: the user's, and left alone
    leftovers.append(child)


def test_no_hook_starts_after_the_watch_stopped(tmp_path: Path) -> None:
    log = tmp_path / "log"
    go = tmp_path / "go"
    cmd = f'echo "$JOBWATCH_JOB_ID" >> {log}; while [ ! -e {go} ]; do sleep 0.02; done'
    seen = Seen()
    hooks = runner(cmd, seen)
    for job_id in "1234":
        hooks.submit(job(job_id))
    end = time.monotonic() + within(10)
    while not log.exists():
        assert time.monotonic() < end
        time.sleep(0.02)
    hooks.stop("--fail-fast stopped the watch")
    hooks.submit(job("5"))  # ended while the watch was stopping
    go.touch()
    hooks.finish()
    assert log.read_text() == "1\n"  # the running hook was let finish
    assert seen.warnings == ["on-end hook not run for 4 jobs: "
                             "--fail-fast stopped the watch"]


def test_no_hook_starts_once_the_deadline_has_passed() -> None:
    clock = Clock(50.0)
    seen = run("echo ran", job("1"), job("2"), deadline=40.0, clock=clock)
    assert seen.lines == []
    assert seen.warnings == ["on-end hook not run for 2 jobs: the --timeout passed"]


def test_interrupt_stops_the_running_group_and_says_so(
        tmp_path: Path, leftovers: list[int]) -> None:
    seen = Seen()
    hooks = runner(HANGS.format(dir=tmp_path), seen, grace=0.5)
    hooks.submit(job())
    hooks.submit(job("2"))
    seen.wait_for_line("started")
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    started = time.monotonic()
    hooks.interrupt()
    assert time.monotonic() - started < within(2)
    assert all(gone(pid) for pid in leftovers)
    assert len(seen.warnings) == 2
    assert seen.warnings[0].startswith("on-end hook for claret 12345 stopped after ")
    assert seen.warnings[0].endswith(": interrupted")
    assert seen.warnings[1] == "on-end hook not run for 1 job: interrupted"


def test_ctrl_c_in_the_main_thread_leaves_no_hook_running(
        tmp_path: Path, leftovers: list[int]) -> None:
    seen = Seen()

    def ctrl_c_once_started() -> None:
        seen.wait_for_line("started")
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=ctrl_c_once_started)
    with pytest.raises(KeyboardInterrupt):  # the Ctrl-C lands in finish()
        with runner(HANGS.format(dir=tmp_path), seen, grace=0.5) as hooks:
            hooks.submit(job())
            sender.start()
    sender.join()
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    assert all(gone(pid) for pid in leftovers)
    assert seen.warnings[-1].endswith(": interrupted")


def test_an_exception_in_the_callers_block_stops_the_hooks(
        tmp_path: Path, leftovers: list[int]) -> None:
    seen = Seen()
    with pytest.raises(RuntimeError):
        with runner(HANGS.format(dir=tmp_path), seen, grace=0.5) as hooks:
            hooks.submit(job())
            seen.wait_for_line("started")
            raise RuntimeError("a bug in the engine")
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    assert all(gone(pid) for pid in leftovers)


def test_a_callback_that_fails_kills_the_hook_and_reaches_finish(
        tmp_path: Path, leftovers: list[int]) -> None:
    def on_line(text: str) -> None:
        raise OSError("stderr went away")

    hooks = HookRunner(HANGS.format(dir=tmp_path), env=dict(os.environ), on_line=on_line,
                       on_warning=print, redact=str)
    hooks.submit(job())
    with pytest.raises(OSError, match="stderr went away"):
        hooks.finish()
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    assert all(gone(pid) for pid in leftovers)


def test_a_second_ctrl_c_while_interrupting_kills_the_group_at_once(
        tmp_path: Path, leftovers: list[int]) -> None:
    cmd = deaf_to_sigterm(tmp_path)
    seen = Seen()
    hooks = runner(cmd, seen, grace=30)
    hooks.submit(job())
    seen.wait_for_line("started")
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        hooks.interrupt()
    assert time.monotonic() - started < within(3)  # not the 30 s grace
    assert all(gone(pid) for pid in leftovers)


@pytest.mark.slow
def test_finish_keeps_to_the_deadline_even_when_on_line_is_stuck(
        tmp_path: Path, leftovers: list[int]) -> None:
    stuck = threading.Event()

    def on_line(text: str) -> None:  # as a write to a full stderr pipe nobody reads
        if text != "started":
            stuck.wait()

    clock = Clock()
    cmd = HANGS.format(dir=tmp_path).replace("echo started;", "echo started; echo more;")
    hooks = HookRunner(cmd, env=dict(os.environ), on_line=on_line, on_warning=lambda text: None,
                       redact=str, deadline=60.0, clock=clock, grace=0.3)
    hooks.submit(job())
    leftovers += [read_pid(tmp_path / "leader"), read_pid(tmp_path / "child")]
    clock.now = 61.0
    started = time.monotonic()
    hooks.finish()
    assert time.monotonic() - started < within(3)
    assert all(gone(pid) for pid in leftovers)
    stuck.set()
