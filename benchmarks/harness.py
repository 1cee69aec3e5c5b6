"""Running child processes and measuring them: wall time, CPU time, peak RSS; result rows.

Machines are shared and noisy, so every figure compares jobwatch with a reference measured in
the same run, alternating the two (A, B, A, B, ...) and taking medians.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

MIB = 1024 * 1024


class BrokenFigure(Exception):
    """The figure could not be measured honestly: a wrong exit code, a corrupt file, ..."""


@dataclass
class Sample:
    """One finished child process."""

    wall: float  # seconds
    cpu: float  # user + sys of the child, seconds
    maxrss: int  # peak resident set of the child, bytes
    code: int
    stdout: str
    stderr: str

    def expect(self, code: int, what: str) -> Sample:
        if self.code != code:
            tail = self.stderr.strip().splitlines()[-3:]
            raise BrokenFigure(f"{what} exited {self.code}, expected {code}: "
                               + " | ".join(tail))
        return self


@dataclass
class Row:
    figure: str
    measured: str
    reference: str
    value: str
    target: str
    ok: bool | None  # None: reported, not judged
    # Why this row could not be measured: one BROKEN row, while the figure's other rows stand.
    problem: str | None = None


def broken_row(figure: str, problem: str) -> Row:
    return Row(figure, "BROKEN", "-", "-", "-", False, problem)


def ratio_row(figure: str, measured: float, reference: float, ref_label: str, limit: float,
              fmt: Callable[[float], str]) -> Row:
    ratio = measured / reference
    return Row(figure, fmt(measured), f"{ref_label} {fmt(reference)}", f"{ratio:.2f}x",
               f"<= {limit:g}x", ratio <= limit)


@dataclass
class Settings:
    """What every figure needs to know about this run."""

    quick: bool
    repeat: int
    jobwatch: Path
    python: Path
    work: Path  # a scratch directory, removed at the end of the run

    def reps(self, full: int) -> int:
        """Repetitions for a figure: --repeat wins, --quick means 2, else the figure's own."""
        if self.repeat:
            return self.repeat
        return 2 if self.quick else full


# Why a launcher: Linux counts, in a child's ru_maxrss, the memory of the process it was
# forked from up to its exec (Python spawns through vfork). Spawned straight from this process,
# which holds the 256 MiB download buffer, every child would "peak" above 256 MiB. So a bare
# `python -I -S` (about 9 MiB) spawns the measured program, times it and reports its wait4.
LAUNCHER = """\
import os, sys, time
out = int(sys.argv[1])
os.set_inheritable(out, False)
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - started
os.write(out, f"{wall} {ru.ru_utime + ru.ru_stime} {ru.ru_maxrss} "
              f"{os.waitstatus_to_exitcode(status)}".encode())
"""


def run_child(argv: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None = None,
              timeout: float = 120.0, on_start: Callable[[int], None] | None = None,
              terminal: tuple[int, int] | None = None) -> Sample:
    """Run one program (an absolute path) to its end and measure it alone. ``on_start`` gets
    the launcher's pid. ``terminal=(columns, rows)``: its stderr is a pseudo-terminal of that
    size (what a person watching sees), and Sample.stderr is what was drawn on it."""
    read_end, write_end = os.pipe()
    screen = _Terminal(*terminal) if terminal else None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write_end),
                 *(str(a) for a in argv)],
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=screen.slave if screen else err, pass_fds=(write_end,),
                env=dict(env) if env is not None else None, start_new_session=True)
        finally:
            os.close(write_end)
            if screen:
                screen.started()
        if on_start is not None:
            on_start(proc.pid)
        # The launcher leads its own process group: a timeout kills it and the program.
        watchdog = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            proc.wait()
            with os.fdopen(read_end, "rb") as report:
                fields = report.read().split()
        finally:
            watchdog.cancel()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if screen:
            stderr = screen.drawn()
    if len(fields) != 4:
        raise BrokenFigure(f"{argv[0]} {' '.join(map(str, argv[1:3]))}... did not finish "
                           f"within {timeout:.0f} s (or could not start): {stderr.strip()[-200:]}")
    wall, cpu, maxrss, code = fields
    return Sample(wall=float(wall), cpu=float(cpu), maxrss=int(maxrss) * 1024,  # KiB on Linux
                  code=int(code), stdout=stdout, stderr=stderr)


class _Terminal:
    """A pseudo-terminal for a child's stderr, read in the background."""

    def __init__(self, columns: int, rows: int) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.data = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)

    def started(self) -> None:
        os.close(self.slave)  # the child has its own copy; EOF comes when it exits
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child is gone
                return
            if not chunk:
                return
            self.data += chunk

    def drawn(self) -> str:
        self.reader.join(5)
        os.close(self.master)
        return self.data.decode(errors="replace")


def run_child_sampled(argv: Sequence[str | os.PathLike[str]], env: Mapping[str, str],
                      first: float, second: float, timeout: float = 120.0
                      ) -> tuple[Sample, float | None]:
    """run_child, plus the program's CPU seconds between ``first`` and ``second`` seconds into
    its run, read from /proc (None where there is no /proc)."""
    marks: list[float | None] = []
    done = threading.Event()

    def sample_cpu() -> None:
        started = time.monotonic()
        for at in (first, second):
            if done.wait(max(0.0, started + at - time.monotonic())):
                return
            marks.append(_cpu_of_program(launcher_pid))

    launcher_pid = 0

    def spawned(pid: int) -> None:
        nonlocal launcher_pid
        launcher_pid = pid
        threading.Thread(target=sample_cpu, daemon=True).start()

    sample = run_child(argv, env, timeout, on_start=spawned)
    done.set()
    if len(marks) != 2 or None in marks:
        return sample, None
    return sample, marks[1] - marks[0]  # type: ignore[operator]


def _cpu_of_program(launcher_pid: int) -> float | None:
    """utime + stime of the launcher's child (the measured program), from /proc."""
    try:
        children = Path(f"/proc/{launcher_pid}/task/{launcher_pid}/children").read_text().split()
        fields = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


T = TypeVar("T")


def alternate(runs: Mapping[str, Callable[[], T]], repeat: int,
              warmup: bool = True) -> dict[str, list[T]]:
    """Run each callable in turn, `repeat` rounds (A, B, A, B, ...), after one unkept round
    that fills the page cache."""
    if warmup:
        for run in runs.values():
            run()
    samples: dict[str, list[T]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            samples[name].append(run())
    return samples


def median(samples: Sequence[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def child_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could point jobwatch at a real config or account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBWATCH_")}
    env.update(extra)
    return env


def find_jobwatch() -> Path:
    """The installed console script next to this interpreter: what a user actually runs."""
    script = Path(sys.executable).parent / "jobwatch"
    if not script.exists():
        raise SystemExit(f"benchmarks: no jobwatch script next to {sys.executable}; run with "
                         "the interpreter of the environment jobwatch is installed in "
                         "(e.g. .venv/bin/python benchmarks/run.py)")
    return script


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    curl = "curl" if shutil.which("curl") else "no curl"
    return (f"{platform.platform()}; {cpu}; nproc {nproc}; Python {platform.python_version()}; "
            f"load average {load}; {curl}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def mib(n: float) -> str:
    return f"{n / MIB:.1f} MiB"
