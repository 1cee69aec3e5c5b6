"""The normalized job: SPEC's JSON form and the checks the model makes."""

from __future__ import annotations

import json

import pytest

from jobwatch.models import Artifact, Job, JobState, fraction, map_free_word

SPEC_KEYS = ["provider", "profile", "job_id", "state", "status", "terminal", "progress", "done",
             "total", "unit", "failed_items", "message", "job_type", "created_at",
             "started_at", "finished_at", "url", "artifacts", "raw"]


def test_json_form_has_specs_keys_in_specs_order() -> None:
    job = Job(provider="claret", job_id="12345", state=JobState.RUNNING, status="in_progress",
              progress=0.375, done=3, total=8, unit="steps",
              artifacts=[Artifact(category="errors", url="https://x.example/e.csv")], raw={"a": 1})
    data = job.to_json_dict()
    assert list(data) == SPEC_KEYS
    assert data["state"] == "running" and data["terminal"] is False
    assert data["artifacts"] == [{"category": "errors", "url": "https://x.example/e.csv"}]
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("state", ["succeeded", "failed", "canceled"])
def test_terminal_follows_the_state(state: str) -> None:
    assert Job(provider="julep", job_id="x", state=state, status=state).terminal


@pytest.mark.parametrize("state", ["pending", "running", "unknown"])
def test_unended_states_are_not_terminal(state: str) -> None:
    assert not Job(provider="julep", job_id="x", state=JobState(state), status=state).terminal


@pytest.mark.parametrize("progress", [-0.1, 1.5])
def test_progress_outside_0_1_is_refused(progress: float) -> None:
    with pytest.raises(ValueError):
        Job(provider="julep", job_id="x", state="running", status="x", progress=progress)


def test_wrong_types_are_refused() -> None:
    with pytest.raises(ValueError):
        Job(provider="julep", job_id="x", state="finished-ish", status="x")
    with pytest.raises(ValueError):
        Job(provider="julep", job_id="x", state="running", status=3)
    with pytest.raises(ValueError):
        Job(provider="julep", job_id="x", state="running", status="x", done="3")


def test_replace_returns_a_new_checked_job() -> None:
    job = Job(provider="claret", job_id="1", state="running", status="in_progress")
    assert job.replace(profile="staging").profile == "staging" and job.profile == "default"
    with pytest.raises(ValueError):
        job.replace(progress=2.0)


def test_fraction_and_free_words() -> None:
    assert fraction(3, 8) == 0.375 and fraction(3, 0) is None and fraction(None, 8) is None
    assert map_free_word("  Cancelled ") is JobState.CANCELED
    assert map_free_word("reticulating") is JobState.UNKNOWN
    assert map_free_word(None) is JobState.UNKNOWN
