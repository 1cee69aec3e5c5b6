"""jobwatch/schema.json: generated from the models, shipped in the package, and true of the lines
jobwatch really prints."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from jobwatch import models
from jobwatch.models import (
    DownloadEvent,
    EndEvent,
    Job,
    RetryEvent,
    UpdateEvent,
    WaitingEvent,
    WaitLine,
    json_line,
)
from tests.conftest import provider_env
from tests.fakeserver import json_reply
from tests.test_answers_e2e import IDS, PATHS, load

DEFS = {"Job", "Artifact", "Download", "WaitLine", "UpdateEvent", "WaitingEvent", "RetryEvent",
        "DownloadEvent", "EndEvent"}


def shipped() -> dict[str, Any]:
    """The file as `jobwatch schema` reads it: package data, as text (no pydantic needed)."""
    return json.loads(resources.files("jobwatch").joinpath("schema.json").read_text("utf-8"))


def validator(definition: str | None = None) -> jsonschema.Draft202012Validator:
    schema = shipped()
    if definition is not None:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schema_is_what_the_models_generate() -> None:
    text = models.SCHEMA_PATH.read_text(encoding="utf-8")
    assert text == models.schema_text(), (
        "jobwatch/schema.json is out of date with jobwatch/models.py: regenerate it with "
        "`python -m jobwatch.models` and commit it")


def test_the_schema_describes_every_line_and_its_parts() -> None:
    schema = shipped()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert DEFS <= set(schema["$defs"])
    assert all(name in schema["description"] for name in DEFS)
    assert all(schema["$defs"][name].get("description") for name in DEFS)
    job = schema["$defs"]["Job"]
    assert list(job["properties"]) == list(models.JSON_KEYS) == job["required"]


@pytest.mark.parametrize("name", ["claret/completed.json", "merchantops/status_failed.json",
                                  "julep/no_progress.json", "retailgrid/wrong_types.json"])
def test_status_json_lines_are_jobs_of_the_schema(run_cli, fake, name) -> None:
    provider = name.split("/")[0]
    job_id = IDS[provider]
    fake.route(PATHS[provider].format(job_id), json_reply(load(name)))
    result = run_cli("status", provider, job_id, "--json", env=provider_env(fake, provider))
    assert result.returncode in (0, 1, 3), result.stderr
    line = json.loads(result.stdout)
    validator("Job").validate(line)
    validator().validate(line)


def test_wait_json_lines_are_wait_lines_of_the_schema(run_cli, fake) -> None:
    fake.route("/acme/api/v1/imports/status/1", json_reply(
        {"message": "ok", "content": {"job_log_id": 1, "status": "completed"}}))
    # No route for job 2: the fake answers 404, a job that never answered.
    result = run_cli("wait", "claret", "1", "2", "--json", "--interval", "0.1",
                     env=provider_env(fake, "claret"))
    assert result.returncode == 4, result.stderr
    lines = [json.loads(text) for text in result.stdout.splitlines()]
    assert [line["outcome"] for line in lines] == ["succeeded", "not_found"]
    for line in lines:
        validator("WaitLine").validate(line)
    with pytest.raises(jsonschema.ValidationError):
        validator("Job").validate(lines[0])  # outcome and downloads are not a job's keys


def _job() -> Job:
    return Job(provider="claret", job_id="1", state="running", status="in_progress", done=3,
               total=8, progress=0.375, unit="steps", raw={"content": {"status": "x"}})


def _events() -> list[Any]:
    ref = {"provider": "claret", "profile": "default", "job_id": "1"}
    line = WaitLine.of(_job(), "download_failed", [{"category": "output", "path": "/d/a",
                                                    "bytes": 9}])
    return [UpdateEvent.of(_job()), WaitingEvent(**ref),
            RetryEvent(**ref, error="claret answered HTTP 503", retry_in=1.5),
            DownloadEvent(**ref, category="output", path="/d/a", bytes=9),
            EndEvent.of_line(line)]


@pytest.mark.parametrize("event", _events(), ids=lambda e: type(e).__name__)
def test_event_lines_are_events_of_the_schema(event: Any) -> None:
    data = json.loads(json_line(event))
    validator(type(event).__name__).validate(data)
    validator().validate(data)


@pytest.mark.parametrize(("definition", "change"), [
    ("Job", {"state": "finished"}), ("Job", {"terminal": None}), ("Job", {"extra": 1}),
    ("WaitLine", {"outcome": "exploded"}), ("UpdateEvent", {"time": "2024-01-01T10:00:00"}),
    ("UpdateEvent", {"event": "end"}), ("RetryEvent", {"retry_in": -1}),
])
def test_the_schema_refuses_what_jobwatch_never_prints(definition: str,
                                                       change: dict[str, Any]) -> None:
    lines = {"Job": _job(), "WaitLine": WaitLine.of(_job(), "succeeded"),
             "UpdateEvent": UpdateEvent.of(_job()),
             "RetryEvent": RetryEvent(provider="claret", job_id="1", error="x", retry_in=1)}
    data = json.loads(json_line(lines[definition]))
    validator(definition).validate(data)
    with pytest.raises(jsonschema.ValidationError):
        validator(definition).validate({**data, **change})
    missing = dict(data)
    missing.pop("provider")
    with pytest.raises(jsonschema.ValidationError):
        validator(definition).validate(missing)
