"""`jobwatch wait` and `jobwatch download`: wire the adapter, the client, the polling engine,
the artifacts and a renderer together. The engine itself knows none of them."""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobwatch.errors import (
    ConfigError,
    DownloadTimeout,
    ExitCode,
    JobwatchError,
    StillRunningError,
    UsageError,
)
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter
    from jobwatch.downloads import Parts
    from jobwatch.polling import Watch

ERRORS_SHOWN = 5


@dataclass
class WaitOptions:
    timeout: str | None = None
    interval: str | None = None
    fail_fast: bool = False
    strict: bool = False
    json_output: bool = False
    quiet: bool = False
    download_dir: str | None = None
    no_download: bool = False
    artifacts: str | None = None
    follow_related: bool = False


def _duration(value: Any, where: str, error: type[JobwatchError]) -> float:
    from jobwatch.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise error(f"{where}: {exc}") from None


def _setting(runtime: Runtime, adapter: Adapter, flag: str | None, name: str) -> float | None:
    """A flag wins over the profile, which wins over [defaults]."""
    if flag is not None:
        return _duration(flag, f"--{name}", UsageError)
    if adapter.profile.get(name) is not None:
        return _duration(adapter.profile.get(name), adapter.profile.source(name), ConfigError)
    defaults = runtime.defaults()
    if defaults.get(name) is not None:
        return _duration(defaults.get(name), defaults.values[name].source, ConfigError)
    return None


def _interval_or_default(chosen: float | None, default: float) -> float:
    return default if chosen is None else chosen


def download_root(runtime: Runtime, flag: str | None) -> Path:
    chosen = flag or runtime.defaults().get("download_dir")
    return Path(os.path.expanduser(str(chosen))) if chosen else Path.cwd()


def parse_categories(value: str | None, providers: list[str]) -> set[str] | None:
    from jobwatch.adapters import ADAPTERS

    if not value:
        return None
    categories = {part.strip().lower() for part in value.split(",") if part.strip()}
    known = {c for p in providers for c in ADAPTERS[p].artifact_categories}
    unknown = categories - known
    if unknown:
        hint = (f"choose from {', '.join(sorted(known))}" if known else
                f"{' and '.join(sorted(set(providers)))} jobs have no artifacts to download")
        raise UsageError(f"unknown artifact categories: {', '.join(sorted(unknown))}", hint=hint)
    return categories


