"""The shortcuts a long `wait` takes on every line and every poll give what the long way gives:
a wait line built from a checked job, JSON text and printable text that skip their scan when
there is nothing to find, a job read from an answer already checked."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobwatch.adapters import ADAPTERS, Adapter
from jobwatch.config import ConfigFile, resolve_profile
from jobwatch.models import _JSON_UNSAFE, Artifact, Download, Job, WaitLine, json_line, json_text
from jobwatch.text import _UNPRINTABLE, printable

PAYLOADS = Path(__file__).resolve().parent / "payloads"
JOBS = sorted(name for name, fields in
              json.loads((PAYLOADS / "expected.json").read_text()).items() if fields is not None)


def _job(**changes: object) -> Job:
    fields: dict[str, object] = {"provider": "claret", "job_id": "7", "state": "succeeded",
                                 "status": "completed", "done": 8, "total": 8, "unit": "steps",
                                 "artifacts": [Artifact(category="output", url="https://x/o")],
                                 "raw": {"content": {"status": "completed"}}}
    return Job(**{**fields, **changes})


@pytest.mark.parametrize("downloads", [[], [{"category": "output", "path": "/d/o", "bytes": 3}],
                                       [Download(category="errors", path="/d/e", bytes=0)]])
def test_a_wait_line_is_the_line_validation_would_make(downloads: list[object]) -> None:
    job = _job()
    line = WaitLine.of(job, "download_failed", downloads)
    checked = WaitLine(**dict(job), outcome="download_failed", downloads=list(downloads))
    assert line == checked
    assert json_line(line) == json_line(checked)
    assert line.model_fields_set == checked.model_fields_set


@pytest.mark.parametrize("bad", [{"outcome": "exploded"},
                                 {"downloads": [{"category": "x"}]},
                                 {"downloads": [{"category": "x", "path": "/p", "bytes": -1}]}])
def test_a_wait_line_still_checks_what_it_adds(bad: dict[str, object]) -> None:
    args: dict[str, object] = {"outcome": "succeeded", "downloads": [], **bad}
    with pytest.raises(ValueError):
        WaitLine.of(_job(), args["outcome"], args["downloads"])  # type: ignore[arg-type]


def _text(rng: random.Random) -> str:
    pieces = ["abc", " ", '"', "\\", "\x1b", "\n", "\t", "\x7f", "\u009b", "\u2028", "é",
              "\u202e", "\ud800", "日本", "{", "1e5"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))


def test_json_text_and_printable_match_their_full_scan() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = _text(rng)
        assert printable(text) == _UNPRINTABLE.sub(" ", text)
        data = {"message": text, "raw": [text, {text: 1.5}]}
        full = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}",
                                json.dumps(data, ensure_ascii=False))
        assert json_text(data) == full


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def make_adapter(provider: str) -> Adapter:
    env = {f"JOBWATCH_{provider.upper()}_{key.upper()}": value for key, value in
           {"base_url": "https://h.example", "tenant": "t"}.items()}
    config = ConfigFile(Path("/nonexistent/jobwatch/config.toml"), explicit=False, exists=False)
    profile = resolve_profile(config, provider, "default", env,
                              default_base_url=ADAPTERS[provider].default_base_url)
    return ADAPTERS[provider](profile, "tok_unit", "test")


@pytest.mark.parametrize("name", JOBS)
def test_a_polled_job_is_the_job_its_answer_normalizes_to(name: str) -> None:
    provider = name.split("/")[0]
    adapter = make_adapter(provider)
    payload = load(name)
    response = httpx.Response(200, json=payload)
    body, answer = adapter.check_answer(response, "1")
    polled = adapter._normalized(lambda: adapter.from_answer(answer, body), "1", None)
    assert polled == adapter.normalize(payload, "1")
    assert polled == Job.model_validate({**dict(ADAPTERS[provider].parse(payload)),
                                         "profile": adapter.profile.name, "job_id": "1",
                                         "artifacts": polled.artifacts})
