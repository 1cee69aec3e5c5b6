"""The live renderer's closing summary, rendered into a string at several terminal widths."""

from __future__ import annotations

import io

import pytest

from jobwatch.models import Job, JobState
from jobwatch.polling import Watch
from jobwatch.ui import LiveRenderer

LONG_ID = "3f2a1b6c-1111-2222-3333-444455556666"


def finished(job_id: str, state: str, outcome: str, message: str | None = None) -> Watch:
    watch = Watch(provider="retailgrid", job_id=job_id, started=0.0)
    watch.job = Job(provider="retailgrid", job_id=job_id, state=JobState(state), status=state,
                    progress=1.0, done=100, total=100, unit="percent", message=message)
    watch.outcome = outcome
    watch.ended_at = 12.0
    return watch


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_closing_summary_keeps_ids_whole_and_outcome_readable(width: int) -> None:
    out = io.StringIO()
    renderer = LiveRenderer(out, clock=lambda: 12.0)
    renderer.console.width = width
    watches = [finished(LONG_ID, "succeeded", "succeeded"),
               finished("7", "failed", "failed", message="the import had 3 errors")]
    renderer.finish(watches, 1)
    text = out.getvalue()
    lines = text.splitlines()
    assert any(LONG_ID in line for line in lines), text  # never cut or wrapped
    assert "…" not in text
    words = text.split()
    for word in "failed: the import had 3 errors succeeded (watched 12s) 100%".split():
        assert word in words, text  # the outcome column never shrinks to nothing
    assert all(len(line) <= width for line in lines if LONG_ID not in line)
