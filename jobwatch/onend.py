"""`wait --on-end CMD` wired to the watch: the engine's end of each job becomes a hook run
(jobwatch.hooks runs them, one at a time), and the watch's end decides what happens to the
hooks still queued. The command comes from --on-end, else `on_end` in [defaults]."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from jobwatch.engine.events import NoObserver

if TYPE_CHECKING:
    from jobwatch.engine import Renderer, StopSignal, Watch
    from jobwatch.hooks import HookRunner
    from jobwatch.runtime import Runtime

STOPPED = {"timeout": "the watch stopped at --timeout",
           "stopped": "--fail-fast stopped the watch",
           "interrupted": "interrupted"}


def on_end_command(runtime: Runtime, flag: str | None) -> str | None:
    """--on-end, else [defaults] on_end (refused from a file others can write), else None.
    An empty --on-end is a usage error."""
    if flag is not None:
        from jobwatch.hooks import check_command  # subprocess and the rest: only with a hook

        check_command(flag)
        return flag
    configured = runtime.defaults().on_end()
    return None if configured is None else configured.value


class OnEnd(NoObserver):
    """Hands each job whose watch ended to the hook runner, unless the watch has stopped
    (no hook starts after a timeout, Ctrl-C or --fail-fast)."""

    def __init__(self, runner: HookRunner, cancelled: StopSignal,
                 redact: Callable[[str], str]) -> None:
        self.runner = runner
        self.cancelled = cancelled
        self.redact = redact

    def end(self, watch: Watch) -> None:
        from jobwatch.hooks import HookJob
        from jobwatch.lines import wait_line
        from jobwatch.models import json_line, json_text

        if self.cancelled.is_set():
            self.runner.stop(STOPPED.get(self.cancelled.reason or "", "the watch stopped"))
        line = wait_line(watch)
        data = line.to_json_dict()
        data.pop("raw", None)
        message = line.message or (watch.error.message if watch.error else None)
        self.runner.submit(HookJob(
            provider=watch.provider, profile=watch.profile, job_id=watch.job_id,
            state=line.state.value, outcome=line.outcome, exit_code=watch.exit_code,
            message=message, downloads=[str(saved.path) for saved in watch.downloads],
            # What the hook is given is our output too: no secret in it.
            job_json=self.redact(json_line(line)), job_json_without_raw=self.redact(
                json_text(data)), label=watch.label))

    def close(self, code: int) -> None:
        """After the watch: wait for the hooks still to run, or stop them (Ctrl-C)."""
        if code == 130:
            self.runner.interrupt()
            return
        if self.cancelled.is_set():
            self.runner.stop(STOPPED.get(self.cancelled.reason or "", "the watch stopped"))
        try:
            self.runner.finish()
        except KeyboardInterrupt:
            self.runner.interrupt()
            from jobwatch.errors import Interrupted

            # The closing lines said how the watch ended; this says why the exit is 130.
            raise Interrupted(f"interrupted while an on-end hook ran (the watch itself had "
                              f"ended with exit {code})") from None


def hook_runner(runtime: Runtime, command: str, renderer: Renderer, deadline: float | None,
                clock: Callable[[], float], token_vars: Iterable[str]) -> HookRunner:
    from jobwatch.hooks import HookRunner

    def warn(text: str) -> None:
        renderer.say([f"jobwatch: warning: {text}"])

    return HookRunner(command, env=os.environ, on_line=lambda line: renderer.say([line]),
                      on_lines=renderer.say, on_warning=warn, redact=runtime.redact,
                      deadline=deadline, clock=clock, drop=token_vars)
