"""The normalized job of SPEC.md, the state-mapping rules, and a model of every JSON line
jobwatch prints (`--json`, `wait --json`, `wait --events`). jobwatch/schema.json is generated
from these models: `python -m jobwatch.models` writes it, and a test keeps it current.

Every model here is built lazily (``defer_build``): `status` pays for Job alone, the event
models cost nothing until a line of theirs is made. No `from __future__ import annotations`:
pydantic would evaluate the annotation strings of every base again for each subclass.
"""

import functools
import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from jobwatch.registry import names_text


class JobState(str, Enum):
    """The normalized state; terminal for succeeded, failed and canceled."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED)


# Free-form words of Retailgrid and MerchantOps, matched case-insensitively. Anything else is
# "unknown": polled on and never taken for a success.
FREE_WORDS: dict[str, JobState] = {
    **dict.fromkeys(
        ("pending", "queued", "enqueued", "created", "scheduled", "waiting", "submitted", "new",
         "not_started", "accepted"), JobState.PENDING),
    **dict.fromkeys(
        ("running", "processing", "in_progress", "in-progress", "started", "active", "working",
         "retrying", "importing", "validating", "crawling", "enriching", "uploading",
         "finalizing"), JobState.RUNNING),
    **dict.fromkeys(
        ("succeeded", "success", "successful", "completed", "complete", "done", "finished",
         "ok"), JobState.SUCCEEDED),
    **dict.fromkeys(
        ("failed", "failure", "error", "errored", "crashed", "rejected", "timed_out",
         "timeout"), JobState.FAILED),
    **dict.fromkeys(
        ("canceled", "cancelled", "aborted", "stopped", "killed", "revoked"), JobState.CANCELED),
}


def map_free_word(word: object) -> JobState:
    if not isinstance(word, str):
        return JobState.UNKNOWN
    key = word.strip().lower().replace(" ", "_")
    return FREE_WORDS.get(key, FREE_WORDS.get(key.replace("-", "_"), JobState.UNKNOWN))


def free_word_state(word: str, completed_at: str | None, error: str | None) -> JobState:
    """Retailgrid's and MerchantOps' words. A word we do not know, on a job that has a
    completion time, has ended: failed if it carries an error message, else succeeded."""
    state = map_free_word(word)
    if state is JobState.UNKNOWN and completed_at:
        return JobState.FAILED if error else JobState.SUCCEEDED
    return state


def fraction(done: float | None, total: float | None) -> float | None:
    if done is None or not total or total <= 0:
        return None
    return max(0.0, min(1.0, done / total))


def percent_fraction(percent: float | None) -> float | None:
    """A percentage as a fraction 0..1, rounded to 12 places: 22.9% is 0.229 in our JSON, not
    the 0.22899999999999998 that dividing by 100 gives."""
    if percent is None:
        return None
    return round(max(0.0, min(1.0, float(percent) / 100.0)), 12)


# -- the types the models share ------------------------------------------------------------

# A number that JSON can carry: no bool (a bool is an int to Python), no NaN or infinity.
Amount = StrictInt | Annotated[float, Field(strict=True, allow_inf_nan=False)]
Text = StrictStr | None


_FRACTION = re.compile(r"(?<=:\d\d)[.,](\d+)")  # of the seconds
_OFFSET = re.compile(r"([+-]\d\d):?(\d\d)?$")  # +02:00, +0200 or +02, at the end
_EXTENDED_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:$|[T ]\d\d:\d\d)")


@functools.lru_cache(maxsize=4096)  # a job's times are the same at most of its polls
def utc_time(text: str | None) -> str | None:
    """A provider's time as UTC ending in Z: "2024-01-01T12:00:00+02:00" is
    "2024-01-01T10:00:00Z"; text already in UTC with a Z is kept as written (its precision
    too); a time without an offset is taken as UTC (the four APIs send UTC); text that is no
    ISO 8601 time is null, like any field of the wrong type (``raw`` keeps it)."""
    if text is None:
        return None
    stripped = text.strip()
    if not _EXTENDED_DATE.match(stripped):
        return None  # the basic form (20240101T120000Z) only 3.11's fromisoformat reads
    # Python 3.10's fromisoformat reads no trailing Z, no offset without its colon (+0200, +02),
    # no comma before a fraction and no fraction of other than 3 or 6 digits: each is given
    # to it in the form it reads, so every Python gives the same answer.
    iso = stripped[:-1] + "+00:00" if stripped[-1:] in ("Z", "z") else stripped
    day, clock = iso[:10], iso[10:]  # the offset is looked for in the time only
    clock = _OFFSET.sub(lambda m: f"{m.group(1)}:{m.group(2) or '00'}", clock, count=1)
    iso = day + _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), clock, count=1)
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    elif _UTC_TEXT.match(stripped):
        return stripped  # already UTC: as the provider wrote it
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first year
        return None
    spec = ("seconds" if not moment.microsecond else
            "milliseconds" if not moment.microsecond % 1000 else "microseconds")
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


Time = Annotated[StrictStr | None, AfterValidator(utc_time)]
UTC_TEXT = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"  # what utc_time gives
UTC_PATTERN: dict[str, Any] = {"pattern": UTC_TEXT}
_UTC_TEXT = re.compile(UTC_TEXT)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# When a line was written: any aware datetime in, UTC ISO 8601 with a Z out.
UtcTime = Annotated[
    AwareDatetime,
    PlainSerializer(_utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "pattern": UTC_TEXT},
                   mode="serialization"),
    Field(default_factory=_now, description="when this happened: ISO 8601, UTC (ends in Z)"),
]

Outcome = Literal["succeeded", "failed", "timeout", "not_found", "auth", "unreachable",
                  "download_failed", "interrupted"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


class JsonModel(BaseModel):
    """What every model here shares: frozen, no unknown keys, a JSON form."""

    # frozen: a job seen is a fact, changed only through replace(). forbid: a misspelt key in
    # replace() or a constructor is a bug to hear about, not a field to drop. Serialization
    # schemas mark every key required, as every key is always printed.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True,
                              json_schema_serialization_defaults_required=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form: every key, in declaration order (which is SPEC's order). ``raw``
        goes in as parsed: pydantic's writer gives up at a depth (about 250) that a provider's
        JSON may pass, and jobwatch must print any answer it could parse."""
        dumped = self.model_dump(mode="json", exclude={"raw"})
        return {name: dumped[name] if name in dumped else getattr(self, name)
                for name in type(self).model_fields}


