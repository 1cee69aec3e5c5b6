"""jobwatch.artifacts: Claret files per category, MerchantOps reports, job directory names."""

from __future__ import annotations

import csv
import errno
import json
import os
import re
from pathlib import Path

import pytest

from jobwatch.adapters.merchantops import MerchantOpsAdapter
from jobwatch.artifacts import (
    REPORT_COLUMNS,
    download_artifacts,
    job_dir_name,
    neutralized,
    write_reports,
)
from jobwatch.errors import DownloadError
from jobwatch.http import make_client, origin_of
from jobwatch.models import Artifact
from jobwatch.redact import Redactor
from tests.fakeserver import Reply

TOKEN = "tok_SECRET_abcdef"
ORG = "org_secret_42"
CREDENTIALS = {"Authorization": f"Bearer {TOKEN}", "X-Organization-ID": ORG}
JOB_DIR = "claret-12345"


@pytest.fixture
def client():
    with make_client() as c:
        yield c


def write_merchantops_reports(root: Path, job_dir: str, detail: dict, **kwargs):
    """The MerchantOps reports, as `wait` writes them: the lists the adapter finds."""
    errors, warnings = MerchantOpsAdapter.detail_reports(detail)
    return write_reports(root, job_dir, detail, errors, warnings, **kwargs)


def run(client, fake, root: Path, artifacts: list[Artifact], categories=None):
    return download_artifacts(client, root, JOB_DIR, artifacts, categories=categories,
                              credentials=CREDENTIALS, trusted=origin_of(fake.url),
                              redact=Redactor([TOKEN, ORG]), sleep=lambda s: None)


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


CLARET_FILES = {
    "input": "/demo/download/imports/12345/input/products.csv",
    "staging": "/demo/download/imports/12345/staging/products-staged.csv",
    "output": "/demo/download/imports/12345/output/result.xlsx",
    "errors": "/demo/download/imports/12345/errors/errors.csv",
}


def route_claret(fake) -> list[Artifact]:
    for category, path in CLARET_FILES.items():
        fake.route(path, Reply(200, f"{category} data\n".encode()))
    return [Artifact(category=c, url=fake.url + p) for c, p in CLARET_FILES.items()]


# --- Claret files -------------------------------------------------------------------------------

def test_every_category_lands_in_its_directory(fake, client, tmp_path: Path) -> None:
    root = tmp_path / "downloads"
    report = run(client, fake, root, route_claret(fake))
    assert report.failures == []
    assert [(s.category, s.path, s.bytes) for s in report.saved] == [
        ("input", root / JOB_DIR / "input" / "products.csv", 11),
        ("staging", root / JOB_DIR / "staging" / "products-staged.csv", 13),
        ("output", root / JOB_DIR / "output" / "result.xlsx", 12),
        ("errors", root / JOB_DIR / "errors" / "errors.csv", 12),
    ]
    assert (root / JOB_DIR / "errors" / "errors.csv").read_text() == "errors data\n"
    assert files_under(tmp_path) == sorted(
        f"downloads/{JOB_DIR}/{c}/{p.rsplit('/', 1)[1]}" for c, p in CLARET_FILES.items())
    assert report.saved[0].to_json_dict() == {
        "category": "input", "path": str(root / JOB_DIR / "input" / "products.csv"), "bytes": 11}


def test_category_selection(fake, client, tmp_path: Path) -> None:
    report = run(client, fake, tmp_path, route_claret(fake), categories={"errors", "output"})
    assert sorted(s.category for s in report.saved) == ["errors", "output"]
    assert files_under(tmp_path) == [f"{JOB_DIR}/errors/errors.csv",
                                     f"{JOB_DIR}/output/result.xlsx"]
    assert fake.hits(CLARET_FILES["input"]) == 0


