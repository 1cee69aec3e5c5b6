"""What --json prints: SPEC's keys in SPEC's order, even for a job that never answered, and
characters that could drive a terminal or split a line (C1 controls, bidi controls, line
separators) escaped, the data kept."""

from __future__ import annotations

import json

from jobwatch.engine import Watch
from jobwatch.errors import NotFoundError
from jobwatch.models import JSON_KEYS, Job, JobState
from jobwatch.ui import job_json, json_lines
from tests.conftest import provider_env

# SPEC.md's "Normalized job" example, key by key.
SPEC_KEYS = ["provider", "profile", "job_id", "state", "status", "terminal", "progress", "done",
             "total", "unit", "failed_items", "message", "job_type", "created_at", "started_at",
             "finished_at", "url", "artifacts", "raw"]


UNSAFE = "\u0085\u009b\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029"


def test_json_escapes_c1_controls_and_bidi_characters_but_keeps_the_data() -> None:
    job = Job(provider="claret", job_id="1", state=JobState.RUNNING, status="in_progress",
              message=f"Step {UNSAFE}[31m é", raw={"note": UNSAFE})
    watch = Watch("claret", "1", outcome="timeout")
    watch.job = job
    for text in (job_json(job), json_lines([watch], "default")):
        assert not any(char in text for char in UNSAFE), ascii(text)
        assert "\\u009b" in text and "\\u202e" in text and "\\u2028" in text
        assert "é" in text  # other text stays readable
        data = json.loads(text.splitlines()[0])
        assert data["message"] == f"Step {UNSAFE}[31m é" and data["raw"] == {"note": UNSAFE}


def test_a_job_that_never_answered_has_specs_keys_in_specs_order() -> None:
    assert list(JSON_KEYS) == SPEC_KEYS
    job = Job(provider="claret", job_id="1", state=JobState.RUNNING, status="in_progress")
    assert list(job.to_json_dict()) == SPEC_KEYS
    watch = Watch("claret", "404", profile="staging", outcome="not_found",
                  error=NotFoundError("claret has no job 404"))
    data = json.loads(json_lines([watch]))
    assert list(data) == [*SPEC_KEYS, "outcome", "downloads"]
    assert data["profile"] == "staging" and data["job_id"] == "404"
    assert data["state"] == "unknown" and data["terminal"] is False
    assert data["artifacts"] == [] and data["message"] == "claret has no job 404"


def test_wait_json_for_a_job_that_was_not_found(fake, run_cli) -> None:
    # No route: the fake answers 404.
    result = run_cli("wait", "claret", "4040", "--interval", "0.2", "--json",
                     env=provider_env(fake, "claret"))
    assert result.returncode == 4, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == [*SPEC_KEYS, "outcome", "downloads"]
    assert data["outcome"] == "not_found"
