"""What happens when a watched job ends: its detail answer (where the provider has one), its
files, its reports; and the two choices that govern them, the download folder and the
--artifacts categories. Used by `wait` (on a worker thread, per job) and `download` (on the
main thread)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobwatch.clock import SYSTEM_CLOCK, Clock
from jobwatch.errors import DownloadTimeout, JobwatchError, UsageError
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    import httpx

    from jobwatch.adapters.base import Adapter
    from jobwatch.adapters.capabilities import ReportedError
    from jobwatch.artifacts import ArtifactReport, Saved
    from jobwatch.engine import Renderer, Watch
    from jobwatch.models import Job
    from jobwatch.progress import DownloadProgress
    from jobwatch.safefs import Parts


def check_download_dir(flag: str | None) -> None:
    """A usage error for `--download-dir=` (checked before the config is read)."""
    if flag is not None and not flag.strip():
        raise UsageError("--download-dir needs a directory, not an empty value",
                         hint="give a path, or leave the option out for the current directory")


def download_root(runtime: Runtime, flag: str | None) -> Path:
    """Where downloads go; the flag was checked already (check_download_dir)."""
    chosen = flag or runtime.defaults().get("download_dir")
    return Path(os.path.expanduser(str(chosen))) if chosen else Path.cwd()


def parse_categories(value: str | None, providers: list[str]) -> set[str] | None:
    """The --artifacts categories; None (all) when the option is not given."""
    from jobwatch.adapters import ADAPTERS

    if value is None:
        return None
    categories = {part.strip().lower() for part in value.split(",") if part.strip()}
    known = {c for p in providers for c in ADAPTERS[p].artifact_categories}
    hint = (f"choose from {', '.join(sorted(known))}" if known else
            f"{' and '.join(sorted(set(providers)))} jobs have no artifacts to download")
    if not categories:  # `--artifacts ,`: a selection of nothing is a typo, not "none"
        raise UsageError(f"--artifacts {value!r} names no category",
                         hint=hint + "; leave --artifacts out for all of them")
    unknown = categories - known
    if unknown:
        raise UsageError(f"unknown artifact categories: {', '.join(sorted(unknown))}", hint=hint)
    return categories


def _job(watch: Watch) -> Job:
    """The ended job: end-of-job work is only ever given a watch whose job has answered."""
    assert watch.job is not None
    return watch.job


class GuardedProgress:
    """Download progress that ends the download once the watch has stopped. The download code
    calls it for every chunk, which makes it the place where a download running in a worker
    thread notices Ctrl-C (Cancelled) or the deadline (DownloadTimeout, as the download code
    itself raises it)."""

    def __init__(self, inner: DownloadProgress, cancelled: threading.Event) -> None:
        self.inner = inner
        self.cancelled = cancelled
        self.label = ""

    def start(self, label: str, total: int | None) -> None:
        self.label = label
        self._check()
        self.inner.start(label, total)

    def advance(self, n: int) -> None:
        self.inner.advance(n)
        self._check()

    def finish(self, label: str, ok: bool) -> None:
        self.inner.finish(label, ok)

    def _check(self) -> None:
        if not self.cancelled.is_set():
            return
        if getattr(self.cancelled, "reason", None) == "timeout":
            raise DownloadTimeout(f"the --timeout passed while downloading {self.label}")
        from jobwatch.engine import Cancelled

        raise Cancelled(self.label)


class EndOfJob:
    """What happens when a job ends: its detail answer (once, where the provider has one), its
    files, its reports. Failures are collected on the watch; the engine decides the outcome.
    One per provider and profile of a run.

    ``on_saved(watch, saved)`` hears of each file as it lands, on the thread running
    ``on_end`` (the engine's Observers.download, for `wait`)."""

    def __init__(self, runtime: Runtime, adapter: Adapter, client: httpx.Client, renderer: Renderer,
                 root: Path, categories: set[str] | None, enabled: bool,
                 deadline: float | None = None, cancelled: threading.Event | None = None,
                 parts: Parts | None = None, clock: Clock = SYSTEM_CLOCK,
                 on_saved: Callable[[Watch, Saved], None] | None = None) -> None:
        self.runtime = runtime
        self.adapter = adapter
        self.client = client
        self.renderer = renderer
        self.root = root
        self.categories = categories
        self.enabled = enabled
        self.clock = clock
        self.deadline = deadline  # a ``clock`` reading, from --timeout (the engine's deadline)
        # Set when the watch stops early: a retry's wait ends at once, and `parts` lets the
        # engine's on_stop remove the .part files of downloads still in flight.
        self.cancelled = cancelled
        self.parts = parts
        self.on_saved = on_saved
        from jobwatch.adapters.capabilities import detail_endpoint

        self.detail = detail_endpoint(adapter)  # None: a provider without a detail answer

    def _sleep(self, seconds: float) -> None:
        if self.cancelled is None:
            self.clock.sleep(seconds)
        elif self.clock.wait(self.cancelled, seconds):
            from jobwatch.engine import Cancelled

            raise Cancelled("the watch stopped during a retry's wait")

    def needed(self, watch: Watch) -> bool:
        """Whether ``on_end`` has anything to do for this ended job: a detail answer to ask
        for, or files to fetch."""
        return self.detail is not None or (self.enabled and bool(_job(watch).artifacts))

    def on_end(self, watch: Watch) -> None:
        from jobwatch.artifacts import ArtifactReport
        from jobwatch.http import PastDeadline

        # The watch's own lists, filled as each file lands: after a stop midway (Ctrl-C,
        # SIGTERM, the deadline) the closing lines and --json still list what is on disk.
        on_saved = self.on_saved
        report = ArtifactReport(saved=watch.downloads, failures=watch.download_failures,
                                on_saved=None if on_saved is None else
                                lambda saved: on_saved(watch, saved))
        try:
            answered = self._detail(watch)
            if answered is not None:
                self._reports(watch, *answered, report)
            elif self.enabled and _job(watch).artifacts:
                self._download(watch, report)
        except JobwatchError as exc:
            report.failures.append(exc.message)
            report.timed_out = report.timed_out or isinstance(
                exc, (DownloadTimeout, PastDeadline)) or (
                self.deadline is not None and self.clock.now() >= self.deadline)
        watch.downloads_cut = watch.downloads_cut or report.timed_out

    def _download(self, watch: Watch, report: ArtifactReport) -> None:
        from jobwatch.artifacts import download_artifacts, job_dir_name

        download_artifacts(
            self.client, self.root, job_dir_name(watch.provider, watch.job_id),
            _job(watch).artifacts, categories=self.categories,
            credentials=self.adapter.credentials(), trusted=self.adapter.origin,
            redact=self.runtime.redact, log=self.runtime.request_log,
            progress=self._progress(watch), deadline=self.deadline,
            on_retry=self._retry_note(watch), sleep=self._sleep, parts=self.parts,
            report=report, clock=self.clock)

    def _progress(self, watch: Watch) -> DownloadProgress:
        progress = self.renderer.download_progress(watch)
        return progress if self.cancelled is None else GuardedProgress(progress, self.cancelled)

    def _retry_note(self, watch: Watch) -> Callable[[str, float], None]:
        """Say why nothing moves while a request waits to be retried (Retry-After can ask
        for minutes)."""
        def note(message: str, delay: float) -> None:
            wait = f"{delay:.0f}s" if delay >= 1 else f"{delay:.1f}s"
            self.renderer.problem(watch, f"retrying in {wait}: {message}")

        return note

    def _detail(self, watch: Watch) -> tuple[dict[str, Any], Any] | None:
        """The detail answer, once, and the job as that answer describes it. Only a failure to
        fetch one that should be written down is a download failure; otherwise it is a note."""
        from jobwatch.http import ONE_SHOT_ATTEMPTS, retrying, unreachable_hint

        source = self.detail
        if source is None:
            return None
        note = self._retry_note(watch)
        log = self.runtime.request_log
        try:
            detail = retrying(lambda: source.fetch_detail(self.client, watch.job_id, log),
                              attempts=ONE_SHOT_ATTEMPTS, deadline=self.deadline,
                              sleep=self._sleep, clock=self.clock.now,
                              on_retry=lambda exc, delay: note(exc.message, delay),
                              hint=unreachable_hint(self.runtime.verbose))
        except JobwatchError as exc:
            if self.enabled and source.wants_detail(_job(watch)):
                raise
            self.renderer.problem(watch, f"no job details ({exc.message})")
            return None
        watch.detail = detail
        richer = self.adapter.normalize(detail, watch.job_id, log)
        watch.job = _job(watch).replace(**{
            k: getattr(richer, k) for k in ("message", "created_at", "started_at", "finished_at",
                                            "job_type") if getattr(richer, k) is not None})
        return detail, richer

    def _reports(self, watch: Watch, detail: dict[str, Any], described: Any,
                 report: ArtifactReport) -> None:
        from jobwatch.artifacts import job_dir_name, write_reports

        source = self.detail
        assert source is not None  # a detail answer came from it
        errors, warnings = source.detail_reports(detail)
        self._show_errors(watch, source.reported_errors(errors), len(errors), len(warnings))
        # The detail answer has the counts and lists the lightweight status answer lacks
        # (warned_items, warnings): either answer asking for the reports is enough.
        wanted = (source.wants_detail(_job(watch)) or source.wants_detail(described)
                  or errors or warnings)
        if self.enabled and wanted:
            write_reports(self.root, job_dir_name(watch.provider, watch.job_id), detail,
                          errors, warnings, self.categories, self.parts, report=report,
                          redact=self.runtime.redact)

    def _show_errors(self, watch: Watch, errors: list[ReportedError], listed: int,
                     warnings: int) -> None:
        """The first errors as a table (the UI's), under a title counting every one listed."""
        from jobwatch.ui import error_table

        if listed or warnings:
            self.renderer.report_table(*error_table(watch.label, errors, listed, warnings))
