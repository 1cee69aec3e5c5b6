"""`wait --on-end CMD`: one shell command for each job whose watch has ended, run one at a time,
each in a process group of its own, its output passed on line by line.

(Over 500 lines on purpose: a third is this threat model; the rest is one worker and the
process group it supervises, which are safer read in one place than split.)

Threat model. CMD is the user's own and runs with their rights; what is not theirs is what it
is given and what it prints, and how long it may hold jobwatch up.

- Job values (a provider's message, a job id a script passed on, saved paths) reach the hook
  only as environment variables (``hook_environment``), never pasted into CMD, so no value can
  become shell code. Each is cleaned (NUL and lone surrogates become U+FFFD: execve cannot
  carry a NUL and UTF-8 cannot carry a surrogate) and bounded (VALUE_MAX, ID_MAX), so the hook
  always gets an environment execve accepts.
- jobwatch adds no secret, and takes out the tokens it was given (``JOBWATCH_<X>_TOKEN`` and the
  variables a profile's token_env names, passed as ``drop``): a hook that posts to a chat or
  logs its environment cannot leak them. Every other inherited variable is passed on as is.
- The hook's output is text from a program jobwatch does not control, shown on a terminal or a
  CI log: it comes through a pipe (stdout and stderr together, in order), is decoded as UTF-8
  with replacement, redacted with the caller's ``redact`` and made ``printable``; each line is
  cut at LINE_MAX characters. It is read READ_SIZE bytes at a time and never gathered whole:
  a hook printing gigabytes, or a megabyte line without a newline, keeps jobwatch's memory
  flat (at most one read and one partial line of LINE_MAX + REDACT_MARGIN characters).
- A hook that hangs is stopped: each runs for at most what is left of --timeout (``deadline``)
  and never more than ``max_seconds`` (10 minutes); then its process group gets SIGTERM and,
  GRACE seconds later, SIGKILL. The group, not the shell: a ``sleep`` the hook started goes
  too. A hook's group is a session of its own, so a Ctrl-C at the terminal reaches jobwatch
  only; ``interrupt()`` passes it on by stopping the running hook's group.
- A hook that exits while a child it left behind still holds the pipe does not hold jobwatch:
  its output is read for DRAIN more seconds, then the pipe is closed. That child is left alone
  (the user sent it off with ``&``); it dies of SIGPIPE if it writes again.
- Nothing here changes an exit code: a hook that fails, cannot start or is stopped gets one
  warning line, and the jobs' codes stand.

Threads. One worker thread of this module's own (a daemon, started by the first ``submit``)
starts the hooks, reads their output and calls ``on_line`` and ``on_warning`` from there: both
must be thread-safe (the renderers take a lock) and ``on_line`` cheap, since a chatty hook calls
it millions of times. ``submit`` may be called from any thread; ``stop``, ``finish`` and
``interrupt`` from the main thread (or any one thread) while the worker waits on a hook; one of
``finish`` or ``interrupt`` must end every run, or a running hook outlives jobwatch. Both wait
in short slices, so a Ctrl-C reaches the main thread; ``finish`` returns at most GRACE + 1 s
after the deadline even when the worker is stuck in a callback. The injected ``clock`` measures
only the deadline and ``max_seconds`` (so a test can move it); grace and drain are real time.

Use from `wait` (the integration):

    check_command(cmd)                  # while parsing --on-end / on_end: "" is exit 2
    hooks = HookRunner(cmd, env=os.environ, drop=token_env_names, redact=runtime.redact,
                       on_line=print_above_rows, on_warning=warn,
                       deadline=settings.deadline, clock=clock)
    # engine worker, once a job's downloads are done (its outcome settled):
    hooks.submit(HookJob(provider=..., profile=..., job_id=..., state=..., outcome=...,
                         exit_code=watch.exit_code, message=..., downloads=[...],
                         job_json=line, job_json_without_raw=line_without_raw))
    # main thread, once the watch is over:
    #   every job ended:               hooks.finish()
    #   --timeout or --fail-fast:      hooks.stop("the watch stopped at --timeout"); hooks.finish()
    #                                  (a hook already running may finish, within its limit)
    #   KeyboardInterrupt / SIGTERM:   hooks.interrupt()   (stops the running hook's group too)
    # or `with HookRunner(...) as hooks:`, which calls finish() or, on an exception, interrupt().

``job_json`` is the job's `wait --json` line exactly as printed (already redacted);
``job_json_without_raw`` the same line without ``raw``. ``on_warning`` gets the bare message
("on-end hook for claret 12345 failed with exit code 3"): the caller adds "jobwatch: warning:".
"""