class Artifact(JsonModel):
    """A file the provider lists for a job (Claret's `content.files`)."""

    category: StrictStr = Field(description="the provider's category: input, staging, "
                                            "output, errors, ...")
    url: StrictStr = Field(description="where the file is fetched: absolute http(s) URL")


class Download(JsonModel):
    """A file jobwatch saved for a job."""

    category: StrictStr = Field(description="the artifact's category (errors, warnings and "
                                            "job for MerchantOps' reports)")
    path: StrictStr = Field(description="where the file was saved")
    bytes: StrictInt = Field(ge=0, description="its size")


class JobRef(JsonModel):
    """Which job a line is about."""

    provider: StrictStr = Field(description=f"the provider: {names_text()}")
    profile: StrictStr = Field(default="default", description="the config profile used")
    job_id: StrictStr = Field(description="the job id as asked for, in canonical form")


class Job(JobRef):
    """One provider's answer, normalized (SPEC.md "Normalized job"): what `status --json`
    prints. ``raw`` keeps the answer unchanged."""

    state: JobState = Field(description="the normalized state")
    status: StrictStr = Field(description="the provider's own word, unchanged")
    terminal: bool = Field(default=False, description="true for succeeded, failed, canceled "
                                                      "(follows state; set by the model)")
    progress: Annotated[float, Field(strict=True, ge=0.0, le=1.0)] | None = Field(
        default=None, description="a fraction 0..1, or null when no progress is known")
    done: Amount | None = Field(default=None, description="steps, items or percent done; "
                                                          "0 <= done <= total")
    total: Amount | None = Field(default=None, description="of the same unit as done; "
                                                           "never below 0")
    unit: Text = Field(default=None, description="steps, items or percent")
    failed_items: StrictInt | None = Field(default=None, description="items that failed")
    message: Text = Field(default=None, description="the provider's current step, reason or "
                                                    "error message")
    job_type: Text = Field(default=None, description="the provider's name for the kind of job")
    created_at: Time = Field(default=None, json_schema_extra=UTC_PATTERN,
                      description="ISO 8601, UTC, ending in Z (a time with another offset "
                                  "is converted)")
    started_at: Time = Field(default=None, json_schema_extra=UTC_PATTERN,
                      description="ISO 8601, UTC, ending in Z (a time with another offset "
                                  "is converted)")
    finished_at: Time = Field(default=None, json_schema_extra=UTC_PATTERN,
                      description="ISO 8601, UTC, ending in Z (a time with another offset "
                                  "is converted)")
    url: Text = Field(default=None, description="the job's page in the provider's web UI")
    artifacts: list[Artifact] = Field(default_factory=list,
                                      description="files to download when the job ends")
    raw: Any = Field(default=None, description="the provider's own answer, unchanged (a "
                                               "secret of the user's it echoed shows as ***)")

    @model_validator(mode="after")
    def _within_sense(self) -> "Job":
        # After validation, on the instance: the only place a frozen model may still set what
        # follows from its other fields. raw keeps what the provider said.
        fields = self.__dict__
        fields["terminal"] = self.state.terminal
        if self.total is not None and self.total < 0:
            fields["total"] = 0
        if self.done is not None:
            fields["done"] = _clamp(self.done, self.total)
        return self

    def replace(self, **changes: Any) -> "Job":
        """A copy with ``changes``, checked as a new job is."""
        return self.model_validate({**dict(self), **changes})


