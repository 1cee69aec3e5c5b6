"""The outcome rules, as functions over a watch or a job: what an ended job counts as, what a
watch the run stopped early counts as, and the run's exit code. Pure: `wait` and `download`
share them, and they are tested without an engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from jobwatch.errors import AuthError, ExitCode

if TYPE_CHECKING:
    from jobwatch.engine.watch import Watch
    from jobwatch.errors import JobwatchError
    from jobwatch.models import Job

# Why a run stopped before every job had settled: the deadline, Ctrl-C (or SIGTERM), or
# "stopped" (--fail-fast, a refused token with --fail-fast).
StopReason = Literal["timeout", "interrupted", "stopped"]

OUTCOME_CODES = {
    "succeeded": ExitCode.OK, "failed": ExitCode.FAILED, "timeout": ExitCode.TIMEOUT,
    "not_found": ExitCode.NOT_FOUND, "auth": ExitCode.AUTH, "unreachable": ExitCode.UNREACHABLE,
    "download_failed": ExitCode.DOWNLOAD, "interrupted": ExitCode.INTERRUPTED,
}


def exit_code_of(outcome: str | None) -> int:
    """A watch's own code; one with no outcome yet is still waiting, as at a timeout."""
    return int(OUTCOME_CODES.get(outcome or "timeout", ExitCode.TIMEOUT))


def job_failed(job: Job, *, with_errors: bool = False) -> bool:
    """An ended job counts as failed: it did not succeed, or (--strict) ``with_errors``."""
    from jobwatch.models import JobState

    return job.state is not JobState.SUCCEEDED or with_errors


def settle(job: Job, download_failures: list[str], *, with_errors: bool = False) -> str:
    """The outcome of an ended job once its files are fetched, for `wait` and `download`
    alike: a failed job is "failed" whatever happened to its files; a good one whose files
    did not all arrive is "download_failed"."""
    if job_failed(job, with_errors=with_errors):
        return "failed"
    return "download_failed" if download_failures else "succeeded"


def unread(error: JobwatchError) -> str | None:
    """The outcome of a job that could not be read at all (`download` looks jobs up once):
    the code of its error said as an outcome, None for an error no outcome names."""
    found = [o for o in ("not_found", "auth", "unreachable")
             if OUTCOME_CODES[o] == error.exit_code]
    return found[0] if found else None


def refused(error: JobwatchError) -> str:
    """The outcome of a job the provider would not tell about: its token was refused, or it
    does not know the job."""
    return "auth" if isinstance(error, AuthError) else "not_found"


def give_up(watch: Watch, reason: StopReason, *, with_errors: bool = False) -> str:
    """The outcome of a watch still open when the run stopped early. A job that had not ended
    was cut short ("timeout", or "interrupted" for Ctrl-C and --fail-fast). One that had
    ended but whose files were still on their way counts by its own result when that was a
    failure; otherwise its files are what is missing: at the deadline that is a download
    failure (`jobwatch download` fetches them), else an interruption."""
    if watch.job is None or not watch.job.terminal:
        return "timeout" if reason == "timeout" else "interrupted"
    if job_failed(watch.job, with_errors=with_errors):
        return "failed"
    return "download_failed" if reason == "timeout" else "interrupted"


def run_exit_code(watches: Iterable[Watch], *, stopped: bool = False) -> int:
    """The run's code: that of the first watch, in command-line order, that is not 0 (followed
    jobs sit after their parent). After --fail-fast (``stopped``) the jobs left unwatched say
    nothing; of those whose answers had arrived by then, the first on the command line
    speaks."""
    for watch in watches:
        if stopped and watch.outcome == "interrupted":
            continue
        if watch.exit_code != ExitCode.OK:
            return watch.exit_code
    return int(ExitCode.OK)
