"""Where output goes, decided once per command: `status`, `wait` and `download` ask here.

Two streams, two choices. stdout carries data: a summary per job (`status`), the saved paths
(`download`), JSON Lines (`--json`), or nothing (`--quiet`). stderr carries what a person
watches: the live display on a terminal, plain lines elsewhere (CI logs), nothing with
`--quiet` but errors. Adding a mode is adding it here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from jobwatch.engine import Observer, Renderer, Watch
    from jobwatch.models import Job
    from jobwatch.runtime import Runtime

Data = Literal["text", "json", "events", "none"]
Progress = Literal["live", "plain", "quiet"]


@dataclass(frozen=True)
class Output:
    data: Data
    progress: Progress
    color: bool  # on stdout (a status summary); stderr's live display decides for itself
    stderr: TextIO
    profile: str = "default"  # the run's profile, for jobs that never answered
    actions: Mapping[str, str] | None = None  # GitHub Actions' environment, in Actions mode
    redact: Callable[[str], str] = str

    @classmethod
    def choose(cls, runtime: Runtime, *, json_output: bool = False, quiet: bool = False,
               events: bool = False) -> Output:
        from jobwatch.ui import wants_color

        if json_output and events:
            from jobwatch.errors import UsageError

            raise UsageError("--events and --json cannot go together",
                             hint="--events ends each job with its --json line already "
                                  "(the \"end\" event)")
        data: Data = ("json" if json_output else "events" if events else "none" if quiet
                      else "text")
        stream = runtime.stderr
        actions = False
        if runtime.env.get("GITHUB_ACTIONS"):  # jobwatch.github only where it may apply
            from jobwatch.github import active

            actions = active(runtime.env)
        progress: Progress
        if quiet:
            progress = "quiet"
        # --verbose request lines would tear a live display, and an Actions log keeps every
        # cursor code: both get the plain one.
        elif (stream.isatty() and runtime.env.get("TERM") != "dumb" and not runtime.verbose
              and not actions):
            progress = "live"
        else:
            progress = "plain"
        return cls(data, progress, wants_color(sys.stdout, runtime.env), stream,
                   runtime.profile, runtime.env if actions else None, runtime.redact)

    def renderer(self, clock: Callable[[], float],
                 resume: Callable[[list[Watch]], list[str]] | None = None, *,
                 resumable: bool = True, concerns: Callable[[Watch], object] | None = None,
                 title: str | None = None) -> Renderer:
        """What `wait` and `download` report progress through, on stderr. ``concerns`` (in
        GitHub Actions): why a job that succeeded still deserves a warning."""
        inner = self._renderer(clock, resume, resumable)
        if self.actions is None:
            return inner
        from jobwatch.github import GitHubActions, job_concerns

        return GitHubActions(inner, self.stderr, self.actions, clock,
                             group=self.progress == "plain", title=title, redact=self.redact,
                             concerns=concerns or job_concerns)  # type: ignore[arg-type]

    def _renderer(self, clock: Callable[[], float],
                  resume: Callable[[list[Watch]], list[str]] | None,
                  resumable: bool) -> Renderer:
        from jobwatch.closing import no_resume
        from jobwatch.ui import PlainRenderer, QuietRenderer

        if self.progress == "quiet":
            return QuietRenderer(self.stderr, resume=resume or no_resume, resumable=resumable)
        if self.progress == "live":
            from jobwatch.live.renderer import LiveRenderer

            return LiveRenderer(self.stderr, clock, resume=resume or no_resume,
                                resumable=resumable)
        # Batched lines, but in GitHub Actions: its group must close after the last of them.
        return PlainRenderer(self.stderr, clock, resume=resume or no_resume,
                             resumable=resumable, batch=self.actions is None)

    # -- stdout ----------------------------------------------------------------------------

    def job(self, job: Job) -> None:
        """`status`: the job as a summary, a JSON line, or nothing."""
        from jobwatch.ui import job_json, status_summary, write_out

        if self.data == "json":
            write_out(self._json(job_json(job)) + "\n")
        elif self.data == "text":
            text = status_summary(job, self.color)
            if self.actions is not None:
                from jobwatch.github import safe_line

                text = "".join(safe_line(line) + "\n" for line in text.splitlines())
            write_out(text)

    def separator(self) -> None:
        """Between the summaries of several jobs (a blank line); JSON Lines need none."""
        from jobwatch.ui import write_out

        if self.data == "text":
            write_out("\n")

    def ended(self, watches: list[Watch]) -> None:
        """`wait --json` and `download --json`: one line per job, in command-line order."""
        from jobwatch.ui import json_lines, write_out

        if self.data == "json" and watches:
            write_out("".join(self._json(line) + "\n"
                              for line in json_lines(watches, self.profile).splitlines()))

    def observers(self) -> list[Observer]:
        """Who hears the engine's events for the output: `wait --events`' writer."""
        if self.data != "events":
            return []
        from jobwatch.lines import EventWriter
        from jobwatch.ui import write_out

        return [EventWriter(lambda line: write_out(self._json(line) + "\n"))]

    def _json(self, line: str) -> str:
        """A JSON line; in GitHub Actions, written so the runner cannot read a command in it
        (the same data)."""
        if self.actions is None:
            return line
        from jobwatch.github import safe_json_line

        return safe_json_line(line)

    def saved_paths(self, watches: list[Watch]) -> None:
        """`download`: the path of every file saved, one per line, for `xargs` and friends."""
        from jobwatch.ui import write_out

        if self.data == "text":
            write_out("".join(f"{saved.path}\n" for w in watches for saved in w.downloads))