class Artifacts:
    """What happens when a job ends: its detail answer (once, where the provider has one), its
    files, its reports. Failures are collected on the watch; the engine decides the outcome."""

    def __init__(self, runtime: Runtime, adapter: Adapter, client: Any, renderer: Any,
                 root: Path, categories: set[str] | None, enabled: bool,
                 deadline: float | None = None, cancelled: threading.Event | None = None,
                 parts: Parts | None = None) -> None:
        self.runtime = runtime
        self.adapter = adapter
        self.client = client
        self.renderer = renderer
        self.root = root
        self.categories = categories
        self.enabled = enabled
        self.deadline = deadline  # time.monotonic(), from --timeout
        # Set when the watch stops early: a retry's wait ends at once, and `parts` lets the
        # engine's on_stop remove the .part files of downloads still in flight.
        self.cancelled = cancelled
        self.parts = parts

    def _sleep(self, seconds: float) -> None:
        if self.cancelled is None:
            time.sleep(seconds)
        elif self.cancelled.wait(seconds):
            from jobwatch.polling import Cancelled

            raise Cancelled("the watch stopped during a retry's wait")

    def on_end(self, watch: Watch) -> None:
        from jobwatch.artifacts import ArtifactReport, download_artifacts, job_dir_name
        from jobwatch.http import PastDeadline

        report = ArtifactReport()
        try:
            answered = self._detail(watch)
            if answered is not None:
                report = self._reports(watch, *answered)
            elif self.enabled and watch.job.artifacts:
                report = download_artifacts(
                    self.client, self.root, job_dir_name(watch.provider, watch.job_id),
                    watch.job.artifacts, categories=self.categories,
                    credentials=self.adapter.credentials(), trusted=self.adapter.origin,
                    redact=self.runtime.redact, log=self.runtime.request_log,
                    progress=self.renderer.download_progress(watch), deadline=self.deadline,
                    on_retry=self._retry_note(watch), sleep=self._sleep, parts=self.parts)
        except JobwatchError as exc:
            report.failures.append(exc.message)
            report.timed_out = report.timed_out or isinstance(
                exc, (DownloadTimeout, PastDeadline)) or (
                self.deadline is not None and time.monotonic() >= self.deadline)
        watch.downloads += report.saved
        watch.download_failures += report.failures
        watch.downloads_cut = watch.downloads_cut or report.timed_out

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
        from jobwatch.http import ONE_SHOT_ATTEMPTS, retrying

        if not self.adapter.has_detail:
            return None
        note = self._retry_note(watch)
        try:
            detail = retrying(lambda: self.adapter.fetch_detail(
                self.client, watch.job_id, self.runtime.request_log),
                attempts=ONE_SHOT_ATTEMPTS, deadline=self.deadline, sleep=self._sleep,
                on_retry=lambda exc, delay: note(exc.message, delay))
        except JobwatchError as exc:
            if self.enabled and self.adapter.wants_detail(watch.job):
                raise
            self.renderer.problem(watch, f"no job details ({exc.message})")
            return None
        watch.detail = detail
        richer = self.adapter.normalize(detail, watch.job_id)
        watch.job = watch.job.replace(**{
            k: getattr(richer, k) for k in ("message", "created_at", "started_at", "finished_at",
                                            "job_type") if getattr(richer, k) is not None})
        return detail, richer

    def _reports(self, watch: Watch, detail: dict[str, Any], described: Any) -> Any:
        from jobwatch.artifacts import ArtifactReport, job_dir_name, write_merchantops_reports

        errors = detail.get("errors") if isinstance(detail.get("errors"), list) else []
        warnings = detail.get("warnings") if isinstance(detail.get("warnings"), list) else []
        self._show_errors(watch, errors, warnings)
        # The detail answer has the counts and lists the lightweight status answer lacks
        # (warned_items, warnings): either answer asking for the reports is enough.
        wanted = (self.adapter.wants_detail(watch.job) or self.adapter.wants_detail(described)
                  or errors or warnings)
        if not (self.enabled and wanted):
            return ArtifactReport()
        return write_merchantops_reports(self.root, job_dir_name(watch.provider, watch.job_id),
                                         detail, self.categories, self.parts)

    def _show_errors(self, watch: Watch, errors: list[Any], warnings: list[Any]) -> None:
        if not errors and not warnings:
            return
        rows = [[str(e.get("error_type", "")), str(e.get("entity_key", "")),
                 " ".join(str(e.get("message", "")).split())]
                for e in errors[:ERRORS_SHOWN] if isinstance(e, dict)]
        rest = len(errors) - len(rows)
        footer = "; ".join(part for part in (
            f"… and {rest} more error(s)" if rest > 0 else "",
            f"{len(warnings)} warning(s)" if warnings else "") if part)
        self.renderer.report_table(f"{watch.label}: {len(errors)} error(s)",
                                   ["type", "key", "message"], rows, footer)


def choose_renderer(runtime: Runtime, opts: WaitOptions, clock: Callable[[], float],
                    resume: Callable[[list[Watch]], list[str]], *, resumable: bool = True,
                    cancelled: threading.Event | None = None) -> Any:
    """``cancelled``: the engine's stop signal; the renderer's download progress then ends a
    download (its .part removed) once the watch stops."""
    from jobwatch.ui import PlainRenderer, QuietRenderer

    stream = runtime.stderr
    if opts.quiet:
        return QuietRenderer(stream, cancelled=cancelled)
    # --verbose request lines would tear a live display: they get the plain one.
    if stream.isatty() and runtime.env.get("TERM") != "dumb" and not runtime.verbose:
        from jobwatch.live import LiveRenderer

        return LiveRenderer(stream, clock, resume=resume, resumable=resumable,
                            cancelled=cancelled)
    return PlainRenderer(stream, clock, resume=resume, resumable=resumable, cancelled=cancelled)


