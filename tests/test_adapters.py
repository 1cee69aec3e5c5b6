"""The four adapters, pure: payload files → normalized fields, id checks, URL building, states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from jobwatch.adapters import ADAPTERS
from jobwatch.adapters.answers.lenient import Answer, Entries, Flag, Number, Section, Strings, Text
from jobwatch.config import ConfigFile, resolve_profile
from jobwatch.errors import ExitCode, TransientError, UsageError
from jobwatch.models import Job, JobState

PAYLOADS = Path(__file__).resolve().parent / "payloads"
EXPECTED: dict[str, dict[str, Any]] = json.loads((PAYLOADS / "expected.json").read_text())
UUID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def make_adapter(provider: str, **fields: str):
    """An adapter whose profile comes from JOBWATCH_<PROVIDER>_* only (no config file)."""
    env = {f"JOBWATCH_{provider.upper()}_{k.upper()}": v for k, v in fields.items()}
    config = ConfigFile(Path("/nonexistent/jobwatch/config.toml"), explicit=False, exists=False)
    cls = ADAPTERS[provider]
    profile = resolve_profile(config, provider, "default", env,
                              default_base_url=cls.default_base_url)
    return cls(profile, "tok_unit", "test")


# -- every payload file through parse ----------------------------------------------------------

# Files that are provider errors, not job answers, and so have no normalized form.
NOT_JOBS = {"claret/not_found_422.json"}
# Answers expected.json maps to null: no status to read, so no job ("answering badly", exit 7).
NO_STATUS = sorted(name for name, fields in EXPECTED.items() if fields is None)
JOBS = sorted(name for name, fields in EXPECTED.items() if fields is not None)


def status_word(provider: str, payload: dict[str, Any]) -> Any:
    if provider == "claret":
        return payload["content"]["status"]
    return payload["state"] if provider == "julep" else payload["status"]


def test_every_payload_file_has_an_expectation() -> None:
    files = {str(p.relative_to(PAYLOADS)) for p in PAYLOADS.glob("*/*.json")}
    assert files - NOT_JOBS - set(EXPECTED) == set()
    assert set(EXPECTED) - files == set()
    assert NO_STATUS and all(provider in " ".join(NO_STATUS) for provider in ADAPTERS)


@pytest.mark.parametrize("name", JOBS)
def test_payload_parses_to_the_expected_fields(name: str) -> None:
    provider = name.split("/")[0]
    payload = load(name)
    job = ADAPTERS[provider].parse(payload)
    assert isinstance(job, Job)
    assert job.provider == provider
    assert job.raw == payload  # the provider's answer, unchanged
    assert job.status == status_word(provider, payload)  # the provider's own word, unchanged
    expected = EXPECTED[name]
    actual = job.to_json_dict()
    for key, value in expected.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value), key
        else:
            assert actual[key] == value, key
    assert actual["terminal"] == (actual["state"] in ("succeeded", "failed", "canceled"))


@pytest.mark.parametrize("name", NO_STATUS)
def test_payload_without_a_status_is_no_job(name: str) -> None:
    provider = name.split("/")[0]
    with pytest.raises(ValidationError):
        ADAPTERS[provider].parse(load(name))
    adapter = make_adapter(provider, base_url="https://h.example", tenant="t", token="t")
    response = httpx.Response(200, json=load(name))
    with pytest.raises(TransientError, match="answered JSON without a job status"):
        adapter.check(response, "1")


def test_payload_job_ids_are_kept() -> None:
    assert ADAPTERS["claret"].parse(load("claret/completed.json")).job_id == "12345"
    assert ADAPTERS["julep"].parse(load("julep/failed.json")).job_id == \
        "5a0d2b3f-6e7c-4d8a-8f1b-2c3d4e5f6071"
    assert ADAPTERS["merchantops"].parse(load("merchantops/status_failed.json")).job_id == \
        "job_c07a9f12"
    assert ADAPTERS["retailgrid"].parse(load("retailgrid/failed.json")).job_id == \
        "4d5e6f7a-8b9c-4d0e-9f2a-3b4c5d6e7f80"


def test_julep_has_progress_false_means_no_progress() -> None:
    payload = {**load("julep/in_progress.json"), "has_progress": False, "progress": 42.5}
    job = ADAPTERS["julep"].parse(payload)
    assert job.progress is None
    assert job.done is None


def test_parse_is_pure_and_does_not_resolve_claret_paths() -> None:
    job = ADAPTERS["claret"].parse(load("claret/completed.json"))
    assert [a.category for a in job.artifacts] == ["input", "staging", "output", "errors"]
    assert all(a.url.startswith("/tenant/download/") for a in job.artifacts)


# -- validate_id -------------------------------------------------------------------------------

BAD_COMMON = ["", "   ", "abc", "1.5", "-1", "../x", "1\x1b[31m", "1\x002", "a\nb", "1\t2"]


@pytest.mark.parametrize("bad", BAD_COMMON + ["+1", "1e3", "０１", "١٢٣", " 1 2", "0x10", "1/2"])
def test_claret_rejects_non_integer_ids(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        ADAPTERS["claret"].validate_id(bad)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "claret" in caught.value.message
    assert "12345" in (caught.value.hint or "")


@pytest.mark.parametrize(("given", "canonical"), [
    ("12345", "12345"), ("0", "0"), (" 42 ", "42"), ("01001", "1001"), ("000", "0"),
    ("9" * 5000, "9" * 5000)])  # never through int(): 3.11 refuses 4,300 digits
def test_claret_accepts_integer_ids(given: str, canonical: str) -> None:
    assert ADAPTERS["claret"].validate_id(given) == canonical


@pytest.mark.parametrize("provider", ["retailgrid", "julep"])
@pytest.mark.parametrize("bad", BAD_COMMON + [
    "12345", UUID[:-1], UUID + "0", UUID.replace("2b", "zz", 1), "{" + UUID + "}",
    UUID + "\n" + UUID, f"../{UUID}", f"{UUID}/..", "urn:uuid:" + UUID,
])
def test_uuid_providers_reject_non_uuids(provider: str, bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        ADAPTERS[provider].validate_id(bad)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "UUID" in caught.value.message


@pytest.mark.parametrize("provider", ["retailgrid", "julep"])
@pytest.mark.parametrize("given", [UUID, UUID.upper(), UUID.replace("-", ""),
                                   f"  {UUID}  ", UUID.upper().replace("-", "")])
def test_uuid_providers_canonicalise(provider: str, given: str) -> None:
    assert ADAPTERS[provider].validate_id(given) == UUID


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "a\nb", "job\x1b[2J", "a\x7fb", "\r"])
def test_merchantops_rejects_empty_and_control_characters(bad: str) -> None:
    with pytest.raises(UsageError):
        ADAPTERS["merchantops"].validate_id(bad)


@pytest.mark.parametrize("good", ["job_8f2c1", "42", "../x", "..", "a b", "ünïcode", "a%2Fb"])
def test_merchantops_accepts_free_form_ids(good: str) -> None:
    # Free-form ids are fine: URL building keeps them inside one path segment.
    assert ADAPTERS["merchantops"].validate_id(good) == good


# -- URL building --------------------------------------------------------------------------------


def _path_of(url: str) -> str:
    """The raw path httpx would put on the request line."""
    return httpx.URL(url).raw_path.decode("ascii")


def test_retailgrid_status_url() -> None:
    adapter = make_adapter("retailgrid", base_url="https://rg.example/", token="t")
    assert adapter.status_url(UUID) == f"https://rg.example/v1/jobs/{UUID}"


def test_julep_base_url_with_a_path_is_joined() -> None:
    adapter = make_adapter("julep", token="t")
    assert adapter.status_url(UUID) == f"https://api.julep.ai/api/jobs/{UUID}"
    adapter = make_adapter("julep", base_url="http://127.0.0.1:9/prefix/api/", token="t")
    assert adapter.status_url(UUID) == f"http://127.0.0.1:9/prefix/api/jobs/{UUID}"


def test_claret_status_url_has_the_tenant() -> None:
    adapter = make_adapter("claret", tenant="acme", token="t")
    assert adapter.status_url("12345") == \
        "https://plan.claret.app/acme/api/v1/imports/status/12345"


@pytest.mark.parametrize("provider", ["retailgrid", "julep"])
def test_dot_dot_job_id_is_percent_encoded(provider: str) -> None:
    adapter = make_adapter(provider, base_url="https://h.example/base", token="t")
    url = adapter.status_url("../x")
    prefix = "/base/v1/jobs/" if provider == "retailgrid" else "/base/jobs/"
    assert url == f"https://h.example{prefix}..%2Fx"
    assert _path_of(url) == f"{prefix}..%2Fx"


def test_dot_dot_tenant_is_percent_encoded() -> None:
    adapter = make_adapter("claret", base_url="https://h.example", tenant="../x", token="t")
    url = adapter.status_url("7")
    assert url == "https://h.example/..%2Fx/api/v1/imports/status/7"
    assert _path_of(url) == "/..%2Fx/api/v1/imports/status/7"


@pytest.mark.parametrize("tenant", ["..", ".", "a/b", "a?b#c", "a b"])
def test_odd_tenants_stay_one_segment(tenant: str) -> None:
    adapter = make_adapter("claret", base_url="https://h.example", tenant=tenant, token="t")
    path = _path_of(adapter.status_url("7"))
    assert path.endswith("/api/v1/imports/status/7")
    first = path.split("/")[1]
    assert first not in ("", ".", "..")
    assert "/" not in first and "?" not in path and "#" not in path
    assert path.count("/") == 6


@pytest.mark.parametrize(("job_id", "segment"), [
    ("..", "%2E%2E"), (".", "%2E"), ("../x", "..%2Fx"), ("a/b", "a%2Fb"), ("a%2Fb", "a%252Fb"),
    ("a?b", "a%3Fb"), ("a#b", "a%23b"), ("a b", "a%20b"),
])
def test_merchantops_ids_stay_one_segment(job_id: str, segment: str) -> None:
    adapter = make_adapter("merchantops", base_url="https://mo.example", token="t")
    assert adapter.status_url(job_id) == f"https://mo.example/api/jobs/{segment}/status"
    assert adapter.detail_url(job_id) == f"https://mo.example/api/jobs/{segment}"
    assert _path_of(adapter.status_url(job_id)) == f"/api/jobs/{segment}/status"
    assert _path_of(adapter.detail_url(job_id)) == f"/api/jobs/{segment}"


def test_merchantops_organization_header_only_when_set() -> None:
    plain = make_adapter("merchantops", token="t")
    assert plain.credentials() == {"Authorization": "Bearer tok_unit"}
    org = make_adapter("merchantops", token="t", organization_id="org_1")
    assert org.credentials() == {"Authorization": "Bearer tok_unit", "X-Organization-ID": "org_1"}


# -- Claret artifacts --------------------------------------------------------------------------


def _claret_with_files(files: dict[str, list[str]]) -> dict[str, Any]:
    payload = load("claret/completed.json")
    payload["content"]["files"] = files
    return payload


@pytest.mark.parametrize("base_url", ["https://plan.claret.app", "https://plan.claret.app/"])
def test_claret_relative_artifacts_resolve_against_base_url(base_url: str) -> None:
    adapter = make_adapter("claret", base_url=base_url, tenant="acme", token="t")
    job = adapter.normalize(load("claret/completed.json"), "12345")
    expected = {
        "input": "https://plan.claret.app/tenant/download/tenant/user-uploads/inventory-import/"
                 "2024-01-01/1/inventory_20240101_untouched.csv",
        "errors": "https://plan.claret.app/tenant/download/tenant/user-uploads/inventory-import/"
                  "2024-01-01/1/inventory_20240101_errors.csv",
    }
    urls = {a.category: a.url for a in job.artifacts}
    assert urls["input"] == expected["input"]
    assert urls["errors"] == expected["errors"]
    assert len(job.artifacts) == 4
    assert job.profile == "default"
    assert job.job_id == "12345"


def test_claret_artifacts_keep_absolute_urls_and_a_base_path() -> None:
    adapter = make_adapter("claret", base_url="http://127.0.0.1:9/claret", tenant="acme",
                           token="t")
    payload = _claret_with_files({
        "output": ["https://cdn.example.com/out/final.csv"],
        "errors": ["/acme/download/errors.csv"],
        "staging": ["http://other.example/staging.csv"],
    })
    job = adapter.normalize(payload, "12345")
    urls = [(a.category, a.url) for a in job.artifacts]
    assert urls == [
        ("staging", "http://other.example/staging.csv"),
        ("output", "https://cdn.example.com/out/final.csv"),
        ("errors", "http://127.0.0.1:9/claret/acme/download/errors.csv"),
    ]


def test_claret_unknown_word_is_unknown() -> None:
    payload = load("claret/in_progress.json")
    payload["content"]["status"] = "archived"
    job = ADAPTERS["claret"].parse(payload)
    assert job.state is JobState.UNKNOWN
    assert job.terminal is False


# -- state mapping -----------------------------------------------------------------------------


def _retailgrid(status: str, completed_at: str | None = None, error: str | None = None) -> Job:
    payload = {**load("retailgrid/processing.json"), "status": status,
               "completed_at": completed_at, "error_message": error}
    return ADAPTERS["retailgrid"].parse(payload)


def _merchantops(status: str) -> Job:
    return ADAPTERS["merchantops"].parse({**load("merchantops/status_processing.json"),
                                          "status": status})


def test_retailgrid_unknown_word_with_completed_at_and_no_error_succeeded() -> None:
    job = _retailgrid("settled", completed_at="2024-06-10T08:32:05Z")
    assert job.state is JobState.SUCCEEDED
    assert job.terminal is True
    assert job.status == "settled"
    assert job.finished_at == "2024-06-10T08:32:05Z"


def test_retailgrid_unknown_word_with_completed_at_and_an_error_failed() -> None:
    job = _retailgrid("halted", completed_at="2024-06-10T08:32:05Z", error="Grid is locked")
    assert job.state is JobState.FAILED
    assert job.terminal is True
    assert job.message == "Grid is locked"


@pytest.mark.parametrize("completed_at", [None, "", "   "])
def test_retailgrid_unknown_word_without_completed_at_stays_unknown(completed_at) -> None:
    job = _retailgrid("settled", completed_at=completed_at, error="something odd")
    assert job.state is JobState.UNKNOWN
    assert job.terminal is False


def test_retailgrid_known_word_is_not_overridden_by_completed_at() -> None:
    # The completed_at rule is for unknown words only: a job saying "processing" still runs.
    job = _retailgrid("processing", completed_at="2024-06-10T08:32:05Z")
    assert job.state is JobState.RUNNING
    job = _retailgrid("completed", completed_at="2024-06-10T08:32:05Z", error="partial")
    assert job.state is JobState.SUCCEEDED


def test_merchantops_unknown_word_with_completed_at_has_ended() -> None:
    # SPEC's completed_at rule holds for both free-word providers (the detail answer has it).
    base = load("merchantops/status_processing.json")
    job = ADAPTERS["merchantops"].parse({**base, "status": "Settled",
                                         "completed_at": "2024-06-10T08:32:05Z"})
    assert job.state is JobState.SUCCEEDED
    job = ADAPTERS["merchantops"].parse({**base, "status": "Settled", "error_message": "x",
                                         "completed_at": "2024-06-10T08:32:05Z"})
    assert job.state is JobState.FAILED
    assert _merchantops("Settled").state is JobState.UNKNOWN


UNKNOWN_WORDS = ["settled", "reticulating", "success?", "completed_with_errors", "succeed",
                 "not completed", "", "  ", "✓", "200", "true"]


@pytest.mark.parametrize("word", UNKNOWN_WORDS)
def test_unknown_words_are_never_a_success(word: str) -> None:
    for job in (_retailgrid(word), _merchantops(word)):
        assert job.state is JobState.UNKNOWN, (word, job.provider)
        assert job.terminal is False
        assert job.status == word


@pytest.mark.parametrize(("word", "state"), [
    ("COMPLETED", JobState.SUCCEEDED), ("Completed", JobState.SUCCEEDED),
    (" Done ", JobState.SUCCEEDED), ("Cancelled", JobState.CANCELED),
    ("CANCELED", JobState.CANCELED), ("Queued", JobState.PENDING),
    ("PROCESSING", JobState.RUNNING), ("In Progress", JobState.RUNNING),
    ("in-progress", JobState.RUNNING), ("ERROR", JobState.FAILED), ("Failed", JobState.FAILED),
])
def test_free_words_map_case_insensitively(word: str, state: JobState) -> None:
    for job in (_retailgrid(word), _merchantops(word)):
        assert job.state is state, (word, job.provider)
        assert job.status == word  # shown as the provider wrote it
        assert job.terminal is state.terminal


@pytest.mark.parametrize(("word", "state"), [
    ("pending", JobState.PENDING), ("in_progress", JobState.RUNNING),
    ("retrying", JobState.RUNNING), ("succeeded", JobState.SUCCEEDED),
    ("aborted", JobState.CANCELED), ("failed", JobState.FAILED), ("unknown", JobState.UNKNOWN),
    ("exploded", JobState.UNKNOWN),
])
def test_julep_enum_maps_exactly(word: str, state: JobState) -> None:
    job = ADAPTERS["julep"].parse({**load("julep/in_progress.json"), "state": word})
    assert job.state is state


def test_julep_finished_at_only_when_terminal() -> None:
    running = ADAPTERS["julep"].parse(load("julep/in_progress.json"))
    assert running.finished_at is None
    done = ADAPTERS["julep"].parse(load("julep/succeeded.json"))
    assert done.finished_at == "2024-05-02T14:03:10.482Z"


# -- lenient where a slip costs one field, strict about the status ---------------------------


class _Entry(Answer):
    name: Text


class _Fields(Answer):
    text: Text
    number: Number
    flag: Flag
    strings: Section[dict[str, Strings]]
    entries: Entries[_Entry]


@pytest.mark.parametrize(("field", "given", "read"), [
    ("text", "ok", "ok"), ("text", "  ", None), ("text", "", None), ("text", 5, None),
    ("text", ["x"], None), ("number", 3, 3), ("number", 2.5, 2.5), ("number", True, None),
    ("number", "3", None), ("number", float("nan"), None), ("number", float("inf"), None),
    ("number", 10**400, 10**400), ("flag", True, True), ("flag", 1, None),
    ("flag", "true", None), ("strings", {"a": ["x", "", 3, None, "y"]}, {"a": ["x", "y"]}),
    ("strings", {"a": "x", "b": None}, {"a": [], "b": []}), ("strings", [], {}),
    ("strings", "files", {}),
])
def test_lenient_fields_read_a_wrong_type_as_empty(field: str, given: Any, read: Any) -> None:
    assert getattr(_Fields.model_validate({field: given}), field) == read


def test_lenient_entries_keep_their_count() -> None:
    answer = _Fields.model_validate({"entries": [{"name": "a"}, "junk", None, {"name": 5}]})
    assert [entry.name for entry in answer.entries] == ["a", None, None, None]
    assert _Fields.model_validate({"entries": "junk"}).entries == []
    assert _Fields.model_validate({}).entries == []


def test_claret_files_that_are_not_non_empty_strings_are_skipped() -> None:
    job = ADAPTERS["claret"].parse(load("claret/wrong_types.json"))
    assert [(a.category, a.url) for a in job.artifacts] == [("errors", "/t/download/e.csv")]


def test_julep_has_progress_that_is_not_a_boolean_means_no_progress() -> None:
    for flag in ("yes", 1, None):
        payload = {**load("julep/in_progress.json"), "has_progress": flag}
        assert ADAPTERS["julep"].parse(payload).progress is None


def test_merchantops_off_spec_error_entries_still_count_for_strict() -> None:
    adapter = make_adapter("merchantops", token="t")
    job = ADAPTERS["merchantops"].parse(load("merchantops/status_completed.json"))
    detail = {**load("merchantops/status_completed.json"), "errors": ["disk full"]}
    assert adapter.ended_with_errors(job, detail) is True
    assert adapter.ended_with_errors(job, {**detail, "errors": []}) is False
    assert adapter.ended_with_errors(job, {"errors": ["no status: no detail answer"]}) is False
    assert adapter.detail_reports(detail) == (["disk full"], [])


def test_retailgrid_related_job_of_the_wrong_type_is_none() -> None:
    adapter = make_adapter("retailgrid", base_url="https://rg.example", token="t")
    assert adapter.related_job_ids(ADAPTERS["retailgrid"].parse(
        load("retailgrid/wrong_types.json"))) == []
    assert adapter.related_job_ids(ADAPTERS["retailgrid"].parse(
        load("retailgrid/completed_with_related.json"))) != []
