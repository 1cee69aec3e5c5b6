"""`jobwatch status`: one answer per job, a summary (or a JSON line) each, and an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobwatch.errors import ExitCode, JobwatchError
from jobwatch.refs import JobRef
from jobwatch.runtime import Runtime

if TYPE_CHECKING:
    from jobwatch.lookup import Answer
    from jobwatch.models import JobState
    from jobwatch.output import Output


def exit_code_for(state: JobState) -> ExitCode:
    from jobwatch.models import JobState

    return {JobState.SUCCEEDED: ExitCode.OK, JobState.FAILED: ExitCode.FAILED,
            JobState.CANCELED: ExitCode.FAILED}.get(state, ExitCode.RUNNING)


def status_command(runtime: Runtime, jobs: list[str], *, json_output: bool,
                   quiet: bool) -> int:
    """`jobwatch status JOBS...` once its options are read, by Click or by the fast path."""
    from jobwatch.output import Output
    from jobwatch.refs import parse_refs

    refs = parse_refs(jobs, stderr=runtime.stderr)
    return run_status(runtime, refs, Output.choose(runtime, json_output=json_output,
                                                   quiet=quiet))


def run_status(runtime: Runtime, refs: list[JobRef], output: Output) -> int:
    """Exit 0 when every job succeeded, else the code of the first job, in command-line order,
    that did not (3 while it runs)."""
    from jobwatch.lookup import adapters_for, look_up
    from jobwatch.refs import unique

    jobs = unique(refs, runtime.profile)
    adapters = adapters_for(runtime, jobs)
    first = adapters[jobs[0].provider, jobs[0].profile or runtime.profile]
    with runtime.client(first, pool_size=min(16, len(jobs))) as client:
        answers = look_up(runtime, jobs, adapters, client, quiet=output.data == "none")
    if len(answers) == 1 and answers[0].error is not None:
        raise answers[0].error  # one job: its error is the command's, said once
    codes = []
    shown = 0
    for answer in answers:
        if answer.job is not None:
            if shown:
                output.separator()
            output.job(answer.job)
            shown += 1
            codes.append(int(exit_code_for(answer.job.state)))
        elif answer.error is not None:
            codes.append(int(answer.error.exit_code))
    _say_errors(runtime, answers)
    return next((code for code in codes if code != 0), 0)


def _say_errors(runtime: Runtime, answers: list[Answer]) -> None:
    """One `jobwatch: error:` line per job that did not answer; a refused token once for its
    provider and profile, and each hint once."""
    from jobwatch.text import printable

    said: set[int] = set()
    hints: set[str] = set()
    for answer in answers:
        error: JobwatchError | None = answer.error
        if error is None:
            continue
        label = f"{answer.ref.provider} {answer.ref.job_id}"
        if id(error) in said:  # the same refusal, shared by the jobs of one account
            continue
        said.add(id(error))
        # "claret job 2 not found" names its job already; "refused the token" does not.
        said_whose = answer.ref.job_id in error.message
        message = error.message if said_whose else f"{label}: {error.message}"
        runtime.stderr.write(printable(f"jobwatch: error: {message}") + "\n")
        if error.hint and error.hint not in hints:
            hints.add(error.hint)
            runtime.stderr.write(printable(f"hint: {error.hint}") + "\n")
    runtime.stderr.flush()