def _clamp(done: int | float, total: int | float | None) -> int | float:
    """0 <= done, and done <= total where a total is known (a provider's 1e308 of 100)."""
    if total is not None and done > total:
        return total
    return max(done, 0)


# SPEC's keys of a job, in SPEC's order: Job declares its fields in that order.
JSON_KEYS: tuple[str, ...] = tuple(Job.model_fields)


class WaitLine(Job):
    """What `wait --json` prints for each job: the job's keys, then how its watch ended and
    what was saved. A job that never answered (not found, refused, unreachable) has its
    provider, profile, job_id and message, state unknown, and null where nothing is known."""

    # The one key a wait line may leave null that a job may not: a job that never answered
    # has no status word.
    status: StrictStr | None = Field(  # type: ignore[assignment]
        default=None, description="the provider's own word, or null for a job that never "
                                  "answered")
    outcome: Outcome = Field(description="how the watch of this job ended")
    downloads: list[Download] = Field(default_factory=list, description="files saved")

    @classmethod
    def of(cls, job: Job, outcome: Outcome, downloads: Iterable[Any] = ()) -> "WaitLine":
        """``downloads``: Download models or their dicts. The job's keys were checked when the
        job was made, by rules this model shares (it only lets status be null): a line per job
        of a thousand-job `wait --json` checks only what is new, the outcome and the files."""
        if type(job) is not Job:  # a subclass may carry more, or other, keys
            return cls(**dict(job), outcome=outcome, downloads=list(downloads))
        if outcome not in OUTCOMES:
            raise ValueError(f"{outcome!r} is not an outcome: {', '.join(OUTCOMES)}")
        files = [d if type(d) is Download else Download.model_validate(d) for d in downloads]
        return cls.model_construct(**job.__dict__, outcome=outcome, downloads=files)

    @classmethod
    def unanswered(cls, ref: JobRef, message: str | None, outcome: Outcome,
                   downloads: Iterable[Any] = ()) -> "WaitLine":
        return cls(**dict(ref), state=JobState.UNKNOWN, message=message, outcome=outcome,
                   downloads=list(downloads))


# -- `wait --events` -------------------------------------------------------------------------
# Each event is flat: "event" and "time" first, then the keys of what it is about. The field
# order comes from the bases: pydantic puts the fields of the last base first.


class _EventHead(JsonModel):
    event: str
    time: UtcTime


