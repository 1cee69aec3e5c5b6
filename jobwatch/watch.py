"""`jobwatch wait`, wired: the adapters of each provider and profile, the one client, the
polling engine, what happens when a job ends, and the output. The engine itself knows none of
them; `jobwatch demo` watches its simulator through this same function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch import long_running
from jobwatch.clock import SYSTEM_CLOCK, Clock
from jobwatch.errors import ConfigError, UsageError
from jobwatch.refs import JobRef
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.adapters.base import Adapter
    from jobwatch.engine import Observer, Watch
    from jobwatch.models import Job
    from jobwatch.output import Output
    from jobwatch.resume import Resume

Account = tuple[str, str]  # (provider, profile): the jobs that share a token and settings


@dataclass
class WaitOptions:
    """`wait`'s options as typed (durations still text: a bad one is a usage error, said
    before any config error)."""

    timeout: str | None = None
    interval: str | None = None
    fail_fast: bool = False
    strict: bool = False
    download_dir: str | None = None
    no_download: bool = False
    artifacts: str | None = None
    follow_related: bool = False
    not_found_grace: str | None = None
    on_end: str | None = None  # a shell command, from --on-end (else [defaults] on_end)


def flag_duration(value: str | None, name: str) -> float | None:
    from jobwatch.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--{name}: {exc}") from None


def _setting(runtime: Runtime, adapter: Adapter, flag: float | None, name: str
             ) -> float | None:
    """A flag (parsed already) wins over the profile, which wins over [defaults]."""
    if flag is not None:
        return flag
    if adapter.profile.get(name) is not None:
        return _config_duration(adapter.profile.get(name), adapter.profile.source(name))
    defaults = runtime.defaults()
    if defaults.get(name) is not None:
        return _config_duration(defaults.get(name), defaults.values[name].source)
    return None


def _config_duration(value: object, where: str) -> float:
    from jobwatch.durations import parse_duration

    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _not_found_grace(runtime: Runtime, flag: float | None) -> float:
    """--not-found-grace, else [defaults] not_found_grace, else none."""
    if flag is not None:
        return flag
    configured = runtime.defaults().duration("not_found_grace")
    return configured.value if configured is not None else 0.0


@dataclass
class _Plan:
    """What the flags and the config decide for a run, all of it settled before any request:
    an unknown profile or a missing token is one error, not a watch half started."""

    accounts: list[Account]
    adapters: dict[Account, Adapter]
    intervals: dict[Account, float]
    timeout: float | None
    not_found_grace: float
    categories: set[str] | None
    root: Path
    on_end: str | None  # the command to run as each job's watch ends


def _plan(runtime: Runtime, jobs: list[JobRef], opts: WaitOptions) -> _Plan:
    from jobwatch.endofjob import check_download_dir, download_root, parse_categories
    from jobwatch.onend import on_end_command

    categories = parse_categories(opts.artifacts, list(dict.fromkeys(r.provider for r in jobs)))
    check_download_dir(opts.download_dir)
    # Parsed before the config is read: a usage error (2) comes before any config error (6).
    if opts.on_end is not None:
        on_end_command(runtime, opts.on_end)  # "" is a usage error
    interval_flag = flag_duration(opts.interval, "interval")
    timeout_flag = flag_duration(opts.timeout, "timeout")
    grace_flag = flag_duration(opts.not_found_grace, "not-found-grace")
    accounts = list(dict.fromkeys((r.provider, r.profile or runtime.profile) for r in jobs))
    adapters = {account: runtime.adapter(*account) for account in accounts}
    intervals: dict[Account, float] = {}
    for account, adapter in adapters.items():
        chosen = _setting(runtime, adapter, interval_flag, "interval")
        # `--interval 0` is the engine's floor (0.2 s), not "unset": only None is the default.
        intervals[account] = adapter.default_interval if chosen is None else chosen
    # 0 means no limit, as with timeout(1) and curl --max-time; `--timeout 0` lifts a
    # configured one.
    timeout = _setting(runtime, adapters[accounts[0]], timeout_flag, "timeout") or None
    return _Plan(accounts, adapters, intervals, timeout, _not_found_grace(runtime, grace_flag),
                 categories, download_root(runtime, opts.download_dir),
                 on_end_command(runtime, opts.on_end))


def wait_command(runtime: Runtime, jobs: list[str], opts: WaitOptions, *, json_output: bool,
                 events: bool, quiet: bool, resume: Resume) -> int:
    """`jobwatch wait JOBS...` once its options are read, by Click or by the fast path."""
    from jobwatch.output import Output
    from jobwatch.refs import parse_refs

    refs = parse_refs(jobs, stderr=runtime.stderr)
    output = Output.choose(runtime, json_output=json_output, quiet=quiet, events=events)
    return watch_jobs(runtime, refs, opts, output, resume=resume)


def watch_jobs(runtime: Runtime, refs: list[JobRef], opts: WaitOptions, output: Output, *,
               resume: Resume | None = None, clock: Clock = SYSTEM_CLOCK,
               observers: Sequence[Observer] = ()) -> int:
    """Watch the jobs to the end; the exit code of the first, in command-line order, that did
    not succeed. ``resume`` None (the demo, whose simulator stops with it): no resume
    commands, and no claim that the remote jobs keep running; a stop stops the watch.
    ``observers`` hear what the engine sees (jobwatch.engine.events), in the order it
    happens."""
    from jobwatch.adapters.capabilities import detail_endpoint, related_job_ids
    from jobwatch.endofjob import EndOfJob
    from jobwatch.engine import Engine, JobHooks, Observers, Settings, StopSignal, Watch
    from jobwatch.engine.loop import GATHER
    from jobwatch.refs import unique
    from jobwatch.resume import resume_commands
    from jobwatch.safefs import Parts

    jobs = unique(refs, runtime.profile)
    plan = _plan(runtime, jobs, opts)
    adapters = plan.adapters
    # One deadline on one clock, for the polls and for the end-of-job work alike.
    deadline = clock.now() + plan.timeout if plan.timeout is not None else None
    mixed = len({profile for _, profile in plan.accounts}) > 1

    def new_watch(provider: str, profile: str, job_id: str, parent: Watch | None = None
                  ) -> Watch:
        return Watch(provider, job_id, profile=profile, parent=parent,
                     show_profile=mixed and profile != runtime.profile,
                     interval=plan.intervals[provider, profile])

    def concerns(watch: Watch) -> list[str]:
        """Why a job that succeeded still deserves a warning in GitHub Actions: the counts its
        detail answer lists, or the adapter's word that it ended with errors (a Claret job
        with an errors file)."""
        from jobwatch.github import job_concerns

        adapter = adapters[watch.account]
        source = detail_endpoint(adapter)
        errors, warnings = (source.detail_reports(watch.detail)
                            if source is not None and watch.detail is not None else ([], []))
        return job_concerns(watch, errors=len(errors), warnings=len(warnings),
                            with_errors=watch.job is not None
                            and adapter.ended_with_errors(watch.job, watch.detail))

    cancelled = StopSignal()
    renderer = output.renderer(
        clock.now, (lambda watches: resume_commands(resume, watches)) if resume else None,
        resumable=resume is not None, concerns=concerns)
    hooks = None
    if plan.on_end is not None:
        from jobwatch.onend import OnEnd, hook_runner

        token_vars = [a.profile.get("token_env") for a in adapters.values()
                      if a.profile.get("token_env")]
        hooks = OnEnd(hook_runner(runtime, plan.on_end, renderer, deadline, clock.now,
                                  token_vars), cancelled, runtime.redact)
    events = Observers([*observers, *output.observers(), *([hooks] if hooks else [])])
    workers = min(16, len(jobs) + (1 if opts.follow_related else 0))
    with runtime.client(adapters[plan.accounts[0]], pool_size=workers) as client:
        parts = Parts()
        ends = {account: EndOfJob(runtime, adapter, client, renderer, plan.root,
                                  plan.categories, enabled=not opts.no_download,
                                  deadline=deadline, cancelled=cancelled, parts=parts,
                                  clock=clock, on_saved=events.download)
                for account, adapter in adapters.items()}

        def fetch(watch: Watch) -> Job:
            return adapters[watch.account].fetch(client, watch.job_id, runtime.request_log)

        def discover(watch: Watch) -> list[Watch]:
            if not opts.follow_related or watch.job is None:
                return []
            return [new_watch(watch.provider, watch.profile, related, watch)
                    for related in related_job_ids(adapters[watch.account], watch.job)]

        def has_errors(watch: Watch) -> bool:
            assert watch.job is not None  # asked of ended jobs only
            return adapters[watch.account].ended_with_errors(watch.job, watch.detail)

        engine = Engine(
            fetch, renderer,
            Settings(interval=plan.intervals[plan.accounts[0]], deadline=deadline,
                     fail_fast=opts.fail_fast, strict=opts.strict, workers=workers,
                     not_found_grace=plan.not_found_grace, gather=GATHER),
            clock=clock, observers=events, cancelled=cancelled,
            hooks=JobHooks(on_end=lambda w: ends[w.account].on_end(w),
                           needs_end=lambda w: ends[w.account].needed(w), discover=discover,
                           has_errors=has_errors, on_stop=parts.remove_all))
        long_running()
        code = engine.run([new_watch(r.provider, r.profile or runtime.profile, r.job_id)
                           for r in jobs])
        try:
            if hooks is not None:
                hooks.close(code)
        finally:  # Ctrl-C while the last hooks run: the jobs' lines are still printed
            output.ended(engine.watches)
    return code
