"""`jobwatch wait` and `jobwatch download`: wire the adapter, the client, the polling engine,
the artifacts and a renderer together. The engine itself knows none of them."""

from __future__ import annotations

import os
import shlex
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobwatch.errors import ConfigError, ExitCode, JobwatchError, StillRunningError, UsageError
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter
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


def download_root(runtime: Runtime, flag: str | None) -> Path:
    chosen = flag or runtime.defaults().get("download_dir")
    return Path(os.path.expanduser(str(chosen))) if chosen else Path.cwd()


def parse_categories(value: str | None) -> set[str] | None:
    if not value:
        return None
    categories = {part.strip().lower() for part in value.split(",") if part.strip()}
    known = {"input", "staging", "output", "errors", "warnings", "job"}
    unknown = categories - known
    if unknown:
        raise UsageError(f"unknown artifact categories: {', '.join(sorted(unknown))}",
                         hint=f"choose from {', '.join(sorted(known))}")
    return categories


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the watch exactly like Ctrl-C does."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests driving run_wait directly)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Artifacts:
    """What happens when a job ends: MerchantOps' detail once, Claret's files, reports."""

    def __init__(self, runtime: Runtime, adapter: Adapter, client: Any, renderer: Any,
                 root: Path, categories: set[str] | None, enabled: bool) -> None:
        self.runtime = runtime
        self.adapter = adapter
        self.client = client
        self.renderer = renderer
        self.root = root
        self.categories = categories
        self.enabled = enabled

    def on_end(self, watch: Watch) -> None:
        from jobwatch.artifacts import ArtifactReport, download_artifacts, job_dir_name

        report = ArtifactReport()
        try:
            if self.adapter.name == "merchantops":
                report = self._merchantops(watch)
            elif self.enabled and watch.job.artifacts:
                report = download_artifacts(
                    self.client, self.root, job_dir_name(watch.provider, watch.job_id),
                    watch.job.artifacts, categories=self.categories,
                    credentials=self.adapter.credentials(), trusted=self.adapter.origin,
                    redact=self.runtime.redact, log=self.runtime.request_log,
                    progress=self.renderer.download_progress(watch))
        except JobwatchError as exc:
            report.failures.append(exc.message)
        watch.downloads += report.saved
        watch.download_failures += report.failures
        if report.failures and watch.outcome == "succeeded":
            watch.outcome = "download_failed"

    def _merchantops(self, watch: Watch) -> Any:
        from jobwatch.artifacts import ArtifactReport, job_dir_name, write_merchantops_reports
        from jobwatch.http import retrying

        detail = retrying(lambda: self.adapter.fetch_detail(
            self.client, watch.job_id, self.runtime.request_log), attempts=3)
        watch.detail = detail
        richer = self.adapter.normalize(detail, watch.job_id)
        watch.job = watch.job.replace(**{
            k: getattr(richer, k) for k in ("message", "created_at", "started_at", "finished_at",
                                            "job_type") if getattr(richer, k) is not None})
        errors = detail.get("errors") if isinstance(detail.get("errors"), list) else []
        warnings = detail.get("warnings") if isinstance(detail.get("warnings"), list) else []
        self._show_errors(watch, errors, warnings)
        wanted = self.adapter.wants_detail(watch.job) or errors or warnings
        if not (self.enabled and wanted):
            return ArtifactReport()
        report = write_merchantops_reports(self.root, job_dir_name(watch.provider, watch.job_id),
                                           detail)
        if self.categories is not None:
            report.saved = [s for s in report.saved if s.category in self.categories]
        return report

    def _show_errors(self, watch: Watch, errors: list[Any], warnings: list[Any]) -> None:
        if not errors and not warnings:
            return
        rows = [[str(e.get("error_type", "")), str(e.get("entity_key", "")),
                 " ".join(str(e.get("message", "")).split())]
                for e in errors[:ERRORS_SHOWN] if isinstance(e, dict)]
        rest = len(errors) - len(rows)
        footer = (f"… and {rest} more error(s)" if rest > 0 else "") + (
            f"{'; ' if rest > 0 else ''}{len(warnings)} warning(s)" if warnings else "")
        if hasattr(self.renderer, "report_table") and rows:
            self.renderer.report_table(f"{watch.label}: {len(errors)} error(s)",
                                       ["type", "key", "message"], rows, footer)
        else:
            lines = [f"error {r[0]} {r[1]}: {r[2]}" for r in rows]
            self.renderer.report(watch, [f"{len(errors)} error(s)", *lines]
                                 + ([footer] if footer else []))


def choose_renderer(runtime: Runtime, opts: WaitOptions, clock: Callable[[], float],
                    resume: Callable[[list[Watch]], str]) -> Any:
    from jobwatch.ui import LiveRenderer, PlainRenderer, QuietRenderer

    stream = runtime.stderr
    if opts.quiet:
        return QuietRenderer(stream)
    # --verbose request lines would tear a live display: they get the plain one.
    if stream.isatty() and runtime.env.get("TERM") != "dumb" and not runtime.verbose:
        return LiveRenderer(stream, clock, resume=resume)
    return PlainRenderer(stream, clock, resume=resume)


