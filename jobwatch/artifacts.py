"""What a finished job leaves on disk: downloaded files (Claret) or written reports (MerchantOps).

Every file lands under ``root/<provider>-<job_id>/`` through jobwatch.safefs, so the same rules
hold everywhere: safe names, no symlinks followed, a .part of its own renamed into place.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jobwatch.clock import SYSTEM_CLOCK, Clock
from jobwatch.downloads import download_file
from jobwatch.errors import DownloadError, DownloadTimeout
from jobwatch.http import Origin
from jobwatch.progress import NULL_PROGRESS, DownloadProgress
from jobwatch.safefs import (
    Parts,
    check_component,
    open_safe_dir,
    safe_file_name,
    write_all,
    write_atomically,
)

if TYPE_CHECKING:
    import httpx

    from jobwatch.models import Artifact

REPORT_COLUMNS = ("entity_type", "entity_key", "error_type", "message", "step", "timestamp",
                  "details")
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"); LF too, as the
# CR OWASP lists becomes one here (report_text).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Provider text in a CSV cell, as `cat errors.csv` would show it: what a terminal acts on goes
# (jobwatch.text's set: C0 controls, DEL, C1 controls such as U+009B, a CSI to many terminals,
# and the bidi controls that make text display as something else), each becoming a space. Two
# stay, inside the quoted cell: LF and TAB only move the cursor forward, and a multi-line
# error message keeps its lines. CR does not stay: it sends the cursor back to the line's
# start, so what follows would hide what was shown; it becomes LF. A lone surrogate stays,
# written as its visible \udXXX escape.
_CSV_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
# JSON text jobwatch writes (job.json, a details cell): json.dumps escapes the C0 controls
# itself, but with ensure_ascii=False leaves these raw; escaped as JSON allows, the value read
# back is still exactly the provider's.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@dataclass
class Saved:
    """One line of ``wait --json``'s "downloads"."""

    category: str
    path: Path
    bytes: int

    def to_json_dict(self) -> dict[str, Any]:
        return {"category": self.category, "path": str(self.path), "bytes": self.bytes}


@dataclass
class ArtifactReport:
    """What the files of one job came to. Filled as each file lands, so a caller stopped
    midway (Ctrl-C, SIGTERM) still knows what is on disk; ``saved`` may be a list the caller
    shares for that."""

    saved: list[Saved] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one readable, redacted line each
    timed_out: bool = False  # the --timeout cut the downloads short
    on_saved: Callable[[Saved], None] | None = None  # told of each file as it lands

    def add(self, saved: Saved) -> None:
        self.saved.append(saved)
        if self.on_saved is not None:
            self.on_saved(saved)


def job_dir_name(provider: str, job_id: str) -> str:
    """``<provider>-<job_id>`` as ONE path component: the id is percent-encoded, so ``../x``
    becomes ``..%2Fx`` and distinct ids stay distinct."""
    encoded = quote(job_id, safe="")
    if encoded in ("", ".", ".."):
        raise DownloadError(f"refusing job id {job_id!r} as a directory name")
    return check_component(f"{provider}-{encoded}")


def download_artifacts(client: httpx.Client, root: Path, job_dir_name: str,
                       artifacts: list[Artifact], *, categories: set[str] | None,
                       credentials: dict[str, str], trusted: Origin,
                       redact: Callable[[str], str], log: Callable[[str], None] | None = None,
                       progress: DownloadProgress = NULL_PROGRESS,
                       sleep: Callable[[float], None] | None = None,
                       deadline: float | None = None,
                       on_retry: Callable[[str, float], None] | None = None,
                       parts: Parts | None = None,
                       report: ArtifactReport | None = None,
                       clock: Clock = SYSTEM_CLOCK) -> ArtifactReport:
    """Fetch each artifact to ``root/job_dir_name/<category>/<file name>``, into ``report``
    (a new one if None) as each file lands.

    ``categories=None`` means all. A file that fails (unsafe name, HTTP error, write error) is
    recorded in ``failures`` and the others still download. Two artifacts of one category with
    the same file name are kept apart as ``name-2.ext``, ``name-3.ext``, ... rather than the
    second silently replacing the first. ``on_retry(message, delay)`` hears of each wait
    before a file is asked for again. ``deadline`` is a ``clock`` reading; ``sleep``
    (default ``clock.sleep``) waits between attempts.
    """
    report = ArtifactReport() if report is None else report
    taken: set[tuple[str, str]] = set()
    chosen = [a for a in artifacts if categories is None or a.category in categories]
    for index, artifact in enumerate(chosen):
        if report.timed_out:
            report.failures.append(f"{len(chosen) - index} more file(s) not downloaded: "
                                   "the --timeout passed")
            break
        try:
            name = safe_file_name(artifact.url)
            directory = open_safe_dir(root, job_dir_name, artifact.category)
        except DownloadError as exc:
            report.failures.append(f"{_shown(artifact.category)}: "
                                   f"{redact(_shown(artifact.url))}: {exc.message}")
            continue
        name = _unique(name, artifact.category, taken)
        # Held open through the download: the file lands in the directory that was checked.
        with directory:
            try:
                written = download_file(client, artifact.url, directory, name,
                                        credentials=credentials, trusted=trusted,
                                        redact=redact, log=log, progress=progress, sleep=sleep,
                                        deadline=deadline, on_retry=on_retry,
                                        parts=parts, clock=clock)
            except DownloadError as exc:
                report.failures.append(f"{artifact.category}/{name}: {exc.message}")
                report.timed_out = isinstance(exc, DownloadTimeout)
                continue
        report.add(Saved(artifact.category, directory.path / name, written))
    return report


