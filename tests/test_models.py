"""The normalized job: SPEC's JSON form and the checks the model makes."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from jobwatch.models import (
    JSON_KEYS,
    UTC_TEXT,
    Artifact,
    DownloadEvent,
    EndEvent,
    Job,
    JobRef,
    JobState,
    RetryEvent,
    UpdateEvent,
    WaitingEvent,
    WaitLine,
    fraction,
    json_line,
    map_free_word,
)

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


# -- kept within sense (SPEC "Normalized job": 0 <= done, done <= total) -----------------------


def _job(**fields: object) -> Job:
    return Job(provider="merchantops", job_id="j", state="running", status="processing",
               **fields)


@pytest.mark.parametrize(("done", "total", "kept"), [
    (1e308, 100, 100), (101, 100, 100), (-5, 100, 0), (-0.5, None, 0), (1e308, None, 1e308),
    (42, 100, 42), (3.5, 8, 3.5), (0, 0, 0), (5, -3, 0),
])
def test_done_is_clamped_within_zero_and_total(done: float, total: float | None,
                                               kept: float) -> None:
    job = _job(done=done, total=total)
    assert job.done == kept
    assert job.total is None or job.total >= 0


def test_replace_clamps_again_and_terminal_follows_the_state() -> None:
    job = _job(done=50, total=100)
    assert job.replace(total=10).done == 10
    assert job.replace(done=-1).done == 0
    assert _job(terminal=True).terminal is False  # derived from the state, never given
    assert job.replace(state="failed").terminal is True
    with pytest.raises(ValueError):
        job.replace(no_such_field=1)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "3"])
def test_counts_are_numbers_json_can_carry(value: object) -> None:
    with pytest.raises(ValueError):
        _job(done=value)


def test_a_job_is_frozen() -> None:
    with pytest.raises(ValueError):
        _job().status = "done"  # type: ignore[misc]


# -- the lines jobwatch prints ----------------------------------------------------------------

UNSAFE = "\u0085\u009b\u200e\u202e\u2066\u2028\u2029"


def test_json_line_escapes_what_pydantics_own_writer_leaves_raw() -> None:
    job = _job(message=f"a{UNSAFE}b é", raw={"note": f"x\ud800{UNSAFE}"})
    line = json_line(job)
    assert "\n" not in line and not any(char in line for char in UNSAFE + "\ud800")
    assert "\\u2028" in line and "\\u009b" in line and "\\ud800" in line and "é" in line
    data = json.loads(line)
    assert data["message"] == f"a{UNSAFE}b é" and data["raw"]["note"] == f"x\ud800{UNSAFE}"
    # Why json_line exists: pydantic writes these characters raw, and fails on a surrogate.
    assert "\u2028" in _job(message="\u2028").model_dump_json()
    with pytest.raises(ValueError):
        job.model_dump_json()


def test_json_line_writes_non_finite_raw_numbers_as_null() -> None:
    line = json_line(_job(raw={"progress": float("inf")}))
    assert json.loads(line)["raw"] == {"progress": None}


def test_wait_line_and_events_are_flat_with_event_and_time_first() -> None:
    job = _job(done=3, total=8, artifacts=[Artifact(category="errors", url="https://x/e")])
    line = WaitLine.of(job, "succeeded", [{"category": "errors", "path": "/d/e", "bytes": 3}])
    assert list(line.to_json_dict()) == [*JSON_KEYS, "outcome", "downloads"]
    moment = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    update = json.loads(json_line(UpdateEvent.of(job, moment)))
    assert list(update) == ["event", "time", *JSON_KEYS]
    assert update["event"] == "update" and update["time"] == "2024-01-01T10:00:00.000Z"
    end = json.loads(json_line(EndEvent.of_line(line)))
    assert list(end) == ["event", "time", *JSON_KEYS, "outcome", "downloads"]
    assert end["time"].endswith("Z") and end["downloads"][0]["bytes"] == 3
    ref = {"provider": "claret", "profile": "p", "job_id": "1"}
    assert list(WaitingEvent(**ref).to_json_dict()) == ["event", "time", *ref]
    retry = RetryEvent(**ref, error="claret answered HTTP 503", retry_in=2.5).to_json_dict()
    assert list(retry) == ["event", "time", *ref, "error", "retry_in"]
    saved = DownloadEvent(**ref, category="output", path="/d/a.csv", bytes=10).to_json_dict()
    assert list(saved) == ["event", "time", *ref, "category", "path", "bytes"]


def test_an_event_time_must_say_its_zone() -> None:
    with pytest.raises(ValueError):
        WaitingEvent(provider="claret", job_id="1", time=datetime(2024, 1, 1))


@pytest.mark.parametrize("bad", [{"outcome": "exploded"}, {"downloads": [{"category": "x"}]}])
def test_a_wait_line_is_checked(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WaitLine(**{**dict(_job()), "outcome": "failed", **bad})


def test_a_job_that_never_answered() -> None:
    line = WaitLine.unanswered(JobRef(provider="julep", profile="p", job_id="x"),
                               "julep refused the token", "auth")
    data = line.to_json_dict()
    assert data["state"] == "unknown" and data["status"] is None and data["terminal"] is False
    assert data["message"] == "julep refused the token" and data["artifacts"] == []
    assert all(data[key] is None for key in ("progress", "done", "total", "raw", "url"))


def test_a_raw_answer_deeper_than_pydantics_writer_goes_is_printed() -> None:
    # pydantic's serializer stops at a depth of about 250; json.loads allows about 1000.
    deep = json.loads('{"x": ' + "[" * 900 + "1e999" + "]" * 900 + "}")
    line = json_line(WaitLine.of(_job(raw=deep), "succeeded"))
    data = json.loads(line)
    assert list(data) == [*JSON_KEYS, "outcome", "downloads"]
    assert line.count("[") == 900 + 2 and "null" in line  # the 1e999 inside, as null
    assert _job(raw=deep).to_json_dict()["raw"] is deep


@pytest.mark.parametrize(("percent", "fraction"), [
    (22.9, 0.229), (57.3, 0.573), (0, 0.0), (100, 1.0), (150, 1.0), (-3, 0.0), (33.333, 0.33333),
    (None, None)])
def test_a_percentage_becomes_the_fraction_a_person_would_write(percent, fraction) -> None:
    from jobwatch.models import percent_fraction

    assert percent_fraction(percent) == fraction
    if fraction is not None:
        assert json.dumps(percent_fraction(percent)) == json.dumps(fraction)


@pytest.mark.parametrize(("given", "shown"), [
    ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
    ("2024-05-02T14:02:51.117Z", "2024-05-02T14:02:51.117Z"),  # as written, precision too
    ("2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00Z"),
    ("2024-01-01T10:00:00.5-01:00", "2024-01-01T11:00:00.500Z"),
    ("2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00Z"),
    ("2024-01-01T10:00:00z", "2024-01-01T10:00:00Z"),
    ("2024-01-01 10:02:30", "2024-01-01T10:02:30Z"),  # no offset: UTC
    ("2024-01-01T10:00Z", "2024-01-01T10:00:00Z"),
    ("yesterday", None), ("", None), ("2024-13-01T00:00:00Z", None),
    ("0001-01-01T00:00:00+01:00", None),  # before the first year, in UTC
    (None, None),
    # Forms Python 3.10's fromisoformat does not read, read alike on every Python:
    ("2024-01-01T12:00:00+0200", "2024-01-01T10:00:00Z"),
    ("2024-01-01T12:00:00+02", "2024-01-01T10:00:00Z"),
    ("2024-01-01T12:00:00,5Z", "2024-01-01T12:00:00.500Z"),
    ("2024-01-01T10:00:00.1234567+00:00", "2024-01-01T10:00:00.123456Z"),
    ("20240101T120000Z", None),  # the basic form: 3.11 alone would read it
])
def test_job_times_are_utc_ending_in_z(given, shown) -> None:
    job = Job(provider="claret", job_id="1", state=JobState.RUNNING, status="in_progress",
              created_at=given, started_at=given, finished_at=given)
    assert (job.created_at, job.started_at, job.finished_at) == (shown, shown, shown)
    if shown is not None:
        assert re.fullmatch(UTC_TEXT, shown)
