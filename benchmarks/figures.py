"""The figures (FIGURES at the end). Each runs the installed jobwatch against a loopback fake
Claret and returns rows; a reference is measured in the same run wherever one makes sense.
wait-cpu lives in waitcpu.py, HTTPie's environment in httpie_env.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import (
    MIB,
    BrokenFigure,
    Row,
    Sample,
    Settings,
    alternate,
    broken_row,
    child_env,
    median,
    mib,
    ms,
    ratio_row,
    run_child,
    run_child_sampled,
    secs,
)
from benchmarks.httpie_env import (
    HTTPIE_VERSION,
    HTTPie,
    HTTPieUnavailable,
    cache_root,
    prepare,
)
from benchmarks.provider import (
    TENANT,
    TOKEN,
    FakeServer,
    Reply,
    ScriptedJob,
    env_for,
    fake_claret,
    payload,
    status_path,
)
from benchmarks.waitcpu import wait_cpu

# The reference for `status`: the least a script can do to get the same JSON.
BARE_GET = """\
import json, os, httpx
r = httpx.get(os.environ["BENCH_URL"],
              headers={"Authorization": "Bearer " + os.environ["BENCH_TOKEN"]})
r.raise_for_status()
print(json.dumps(r.json()))
"""

# The reference for `download` when there is no curl: a plain httpx streaming loop.
BARE_DOWNLOAD = """\
import os, sys, httpx
with httpx.stream("GET", sys.argv[1]) as r, open(sys.argv[2], "wb") as f:
    r.raise_for_status()
    for chunk in r.iter_raw(256 * 1024):
        f.write(chunk)