def resume_command(runtime: Runtime, provider: str, opts: WaitOptions,
                   watches: list[Watch]) -> str:
    ids = [w.job_id for w in watches if w.outcome in ("interrupted", "timeout") and
           w.parent is None and w.provider == provider]
    if not ids:
        return ""
    argv = ["jobwatch", "wait", provider, *ids]
    if runtime.profile != "default":
        argv += ["--profile", runtime.profile]
    if runtime.config_path:
        argv += ["--config", runtime.config_path]
    for flag, value in (("--timeout", opts.timeout), ("--interval", opts.interval),
                        ("--download-dir", opts.download_dir), ("--artifacts", opts.artifacts)):
        if value:
            argv += [flag, value]
    for flag, on in (("--fail-fast", opts.fail_fast), ("--strict", opts.strict),
                     ("--no-download", opts.no_download), ("--json", opts.json_output),
                     ("--follow-related", opts.follow_related)):
        if on:
            argv.append(flag)
    return shlex.join(argv)


def run_wait(runtime: Runtime, provider: str, job_ids: list[str], opts: WaitOptions, *,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> int:
    return watch_jobs(runtime, [(provider, job_id) for job_id in job_ids], opts, clock=clock,
                      sleep=sleep)


def watch_jobs(runtime: Runtime, targets: list[tuple[str, str]], opts: WaitOptions, *,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep,
               resume_provider: str | None = None) -> int:
    """Watch (provider, job_id) pairs to the end. The CLI passes one provider; the demo, four."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.polling import Engine, Settings, Watch
    from jobwatch.ui import json_lines, write_out

    checked = list(dict.fromkeys((p, ADAPTERS[p].validate_id(j)) for p, j in targets))
    providers = list(dict.fromkeys(p for p, _ in checked))
    categories = parse_categories(opts.artifacts)
    if opts.follow_related and "retailgrid" not in providers:
        raise UsageError("--follow-related is for retailgrid's related grid-fill jobs")
    adapters = {p: runtime.adapter(p) for p in providers}
    intervals = {p: _setting(runtime, a, opts.interval, "interval") or a.default_interval
                 for p, a in adapters.items()}
    timeout = _setting(runtime, adapters[providers[0]], opts.timeout, "timeout")
    root = download_root(runtime, opts.download_dir)
    start = clock()

    def resume(watches: list[Watch]) -> str:
        return resume_command(runtime, resume_provider or providers[0], opts, watches)

    renderer = choose_renderer(runtime, opts, clock, resume)
    workers = min(16, len(checked) + (1 if opts.follow_related else 0))
    # One client for the run; the first profile's TLS settings (the CLI has one provider).
    with runtime.client(adapters[providers[0]], pool_size=workers) as client, \
            sigterm_as_interrupt():
        artifacts = {p: Artifacts(runtime, a, client, renderer, root, categories,
                                  enabled=not opts.no_download) for p, a in adapters.items()}

        def fetch(watch: Watch) -> Any:
            return adapters[watch.provider].fetch(client, watch.job_id, runtime.request_log)

        def on_end(watch: Watch) -> None:
            artifacts[watch.provider].on_end(watch)

        def discover(watch: Watch) -> list[Watch]:
            if not opts.follow_related or watch.provider != "retailgrid":
                return []
            related = ADAPTERS["retailgrid"].related_job_id(watch.job)
            return [Watch("retailgrid", related, index=watch.index, parent=watch,
                          interval=intervals["retailgrid"])] if related else []

        engine = Engine(
            fetch, renderer,
            Settings(interval=intervals[providers[0]],
                     deadline=start + timeout if timeout is not None else None,
                     fail_fast=opts.fail_fast, strict=opts.strict, workers=workers),
            clock=clock, sleep=sleep, on_end=on_end, discover=discover)
        watches = [Watch(p, job_id, index=i, interval=intervals[p])
                   for i, (p, job_id) in enumerate(checked)]
        code = engine.run(watches)
    if opts.json_output:
        write_out(json_lines(engine.watches))
    return code


def run_download(runtime: Runtime, provider: str, job_id: str, *,
                 download_dir: str | None = None, artifacts: str | None = None,
                 json_output: bool = False, quiet: bool = False) -> int:
    """Fetch the artifacts of a job that has already ended."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.http import retrying
    from jobwatch.polling import Watch
    from jobwatch.status import exit_code_for
    from jobwatch.ui import json_lines, outcome_text, write_out

    job_id = ADAPTERS[provider].validate_id(job_id)
    categories = parse_categories(artifacts)
    adapter = runtime.adapter(provider)
    root = download_root(runtime, download_dir)
    opts = WaitOptions(quiet=quiet)
    renderer = choose_renderer(runtime, opts, time.monotonic, lambda watches: "")
    with runtime.client(adapter, pool_size=1) as client:
        job = retrying(lambda: adapter.fetch(client, job_id, runtime.request_log), attempts=3)
        if not job.terminal:
            raise StillRunningError(
                f"{provider} job {job_id} has not ended yet ({job.status})",
                hint=f"wait for it and download in one go: jobwatch wait {provider} {job_id}")
        watch = Watch(provider, job_id, index=0, started=time.monotonic(), job=job)
        watch.outcome = "succeeded" if job.state.value == "succeeded" else "failed"
        renderer.start([watch])
        Artifacts(runtime, adapter, client, renderer, root, categories, enabled=True
                  ).on_end(watch)
        renderer.finish([watch], int(exit_code_for(job.state.value)))
    if json_output:
        write_out(json_lines([watch]))
    elif not watch.downloads and not watch.download_failures and not quiet:
        runtime.stderr.write(f"{watch.label}: {outcome_text(watch)}; nothing to download\n")
    for saved in watch.downloads:
        if not json_output:
            write_out(f"{saved.path}\n")
    if watch.download_failures:
        return int(ExitCode.DOWNLOAD)
    return 0

