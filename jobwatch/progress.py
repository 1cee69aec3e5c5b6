"""What a download reports its progress through. The renderers (jobwatch.ui, jobwatch.live,
jobwatch.github) implement it; jobwatch.downloads calls it. Here, apart from both, so that
neither imports the other."""

from __future__ import annotations

from typing import Protocol


class DownloadProgress(Protocol):
    """Download progress callbacks. ``start``/``finish`` bracket each attempt (a retry starts
    again); ``advance`` is called once per chunk written, with its size in bytes."""

    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self, label: str, ok: bool) -> None: ...


class NullProgress:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def finish(self, label: str, ok: bool) -> None:
        pass


NULL_PROGRESS = NullProgress()  # stateless, so one shared instance is a safe default
