"""CI smoke for benchmarks/: the quick run works end to end. Targets are not judged here:
timings on a shared CI machine prove nothing, and a timed assertion would only be flaky."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.figures import FIGURES

ROOT = Path(__file__).resolve().parent.parent
# Each figure's name, and how its first row starts in the table.
FIRST_ROWS = {
    "startup": "startup --version",
    "status": "status --json",
    "status-many": "status 50 jobs --json",
    "fleet": "fleet wall",
    "wait-cpu": "wait CPU per poll",
    "download": "download speed",
    "idle": "idle",
}


def test_every_figure_has_a_smoke_expectation() -> None:
    assert set(FIRST_ROWS) == set(FIGURES)


@pytest.mark.slow
def test_quick_benchmarks_run_and_print_every_figure() -> None:
    if not (Path(sys.executable).parent / "jobwatch").exists():
        pytest.skip("jobwatch is not installed next to this interpreter")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["figure", "measured"]
    for name, row in FIRST_ROWS.items():
        assert any(line.startswith(row) for line in lines), f"no {name} row:\n{result.stdout}"
    # HTTPie is measured, or skipped where it could not be installed quickly; never missing.
    assert any(line.startswith("status --json (vs HTTPie)") for line in lines), result.stdout
    assert "BROKEN" not in result.stdout
    assert any(line.startswith("Machine: ") for line in lines)