"""


# -- startup ---------------------------------------------------------------------------------

VERSION_MAX = 3  # x `python -c pass`
HELP_MAX = 10

def startup(s: Settings) -> list[Row]:
    env = child_env(XDG_CONFIG_HOME=str(s.work / "config"))
    runs = {
        "python": lambda: run_child([s.python, "-c", "pass"]).expect(0, "python -c pass"),
        "version": lambda: run_child([s.jobwatch, "--version"], env).expect(
            0, "jobwatch --version"),
        "help": lambda: run_child([s.jobwatch, "--help"], env).expect(0, "jobwatch --help"),
    }
    samples = alternate(runs, s.reps(21))
    if not samples["version"][0].stdout.startswith("jobwatch "):
        raise BrokenFigure(f"--version printed {samples['version'][0].stdout!r}")
    if "Usage" not in samples["help"][0].stdout:
        raise BrokenFigure("--help printed no usage")
    python = median(samples["python"], "wall")
    return [
        ratio_row("startup --version", median(samples["version"], "wall"), python,
                  "python -c pass", VERSION_MAX, ms),
        ratio_row("startup --help", median(samples["help"], "wall"), python,
                  "python -c pass", HELP_MAX, ms),
    ]


# -- status ----------------------------------------------------------------------------------

STATUS_MAX_VS_HTTPX = 1.5
STATUS_MAX_VS_HTTPIE = 1.0
HTTPIE_ROW = "status --json (vs HTTPie)"


def status(s: Settings) -> list[Row]:
    httpie, unavailable = _httpie(s)
    with fake_claret() as server:
        server.route(status_path(1), ScriptedJob(1, ["completed"]))
        server.route(status_path(2), ScriptedJob(2, ["in_progress"]))
        env = env_for(server, s.work / "config")
        reference_url = server.url + status_path(2)
        bare_env = child_env(BENCH_URL=reference_url, BENCH_TOKEN=TOKEN)
        runs = {
            "httpx": lambda: run_child([s.python, "-c", BARE_GET], bare_env).expect(
                0, "the bare httpx.get script"),
            "jobwatch": lambda: _status_json(s, env, [1]),
        }
        if httpie is not None:
            runs["httpie"] = lambda: _httpie_get(httpie, reference_url, job_id=2)
        samples = alternate(runs, s.reps(11))
    jobwatch = median(samples["jobwatch"], "wall")
    rows = [ratio_row("status --json", jobwatch, median(samples["httpx"], "wall"),
                      "bare httpx.get", STATUS_MAX_VS_HTTPX, ms)]
    if httpie is not None:
        rows.append(ratio_row(HTTPIE_ROW, jobwatch, median(samples["httpie"], "wall"),
                              f"HTTPie {HTTPIE_VERSION}", STATUS_MAX_VS_HTTPIE, ms))
    elif s.quick:  # the one documented skip: CI must not depend on PyPI
        rows.append(Row(HTTPIE_ROW, "-", "HTTPie skipped: not installed (quick run)", "-",
                        f"<= {STATUS_MAX_VS_HTTPIE:g}x", None))
    else:
        rows.append(broken_row(HTTPIE_ROW, f"HTTPie could not be installed: {unavailable}"))
    return rows


def _httpie(s: Settings) -> tuple[HTTPie | None, str]:
    print(f"benchmarks: HTTPie {HTTPIE_VERSION} from {cache_root()}...", file=sys.stderr,
          flush=True)
    try:
        return prepare(s.python, s.work, s.quick), ""
    except (HTTPieUnavailable, OSError) as exc:  # OSError: a cache dir it cannot write
        print(f"benchmarks: no HTTPie: {exc}", file=sys.stderr, flush=True)
        return None, str(exc)


def _httpie_get(httpie: HTTPie, url: str, job_id: int) -> Sample:
    """The same GET with the same Authorization header, body only, as a script would."""
    sample = run_child([httpie.http, "--ignore-stdin", "--print=b", "GET", url,
                        f"Authorization:Bearer {TOKEN}"], child_env(**httpie.env)).expect(
        0, "http GET")
    if sample.stderr.strip():  # an update notice or a warning: not the plain GET measured
        raise BrokenFigure(f"HTTPie wrote to stderr: {sample.stderr.strip()[:200]}")
    try:
        answered = json.loads(sample.stdout)["content"]["job_log_id"]
    except (ValueError, KeyError, TypeError):
        raise BrokenFigure(f"HTTPie printed {sample.stdout[:120]!r}, not a Claret answer") \
            from None
    if answered != job_id:
        raise BrokenFigure(f"HTTPie got job {answered!r}, expected {job_id}")
    return sample


def _status_json(s: Settings, env: dict[str, str], ids: list[int]) -> Sample:
    """`jobwatch status claret ID... --json`, checked: one succeeded job per id, no other."""
    what = f"jobwatch status claret <{len(ids)} ids> --json"
    sample = run_child([s.jobwatch, "status", "claret", *map(str, ids), "--json"], env).expect(
        0, what)
    try:
        jobs = [json.loads(line) for line in sample.stdout.splitlines()]
    except ValueError:
        raise BrokenFigure(f"{what} printed a line that is not JSON") from None
    got = sorted(int(job["job_id"]) for job in jobs)
    if got != sorted(ids):
        raise BrokenFigure(f"{what} printed {len(jobs)} lines for ids {got[:5]}..., "
                           f"expected one per id")
    states = {job["state"] for job in jobs}
    if states != {"succeeded"}:
        raise BrokenFigure(f"{what} said states {sorted(states)}, expected only 'succeeded'")
    return sample


# -- status of many --------------------------------------------------------------------------

MANY_JOBS = 50
MANY_MAX = 3  # x the status of one, in the same run


def status_many(s: Settings) -> list[Row]:
    """Fifty ids in one command are asked for concurrently on one client: they should cost a
    little more than one, not fifty times as much."""
    ids = list(range(1, MANY_JOBS + 1))
    with fake_claret() as server:
        jobs = [ScriptedJob(i, ["completed"]) for i in ids]
        for job in jobs:
            server.route(status_path(job.job_id), job)
        env = env_for(server, s.work / "config")
        samples = alternate({"one": lambda: _status_json(s, env, ids[:1]),
                             "many": lambda: _status_json(s, env, ids)}, s.reps(11))
    runs = len(samples["many"]) + 1  # with the warm-up round
    # One request per job and run: a retry would be work the figure does not show.
    if jobs[0].polls != 2 * runs or any(job.polls != runs for job in jobs[1:]):
        raise BrokenFigure(f"the server saw {sum(j.polls for j in jobs)} requests, expected "
                           f"{(MANY_JOBS + 1) * runs}")
    return [ratio_row(f"status {MANY_JOBS} jobs --json", median(samples["many"], "wall"),
                      median(samples["one"], "wall"), "status of one", MANY_MAX, ms)]


# -- fleet -----------------------------------------------------------------------------------

FLEET_INTERVAL = 0.5
FLEET_STATES = ("in_progress", "in_progress", "completed")
FLEET_MAX_CONNECTIONS = 20


def fleet_once(s: Settings, ids: list[int]) -> tuple[Sample, int]:
    """One `wait` over every id on a fresh server; returns the sample and the TCP connections
    the server accepted."""
    with fake_claret() as server:
        jobs = [ScriptedJob(i, FLEET_STATES) for i in ids]
        for job in jobs:
            server.route(status_path(job.job_id), job)
        argv = [s.jobwatch, "wait", "claret", *map(str, ids), "--interval", str(FLEET_INTERVAL),
                "--no-download", "--quiet"]
        sample = run_child(argv, env_for(server, s.work / "config")).expect(
            0, f"jobwatch wait claret <{len(ids)} ids>")
        connections = server.connections
    wrong = [j for j in jobs if j.polls != len(FLEET_STATES)]
    if wrong:
        raise BrokenFigure(f"{len(wrong)} jobs were not polled exactly {len(FLEET_STATES)} "
                           f"times (job {wrong[0].job_id}: {wrong[0].polls})")
    return sample, connections


FLEET_TERMINAL = (120, 40)
MAX_REDRAWS_PER_S = 11  # the issue: "at most ~10 times a second whatever the number of jobs"


def fleet_live(s: Settings, ids: list[int]) -> list[Row]:
    """The same fleet watched on a terminal: the live display must not cost the wall time
    or redraw more than ~10 times a second, however many rows it has."""
    samples = []
    redraws = []
    for _ in range(s.reps(3)):
        with fake_claret() as server:
            for job in (ScriptedJob(i, FLEET_STATES) for i in ids):
                server.route(status_path(job.job_id), job)
            env = {**env_for(server, s.work / "config"), "TERM": "xterm-256color",
                   "COLUMNS": str(FLEET_TERMINAL[0]), "LINES": str(FLEET_TERMINAL[1])}
            sample = run_child([s.jobwatch, "wait", "claret", *map(str, ids), "--interval",
                                str(FLEET_INTERVAL), "--no-download"], env,
                               terminal=FLEET_TERMINAL).expect(
                0, f"jobwatch wait claret <{len(ids)} ids> on a terminal")
        if "━" not in sample.stderr:
            raise BrokenFigure("the live display drew no bar on the terminal")
        samples.append(sample)
        # Rich redraws a frame by going back to its first column and erasing the line.
        redraws.append(sample.stderr.count("\r\x1b[2K") / sample.wall)
    ideal = (len(FLEET_STATES) - 1) * FLEET_INTERVAL + 1.0
    wall, cpu = median(samples, "wall"), median(samples, "cpu")
    rate = max(redraws)
    return [
        ratio_row(f"fleet live wall ({len(ids)} jobs, {FLEET_TERMINAL[0]}x{FLEET_TERMINAL[1]} "
                  "terminal)", wall, ideal, "ideal", 2, secs),
        Row("fleet live redraws", f"{rate:.1f}/s (worst of {len(samples)})", "-",
            f"{rate:.1f}/s", f"<= {MAX_REDRAWS_PER_S}/s", rate <= MAX_REDRAWS_PER_S),
        Row("fleet live CPU", f"{secs(cpu)} user+sys", f"wall {secs(wall)}",
            f"{cpu / wall:.2f} cores", "-", None),
    ]


def fleet(s: Settings) -> list[Row]:
    ids = list(range(1, (20 if s.quick else 300) + 1))
    runs = [fleet_once(s, ids) for _ in range(s.reps(3))]
    samples = [sample for sample, _ in runs]
    connections = max(c for _, c in runs)
    ideal = (len(FLEET_STATES) - 1) * FLEET_INTERVAL + 1.0
    wall = median(samples, "wall")
    cpu = median(samples, "cpu")
    return [
        ratio_row(f"fleet wall ({len(ids)} jobs)", wall, ideal, "ideal", 2, secs),
        Row("fleet connections", f"{connections} (worst of {len(runs)})", "-",
            str(connections), f"<= {FLEET_MAX_CONNECTIONS}", connections <= FLEET_MAX_CONNECTIONS),
        Row("fleet CPU", f"{secs(cpu)} user+sys", f"wall {secs(wall)}",
            f"{cpu / wall:.2f} cores", "-", None),
        *fleet_live(s, ids),
    ]


# -- download --------------------------------------------------------------------------------

ARTIFACT = f"/{TENANT}/download/big.bin"
DOWNLOAD_MIN_SPEED = 0.5  # of the reference's
DOWNLOAD_MAX_RSS = 100 * MIB


def serve_artifact(server: FakeServer, data: bytes) -> None:
    server.route(status_path(1), Reply(200, payload(1, "completed", [ARTIFACT])))
    # A bytes body goes out in one sendall with its Content-Length: no Python per chunk.
    server.route(ARTIFACT, Reply(200, data, headers={"Content-Type": "application/octet-stream"}))


def check_file(path: Path, size: int, digest: str, who: str) -> None:
    if not path.is_file():
        raise BrokenFigure(f"{who} left no file at {path}")
    got = path.stat().st_size
    if got != size:
        raise BrokenFigure(f"{who} wrote {got} bytes, expected {size}")
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 * MIB):
            sha.update(chunk)
    if sha.hexdigest() != digest:
        raise BrokenFigure(f"{who} wrote the right size but the wrong bytes (sha256)")


def reference_download(s: Settings, url: str, target: Path) -> tuple[list[str], str]:
    curl = shutil.which("curl")
    if curl:
        return [curl, "-s", "-S", "-f", "-o", str(target), url], "curl"
    return [str(s.python), "-c", BARE_DOWNLOAD, url, str(target)], "httpx stream (no curl)"


def download(s: Settings) -> list[Row]:
    size = (4 if s.quick else 256) * MIB
    data = os.urandom(size)
    digest = hashlib.sha256(data).hexdigest()
    out_dir = s.work / "downloads"
    ref_file = s.work / "reference.bin"
    with fake_claret() as server:
        serve_artifact(server, data)
        env = env_for(server, s.work / "config")
        ref_argv, ref_label = reference_download(s, server.url + ARTIFACT, ref_file)

        def jobwatch() -> Sample:
            sample = run_child([s.jobwatch, "download", "claret", "1", "--download-dir",
                                out_dir], env).expect(0, "jobwatch download claret 1")
            check_file(out_dir / "claret-1" / "output" / "big.bin", size, digest, "jobwatch")
            shutil.rmtree(out_dir)
            return sample

        def reference() -> Sample:
            sample = run_child(ref_argv).expect(0, ref_label)
            check_file(ref_file, size, digest, ref_label)
            ref_file.unlink()
            return sample

        samples = alternate({"reference": reference, "jobwatch": jobwatch}, s.reps(5))
    del data
    jw_speed = size / median(samples["jobwatch"], "wall")
    ref_speed = size / median(samples["reference"], "wall")
    ratio = jw_speed / ref_speed
    rss = max(x.maxrss for x in samples["jobwatch"])
    ref_rss = max(x.maxrss for x in samples["reference"])
    return [
        Row(f"download speed ({mib(size)})", f"{jw_speed / MIB:.0f} MiB/s",
            f"{ref_label} {ref_speed / MIB:.0f} MiB/s", f"{ratio:.2f}x",
            f">= {DOWNLOAD_MIN_SPEED:g}x", ratio >= DOWNLOAD_MIN_SPEED),
        Row("download peak RSS", f"{mib(rss)} (worst)", f"{ref_label} {mib(ref_rss)}", mib(rss),
            f"<= {mib(DOWNLOAD_MAX_RSS)}", rss <= DOWNLOAD_MAX_RSS),
        Row("download file", f"{len(samples['jobwatch']) + 1} runs, every file checked",
            "served bytes", "size + sha256 equal", "equal", True),
    ]


# -- idle ------------------------------------------------------------------------------------

IDLE_MAX_CPU = 0.02  # of one core, over the whole run (the figure)
IDLE_STEADY_FROM = 2.0  # seconds into the run: start-up is over by then


def idle(s: Settings) -> list[Row]:
    timeout = 3 if s.quick else 8
    with fake_claret() as server:
        forever = ScriptedJob(1, ["in_progress"])
        server.route(status_path(1), forever)
        argv = [s.jobwatch, "wait", "claret", "1", "--interval", "1", "--timeout", str(timeout)]
        env = env_for(server, s.work / "config")
        # What one bare httpx.get costs, for scale: most of a short run is starting Python
        # and importing httpx, whatever is done with it.
        server.route(status_path(2), ScriptedJob(2, ["in_progress"]))
        bare_env = child_env(BENCH_URL=server.url + status_path(2), BENCH_TOKEN=TOKEN)
        bare = [run_child([s.python, "-c", BARE_GET], bare_env).expect(0, "a bare httpx.get")
                for _ in range(s.reps(3))]
        samples = []
        steady = []
        for _ in range(s.reps(5)):
            sample, cpu_between = run_child_sampled(argv, env, IDLE_STEADY_FROM, timeout - 0.5,
                                                    timeout=timeout + 60)
            samples.append(sample.expect(124, f"jobwatch wait claret 1 --timeout {timeout}"))
            if cpu_between is not None:
                steady.append(cpu_between / (timeout - 0.5 - IDLE_STEADY_FROM))
    polls = forever.polls / len(samples)
    if polls < timeout - 1:
        raise BrokenFigure(f"only {polls:.1f} polls per {timeout} s at --interval 1")
    wall, cpu = median(samples, "wall"), median(samples, "cpu")
    rows = [Row(f"idle ({timeout} s, whole run)", f"{secs(cpu)} CPU in {secs(wall)}, "
                f"{polls:.0f} polls", f"one bare httpx.get: {secs(median(bare, 'cpu'))} CPU",
                f"{cpu / wall:.2%}", f"<= {IDLE_MAX_CPU:.0%}", cpu / wall <= IDLE_MAX_CPU)]
    if steady:
        # The same runs, read from /proc between 2 s and the end: what waiting alone costs.
        rows.append(Row("idle (after start-up)", f"{statistics.median(steady):.2%} of a core",
                        f"/proc, {IDLE_STEADY_FROM:g} s to {timeout - 0.5:g} s", "-", "-", None))
    return rows


FIGURES: dict[str, Callable[[Settings], list[Row]]] = {
    "startup": startup,
    "status": status,
    "status-many": status_many,
    "fleet": fleet,
    "wait-cpu": wait_cpu,
    "download": download,
    "idle": idle,
}
