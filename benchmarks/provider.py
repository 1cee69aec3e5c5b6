"""A fake Claret on loopback (the tests' FakeServer) and the environment that points at it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import child_env  # noqa: E402
from tests.fakeserver import FakeServer, Recorded, Reply  # noqa: E402

TENANT = "acme"
TOKEN = "bench-token-4f1c9a7e"  # not a secret: the fake server's only accepted value


def status_path(job_id: int | str) -> str:
    return f"/{TENANT}/api/v1/imports/status/{job_id}"


def payload(job_id: int | str, status: str, outputs: Sequence[str] = ()) -> dict[str, Any]:
    """A Claret status answer shaped like the documented one (tests/payloads/claret)."""
    done = {"pending": 0, "in_progress": 3, "completed": 8}.get(status, 0)
    return {
        "message": "Job status retrieved successfully",
        "content": {
            "job_log_id": int(job_id), "status": status, "type": "inventory-import",
            "progress": {"completed_steps": done, "total_steps": 8,
                         "current_step": None if status == "completed" else "Validating rows"},
            "files": {"output": list(outputs)},
            "timestamps": {"started_at": "2024-01-01T10:00:00Z",
                           "completed_at": "2024-01-01T10:02:30Z" if status == "completed"
                           else None},
        },
    }


def env_for(server: FakeServer, config_home: Path) -> dict[str, str]:
    """jobwatch configured by environment only; an empty XDG_CONFIG_HOME so that no config
    file of the person running the benchmark is read."""
    config_home.mkdir(parents=True, exist_ok=True)
    return child_env(JOBWATCH_CLARET_BASE_URL=server.url, JOBWATCH_CLARET_TOKEN=TOKEN,
                     JOBWATCH_CLARET_TENANT=TENANT, XDG_CONFIG_HOME=str(config_home))


class ScriptedJob:
    """A route answering a sequence of states, the last one repeating; counts its polls."""

    def __init__(self, job_id: int, states: Sequence[str]) -> None:
        self.job_id = job_id
        self.states = list(states)
        self.polls = 0
        self._lock = threading.Lock()
        self._replies = {s: Reply(200, payload(job_id, s)) for s in set(states)}

    def __call__(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "Unauthenticated."})
        with self._lock:
            state = self.states[min(self.polls, len(self.states) - 1)]
            self.polls += 1
        return self._replies[state]


@contextmanager
def fake_claret() -> Iterator[FakeServer]:
    server = FakeServer("127.0.0.1").start()
    try:
        yield server
    finally:
        server.stop()
