"""Provider text is bounded where a person reads it and whole in JSON (SPEC.md, Hardening):
a provider may send a message of megabytes."""

from __future__ import annotations

import json

from tests.fakeserver import FakeServer, json_reply
from tests.test_wait import CLARET, FAST, env

HUGE = "x" * (2 << 20)  # 2 MiB


def answer(job_id: int, status: str, message: str) -> dict:
    return {"message": "ok", "content": {"job_log_id": job_id, "status": status,
                                         "progress": {"current_step": message}}}


def test_status_shows_a_huge_message_cut(run_cli, fake: FakeServer) -> None:
    fake.route(CLARET.format(1), json_reply(answer(1, "in_progress", HUGE)))
    result = run_cli("status", "claret", "1", env=env(fake))
    assert result.returncode == 3, result.stderr
    assert len(result.stdout) < 2000 and "…" in result.stdout


def test_json_keeps_it_whole(run_cli, fake: FakeServer) -> None:
    fake.route(CLARET.format(1), json_reply(answer(1, "in_progress", HUGE)))
    result = run_cli("status", "claret", "1", "--json", env=env(fake))
    assert json.loads(result.stdout)["message"] == HUGE


def test_wait_prints_a_huge_message_cut_everywhere(run_cli, fake: FakeServer) -> None:
    fake.route(CLARET.format(2), json_reply(answer(2, "in_progress", HUGE)),
               json_reply(answer(2, "failed", "y" * (2 << 20))))
    result = run_cli("wait", "claret", "2", *FAST, env=env(fake))
    assert result.returncode == 1, result.stderr
    assert len(result.stderr) < 10_000, len(result.stderr)  # was 6 MiB: three times whole


def test_a_huge_not_found_message_is_one_short_error_line(run_cli, fake: FakeServer) -> None:
    fake.route(CLARET.format(3), json_reply({"message": "Job not found " + HUGE}, status=422))
    result = run_cli("status", "claret", "3", env=env(fake))
    assert result.returncode == 4
    assert len(result.stderr) < 3000 and result.stderr.startswith("jobwatch: error: claret job 3")
