"""The `wait-cpu` figure: what one poll costs jobwatch in CPU when it watches a thousand jobs,
against a bare httpx.Client loop making the same GETs to the same fake server.

CPU is the child's own (user + sys, from wait4), so the fake server, which runs on threads of
this process, is not counted; it is checked instead: a server that cannot keep up would make
the clients wait and the figure say nothing about them.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.harness import (
    BrokenFigure,
    Row,
    Sample,
    Settings,
    alternate,
    child_env,
    mib,
    ratio_row,
    run_child,
)
from benchmarks.provider import TOKEN, FakeServer, ScriptedJob, env_for, fake_claret, status_path

STATES = ("in_progress", "in_progress", "completed")
# jobwatch's floor (engine.retry.MIN_INTERVAL): the run is then bound by CPU, not by waiting, and
# a thousand jobs take a few seconds.
INTERVAL = 0.2
MAX_VS_HTTPX = 1.2
MAX_CONNECTIONS = 20  # as the fleet figure: one pool of jobwatch's default 16 workers
# The server's threads share one GIL, so one core is all it can use; past this share of it,
# requests would queue behind the server and the clients' timing would be the server's.
SERVER_MAX_SHARE = 0.7

# The reference: one client, jobwatch's default of 16 workers, each job polled until it ends,
# every answer parsed as JSON. No sleeps: they would cost no CPU.
REFERENCE = """\
import os, sys
from concurrent.futures import ThreadPoolExecutor
import httpx

prefix, token, n = os.environ["BENCH_URL"], os.environ["BENCH_TOKEN"], int(sys.argv[1])

def watch(client, job_id):
    gets = 0
    while True:
        r = client.get(prefix + str(job_id))
        r.raise_for_status()
        gets += 1
        if r.json()["content"]["status"] == "completed":
            return gets

with httpx.Client(headers={"Authorization": "Bearer " + token}) as client, \\
        ThreadPoolExecutor(16) as pool:
    print(sum(pool.map(lambda i: watch(client, i), range(1, n + 1))))
"""


@dataclass
class PollRun:
    """One client run against a fresh fake server."""

    sample: Sample
    connections: int  # TCP connections the server accepted
    server_share: float  # this process's CPU (the server) while the child ran, in cores


def wait_cpu(s: Settings) -> list[Row]:
    ids = list(range(1, (100 if s.quick else 1000) + 1))
    runs = alternate({"httpx": lambda: _polled(s, ids, _reference),
                      "jobwatch": lambda: _polled(s, ids, _jobwatch)}, s.reps(5))
    _check_server(runs)
    polls = len(ids) * len(STATES)
    jobwatch, reference = runs["jobwatch"], runs["httpx"]
    cpu = statistics.median(r.sample.cpu for r in jobwatch)
    per_get = statistics.median(r.sample.cpu for r in reference) / polls
    connections = max(r.connections for r in jobwatch)
    rss = max(r.sample.maxrss for r in jobwatch)
    n = f"{len(ids)} jobs"
    return [
        _per_poll_row(f"wait CPU per poll ({n})", cpu, polls, per_get),
        Row(f"wait connections ({n})", f"{connections} (worst of {len(jobwatch)})",
            f"httpx.Client loop {max(r.connections for r in reference)}", str(connections),
            f"<= {MAX_CONNECTIONS}", connections <= MAX_CONNECTIONS),
        Row(f"wait peak RSS ({n})", f"{mib(rss)} (worst)",
            f"httpx.Client loop {mib(max(r.sample.maxrss for r in reference))}", mib(rss),
            "-", None),
        _server_row(runs, polls),
    ]


def _polled(s: Settings, ids: list[int],
            client: Callable[[Settings, FakeServer, list[int]], Sample]) -> PollRun:
    """Run one client against a fresh server of scripted jobs; every job must have been polled
    exactly as often as it has states."""
    with fake_claret() as server:
        jobs = [ScriptedJob(i, STATES) for i in ids]
        for job in jobs:
            server.route(status_path(job.job_id), job)
        cpu_before = time.process_time()
        sample = client(s, server, ids)
        server_cpu = time.process_time() - cpu_before
        connections = server.connections
    wrong = [j for j in jobs if j.polls != len(STATES)]
    if wrong:
        raise BrokenFigure(f"{len(wrong)} jobs were not polled exactly {len(STATES)} times "
                           f"(job {wrong[0].job_id}: {wrong[0].polls})")
    return PollRun(sample, connections, server_cpu / sample.wall)


def _jobwatch(s: Settings, server: FakeServer, ids: list[int]) -> Sample:
    # stderr is a file, not a terminal: the plain line renderer, as in CI logs.
    what = f"jobwatch wait claret <{len(ids)} ids> --json"
    sample = run_child([s.jobwatch, "wait", "claret", *map(str, ids), "--interval",
                        str(INTERVAL), "--no-download", "--json"],
                       env_for(server, s.work / "config")).expect(0, what)
    try:
        lines = [json.loads(line) for line in sample.stdout.splitlines()]
    except ValueError:
        raise BrokenFigure(f"{what} printed a line that is not JSON") from None
    if sorted(int(line["job_id"]) for line in lines) != ids:
        raise BrokenFigure(f"{what} printed {len(lines)} lines, expected one per id")
    if "\x1b[" in sample.stderr:
        raise BrokenFigure(f"{what} drew with escape codes on a file: not the plain renderer")
    outcomes = {line["outcome"] for line in lines}
    if outcomes != {"succeeded"}:
        raise BrokenFigure(f"{what}: outcomes {sorted(outcomes)}, expected only 'succeeded'")
    return sample


def _reference(s: Settings, server: FakeServer, ids: list[int]) -> Sample:
    env = child_env(BENCH_URL=server.url + status_path(""), BENCH_TOKEN=TOKEN)
    sample = run_child([s.python, "-c", REFERENCE, str(len(ids))], env).expect(
        0, "the httpx.Client reference loop")
    if sample.stdout.strip() != str(len(ids) * len(STATES)):
        raise BrokenFigure(f"the reference loop made {sample.stdout.strip()} GETs, expected "
                           f"{len(ids) * len(STATES)}")
    return sample


def _check_server(runs: dict[str, list[PollRun]]) -> None:
    for name, kept in runs.items():
        worst = max(r.server_share for r in kept)
        if worst > SERVER_MAX_SHARE:
            raise BrokenFigure(f"the fake server used {worst:.2f} of a core during a {name} "
                               f"run (limit {SERVER_MAX_SHARE}): it could not keep up")


def _per_poll_row(figure: str, cpu: float, polls: int, per_get: float) -> Row:
    row = ratio_row(figure, cpu / polls, per_get, "httpx.Client loop", MAX_VS_HTTPX, _ms2)
    row.measured += f" ({cpu:.2f} s / {polls})"  # start-up included, as in the reference
    return row


def _server_row(runs: dict[str, list[PollRun]], polls: int) -> Row:
    every = [r for kept in runs.values() for r in kept]
    worst = max(r.server_share for r in every)
    per_request = statistics.median(r.server_share * r.sample.wall for r in every) / polls
    return Row("wait fake-server CPU (not counted)", f"{worst:.2f} core (worst run)",
               f"{_ms2(per_request)} per request", f"{worst:.2f} core",
               f"<= {SERVER_MAX_SHARE:g} core", worst <= SERVER_MAX_SHARE)


def _ms2(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"