def _shown(text: str) -> str:
    """``text`` as it can be printed and encoded: a lone surrogate becomes its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _unique(name: str, category: str, taken: set[tuple[str, str]]) -> str:
    candidate, n = name, 1
    stem, dot, suffix = name.rpartition(".")
    while (category, candidate) in taken:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot and stem else f"{name}-{n}"
    taken.add((category, candidate))
    return candidate


def write_reports(root: Path, job_dir_name: str, detail: dict[str, Any], errors: list[Any],
                  warnings: list[Any], categories: set[str] | None = None,
                  parts: Parts | None = None,
                  report: ArtifactReport | None = None,
                  redact: Callable[[str], str] = str) -> ArtifactReport:
    """Write a detail answer's ``errors`` and ``warnings`` as CSV, and the answer itself as
    job.json, into ``root/job_dir_name/`` (only the ``categories`` asked for: errors,
    warnings, job), into ``report`` as each lands. A file that cannot be written is a failure;
    the others still are. These files are our output: ``redact`` hides our secrets in them
    (the provider may echo a token back)."""
    report = ArtifactReport() if report is None else report
    try:
        directory = open_safe_dir(root, job_dir_name)
    except DownloadError as exc:
        report.failures.append(exc.message)
        return report
    # job.json is the answer exactly, once read back. allow_nan=False: parse_json already
    # made NaN null; this only keeps a stray one from writing a file jq rejects.
    outputs: list[tuple[str, str, Callable[[], str]]] = [
        ("errors", "errors.csv", lambda: _report_csv(errors)),
        ("warnings", "warnings.csv", lambda: _report_csv(warnings)),
        ("job", "job.json", lambda: json_text(detail, indent=2, allow_nan=False) + "\n"),
    ]
    with directory:
        for category, name, render in outputs:
            if categories is not None and category not in categories:
                continue
            try:
                # A lone surrogate has no UTF-8 form; as "\udXXX" it stays readable, and in
                # job.json it is the very JSON escape it came as.
                data = redact(render()).encode("utf-8", "backslashreplace")
                written = write_atomically(directory, name, partial(write_all, data=data),
                                           parts)
            except ValueError as exc:
                report.failures.append(f"{category}: cannot write {directory.path / name}: {exc}")
                continue
            except DownloadError as exc:
                report.failures.append(f"{category}: {exc.message}")
                continue
            report.add(Saved(category, directory.path / name, written))
    return report


def _report_csv(entries: Iterable[Any]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for entry in entries:
        writer.writerow(_report_row(entry))
    return buffer.getvalue()


def _report_row(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        # Off-spec entry: keep it readable rather than drop it.
        row = ["", "", "", json_text(entry), "", "", ""]
    else:
        row = [_cell(entry.get(column)) for column in REPORT_COLUMNS[:-1]]
        details = entry.get("details")
        row.append("" if details is None else json_text(details))
    return [neutralized(cell) for cell in row]


def json_text(value: Any, indent: int | None = None, *, allow_nan: bool = True) -> str:
    """``value`` as readable JSON (UTF-8, not \\u escapes) that carries no raw terminal
    control. With allow_nan=False a NaN is a ValueError, as NaN is not JSON."""
    text = json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=allow_nan,
                      default=str)
    return _JSON_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def report_text(text: str) -> str:
    """Provider text as a CSV cell may hold it (see _CSV_UNSAFE)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CSV_UNSAFE.sub(" ", text)


def neutralized(cell: str) -> str:
    """``cell`` with a leading ' if a spreadsheet would run it as a formula. Error texts quote
    crawled third-party pages, and an =HYPERLINK(...) there would be live in Excel or
    LibreOffice. Plain numbers (-5, +3.2) keep their meaning: they run nothing."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return report_text(value)
    return json_text(value)