from __future__ import annotations

import codecs
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobwatch.durations import format_duration
from jobwatch.errors import UsageError
from jobwatch.text import has_control, printable

SHELL = "/bin/sh"
MAX_SECONDS = 600.0  # a hook's limit when there is no --timeout
GRACE = 2.0  # between SIGTERM and SIGKILL, real seconds
DRAIN = 0.5  # reading on after the shell exited, for what its last children still print
POLL = 0.1  # the worker looks at the clock at least this often (a test's clock moves by hand)
READ_SIZE = 64 * 1024
LINE_MAX = 2000  # characters of one output line shown; longer lines end in "…"
# A partial line is redacted before it is cut, with this much after the cut, so a token that
# straddles LINE_MAX is still recognised. Tokens travel in HTTP headers, which servers cap at
# 8-16 KiB, so no token is longer.
REDACT_MARGIN = 16 * 1024
# Environment bounds, in UTF-8 bytes. Linux refuses a single "NAME=value" string over 128 KiB
# (MAX_ARG_STRLEN) and all of argv and the environment together over ARG_MAX (~2 MiB; 1 MiB on
# macOS). Three values of VALUE_MAX and six of ID_MAX come to 216 KiB at most, which leaves the
# inherited environment and CMD plenty of room under either.
VALUE_MAX = 64 * 1024  # JOBWATCH_MESSAGE, JOBWATCH_DOWNLOADS, JOBWATCH_JOB_JSON
ID_MAX = 4 * 1024  # provider, profile, job id, state, outcome, exit code
CMD_MAX = 128 * 1024 - 1  # MAX_ARG_STRLEN, counting the string's NUL

# The variables config.py reads tokens from, for every provider (present or future): stripped
# from the hook's environment. SPEC says only that no secret is *added*; taking out the tokens
# jobwatch itself was given is the safer reading, and a hook that needs one can read it from
# where the user keeps it.
_TOKEN_VARIABLE = re.compile(r"JOBWATCH_[A-Z0-9_]+_TOKEN")
_UNENCODABLE = re.compile(r"[\x00\ud800-\udfff]")


def check_command(cmd: str) -> None:
    """Raise UsageError (exit 2) for a CMD that cannot be run: empty, or not passable to exec."""
    if not cmd.strip():
        raise UsageError("--on-end needs a command",
                         hint="give the command to run, e.g. --on-end 'notify-send \"$JOBWATCH_"
                              "JOB_ID $JOBWATCH_OUTCOME\"', or leave --on-end out")
    if "\x00" in cmd:
        raise UsageError("the --on-end command contains a NUL character")
    try:
        size = len(os.fsencode(cmd))
    except UnicodeEncodeError:
        raise UsageError("the --on-end command is not valid text") from None
    if size > CMD_MAX:
        raise UsageError(f"the --on-end command is too long ({size} bytes, at most {CMD_MAX})",
                         hint="put it in a script and give the script's path")


@dataclass(frozen=True)
class HookJob:
    """What one hook is told about its job. ``label`` names it in warnings (the display's
    "claret@staging 12345"); by default "provider job_id"."""

    provider: str
    profile: str
    job_id: str
    state: str
    outcome: str
    exit_code: int
    message: str | None = None
    downloads: Sequence[str | os.PathLike[str]] = ()
    job_json: str = ""
    job_json_without_raw: str = ""
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.provider} {self.job_id}"