def test_traversal_names_are_refused_or_kept_inside_root(fake, client, tmp_path: Path) -> None:
    fake.route("/etc/x", Reply(200, b"normalized away"))
    fake.route("/c", Reply(200, b"c"))
    root = tmp_path / "deep" / "root"
    artifacts = [
        Artifact(category="errors", url=f"{fake.url}/../../etc/x"),      # name "x", inside
        Artifact(category="errors", url=f"{fake.url}/a/b/../../c"),      # name "c", inside
        Artifact(category="errors", url=f"{fake.url}/dl/%2e%2e%2fx"),    # "../x": refused
        Artifact(category="errors", url=f"{fake.url}/dl/.."),            # refused
        Artifact(category="errors", url=f"{fake.url}/dl/..%5c..%5cx"),   # backslashes: refused
        Artifact(category="errors", url=f"{fake.url}/dl/bad%0aname.csv"),  # control: refused
        Artifact(category="../../escape", url=f"{fake.url}/c"),          # bad category
    ]
    report = run(client, fake, root, artifacts)
    assert [s.path for s in report.saved] == [root / JOB_DIR / "errors" / "x",
                                              root / JOB_DIR / "errors" / "c"]
    assert len(report.failures) == 5
    assert files_under(tmp_path) == [f"deep/root/{JOB_DIR}/errors/c",
                                     f"deep/root/{JOB_DIR}/errors/x"]
    assert fake.hits("/dl/..") + fake.hits("/") == 0


def test_one_failure_does_not_stop_the_others(fake, client, tmp_path: Path) -> None:
    artifacts = route_claret(fake)
    fake.route(CLARET_FILES["staging"], Reply(500, b"boom"))
    bad = Artifact(category="errors", url=f"{fake.url}/x/..%2Fx?token={TOKEN}")
    report = run(client, fake, tmp_path, [bad, *artifacts])
    assert [s.category for s in report.saved] == ["input", "output", "errors"]
    assert len(report.failures) == 2
    assert report.failures[1].startswith("staging/products-staged.csv: ")
    assert "HTTP 500" in report.failures[1]
    assert all(TOKEN not in line for line in report.failures)
    assert not any(name.endswith(".part") for name in files_under(tmp_path))


def test_credentials_go_to_the_base_url_origin_only(fake, other_fake, client,
                                                    tmp_path: Path) -> None:
    fake.route("/t/download/a.csv", Reply(200, b"a"))
    fake.route("/t/download/b.csv",
                 Reply(302, b"", {"Location": f"{other_fake.url}/bucket/b-signed.csv"}))
    other_fake.route("/bucket/b-signed.csv", Reply(200, b"b"))
    other_fake.route("/bucket/c.csv", Reply(200, b"c"))
    artifacts = [Artifact(category="output", url=f"{fake.url}/t/download/a.csv"),
                 Artifact(category="output", url=f"{fake.url}/t/download/b.csv"),
                 Artifact(category="output", url=f"{other_fake.url}/bucket/c.csv")]
    report = run(client, fake, tmp_path, artifacts)
    assert [s.path.name for s in report.saved] == ["a.csv", "b.csv", "c.csv"]
    for path in ("/t/download/a.csv", "/t/download/b.csv"):
        (request,) = fake.requests_to(path)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["x-organization-id"] == ORG
    for request in other_fake.requests:
        assert "authorization" not in request.headers
        assert "x-organization-id" not in request.headers
    assert len(other_fake.requests) == 2


def test_same_name_twice_is_kept_apart(fake, client, tmp_path: Path) -> None:
    fake.route("/run1/errors.csv", Reply(200, b"first"))
    fake.route("/run2/errors.csv", Reply(200, b"second"))
    artifacts = [Artifact(category="errors", url=f"{fake.url}/run1/errors.csv"),
                 Artifact(category="errors", url=f"{fake.url}/run2/errors.csv")]
    report = run(client, fake, tmp_path, artifacts)
    assert [s.path.name for s in report.saved] == ["errors.csv", "errors-2.csv"]
    assert (tmp_path / JOB_DIR / "errors" / "errors-2.csv").read_bytes() == b"second"


def test_artifact_named_like_a_part_file_survives(fake, client, tmp_path: Path) -> None:
    # Each download writes a temporary of its own (a.csv.<random>.part): an artifact literally
    # named a.csv.part is just another file, and a.csv's download never touches it.
    fake.route("/a.csv.part", Reply(200, b"literal part"))
    fake.route("/a.csv", Reply(200, b"the csv"))
    artifacts = [Artifact(category="output", url=f"{fake.url}/a.csv.part"),
                 Artifact(category="output", url=f"{fake.url}/a.csv")]
    report = run(client, fake, tmp_path, artifacts)
    assert [s.path.name for s in report.saved] == ["a.csv.part", "a.csv"]
    assert (tmp_path / JOB_DIR / "output" / "a.csv.part").read_bytes() == b"literal part"
    assert (tmp_path / JOB_DIR / "output" / "a.csv").read_bytes() == b"the csv"


