"""One watched job: what the engine, the renderers and the JSON lines know about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobwatch.engine.outcomes import exit_code_of

if TYPE_CHECKING:
    from jobwatch.artifacts import Saved
    from jobwatch.errors import JobwatchError
    from jobwatch.models import Job


@dataclass(eq=False)
class Watch:
    """One job being watched, and everything the display and the JSON lines need about it.
    Changed by the engine's loop, except where a field says otherwise."""

    provider: str
    job_id: str
    profile: str = "default"
    show_profile: bool = False  # in the label: the run mixes profiles, this one is not the default
    started: float = 0.0  # a clock reading: the watch began (the not-found grace counts from it)
    job: Job | None = None  # the latest answer (EndOfJob enriches it with the detail answer)
    outcome: str | None = None
    error: JobwatchError | None = None
    failures: int = 0  # transient failures in a row
    last_problem: str | None = None
    waiting: bool = False  # not found yet, within --not-found-grace: "waiting to appear"
    ended_at: float | None = None
    # Filled by on_end work on a worker thread, one file at a time: after a stop midway the
    # closing lines and --json still list what is on disk.
    downloads: list[Saved] = field(default_factory=list)
    download_failures: list[str] = field(default_factory=list)
    downloads_cut: bool = False  # the --timeout stopped its downloads; `download` resumes them
    parent: Watch | None = None
    detail: dict[str, Any] | None = None  # the provider's detail answer, where it has one
    interval: float | None = None  # overrides Settings.interval (providers differ)

    @property
    def label(self) -> str:
        at = f"@{self.profile}" if self.show_profile else ""
        return f"{self.provider}{at} {self.job_id}"

    @property
    def account(self) -> tuple[str, str]:
        """The provider and profile: the jobs that share a token."""
        return self.provider, self.profile

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two watches the same job."""
        return self.provider, self.profile, self.job_id

    @property
    def done(self) -> bool:
        """Settled: nothing more happens to this watch."""
        return self.outcome is not None

    @property
    def ended(self) -> bool:
        """The job itself has ended (its files may still be on their way)."""
        return self.job is not None and self.job.terminal

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.outcome)