def hook_environment(job: HookJob, base: Mapping[str, str], *,
                     drop: Iterable[str] = ()) -> dict[str, str | bytes]:
    """The hook's environment: ``base`` without the token variables and ``drop``, plus the
    JOBWATCH_* values of ``job`` as UTF-8 bytes (subprocess passes bytes through untouched, so
    the encoding does not depend on the locale).

    Every JOBWATCH_* value is always set, "" when there is nothing to say, so none can be left
    over from the environment jobwatch itself was started in. JOBWATCH_JOB_JSON is the full line
    when it fits VALUE_MAX, else the line without ``raw``, else "" (a cut JSON text would not
    parse). Other values over their bound are cut and end in "…"; JOBWATCH_DOWNLOADS keeps only
    whole paths."""
    dropped = set(drop)
    env: dict[str, str | bytes] = {
        name: value for name, value in base.items()
        if name not in dropped and not _TOKEN_VARIABLE.fullmatch(name)}
    json_value = next((_encode(text) for text in (job.job_json, job.job_json_without_raw)
                       if len(_encode(text)) <= VALUE_MAX), b"")
    env.update({
        "JOBWATCH_PROVIDER": _bounded(job.provider, ID_MAX),
        "JOBWATCH_PROFILE": _bounded(job.profile, ID_MAX),
        "JOBWATCH_JOB_ID": _bounded(job.job_id, ID_MAX),
        "JOBWATCH_STATE": _bounded(job.state, ID_MAX),
        "JOBWATCH_OUTCOME": _bounded(job.outcome, ID_MAX),
        "JOBWATCH_EXIT_CODE": _bounded(str(int(job.exit_code)), ID_MAX),
        "JOBWATCH_MESSAGE": _bounded(job.message or "", VALUE_MAX),
        "JOBWATCH_DOWNLOADS": _paths(job.downloads, VALUE_MAX),
        "JOBWATCH_JOB_JSON": json_value,
    })
    return env


def _encode(text: str) -> bytes:
    return _UNENCODABLE.sub("\ufffd", text).encode("utf-8")


def _bounded(text: str, limit: int) -> bytes:
    data = _encode(text)
    if len(data) <= limit:
        return data
    ellipsis = "…".encode()
    # "ignore" drops only the character the cut went through the middle of.
    return data[:limit - len(ellipsis)].decode("utf-8", "ignore").encode() + ellipsis


def _paths(paths: Sequence[str | os.PathLike[str]], limit: int) -> bytes:
    lines: list[bytes] = []
    size = 0
    for path in paths:
        try:
            # A path's own bytes, even when they are not UTF-8 (a DIR the user named in
            # another encoding): the hook must be able to open it. A path holds no NUL.
            line = os.fsencode(path)
        except UnicodeEncodeError:
            line = _encode(os.fspath(path))
        size += len(line) + (1 if lines else 0)
        if size > limit:
            break  # a path cut short would name another file
        lines.append(line)
    return b"\n".join(lines)


class _Lines:
    """Bytes from the hook's pipe in, shown lines out. Only whole lines are redacted (a token
    never spans two), a block of them at a time: redacting 25 million lines of `yes` one by one
    would take minutes of regular expressions."""

    def __init__(self, on_line: Callable[[str], None], redact: Callable[[str], str],
                 on_lines: Callable[[list[str]], None] | None = None) -> None:
        self._on_line = on_line
        self._on_lines = on_lines
        self._redact = redact
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._skipping = False  # the rest of a line already shown cut

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if self._skipping:
            newline = text.find("\n")
            if newline < 0:
                return
            text, self._skipping = text[newline + 1:], False
        text = self._partial + text
        newline = text.rfind("\n")
        if newline >= 0:
            self._show(text[:newline])
            text = text[newline + 1:]
        self._partial = text
        if len(text) > LINE_MAX + REDACT_MARGIN:
            self._show(text)
            self._partial, self._skipping = "", True
        elif final and text:
            self._show(text)
            self._partial = ""

    def _show(self, block: str) -> None:
        block = self._redact(block)
        if "\r" in block:
            block = block.replace("\r\n", "\n")
        lines = block.split("\n")
        if max(map(len, lines)) > LINE_MAX:
            lines = [line if len(line) <= LINE_MAX else line[:LINE_MAX - 1] + "…"
                     for line in lines]
        if has_control(block.replace("\n", "")):
            lines = [printable(line) for line in lines]
        if self._on_lines is not None:
            self._on_lines(lines)
            return
        for line in lines:
            self._on_line(line)


