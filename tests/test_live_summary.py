"""The closing summary, laid out for a terminal's width (jobwatch.live.summary), and the one
closing the plain log writes from the same content (jobwatch.closing). Pure: no terminal."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

import pytest
from rich.cells import cell_len

from jobwatch.artifacts import Saved
from jobwatch.closing import Closing, Ending, SavedFiles, closing
from jobwatch.engine import Watch
from jobwatch.live.summary import (
    Line,
    closing_lines,
    command_lines,
    shell_words,
    shorten_path,
    summary,
    words,
    wrap,
)
from jobwatch.models import Job, JobState
from jobwatch.ui import PlainRenderer
from tests.helpers import Clock, live

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
WIDTHS = [40, 80, 120, 200]
UUIDS = ["5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40", "8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6",
         "c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38", "e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84"]
DEMO_FOLDER = Path("/var/folders/x7/k2m9n8p4q5r6s7t8/T/jobwatch-demo-0zle16kx")
CLARET_FILES = ["input/inventory_20261206_untouched.csv", "staging/inventory_20261206_staging.csv",
                "output/inventory_20261206_final.csv", "errors/inventory_20261206_errors.csv"]


def ended(provider: str, job_id: str, outcome: str = "succeeded", *, message: str | None = None,
          done: int = 100, total: int = 100, unit: str = "percent", watched: float = 7.0,
          parent: Watch | None = None) -> Watch:
    state = {"succeeded": JobState.SUCCEEDED, "failed": JobState.FAILED}.get(
        outcome, JobState.RUNNING)
    watch = Watch(provider, job_id, started=0.0, outcome=outcome, parent=parent,
                  ended_at=watched if state is not JobState.RUNNING else None)
    watch.job = Job(provider=provider, job_id=job_id, state=state, status=state.value,
                    progress=done / total, done=done, total=total, unit=unit,
                    failed_items=4 if unit == "items" else None, message=message)
    return watch


def demo_watches() -> list[Watch]:
    claret = ended("claret", "1001", done=8, total=8, unit="steps")
    claret.downloads = [Saved("x", DEMO_FOLDER / "claret-1001" / name, 10)
                        for name in CLARET_FILES]
    merchant = ended("merchantops", "enr_7Hq2", done=120, total=120, unit="items")
    merchant.downloads = [Saved("x", DEMO_FOLDER / "merchantops-enr_7Hq2" / name, 10)
                          for name in ("errors.csv", "warnings.csv", "job.json")]
    parent = ended("retailgrid", UUIDS[1], watched=5.0)
    return [claret, merchant, ended("julep", UUIDS[0]), parent,
            ended("retailgrid", UUIDS[2], watched=4.0, parent=parent),
            ended("retailgrid", UUIDS[3], "failed", done=35, watched=3.0,
                  message='Row 412: column "price" must be a number, got "12,50"'),
            ended("claret", "2130", "timeout", done=3, total=8, unit="steps",
                  message="Validating rows")]


def demo_closing() -> Closing:
    command = ("jobwatch wait claret 2130 --timeout 1m30s --interval 10s --download-dir "
               "/home/someone/projects/imports/2024/inventory-downloads/")
    return closing(demo_watches(), 1, lambda ws: [command])


def texts(lines: list[Line]) -> list[str]:
    return ["".join(text for text, _ in line) for line in lines]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_closing_line_fits_the_width(width: int) -> None:
    lines = texts(closing_lines(demo_closing(), width))
    # Only what is never cut may run past the line: an id (people copy ids), a word of a
    # command, alone on its line.
    over = [line for line in lines if cell_len(line) > width]
    assert all(any(uuid in line for uuid in UUIDS) or " " not in line.strip()
               for line in over), over
    assert width < 60 or not over, over


@pytest.mark.parametrize("width", WIDTHS)
def test_no_word_id_or_file_name_is_cut(width: int) -> None:
    end = demo_closing()
    text = "\n".join(texts(closing_lines(end, width)))
    tokens = set(text.split())
    for uuid in UUIDS:
        assert uuid in tokens, (uuid, text)
    for word in ("succeeded", "(watched", "7s)", "must", "number,", '"12,50"', "still",
                 "running", "timeout"):
        assert word in tokens, (word, text)
    names = CLARET_FILES[:3] + ["errors.csv", "warnings.csv", "job.json"]
    for name in names:  # listed whole, or with its middle left out on a very narrow terminal
        assert name in text or (width < 60 and any(
            "…" in token and token.rstrip(",)").endswith(name[-8:]) for token in tokens)), (
            name, text)
    if width >= 80:
        assert "--download-dir /home/someone/projects/imports/2024/inventory-downloads/" in text


@pytest.mark.parametrize("width", [80, 120])
def test_the_watched_time_stays_with_its_outcome(width: int) -> None:
    # Never wrapped as "succeeded (watched" / "5s)".
    for line in texts(closing_lines(demo_closing(), width)):
        assert not line.rstrip().endswith("(watched"), line


def test_the_summary_aligns_when_it_fits_and_flows_when_not() -> None:
    endings = demo_closing().endings
    wide = texts(summary(endings, 200))
    assert wide[0].split() == ["job", "outcome", "progress"]
    assert len(wide) == 1 + len(endings)  # a line each
    column = wide[1].index("succeeded")
    assert all(line.index(word) == column for line, word in zip(wide[2:], [
        "succeeded", "succeeded", "succeeded", "succeeded", "failed", "still"]))
    middle = texts(summary(endings, 140))  # the long outcome wraps inside its column
    assert len(middle) > len(wide) and middle[0].startswith("job")
    assert all(cell_len(line) <= 140 for line in middle), middle
    narrow = texts(summary(endings, 80))  # no columns: each job's words flow
    assert narrow[0].startswith("claret 1001  succeeded (watched 7s)")
    assert all(cell_len(line) <= 80 for line in narrow), narrow
    assert any(line.startswith("  must be a number") for line in narrow), narrow


def test_saved_files_wrap_between_names_and_paths_shorten_in_the_middle() -> None:
    lines = texts(closing_lines(demo_closing(), 80))
    at = next(i for i, line in enumerate(lines) if line.startswith("claret 1001: saved"))
    block = lines[at:at + 4]
    assert block[0] == "claret 1001: saved 4 files in"
    assert block[1] == f"  {DEMO_FOLDER}/claret-1001/"
    assert block[2] == "  (input/inventory_20261206_untouched.csv,"
    assert block[3] == ("  staging/inventory_20261206_staging.csv, "
                        "output/inventory_20261206_final.csv,")
    narrow = texts(closing_lines(demo_closing(), 40))
    assert "  /…/jobwatch-demo-0zle16kx/claret-1001/" in narrow, narrow


def test_shorten_path_keeps_its_ends() -> None:
    path = "/home/someone/projects/imports/2024/claret-1001/"
    assert shorten_path(path, 80) == path
    assert shorten_path(path, 40) == "/…/projects/imports/2024/claret-1001/"
    assert shorten_path(path, 20) == "/…/2024/claret-1001/"
    assert shorten_path(path, 16) == "/…/claret-1001/"
    assert shorten_path("./a/b/c/inventory_20261206_untouched.csv", 36) == (
        "./…/inventory_20261206_untouched.csv")
    assert shorten_path("./a/b/c/inventory_20261206_untouched.csv", 30) == (
        "inventory_2026…6_untouched.csv")
    name = shorten_path("inventory_20261206_untouched.csv", 20)
    assert cell_len(name) == 20 and name.endswith("ched.csv") and "…" in name
    assert name.startswith("inventory")


def test_a_long_command_wraps_with_shell_continuations() -> None:
    command = ("jobwatch wait merchantops 'batch fire 7' -- -mo_600 --timeout 1m30s "
               "--download-dir '/home/someone/my imports/2024'")
    lines = command_lines("resume with: ", command, 50)
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert all(cell_len(line) <= 50 for line in lines), lines
    assert "  --download-dir '/home/someone/my imports/2024'" in lines  # with its value
    pasted = " ".join(line.removesuffix(" \\").strip() for line in lines)
    assert shlex.split(pasted.removeprefix("resume with: ")) == shlex.split(command)
    assert command_lines("resume with: ", "jobwatch wait claret 1", 80) == [
        "resume with: jobwatch wait claret 1"]


def test_a_here_document_keeps_its_lines() -> None:
    command = "jobwatch wait claret - --timeout 1m <<'JOBWATCH_JOBS'\n1\n2\nJOBWATCH_JOBS"
    assert command_lines("resume with: ", command, 80) == [
        "resume with: jobwatch wait claret - --timeout 1m <<'JOBWATCH_JOBS'", "1", "2",
        "JOBWATCH_JOBS"]


def test_shell_words_keep_their_quotes() -> None:
    assert shell_words("a 'b c' \"d e\" f\\ g  h") == ["a", "'b c'", '"d e"', "f\\ g", "h"]


def test_wrap_cuts_only_a_word_longer_than_a_line() -> None:
    lines = texts(wrap(words("a " + "x" * 30 + " b"), 12))
    assert lines == ["a xxxxxxxxxx", "  xxxxxxxxxx", "  xxxxxxxxxx", "  b"]


def test_resume_commands_and_saved_files_fit_80_columns_and_stay_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Past 80 columns the terminal would cut these lines mid-word.
    monkeypatch.chdir(tmp_path)
    folder = "/home/someone/projects/imports/2024/inventory-downloads/:smile:"
    command = (f"jobwatch wait merchantops batch:fire:7 --timeout 1m30s --interval 10s "
               f"--download-dir {folder}")
    renderer, _, out = live(80, height=30)
    renderer.resume = lambda watches: [command]
    running = Watch("merchantops", "batch:fire:7", started=0.0, outcome="interrupted")
    running.job = Job(provider="merchantops", job_id="batch:fire:7", state=JobState.RUNNING,
                      status="processing", progress=0.125, done=10, total=80, unit="items")
    ended = Watch("claret", "2008", started=0.0, ended_at=8.0, outcome="succeeded")
    ended.job = Job(provider="claret", job_id="2008", state=JobState.SUCCEEDED,
                    status="completed")
    saved = tmp_path / "claret-2008" / ":fire:" / "a-rather-long-file-name-for-the-output.csv"
    ended.downloads = [Saved("output", saved, 10)]
    renderer.start([running, ended])
    renderer.finish([running, ended], 130)
    lines = ANSI.sub("", out.getvalue()).splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    # The command wraps between its words, each line but the last ending in a shell's "\".
    first = next(i for i, line in enumerate(lines) if line.startswith("resume with: "))
    last = next(i for i in range(first, len(lines)) if not lines[i].endswith(" \\"))
    pasted = " ".join(line.removesuffix(" \\").strip() for line in lines[first:last + 1])
    assert pasted == f"resume with: {command}", lines
    assert f"  --download-dir {folder}" in lines, lines  # the path whole, on a line of its own
    # The saved file's name whole, on the line after its folder.
    at = lines.index("claret 2008: saved 1 file in ./claret-2008/:fire:/")
    assert lines[at + 1] == "  (a-rather-long-file-name-for-the-output.csv)", lines
    assert "🔥" not in out.getvalue() and "😄" not in out.getvalue()


# -- one closing content, two painters --------------------------------------------------------


def test_the_plain_log_says_the_same_with_whole_paths(tmp_path: Path) -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, Clock())
    renderer.resume = lambda ws: ["jobwatch wait claret 2130"]
    watches = demo_watches()
    renderer.finish(watches, 1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[    0s] done (exit 1): 5 succeeded, 1 failed, 1 timed out"
    assert lines[1] == ("[    0s]   claret 1001: succeeded (watched 7s); saved 4 files in "
                        f"{DEMO_FOLDER}/claret-1001/ ({', '.join(CLARET_FILES[:3])}, … and 1 "
                        "more)")
    assert lines[-2:] == [
        "[    0s] timed out with 1 job(s) still running: claret 2130 (3/8 steps (38%), "
        "Validating rows)", "[    0s] resume with: jobwatch wait claret 2130"]


def test_a_saved_files_line_in_words() -> None:
    saved = SavedFiles(4, "./claret-1", ("a.csv", "b.csv", "c.csv"), 1)
    assert saved.text() == "saved 4 files in ./claret-1/ (a.csv, b.csv, c.csv, … and 1 more)"
    ending = Ending("claret 1", False, "succeeded", "succeeded", "succeeded", "", saved)
    assert texts(closing_lines(Closing(0, "1 succeeded", (ending,), (), (), ()), 200))[-1] == (
        "claret 1: saved 4 files in ./claret-1/ (a.csv, b.csv, c.csv, … and 1 more)")
