"""`jobwatch download`: the files and reports of jobs that have already ended.

The jobs are looked up at once, then their files fetched one job after another on the main
thread, so Ctrl-C stops the download in flight (its .part removed) and the closing lines say
what was saved and how to fetch the rest.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from jobwatch import long_running
from jobwatch.errors import ExitCode, JobwatchError, StillRunningError, UsageError
from jobwatch.refs import JobRef
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.engine import Renderer, Watch
    from jobwatch.models import Job
    from jobwatch.output import Output
    from jobwatch.resume import Resume


def run_download(runtime: Runtime, refs: list[JobRef], output: Output, resume: Resume, *,
                 download_dir: str | None = None, artifacts: str | None = None) -> int:
    """Exit 0 when every file is saved (or there is none), 8 when one is not, whatever the
    jobs' own outcomes (which the JSON lines give, by the same rule as `wait`); 3 while a job
    runs; for several jobs, the code of the first in command-line order that is not 0."""
    from jobwatch.adapters import ADAPTERS
    from jobwatch.endofjob import check_download_dir, download_root, parse_categories
    from jobwatch.lookup import adapters_for, look_up
    from jobwatch.refs import unique
    from jobwatch.resume import command

    jobs = unique(refs, runtime.profile)
    bare = [r for r in jobs if not ADAPTERS[r.provider].artifact_categories]
    if bare:
        ref = bare[0]
        raise UsageError(f"{ref.provider} jobs have no artifacts to download",
                         hint="see the job with: "
                              + command("status", [_watch(ref)], resume.words([]),
                                        resume.profile))
    categories = parse_categories(artifacts, list(dict.fromkeys(r.provider for r in jobs)))
    check_download_dir(download_dir)
    adapters = adapters_for(runtime, jobs)
    root = download_root(runtime, download_dir)
    renderer = output.renderer(time.monotonic, title="jobwatch: downloading")
    long_running()  # a multi-GiB file can take a while
    first = adapters[jobs[0].provider, jobs[0].profile or runtime.profile]
    watches: list[Watch] = []
    codes: list[int] = []  # per job, in command-line order
    slots: list[int] = []  # where each of ``watches`` has its code
    with runtime.client(first, pool_size=min(16, len(jobs))) as client:
        answers = look_up(runtime, jobs, adapters, client, quiet=output.progress == "quiet")
        # --json: a line for every job given, in command-line order; a job that could not be
        # read gets one as `wait --json` gives it (outcome not_found, auth or unreachable).
        reported = [_unread(a.ref, a.error) for a in answers]
        if len(answers) == 1 and answers[0].error is not None:
            output.ended([w for w in reported if w is not None])
            raise answers[0].error
        renderer.start([])
        for n, answer in enumerate(answers):
            if answer.error is not None:
                codes.append(int(answer.error.exit_code))
                _say(runtime, f"{_label(answer.ref)}: {answer.error.message}", answer.error.hint)
            elif answer.job is not None and not answer.job.terminal:
                codes.append(int(_still_running(runtime, _watch(answer.ref, answer.job),
                                                len(answers) == 1, resume)))
            else:
                watches.append(_watch(answer.ref, answer.job))
                reported[n] = watches[-1]
                codes.append(0)
                slots.append(len(codes) - 1)
        try:
            for watch, slot in zip(watches, slots):
                codes[slot] = _fetch(runtime, adapters[watch.account], client, renderer, watch,
                                     root, categories)
        except KeyboardInterrupt:
            _interrupted(runtime, output, renderer, watches, resume,
                         [w for w in reported if w is not None])
            raise
        renderer.finish([], 0)
    output.ended([w for w in reported if w is not None])
    output.saved_paths(watches)
    for watch in watches:
        if not watch.downloads and not watch.download_failures and output.progress != "quiet":
            state = watch.job.state.value if watch.job is not None else "unknown"
            runtime.stderr.write(f"{watch.label} ({state}): nothing to download\n")
    code = next((code for code in codes if code != 0), 0)
    conclude = getattr(renderer, "conclude", None)  # GitHub Actions: annotations, outputs
    if conclude is not None:
        conclude(watches, code)
    return code


def _fetch(runtime: Runtime, adapter: object, client: object, renderer: Renderer,
           watch: Watch, root: object, categories: set[str] | None) -> int:
    from jobwatch.closing import error_lines
    from jobwatch.endofjob import EndOfJob
    from jobwatch.engine import settle

    EndOfJob(runtime, adapter, client, renderer, root, categories,  # type: ignore[arg-type]
             enabled=True).on_end(watch)
    assert watch.job is not None
    watch.outcome = settle(watch.job, watch.download_failures)
    if watch.download_failures:
        runtime.stderr.write(error_lines([watch]))
        return int(ExitCode.DOWNLOAD)
    return 0


def _watch(ref: JobRef, job: Job | None = None) -> Watch:
    from jobwatch.engine import Watch

    now = time.monotonic()
    return Watch(ref.provider, ref.job_id, profile=ref.profile or "default", started=now,
                 job=job, ended_at=now)


def _unread(ref: JobRef, error: JobwatchError | None) -> Watch | None:
    """The watch of a job its provider would not tell about, for its --json line; None for
    a job that was read (no error), or an error no job outcome names."""
    from jobwatch.engine.outcomes import unread

    outcome = unread(error) if error is not None else None
    if outcome is None:
        return None
    watch = _watch(ref)
    watch.error, watch.outcome = error, outcome
    return watch


def _label(ref: JobRef) -> str:
    return f"{ref.provider} {ref.job_id}"


def _still_running(runtime: Runtime, watch: Watch, alone: bool, resume: Resume) -> ExitCode:
    from jobwatch.resume import command

    assert watch.job is not None
    error = StillRunningError(
        f"{watch.provider} job {watch.job_id} has not ended yet ({watch.job.status})",
        hint="wait for it and download in one go: "
             + command("wait", [watch], resume.words([]), resume.profile))
    if alone:
        raise error
    _say(runtime, error.message, error.hint)
    return ExitCode.RUNNING


def _say(runtime: Runtime, message: str, hint: str | None) -> None:
    from jobwatch.text import printable

    runtime.stderr.write(printable(f"jobwatch: error: {message}") + "\n")
    if hint:
        runtime.stderr.write(printable(f"hint: {hint}") + "\n")


def _interrupted(runtime: Runtime, output: Output, renderer: Renderer, watches: list[Watch],
                 resume: Resume, reported: list[Watch]) -> None:
    """Ctrl-C: what was saved stays listed (and in --json), and the command that fetches the
    rest is said, as `wait` does."""
    from jobwatch.resume import command

    for watch in watches:
        if watch.outcome is None:
            watch.outcome = "interrupted"
            watch.downloads_cut = True
    abort = getattr(renderer, "abort", None)  # the live display gives the cursor back
    if abort is not None:
        abort()
    cut = [w for w in watches if w.downloads_cut]
    output.ended(reported)  # every job's line, the unread ones too, in command-line order
    if cut:
        runtime.stderr.write("jobwatch: interrupted: downloads stopped; resume with: "
                             + command("download", cut, resume.words(), resume.profile)
                             + "\n")
