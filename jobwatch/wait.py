"""`jobwatch wait` and `jobwatch download`: wire the adapter, the client, the polling engine,
the artifacts and a renderer together. The engine itself knows none of them."""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobwatch import long_running
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
    from jobwatch.artifacts import ArtifactReport
    from jobwatch.polling import Watch
    from jobwatch.safefs import Parts

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


def _setting(runtime: Runtime, adapter: Adapter, flag: float | None, name: str
             ) -> float | None:
    """A flag (parsed already) wins over the profile, which wins over [defaults]."""
    if flag is not None:
        return flag
    if adapter.profile.get(name) is not None:
        return _duration(adapter.profile.get(name), adapter.profile.source(name), ConfigError)
    defaults = runtime.defaults()
    if defaults.get(name) is not None:
        return _duration(defaults.get(name), defaults.values[name].source, ConfigError)
    return None


def download_root(runtime: Runtime, flag: str | None) -> Path:
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


class GuardedProgress:
    """Download progress that ends the download once the watch has stopped. The download code
    calls it for every chunk, which makes it the place where a download running in a worker
    thread notices Ctrl-C (Cancelled) or the deadline (DownloadTimeout, as the download code
    itself raises it)."""

    def __init__(self, inner: Any, cancelled: threading.Event) -> None:
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
        from jobwatch.polling import Cancelled

        raise Cancelled(self.label)


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
        from jobwatch.artifacts import ArtifactReport
        from jobwatch.http import PastDeadline

        # The watch's own lists, filled as each file lands: after a stop midway (Ctrl-C,
        # SIGTERM, the deadline) the closing lines and --json still list what is on disk.
        report = ArtifactReport(saved=watch.downloads, failures=watch.download_failures)
        try:
            answered = self._detail(watch)
            if answered is not None:
                self._reports(watch, *answered, report)
            elif self.enabled and watch.job.artifacts:
                self._download(watch, report)
        except JobwatchError as exc:
            report.failures.append(exc.message)
            report.timed_out = report.timed_out or isinstance(
                exc, (DownloadTimeout, PastDeadline)) or (
                self.deadline is not None and time.monotonic() >= self.deadline)
        watch.downloads_cut = watch.downloads_cut or report.timed_out

    def _download(self, watch: Watch, report: ArtifactReport) -> None:
        from jobwatch.artifacts import download_artifacts, job_dir_name

        download_artifacts(
            self.client, self.root, job_dir_name(watch.provider, watch.job_id),
            watch.job.artifacts, categories=self.categories,
            credentials=self.adapter.credentials(), trusted=self.adapter.origin,
            redact=self.runtime.redact, log=self.runtime.request_log,
            progress=self._progress(watch), deadline=self.deadline,
            on_retry=self._retry_note(watch), sleep=self._sleep, parts=self.parts,
            report=report)

    def _progress(self, watch: Watch) -> Any:
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

        if not self.adapter.has_detail:
            return None
        note = self._retry_note(watch)
        log = self.runtime.request_log
        try:
            detail = retrying(lambda: self.adapter.fetch_detail(self.client, watch.job_id, log),
                              attempts=ONE_SHOT_ATTEMPTS, deadline=self.deadline,
                              sleep=self._sleep, on_retry=lambda exc, delay: note(exc.message,
                                                                                  delay),
                              hint=unreachable_hint(self.runtime.verbose))
        except JobwatchError as exc:
            if self.enabled and self.adapter.wants_detail(watch.job):
                raise
            self.renderer.problem(watch, f"no job details ({exc.message})")
            return None
        watch.detail = detail
        richer = self.adapter.normalize(detail, watch.job_id, log)
        watch.job = watch.job.replace(**{
            k: getattr(richer, k) for k in ("message", "created_at", "started_at", "finished_at",
                                            "job_type") if getattr(richer, k) is not None})
        return detail, richer

    def _reports(self, watch: Watch, detail: dict[str, Any], described: Any,
                 report: ArtifactReport) -> None:
        from jobwatch.artifacts import job_dir_name, write_reports

        errors, warnings = self.adapter.detail_reports(detail)
        self._show_errors(watch, errors, warnings)
        # The detail answer has the counts and lists the lightweight status answer lacks
        # (warned_items, warnings): either answer asking for the reports is enough.
        wanted = (self.adapter.wants_detail(watch.job) or self.adapter.wants_detail(described)
                  or errors or warnings)
        if self.enabled and wanted:
            write_reports(self.root, job_dir_name(watch.provider, watch.job_id), detail,
                          errors, warnings, self.categories, self.parts, report=report)

    def _show_errors(self, watch: Watch, errors: list[Any], warnings: list[Any]) -> None:
        if not errors and not warnings:
            return
        # The answer came through parse_json, which hid our secrets already.
        rows = self.adapter.error_rows(errors, ERRORS_SHOWN)
        rest = len(errors) - len(rows)
        footer = "; ".join(part for part in (
            f"… and {rest} more error(s)" if rest > 0 else "",
            f"{len(warnings)} warning(s)" if warnings else "") if part)
        self.renderer.report_table(f"{watch.label}: {len(errors)} error(s)",
                                   list(self.adapter.error_columns), rows, footer)


def choose_renderer(runtime: Runtime, opts: WaitOptions, clock: Callable[[], float],
                    resume: Callable[[list[Watch]], list[str]], *,
                    resumable: bool = True) -> Any:
    from jobwatch.ui import PlainRenderer, QuietRenderer

    stream = runtime.stderr
    if opts.quiet:
        return QuietRenderer(stream)
    # --verbose request lines would tear a live display: they get the plain one.
    if stream.isatty() and runtime.env.get("TERM") != "dumb" and not runtime.verbose:
        from jobwatch.live import LiveRenderer

        return LiveRenderer(stream, clock, resume=resume, resumable=resumable)
    return PlainRenderer(stream, clock, resume=resume, resumable=resumable)