def resume_commands(runtime: Runtime, provider: str, opts: WaitOptions,
                    watches: list[Watch]) -> list[str]:
    """What to type to pick up where a wait left off: `wait` for the jobs that had not ended
    (a related job through its parent, while the parent runs), then `download` for each job
    that ended without all its files."""
    common: list[str] = []
    if runtime.profile != "default":
        common += ["--profile", runtime.profile]
    if runtime.config_path:
        common += ["--config", runtime.config_path]
    mine = [w for w in watches if w.provider == provider]
    listed: list[Watch] = []
    for watch in mine:
        if watch.outcome not in ("interrupted", "timeout") or _ended(watch):
            continue
        if watch.parent is not None and any(p is watch.parent for p in listed):
            continue  # --follow-related finds it again from its parent
        listed.append(watch)
    commands = []
    if listed:
        options = list(common)
        for flag, value in (("--timeout", opts.timeout), ("--interval", opts.interval),
                            ("--download-dir", opts.download_dir),
                            ("--artifacts", opts.artifacts)):
            if value:
                options += [flag, value]
        for flag, on in (("--fail-fast", opts.fail_fast), ("--strict", opts.strict),
                         ("--no-download", opts.no_download), ("--json", opts.json_output),
                         ("--follow-related", opts.follow_related)):
            if on:
                options.append(flag)
        commands.append(_command("wait", provider, [w.job_id for w in listed], options))
    for watch in mine:  # ended, but its downloads were cut short
        if _ended(watch) and (watch.downloads_cut or watch.outcome in ("interrupted",
                                                                        "timeout")):
            options = list(common)
            for flag, value in (("--download-dir", opts.download_dir),
                                ("--artifacts", opts.artifacts)):
                if value:
                    options += [flag, value]
            commands.append(_command("download", provider, [watch.job_id], options))
    return commands


def _ended(watch: Watch) -> bool:
    return watch.job is not None and watch.job.terminal


def _command(verb: str, provider: str, job_ids: list[str], options: list[str]) -> str:
    """`jobwatch VERB PROVIDER IDS OPTIONS`; with an id that starts with '-', the options come
    first and the ids after `--`, or the id would be read as an option."""
    if any(job_id.startswith("-") for job_id in job_ids):
        return shlex.join(["jobwatch", verb, provider, *options, "--", *job_ids])
    return shlex.join(["jobwatch", verb, provider, *job_ids, *options])