class UpdateEvent(Job, _EventHead):
    """`wait --events`: the job's keys, at the first poll and at every change of state,
    progress or message."""

    event: Literal["update"] = "update"

    @classmethod
    def of(cls, job: Job, time: datetime | None = None) -> "UpdateEvent":
        return cls(**dict(job), time=time or _now())


class WaitingEvent(JobRef, _EventHead):
    """`wait --events`: the job is not found yet, within --not-found-grace."""

    event: Literal["waiting"] = "waiting"


class RetryEvent(JobRef, _EventHead):
    """`wait --events`: a transient failure, and when the request is made again."""

    event: Literal["retry"] = "retry"
    error: StrictStr = Field(description="what went wrong, one line")
    retry_in: float = Field(ge=0, allow_inf_nan=False, description="seconds until the retry")


class DownloadEvent(Download, JobRef, _EventHead):
    """`wait --events`: a file was saved."""

    event: Literal["download"] = "download"


class EndEvent(WaitLine, _EventHead):
    """`wait --events`: the job's `wait --json` line; each job's last event."""

    event: Literal["end"] = "end"

    @classmethod
    def of_line(cls, line: WaitLine, time: datetime | None = None) -> "EndEvent":
        return cls(**dict(line), time=time or _now())


# -- writing lines ---------------------------------------------------------------------------

# What json.dumps(ensure_ascii=False) leaves raw that a terminal may act on or that changes how
# the line reads: C1 controls (U+009B is an 8-bit CSI to some terminals), bidi controls, line
# and paragraph separators, and lone surrogates (which no UTF-8 stream can even write).
# pydantic's own writer escapes none of them (and refuses a lone surrogate outright).
_JSON_UNSAFE = re.compile(
    r"[\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def json_text(data: object) -> str:
    """``data`` as one line of JSON: other non-ASCII text stays readable, the characters above
    become \\uXXXX escapes (they only ever occur inside strings: the same JSON, the same data).
    NaN and infinity (a provider's 1e999 parses as one) are written as null: JSON has neither."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), ensure_ascii=False)
    if text.isascii():  # the common line: every character above is outside ASCII
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_line(line: JsonModel) -> str:
    """Any model here as one line of JSON (no newline), keys in declaration order."""
    return json_text(line.to_json_dict())


def _finite(data: object) -> object:
    """A copy of ``data`` with None for each NaN or infinity; a loop, not recursion, so any
    depth the JSON parser allowed is fine."""
    root = [data]
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        holder, key = pending.pop()
        value = holder[key]
        if isinstance(value, float) and not math.isfinite(value):
            holder[key] = None
        elif isinstance(value, dict):
            holder[key] = value = dict(value)
            pending.extend((value, name) for name in value)
        elif isinstance(value, list):
            holder[key] = value = list(value)
            pending.extend((value, index) for index in range(len(value)))
    return root[0]


# -- the JSON Schema -------------------------------------------------------------------------

LINES: tuple[type[JsonModel], ...] = (Job, WaitLine, UpdateEvent, WaitingEvent, RetryEvent,
                                   DownloadEvent, EndEvent)
SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCHEMA_DESCRIPTION = (
    "Every JSON line jobwatch prints on stdout is one of these. Job: a line of "
    "`status --json`, the normalized job. WaitLine: a line of `wait --json`, the job's keys "
    "plus outcome and downloads. UpdateEvent, WaitingEvent, RetryEvent, DownloadEvent, "
    "EndEvent: the lines of `wait --events`, each flat, with event and time beside the other "
    "keys. Artifact: a file a provider lists. Download: a file jobwatch saved.")


def json_schema() -> dict[str, Any]:
    """One JSON Schema for every line jobwatch prints, generated from the models."""
    from pydantic.json_schema import models_json_schema

    _, document = models_json_schema([(model, "serialization") for model in LINES])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "jobwatch JSON output", "description": SCHEMA_DESCRIPTION,
            "anyOf": [{"$ref": f"#/$defs/{model.__name__}"} for model in LINES],
            **document}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    # Through the package module, not this __main__ copy of it: one set of model classes.
    from jobwatch import models

    models.write_schema()
    print(f"wrote {models.SCHEMA_PATH}")
