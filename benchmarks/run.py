"""Run the benchmarks and print the table: `python benchmarks/run.py [NAME] [--quick]
[--markdown] [--repeat N]`. Use the interpreter jobwatch is installed with
(`.venv/bin/python benchmarks/run.py`): the figures run the console script next to it.

Exit code: 0, or 1 when a figure could not be measured (BROKEN) or, in a full run, when a
target was MISSED. `--quick` (or BENCH_QUICK=1) runs tiny sizes and judges nothing.

The status figure's second reference, HTTPie, is installed by pip into a venv of its own under
BENCH_CACHE_DIR (default ~/.cache/jobwatch-benchmarks), once per machine. A quick run that
cannot install it within 30 s shows its row as skipped; a full run counts that as BROKEN.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.figures import FIGURES  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    BrokenFigure,
    Row,
    Settings,
    broken_row,
    find_jobwatch,
    machine,
)

COLUMNS = ("figure", "measured", "reference", "ratio/value", "target", "verdict")


def verdict(row: Row, quick: bool) -> str:
    if row.problem:
        return "BROKEN"
    if row.ok is None or quick:
        return "-"
    return "ok" if row.ok else "MISSED"


def cells(rows: list[Row], quick: bool) -> list[tuple[str, ...]]:
    return [(r.figure, r.measured, r.reference, r.value, r.target, verdict(r, quick))
            for r in rows]


def plain_table(rows: list[tuple[str, ...]]) -> str:
    table = [COLUMNS, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    return "\n".join([line(COLUMNS), "|" + "---|" * len(COLUMNS), *map(line, rows)])


def measure(names: list[str], settings: Settings) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    broken: list[str] = []
    for name in names:
        print(f"benchmarks: {name}...", file=sys.stderr, flush=True)
        try:
            figure_rows = FIGURES[name](settings)
        except BrokenFigure as exc:
            figure_rows = [broken_row(name, str(exc))]
        rows += figure_rows
        broken += [f"{r.figure}: {r.problem}" for r in figure_rows if r.problem]
    return rows, broken


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", choices=list(FIGURES), help="run only this figure")
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("BENCH_QUICK") == "1",
                        help="tiny sizes, 2 repetitions, no verdicts (CI smoke)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--repeat", type=int, default=0, metavar="N",
                        help="repetitions per figure (default: per figure; 2 with --quick)")
    return parser.parse_args(argv)


def compile_jobwatch() -> str:
    """Write jobwatch's bytecode first. An editable install under PYTHONDONTWRITEBYTECODE=1
    (this project's CI machines set it) would compile every module on every start, ~30 ms
    that a user's installed copy never pays; a wheel install ships compiled already."""
    import compileall

    import jobwatch

    package = Path(jobwatch.__file__).parent
    ok = compileall.compile_dir(package, quiet=1, force=False)
    return f"bytecode of {package} compiled" if ok else "bytecode: compile failed"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [args.name] if args.name else list(FIGURES)
    bytecode = compile_jobwatch()
    with tempfile.TemporaryDirectory(prefix="jobwatch-bench-") as work:
        settings = Settings(quick=args.quick, repeat=args.repeat, jobwatch=find_jobwatch(),
                            python=Path(sys.executable), work=Path(work))
        rows, broken = measure(names, settings)
    table = cells(rows, args.quick)
    print(markdown_table(table) if args.markdown else plain_table(table))
    print()
    print(f"Machine: {machine()}; {bytecode}")
    if args.quick:
        print("Quick run (tiny sizes): nothing is judged.")
    for problem in broken:
        print(f"BROKEN {problem}")
    missed = not args.quick and any(r.ok is False for r in rows)
    return 1 if broken or missed else 0


if __name__ == "__main__":
    sys.exit(main())
