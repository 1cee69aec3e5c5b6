"""`wait --events`: JSON Lines on stdout in the order things happen, each flushed at once;
each object flat, with "event" and "time", and in `jobwatch schema`."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_clean_error, clean_env
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.test_schema import validator
from tests.test_wait import CLARET, FAST, claret, env, route_claret

NOT_FOUND = json_reply({"message": "Job not found for id 7", "error": {}}, status=422)


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.slow
def test_the_life_of_a_job_in_order(run_cli, fake: FakeServer) -> None:
    route_claret(fake, 1, claret(1, "pending"), claret(1, "in_progress", 3),
                 claret(1, "in_progress", 3), claret(1, "in_progress", 6),
                 claret(1, "completed", 8, 8, files={"output": ["/acme/d/out.csv"]}))
    fake.route("/acme/d/out.csv", Reply(200, b"a,b\n"))
    result = run_cli("wait", "claret", "1", *FAST, "--events", env=env(fake))
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert [(e["event"], e.get("done")) for e in events] == [
        ("update", 0), ("update", 3), ("update", 6), ("update", 8), ("download", None),
        ("end", 8)]  # the second 3/8 changed nothing: no event
    saved = str(run_cli.cwd / "claret-1" / "output" / "out.csv")
    assert (events[4]["path"], events[4]["bytes"]) == (saved, 4)
    assert events[-1]["outcome"] == "succeeded"
    assert events[-1]["downloads"] == [{"category": "output", "path": saved, "bytes": 4}]
    for event in events:
        assert list(event)[:2] == ["event", "time"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["time"])
        validator().validate(event)
    assert "claret 1: succeeded" in result.stderr  # the plain lines still go to stderr


def test_retries_and_waiting_are_events(run_cli, fake: FakeServer) -> None:
    route_claret(fake, 7, NOT_FOUND, Reply(503, b"busy", {"Retry-After": "0"}),
                 claret(7, "completed", 8, 8))
    result = run_cli("wait", "claret", "7", *FAST, "--events", "--not-found-grace", "30s",
                     env=env(fake))
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert [e["event"] for e in events] == ["waiting", "retry", "update", "end"]
    assert {k: events[0][k] for k in ("provider", "profile", "job_id")} == {
        "provider": "claret", "profile": "default", "job_id": "7"}
    assert "503" in events[1]["error"] and events[1]["retry_in"] >= 0.2
    for event in events:
        validator().validate(event)


def test_several_jobs_end_once_each_and_last(run_cli, fake: FakeServer) -> None:
    route_claret(fake, 1, claret(1, "in_progress", 1), claret(1, "completed", 8, 8))
    route_claret(fake, 2, claret(2, "failed", 2))
    fake.route("/api/jobs/m1/status", json_reply({"job_id": "m1", "status": "done"}))
    fake.route("/api/jobs/m1", json_reply({"job_id": "m1", "status": "done"}))
    result = run_cli("wait", "claret:1", "claret:2", "merchantops:m1", *FAST, "--events",
                     env={**env(fake), **env(fake, "merchantops")})
    assert result.returncode == 1, result.stderr
    events = events_of(result.stdout)
    for job in ("1", "2", "m1"):
        own = [e["event"] for e in events if e["job_id"] == job]
        assert own.count("end") == 1 and own[-1] == "end", (job, own)


@pytest.mark.slow
def test_each_event_is_written_as_it_happens(fake: FakeServer, tmp_path: Path) -> None:
    route_claret(fake, 3, claret(3, "in_progress", 2), claret(3, "in_progress", 2),
                 claret(3, "completed", 8, 8))
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "jobwatch", "wait", "claret", "3",
                             "--interval", "3", "--events"], cwd=work,
                            env=clean_env(tmp_path, **env(fake)), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "no event within 20 s"
        first = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert first["event"] == "update" and proc.poll() is None  # the job still runs
    finally:
        out, _ = proc.communicate(timeout=30)
    assert [json.loads(line)["event"] for line in out.splitlines()] == ["update", "end"]


def test_events_with_json_is_a_usage_error(run_cli, fake: FakeServer) -> None:
    result = run_cli("wait", "claret", "1", "--events", "--json", env=env(fake))
    assert_clean_error(result, 2)
    assert "--events and --json" in result.stderr
    assert fake.hits(CLARET.format(1)) == 0


@pytest.mark.slow
def test_a_job_never_found_ends_with_its_line(run_cli, fake: FakeServer) -> None:
    route_claret(fake, 9, NOT_FOUND)
    started = time.monotonic()
    result = run_cli("wait", "claret", "9", *FAST, "--events", "--not-found-grace", "1s",
                     env=env(fake))
    assert result.returncode == 4, result.stderr
    assert time.monotonic() - started < 20
    events = events_of(result.stdout)
    assert events[0]["event"] == "waiting"
    assert events[-1]["event"] == "end" and events[-1]["outcome"] == "not_found"
    assert events[-1]["state"] == "unknown" and events[-1]["status"] is None
    validator().validate(events[-1])
