"""CI smoke for benchmarks/: the quick run works end to end. Targets are not judged here:
timings on a shared CI machine prove nothing, and a timed assertion would only be flaky."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("startup", "status", "fleet", "download", "idle")


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
    for name in FIGURES:
        assert any(line.startswith(name) for line in lines), f"no {name} row:\n{result.stdout}"
    assert "BROKEN" not in result.stdout
    assert any(line.startswith("Machine: ") for line in lines)