@dataclass(eq=False)
class _Running:
    """The hook being run. ``stopping`` says why its group was sent SIGTERM, once it was."""

    job: HookJob
    proc: subprocess.Popen[bytes]
    started: float  # on the injected clock
    stopping: str | None = None
    term_sent: float = 0.0  # time.monotonic() of the SIGTERM

    def signal_group(self, signum: int) -> None:
        # The group outlives its leader while any member is alive, and the kernel does not
        # hand out a PID still in use as a group id, so this cannot reach a stranger.
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # the whole group is gone already (macOS says EPERM for a group of zombies)


class HookRunner:
    """Runs CMD for each submitted job, in order, one at a time. See the module docstring for
    the threads and for how `wait` uses it."""

    def __init__(self, cmd: str, *, env: Mapping[str, str], on_line: Callable[[str], None],
                 on_warning: Callable[[str], None], redact: Callable[[str], str],
                 deadline: float | None = None, clock: Callable[[], float] = time.monotonic,
                 drop: Iterable[str] = (), max_seconds: float = MAX_SECONDS,
                 grace: float = GRACE,
                 on_lines: Callable[[list[str]], None] | None = None) -> None:
        """``on_lines``, when given, takes each block of whole lines at once instead of
        ``on_line`` per line: one write (one redraw of a live display) per read."""
        check_command(cmd)
        self.cmd = cmd
        self._env = env
        self._drop = frozenset(drop)
        self._on_warning = on_warning
        self._on_line = on_line
        self._on_lines = on_lines
        self._redact = redact
        self._deadline = deadline
        self._clock = clock
        self._max_seconds = max_seconds
        self._grace = grace
        self._lock = threading.Condition()
        self._queue: deque[HookJob] = deque()
        self._running: _Running | None = None
        self._stopped: str | None = None  # why no more hooks start
        self._closing = False  # finish(): the worker ends once the queue is empty
        self._skipped = 0
        self._reported = False
        self._worker: threading.Thread | None = None
        # Set by the worker as it ends. Not Thread.is_alive(): a Ctrl-C that lands in
        # Thread.join() can mark a running thread as ended (CPython issue gh-90882).
        self._worker_done = threading.Event()
        self._failure: BaseException | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # The caller's side.

    def submit(self, job: HookJob) -> None:
        """Queue ``job``'s hook; it runs after those queued before it. After ``stop`` it is
        counted as skipped instead."""
        with self._lock:
            if self._stopped is not None or self._closing:
                self._skipped += 1
                return
            self._queue.append(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="jobwatch-hooks",
                                                daemon=True)
                self._worker.start()
            self._lock.notify_all()

    def stop(self, reason: str) -> None:
        """The watch has stopped (``reason``: "the watch stopped at --timeout", "--fail-fast
        stopped the watch"): no hook starts from now on, and queued ones are skipped. A hook
        already running goes on, within its limit; ``finish()`` waits for it."""
        with self._lock:
            self._stop(reason)

    def finish(self) -> None:
        """Wait until every queued hook has run (or the deadline skipped them), then say how
        many were skipped. Bounded by the deadline: the worker stops a hook at its limit and
        starts none past it. Raises whatever broke the worker (a bug, or ``on_line`` failing),
        after the hook's group was killed."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        if not self._join(None, past_deadline=self._grace + 1.0):
            # The worker stops its hook at the deadline itself; this long after, something
            # holds it (on_line blocked on a stderr nobody reads): stop the hook from here.
            with self._lock:
                self._stop("the --timeout passed")
            self._kill_running()
        self._report_skipped()
        if self._worker_done.is_set() or self._worker is None:
            self._close_wake()
        if self._failure is not None:
            raise self._failure

    def interrupt(self, reason: str = "interrupted") -> None:
        """Ctrl-C (or SIGTERM) in the main thread: skip the queued hooks and stop the running
        one's group now, then wait (at most the grace period, and a little) until it is gone.
        A second Ctrl-C while waiting kills the group at once and is raised."""
        try:
            with self._lock:
                self._stop(reason)
                running = self._running
                if running is not None and running.stopping is None:
                    running.stopping = reason
                    running.term_sent = time.monotonic()
                    running.signal_group(signal.SIGTERM)
            self._wake()
            self._join(self._grace + 2 * POLL + 1.0)
        finally:
            # Whether the worker got to it in time or a second Ctrl-C cut the wait short.
            with self._lock:
                self._stop(reason)
            self._kill_running()
        self._report_skipped()
        if self._worker is None or self._worker_done.is_set():
            self._close_wake()

    def __enter__(self) -> HookRunner:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.interrupt("interrupted" if issubclass(exc_type, KeyboardInterrupt)
                           else "jobwatch stopped")
            return
        try:
            self.finish()
        except KeyboardInterrupt:  # Ctrl-C while waiting for the queue
            self.interrupt()
            raise

    # Under the lock.

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason
        self._skipped += len(self._queue)
        self._queue.clear()
        self._lock.notify_all()

    # The main thread's helpers.

    def _join(self, limit: float | None, past_deadline: float | None = None) -> bool:
        """Wait for the worker to end, for at most ``limit`` seconds, or ``past_deadline``
        seconds once the deadline has passed; True if it ended."""
        if self._worker is None:
            return True
        end = None if limit is None else time.monotonic() + limit
        # In slices: a Ctrl-C must reach the main thread while it waits.
        while not self._worker_done.wait(POLL):
            now = time.monotonic()
            if (end is None and past_deadline is not None and self._deadline is not None
                    and self._clock() >= self._deadline):
                end = now + past_deadline
            if end is not None and now >= end:
                return False
        return True

    def _kill_running(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.signal_group(signal.SIGKILL)

    def _report_skipped(self) -> None:
        with self._lock:
            if self._reported or not self._skipped:
                return
            self._reported = True
            count, reason = self._skipped, self._stopped or "the watch stopped"
        jobs = "job" if count == 1 else "jobs"
        self._warn(f"on-end hook not run for {count} {jobs}: {reason}")

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # already full of wake-ups, or closed: the worker is awake or gone

    def _close_wake(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    # The worker thread.

    def _work(self) -> None:
        try:
            while (running := self._next()) is not None:
                finished = False
                try:
                    self._supervise(running)
                    finished = True
                finally:
                    # A bug here, or on_line failing, must not leave the group running.
                    if not finished:
                        running.signal_group(signal.SIGKILL)
                    if running.proc.poll() is None:
                        running.signal_group(signal.SIGKILL)
                        running.proc.wait()
                    if running.proc.stdout is not None:
                        running.proc.stdout.close()
                    with self._lock:
                        self._running = None
                self._report(running)
        except BaseException as exc:  # handed to finish(), which raises it in the main thread
            self._failure = exc
            with self._lock:
                self._stop("jobwatch stopped")
        finally:
            self._worker_done.set()

    def _next(self) -> _Running | None:
        """The next hook, started; None when there is none to run. The hook is started under
        the lock, so interrupt() either sees it running or knows it never started."""
        while True:
            with self._lock:
                while not self._queue and self._stopped is None and not self._closing:
                    self._lock.wait()
                if self._stopped is not None or not self._queue:
                    return None
                job = self._queue.popleft()
                now = self._clock()
                if self._deadline is not None and now >= self._deadline:
                    self._queue.appendleft(job)
                    self._stop("the --timeout passed")
                    return None
                try:
                    proc = subprocess.Popen(
                        [SHELL, "-c", self.cmd], stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        env=hook_environment(job, self._env, drop=self._drop),
                        start_new_session=True)
                except (OSError, ValueError) as exc:  # E2BIG, ENOMEM, no /bin/sh
                    why = getattr(exc, "strerror", None) or type(exc).__name__
                    failed = f"on-end hook for {job.name} could not start: {why}"
                else:
                    self._running = _Running(job, proc, now)
                    return self._running
            self._warn(failed)

    def _supervise(self, running: _Running) -> None:
        """Pass the hook's output on until it has exited and its pipe is closed (or DRAIN after
        it exited); stop its group at the limit, or once interrupt() asked for it."""
        proc = running.proc
        assert proc.stdout is not None
        pipe = proc.stdout.fileno()
        os.set_blocking(pipe, False)
        lines = _Lines(self._on_line, self._redact, self._on_lines)
        end, why = self._limit(running.started)
        exited_at: float | None = None
        with selectors.DefaultSelector() as selector:
            selector.register(pipe, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            open_pipe = True
            while True:
                if running.stopping is None and self._clock() >= end:
                    self._terminate(running, why)
                if exited_at is None and proc.poll() is not None:
                    exited_at = time.monotonic()
                now = time.monotonic()
                if running.stopping is not None:
                    # Done once the shell is gone and nothing holds the pipe, or at the end of
                    # the grace; either way SIGKILL takes whatever of the group ignored SIGTERM.
                    if (exited_at is not None and not open_pipe
                            or now - running.term_sent >= self._grace):
                        running.signal_group(signal.SIGKILL)
                        break
                elif exited_at is not None and (not open_pipe or now - exited_at >= DRAIN):
                    break
                if not open_pipe:
                    _wait_exit(proc, POLL)
                    continue
                for key, _ in selector.select(POLL):
                    if key.fd == self._wake_r:
                        _read_all(self._wake_r)
                        continue
                    data = _read(pipe)
                    if data == b"":
                        open_pipe = False
                        selector.unregister(pipe)
                    elif data:
                        lines.feed(data)
        lines.feed(b"", final=True)

    def _limit(self, started: float) -> tuple[float, str]:
        end = started + self._max_seconds
        why = f"on-end hooks run for at most {format_duration(self._max_seconds)}"
        if self._deadline is not None and self._deadline < end:
            end, why = self._deadline, "the --timeout passed"
        return end, why

    def _terminate(self, running: _Running, why: str) -> None:
        with self._lock:
            if running.stopping is None:
                running.stopping = why
                running.term_sent = time.monotonic()
                running.signal_group(signal.SIGTERM)

    def _report(self, running: _Running) -> None:
        name, code = running.job.name, running.proc.returncode
        if running.stopping is not None:
            took = format_duration(self._clock() - running.started)
            self._warn(f"on-end hook for {name} stopped after {took}: {running.stopping}")
        elif code < 0:
            self._warn(f"on-end hook for {name} was ended by {_signal_name(-code)}")
        elif code:
            note = {126: " (not executable)", 127: " (command not found)"}.get(code, "")
            self._warn(f"on-end hook for {name} failed with exit code {code}{note}")

    def _warn(self, text: str) -> None:
        self._on_warning(printable(self._redact(text)))


def _read(fd: int) -> bytes | None:
    """Up to READ_SIZE bytes; b"" at the end; None when nothing is there after all."""
    try:
        return os.read(fd, READ_SIZE)
    except BlockingIOError:
        return None


def _wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> None:
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        pass


def _read_all(fd: int) -> None:
    while _read(fd):
        pass


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