def run_wait(runtime: Runtime, provider: str, job_ids: list[str], opts: WaitOptions, *,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> int:
    return watch_jobs(runtime, [(provider, job_id) for job_id in job_ids], opts, clock=clock,
                      sleep=sleep)


def watch_jobs(runtime: Runtime, targets: list[tuple[str, str]], opts: WaitOptions, *,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep, resumable: bool = True) -> int:
    """Watch (provider, job_id) pairs to the end. The CLI passes one provider; the demo, four.

    ``resumable=False`` (the demo, whose simulator stops with it): no resume commands, and no
    claim that the remote jobs keep running; a stop is said to stop the watch."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.downloads import Parts
    from jobwatch.polling import Engine, Settings, StopSignal, Watch
    from jobwatch.ui import json_lines, write_out

    checked = list(dict.fromkeys((p, ADAPTERS[p].validate_id(j)) for p, j in targets))
    providers = list(dict.fromkeys(p for p, _ in checked))
    categories = parse_categories(opts.artifacts, providers)
    adapters = {p: runtime.adapter(p) for p in providers}
    # `--interval 0` is the engine's floor (0.2 s), not "unset": only None means the default.
    intervals = {p: _interval_or_default(_setting(runtime, a, opts.interval, "interval"),
                                         a.default_interval) for p, a in adapters.items()}
    # 0 means no limit, as with timeout(1) and curl --max-time; `--timeout 0` lifts a
    # configured one.
    timeout = _setting(runtime, adapters[providers[0]], opts.timeout, "timeout") or None
    root = download_root(runtime, opts.download_dir)
    start = clock()
    deadline = start + timeout if timeout is not None else None
    # Downloads measure the same deadline on the real clock.
    real_deadline = time.monotonic() + timeout if timeout is not None else None

    def resume(watches: list[Watch]) -> list[str]:
        return [command for provider in providers
                for command in resume_commands(runtime, provider, opts, watches)]

    cancelled = StopSignal()
    renderer = choose_renderer(runtime, opts, clock, resume, resumable=resumable,
                               cancelled=cancelled)
    workers = min(16, len(checked) + (1 if opts.follow_related else 0))
    # One client for the run, with the first profile's TLS settings (the CLI has one provider).
    with runtime.client(adapters[providers[0]], pool_size=workers) as client:
        parts = Parts()
        artifacts = {p: Artifacts(runtime, a, client, renderer, root, categories,
                                  enabled=not opts.no_download, deadline=real_deadline,
                                  cancelled=cancelled, parts=parts)
                     for p, a in adapters.items()}

        def fetch(watch: Watch) -> Any:
            return adapters[watch.provider].fetch(client, watch.job_id, runtime.request_log)

        def discover(watch: Watch) -> list[Watch]:
            if not opts.follow_related:
                return []
            return [Watch(watch.provider, related, parent=watch,
                          interval=intervals[watch.provider])
                    for related in adapters[watch.provider].related_job_ids(watch.job)]

        def has_errors(watch: Watch) -> bool:
            return adapters[watch.provider].ended_with_errors(watch.job, watch.detail)

        engine = Engine(
            fetch, renderer,
            Settings(interval=intervals[providers[0]], deadline=deadline,
                     fail_fast=opts.fail_fast, strict=opts.strict, workers=workers),
            clock=clock, sleep=sleep, on_end=lambda w: artifacts[w.provider].on_end(w),
            discover=discover, has_errors=has_errors, cancelled=cancelled,
            on_stop=parts.remove_all)
        code = engine.run([Watch(p, job_id, interval=intervals[p]) for p, job_id in checked])
    if opts.json_output:
        write_out(json_lines(engine.watches, runtime.profile))
    return code


def run_download(runtime: Runtime, provider: str, job_id: str, *,
                 download_dir: str | None = None, artifacts: str | None = None,
                 json_output: bool = False, quiet: bool = False) -> int:
    """Fetch the artifacts of a job that has already ended: exit 0 when all are saved."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.polling import Watch
    from jobwatch.status import fetch_once
    from jobwatch.ui import error_lines, json_lines, write_out

    job_id = ADAPTERS[provider].validate_id(job_id)
    categories = parse_categories(artifacts, [provider])
    adapter = runtime.adapter(provider)
    root = download_root(runtime, download_dir)
    renderer = choose_renderer(runtime, WaitOptions(quiet=quiet), time.monotonic, lambda w: [])
    with runtime.client(adapter, pool_size=1) as client:
        job = fetch_once(runtime, adapter, client, job_id, quiet=quiet)
        if not job.terminal:
            raise StillRunningError(
                f"{provider} job {job_id} has not ended yet ({job.status})",
                hint=f"wait for it and download in one go: jobwatch wait {provider} {job_id}")
        now = time.monotonic()
        watch = Watch(provider, job_id, started=now, job=job, ended_at=now)
        renderer.start([])
        try:
            Artifacts(runtime, adapter, client, renderer, root, categories, enabled=True
                      ).on_end(watch)
        finally:
            renderer.finish([], 0)
    watch.outcome = ("download_failed" if watch.download_failures else
                     "succeeded" if job.state.value == "succeeded" else "failed")
    if json_output:
        write_out(json_lines([watch], runtime.profile))
    else:
        write_out("".join(f"{saved.path}\n" for saved in watch.downloads))
    if watch.download_failures:
        runtime.stderr.write(error_lines([watch]))
        return int(ExitCode.DOWNLOAD)
    if not watch.downloads and not quiet:
        runtime.stderr.write(f"{watch.label} ({job.state.value}): nothing to download\n")
    return 0