def test_symlinked_job_directory_is_refused(fake, client, tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / JOB_DIR).symlink_to(outside)
    report = run(client, fake, root, route_claret(fake))
    assert report.saved == []
    assert len(report.failures) == 4
    assert list(outside.iterdir()) == []
    assert len(fake.requests) == 0


def test_unencodable_names_fail_only_their_file(fake, client, tmp_path: Path) -> None:
    fake.route("/dl/ok.csv", Reply(200, b"ok"))
    artifacts = [Artifact(category="output", url=f"{fake.url}/dl/a\ud800b.csv"),
                 Artifact(category="x\udc80", url=f"{fake.url}/dl/ok.csv"),
                 Artifact(category="output", url=f"{fake.url}/dl/ok.csv")]
    report = run(client, fake, tmp_path, artifacts)
    assert [s.path for s in report.saved] == [tmp_path / JOB_DIR / "output" / "ok.csv"]
    assert len(report.failures) == 2
    for line in report.failures:
        line.encode("utf-8")  # printable and JSON-able as it is
    assert "surrogate" in report.failures[0] and "x\\udc80" in report.failures[1]
    assert files_under(tmp_path) == [f"{JOB_DIR}/output/ok.csv"]


def test_category_directory_swapped_during_the_request_keeps_writes_inside(
        fake, client, tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    category = root / JOB_DIR / "output"

    def swap(_request) -> Reply:
        category.rename(root / JOB_DIR / "moved")
        category.symlink_to(outside)
        return Reply(200, b"data")

    fake.route("/dl/a.csv", swap)
    report = run(client, fake, root, [Artifact(category="output", url=f"{fake.url}/dl/a.csv")])
    assert report.failures == []
    assert list(outside.iterdir()) == []
    assert (root / JOB_DIR / "moved" / "a.csv").read_bytes() == b"data"


def test_retries_are_told(fake, client, tmp_path: Path) -> None:
    fake.route("/dl/a.csv", Reply(503, b"", {"Retry-After": "2"}), Reply(200, b"a"))
    told: list[tuple[str, float]] = []
    report = download_artifacts(client, tmp_path, JOB_DIR,
                                [Artifact(category="output", url=f"{fake.url}/dl/a.csv")],
                                categories=None, credentials={}, trusted=origin_of(fake.url),
                                redact=Redactor(), sleep=lambda s: None,
                                on_retry=lambda message, delay: told.append((message, delay)))
    assert report.failures == []
    assert told == [(f"cannot download {fake.url}/dl/a.csv: HTTP 503", 2.0)]


# --- MerchantOps reports ------------------------------------------------------------------------

DETAIL = {
    "job_id": "job_7", "job_type": "enrichment", "status": "failed", "total_items": 3,
    "processed_items": 1, "failed_items": 2, "progress_percentage": 100, "success_rate": 33.3,
    "errors": [
        {"entity_type": "product", "entity_key": "SKU-1, blue", "error_type": "validation",
         "message": 'Price "abc" is not a number,\nsee row 4', "step": "validate",
         "timestamp": "2024-05-01T10:00:00Z",
         "details": {"field": "price", "raw": "a,b\"c\"\nd", "rows": [4, 5],
                     "hint": "Zeitüberschreitung"}},
        {"entity_type": "product", "entity_key": "SKU-2", "error_type": "crawl",
         "message": "Zeitüberschreitung — timeout", "step": None,
         "timestamp": "2024-05-01T10:00:01Z", "details": None},
    ],
    "warnings": [
        {"entity_type": "document", "entity_key": "doc=1", "error_type": "gap",
         "message": "=SUM(A1) stays text", "step": "enrich",
         "timestamp": "2024-05-01T10:00:02Z", "details": {}},
    ],
}


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def expected_rows(entries: list[dict]) -> list[list[str]]:
    """The cells as written: details as UTF-8 JSON, formula-like text behind a quote."""
    return [[neutralized(cell) for cell in (
        e["entity_type"], e["entity_key"], e["error_type"], e["message"], e["step"] or "",
        e["timestamp"],
        "" if e["details"] is None else json.dumps(e["details"], ensure_ascii=False))]
        for e in entries]


def test_merchantops_reports_round_trip(tmp_path: Path) -> None:
    report = write_merchantops_reports(tmp_path, "merchantops-job_7", DETAIL)
    directory = tmp_path / "merchantops-job_7"
    assert report.failures == []
    assert [(s.category, s.path) for s in report.saved] == [
        ("errors", directory / "errors.csv"), ("warnings", directory / "warnings.csv"),
        ("job", directory / "job.json")]
    assert all(s.bytes == s.path.stat().st_size for s in report.saved)

    errors = read_csv(directory / "errors.csv")
    assert errors[0] == list(REPORT_COLUMNS) == ["entity_type", "entity_key", "error_type",
                                                 "message", "step", "timestamp", "details"]
    assert errors[1:] == expected_rows(DETAIL["errors"])
    assert errors[1][3] == 'Price "abc" is not a number,\nsee row 4'
    assert json.loads(errors[1][6]) == DETAIL["errors"][0]["details"]
    assert '"hint": "Zeitüberschreitung"' in errors[1][6]  # readable, not \u00fc
    assert errors[2][4] == "" and errors[2][6] == ""
    warnings = read_csv(directory / "warnings.csv")
    assert warnings[1:] == expected_rows(DETAIL["warnings"])
    assert warnings[1][3] == "'=SUM(A1) stays text"
    assert json.loads((directory / "job.json").read_text(encoding="utf-8")) == DETAIL
    assert files_under(tmp_path) == ["merchantops-job_7/errors.csv",
                                     "merchantops-job_7/job.json",
                                     "merchantops-job_7/warnings.csv"]


@pytest.mark.parametrize(("cell", "written"), [
    ('=HYPERLINK("http://evil.example/","x")', '\'=HYPERLINK("http://evil.example/","x")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd", "'-2+3+cmd"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\n=1+1"),  # CR would move the cursor back under `cat`: LF instead
    ("\n=1+1", "'\n=1+1"),
    ("-", "'-"),
    ("-5", "-5"),  # plain numbers run nothing and stay numbers
    ("+3.2", "+3.2"),
    ("-1.5e3", "-1.5e3"),
    ("SKU=1", "SKU=1"),
    ("", ""),
])
def test_csv_cells_a_spreadsheet_would_run_are_neutralized(tmp_path: Path, cell: str,
                                                           written: str) -> None:
    entry = {"entity_type": cell, "entity_key": cell, "error_type": "e", "message": cell,
             "step": cell, "timestamp": cell, "details": None}
    write_merchantops_reports(tmp_path, "merchantops-j", {"job_id": "j", "errors": [entry]})
    (_, row) = read_csv(tmp_path / "merchantops-j" / "errors.csv")
    assert row == [written, written, "e", written, written, written, ""]
    detail = json.loads((tmp_path / "merchantops-j" / "job.json").read_text(encoding="utf-8"))
    assert detail["errors"][0] == entry  # job.json stays the answer, exactly


def test_csv_json_cells_go_through_the_same_rule(tmp_path: Path) -> None:
    entries = [{"message": "m", "details": -7, "entity_key": -2},
               {"message": "m", "details": "=cmd()"},
               "=cmd()"]  # off spec: not even an object
    write_merchantops_reports(tmp_path, "merchantops-j", {"errors": entries})
    rows = read_csv(tmp_path / "merchantops-j" / "errors.csv")
    assert (rows[1][1], rows[1][6]) == ("-2", "-7")  # numbers stay numbers
    assert rows[2][6] == '"=cmd()"'  # JSON text starts with a quote: a spreadsheet keeps text
    assert rows[3][3] == '"=cmd()"'


def test_merchantops_reports_survive_a_lone_surrogate(tmp_path: Path) -> None:
    detail = {"job_id": "s1", "status": "failed", "failed_items": 1,
              "errors": [{"entity_type": "p", "entity_key": "k\ud800", "error_type": "e",
                          "message": "bad \udc80 text", "timestamp": "t"}]}
    report = write_merchantops_reports(tmp_path, "merchantops-s1", detail)
    assert report.failures == []
    assert [s.category for s in report.saved] == ["errors", "warnings", "job"]
    directory = tmp_path / "merchantops-s1"
    assert read_csv(directory / "errors.csv")[1][1:4] == ["k\\ud800", "e", "bad \\udc80 text"]
    # Written as JSON's own escape, so job.json still reads back as the very answer.
    assert json.loads((directory / "job.json").read_text(encoding="utf-8")) == detail


def test_merchantops_job_json_never_holds_nan(tmp_path: Path) -> None:
    report = write_merchantops_reports(tmp_path, "merchantops-j",
                                       {"job_id": "j", "x": float("nan"), "errors": []})
    assert [s.category for s in report.saved] == ["errors", "warnings"]
    (failure,) = report.failures
    assert failure.startswith(f"job: cannot write {tmp_path / 'merchantops-j' / 'job.json'}: ")
    assert files_under(tmp_path) == ["merchantops-j/errors.csv", "merchantops-j/warnings.csv"]


def test_merchantops_without_errors_writes_header_only(tmp_path: Path) -> None:
    write_merchantops_reports(tmp_path, "merchantops-j", {"job_id": "j", "errors": []})
    assert read_csv(tmp_path / "merchantops-j" / "errors.csv") == [list(REPORT_COLUMNS)]
    assert read_csv(tmp_path / "merchantops-j" / "warnings.csv") == [list(REPORT_COLUMNS)]


def test_merchantops_symlink_refused_others_written(tmp_path: Path) -> None:
    directory = tmp_path / "merchantops-j"
    directory.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (directory / "errors.csv").symlink_to(target)
    report = write_merchantops_reports(tmp_path, "merchantops-j", DETAIL)
    assert [s.category for s in report.saved] == ["warnings", "job"]
    assert len(report.failures) == 1 and "symlink" in report.failures[0]
    assert (directory / "errors.csv").is_symlink()
    assert target.read_text() == "keep me"


def test_merchantops_write_error_names_path_and_reason(tmp_path: Path, monkeypatch) -> None:
    real_open = os.open

    def full(path, flags, *args, **kwargs):
        if re.fullmatch(r"warnings\.csv\.[0-9a-f]{8}\.part", str(path)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", full)
    report = write_merchantops_reports(tmp_path, "merchantops-j", DETAIL)
    monkeypatch.undo()
    warnings = tmp_path / "merchantops-j" / "warnings.csv"
    assert report.failures == [f"warnings: cannot write {warnings}: No space left on device"]
    assert files_under(tmp_path) == ["merchantops-j/errors.csv", "merchantops-j/job.json"]


# --- job directory names ------------------------------------------------------------------------

@pytest.mark.parametrize(("job_id", "expected"), [
    ("12345", "claret-12345"),
    ("../x", "claret-..%2Fx"),
    ("a/b", "claret-a%2Fb"),
    ("a%2Fb", "claret-a%252Fb"),
    ("x\ny", "claret-x%0Ay"),
])
def test_job_dir_name_is_one_component(job_id: str, expected: str) -> None:
    assert job_dir_name("claret", job_id) == expected


@pytest.mark.parametrize("job_id", ["..", ".", ""])
def test_job_dir_name_refuses_dot_names(job_id: str) -> None:
    with pytest.raises(DownloadError):
        job_dir_name("merchantops", job_id)


def test_job_dir_name_stays_inside_root(fake, client, tmp_path: Path) -> None:
    fake.route("/f.csv", Reply(200, b"f"))
    root = tmp_path / "root"
    report = download_artifacts(client, root, job_dir_name("claret", "../../x"),
                                [Artifact(category="output", url=f"{fake.url}/f.csv")],
                                categories=None, credentials={}, trusted=origin_of(fake.url),
                                redact=Redactor())
    assert [s.path for s in report.saved] == [root / "claret-..%2F..%2Fx" / "output" / "f.csv"]
    assert files_under(tmp_path) == ["root/claret-..%2F..%2Fx/output/f.csv"]