# WaitOptions fields as command-line options, in the order a resume command lists them.
_VALUE_OPTIONS = {"timeout": "--timeout", "interval": "--interval",
                  "download_dir": "--download-dir", "artifacts": "--artifacts"}
_FLAG_OPTIONS = {"fail_fast": "--fail-fast", "strict": "--strict",
                 "no_download": "--no-download", "json_output": "--json",
                 "follow_related": "--follow-related"}
_DOWNLOAD_OPTIONS = ("download_dir", "artifacts")


def _as_options(opts: WaitOptions, names: Iterable[str]) -> list[str]:
    """The options that give ``opts``' chosen fields again."""
    options: list[str] = []
    for name in names:
        value = getattr(opts, name)
        if name in _FLAG_OPTIONS and value:
            options.append(_FLAG_OPTIONS[name])
        elif name in _VALUE_OPTIONS and value:
            options += [_VALUE_OPTIONS[name], value]
    return options


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
        if watch.outcome not in ("interrupted", "timeout") or watch.ended:
            continue
        if watch.parent is not None and any(p is watch.parent for p in listed):
            continue  # --follow-related finds it again from its parent
        listed.append(watch)
    commands = []
    if listed:
        options = common + _as_options(opts, (*_VALUE_OPTIONS, *_FLAG_OPTIONS))
        commands.append(_command("wait", provider, [w.job_id for w in listed], options))
    for watch in mine:  # ended, but its downloads were cut short
        if watch.ended and (watch.downloads_cut or watch.outcome in ("interrupted",
                                                                      "timeout")):
            options = common + _as_options(opts, _DOWNLOAD_OPTIONS)
            commands.append(_command("download", provider, [watch.job_id], options))
    return commands


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
    from jobwatch.polling import Engine, Settings, StopSignal, Watch
    from jobwatch.safefs import Parts
    from jobwatch.ui import json_lines, write_out

    checked = list(dict.fromkeys((p, ADAPTERS[p].validate_id(j)) for p, j in targets))
    providers = list(dict.fromkeys(p for p, _ in checked))
    categories = parse_categories(opts.artifacts, providers)
    # Parsed before the config is read: a usage error (2) comes before any config error (6).
    interval_flag, timeout_flag = (
        None if flag is None else _duration(flag, f"--{name}", UsageError)
        for flag, name in ((opts.interval, "interval"), (opts.timeout, "timeout")))
    adapters = {p: runtime.adapter(p) for p in providers}
    intervals: dict[str, float] = {}
    for provider, adapter in adapters.items():
        chosen = _setting(runtime, adapter, interval_flag, "interval")
        # `--interval 0` is the engine's floor (0.2 s), not "unset": only None is the default.
        intervals[provider] = adapter.default_interval if chosen is None else chosen
    # 0 means no limit, as with timeout(1) and curl --max-time; `--timeout 0` lifts a
    # configured one.
    timeout = _setting(runtime, adapters[providers[0]], timeout_flag, "timeout") or None
    root = download_root(runtime, opts.download_dir)
    start = clock()
    deadline = start + timeout if timeout is not None else None
    # Downloads measure the same deadline on the real clock.
    real_deadline = time.monotonic() + timeout if timeout is not None else None

    def resume(watches: list[Watch]) -> list[str]:
        return [command for provider in providers
                for command in resume_commands(runtime, provider, opts, watches)]

    cancelled = StopSignal()
    renderer = choose_renderer(runtime, opts, clock, resume, resumable=resumable)
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
        long_running()
        code = engine.run([Watch(p, job_id, interval=intervals[p]) for p, job_id in checked])
    if opts.json_output:
        # parse_json hid our secrets in every answer already; this is the belt to its braces.
        write_out(json_lines(engine.watches, runtime.profile))
    return code


def run_download(runtime: Runtime, provider: str, job_id: str, *,
                 download_dir: str | None = None, artifacts: str | None = None,
                 json_output: bool = False, quiet: bool = False) -> int:
    """Fetch the artifacts of a job that has already ended. Exit 0 when every file is saved
    (or there is none), 8 when one is not, whatever the job's own outcome (which the JSON line
    gives, by the same rule as `wait`); 3 while the job runs."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.polling import Watch, settle
    from jobwatch.status import fetch_once
    from jobwatch.ui import error_lines, json_lines, write_out

    job_id = ADAPTERS[provider].validate_id(job_id)  # first: the hint below repeats the id
    if not ADAPTERS[provider].artifact_categories:
        raise UsageError(f"{provider} jobs have no artifacts to download",
                         hint="see the job with: " + _command("status", provider, [job_id], []))
    categories = parse_categories(artifacts, [provider])
    adapter = runtime.adapter(provider)
    root = download_root(runtime, download_dir)
    renderer = choose_renderer(runtime, WaitOptions(quiet=quiet), time.monotonic, lambda w: [])
    long_running()  # a multi-GiB file can take a while
    with runtime.client(adapter, pool_size=1) as client:
        job = fetch_once(runtime, adapter, client, job_id, quiet=quiet)
        if not job.terminal:
            raise StillRunningError(
                f"{provider} job {job_id} has not ended yet ({job.status})",
                hint="wait for it and download in one go: "
                     + _command("wait", provider, [job_id], []))
        now = time.monotonic()
        watch = Watch(provider, job_id, started=now, job=job, ended_at=now)
        renderer.start([])
        try:
            Artifacts(runtime, adapter, client, renderer, root, categories, enabled=True
                      ).on_end(watch)
        finally:
            renderer.finish([], 0)
    watch.outcome = settle(job, watch.download_failures)
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
