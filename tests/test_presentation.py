"""What a person reads, at the widths people use: the live rows at 80 columns, provider text
that must stay text (markup, emoji codes), lines that must stay whole (commands, paths), the
amounts and closing notes, the JSON lines, and the help."""

from __future__ import annotations

import functools
import io
import json
import re
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from jobwatch.closing import closing
from jobwatch.engine import Watch
from jobwatch.errors import NotFoundError
from jobwatch.live.layout import MARGIN, MIN_BAR
from jobwatch.live.paint import BinaryRate
from jobwatch.live.renderer import LiveRenderer
from jobwatch.models import JSON_KEYS, Job, JobState
from jobwatch.ui import (
    PlainRenderer,
    job_json,
    json_lines,
    progress_text,
    write_out,
)
from jobwatch.words import tally
from tests import helpers
from tests.conftest import provider_env
from tests.helpers import Clock, frame_lines

BAR = "━"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# SPEC.md's "Normalized job" example, key by key.
SPEC_KEYS = ["provider", "profile", "job_id", "state", "status", "terminal", "progress", "done",
             "total", "unit", "failed_items", "message", "job_type", "created_at", "started_at",
             "finished_at", "url", "artifacts", "raw"]


# The live renderer at the widths of these tests, on a terminal 30 rows high.
live = functools.partial(helpers.live, height=30)


def bar_width(line: str) -> int:
    return max((len(run) for run in re.findall(r"[━╸]+", line)), default=0)


def merchantops(job_id: str, processed: int, total: int, failed: int,
                message: str | None = None, state: JobState = JobState.RUNNING) -> Job:
    return Job(provider="merchantops", job_id=job_id, state=state, status="processing",
               progress=(processed + failed) / total, done=processed + failed, total=total,
               unit="items", failed_items=failed, message=message)


def watching(*pairs: tuple[Watch, Job]) -> list[Watch]:
    for watch, job in pairs:
        watch.job = job
    return [watch for watch, _ in pairs]


def show(renderer: LiveRenderer, watches: list[Watch]) -> list[str]:
    for watch in watches:
        renderer.update(watch)
    return frame_lines(renderer)


# -- the live rows at 80 columns (review2-a D1, D17) ------------------------------------------


def two_merchantops_jobs() -> list[Watch]:
    return watching(
        (Watch("merchantops", "enr_7Hq2", started=0.0), merchantops("enr_7Hq2", 38, 120, 1)),
        (Watch("merchantops", "crw_9Zx4", started=0.0), merchantops("crw_9Zx4", 25, 80, 0)))


def two_jobs_shown(width: int = 80, *, no_color: bool | None = None
                   ) -> tuple[LiveRenderer, list[Watch], list[str]]:
    """The two MerchantOps jobs started, 3 s in, and the frame drawn for them."""
    renderer, clock, _ = live(width, no_color=no_color)
    watches = two_merchantops_jobs()
    renderer.start(watches)
    clock.now = 3.0
    return renderer, watches, show(renderer, watches)


def test_two_merchantops_jobs_at_80_columns_keep_their_ids_and_a_bar() -> None:
    _, _, lines = two_jobs_shown(80)
    assert len(lines) == 2, lines
    for line, job_id in zip(lines, ["enr_7Hq2", "crw_9Zx4"]):
        assert job_id in line, lines
        assert bar_width(line) >= MIN_BAR, lines
        assert len(line) <= 80 - MARGIN, lines
    assert "39/120" in lines[0] and "1 failed" in lines[0]  # the amount, whole


@pytest.mark.parametrize("no_color", [False, True])
def test_without_colour_the_bar_still_shows_how_far(no_color: bool) -> None:
    # Only colour told the done part of a bar from the rest; NO_COLOR drew one solid line.
    line = two_jobs_shown(80, no_color=no_color)[2][0]
    done, rest = re.search(r"(━+)╸?(─*)", line).groups()  # type: ignore[union-attr]
    assert len(done) >= 1
    assert (len(rest) > len(done)) is no_color, line  # 40/120 done: most of it still to go


def test_a_message_takes_room_from_the_amounts_never_from_the_bar() -> None:
    renderer, watches, without = two_jobs_shown(80)
    assert all(not line.endswith(" ") for line in without)
    assert "39/120 items (32%), 1 failed" in without[0], without
    watches[1].job = merchantops("crw_9Zx4", 30, 80, 2, message="Crawl aborted: HTTP 503",
                                 state=JobState.FAILED)
    with_message = show(renderer, watches)
    assert "Crawl aborted" in with_message[1], with_message
    # Issue 16: the bar kept one width; the room came from the amounts, said shorter.
    assert bar_width(with_message[0]) == bar_width(without[0]) >= MIN_BAR, with_message
    assert "39/120" in with_message[0] and "items" not in with_message[0], with_message
    assert "enr_7Hq2" in with_message[0] and "crw_9Zx4" in with_message[1]


def demo_jobs() -> list[Watch]:
    """The demo's five jobs (and the related grid-fill job it follows) at their busiest."""
    def job(provider: str, job_id: str, **fields: Any) -> tuple[Watch, Job]:
        return (Watch(provider, job_id, started=0.0),
                Job(provider=provider, job_id=job_id, state=JobState.RUNNING, status="running",
                    **fields))

    watches = watching(
        job("claret", "1001", progress=3 / 8, done=3, total=8, unit="steps",
            message="Validating rows"),
        job("merchantops", "enr_7Hq2", progress=40 / 120, done=39, total=120, unit="items",
            failed_items=1),
        job("julep", "5f0c3a9e-2b7d-4c1e-9a8f-3d6b1e7c2a40", progress=0.45, done=45, total=100,
            unit="percent"),
        job("retailgrid", "8a1d6c52-7e3f-4b90-a2c4-51f9e0d7b3a6", progress=0.5, done=50,
            total=100, unit="percent", message="bulk_upsert"),
        job("retailgrid", "e4b29c7d-1a6f-4d3e-8b05-6f2a9c1d7e84", progress=0.35, done=35,
            total=100, unit="percent", message='Row 412: column "price" must be a number'))
    related = Watch("retailgrid", "c3e9f1a7-5b2d-4e80-b6a4-9d0f2c7e1b38", started=0.0,
                    parent=watches[3])
    related.job = Job(provider="retailgrid", job_id=related.job_id, state=JobState.RUNNING,
                      status="running", progress=0.1, done=10, total=100, unit="percent")
    watches.insert(4, related)
    return watches


@pytest.mark.parametrize("width", [80, 100])
def test_the_demos_jobs_keep_their_ids_and_a_bar(width: int) -> None:
    renderer, clock, _ = live(width)
    watches = demo_jobs()
    renderer.start(watches)
    clock.now = 4.0
    lines = show(renderer, watches)
    assert len(lines) == 6, lines
    shown = ["claret 1001", "merchantops enr_7Hq2", "julep 5f0c3a9e…", "retailgrid 8a1d6c52…",
             "↳ retailgrid c3e9f1a7…", "retailgrid e4b29c7d…"]
    for line, label in zip(lines, shown):
        assert label in line, lines  # the two Retailgrid rows can be told apart
        assert bar_width(line) >= MIN_BAR, lines
        assert len(line) <= width - MARGIN, lines


def test_short_amounts_before_a_missing_bar_and_ids_before_provider_words() -> None:
    renderer, clock, _ = live(60)
    watches = two_merchantops_jobs()
    watches[1].job = merchantops("crw_9Zx4", 25, 80, 0, message="Crawling pages")
    renderer.start(watches)
    clock.now = 3.0
    lines = show(renderer, watches)
    assert lines[0].split()[1] == "enr_7Hq2" and lines[1].split()[1] == "crw_9Zx4", lines
    assert all(bar_width(line) >= MIN_BAR for line in lines), lines
    assert "39/120 (32%), 1 failed" in lines[0], lines  # said shorter, not cut
    assert "…" not in lines[0], lines


def test_a_label_is_cut_in_its_provider_word_never_in_its_id() -> None:
    renderer, clock, _ = live(40)  # too narrow for all: the bar goes, then the amounts
    watches = demo_jobs()
    renderer.start(watches)
    clock.now = 4.0
    lines = show(renderer, watches)
    assert "merchantops enr_7Hq2" in lines[1] and "retailgrid e4b29c7d…" in lines[5], lines
    assert all(len(line) <= 40 - MARGIN for line in lines), lines
    renderer, clock, _ = live(30)  # narrower still: the provider words give way
    renderer.start(watches)
    lines = show(renderer, watches)
    assert "enr_7Hq2" in lines[1] and "e4b29c7d…" in lines[5], lines
    assert all(len(line) <= 30 - MARGIN for line in lines), lines


def test_columns_never_jump_back_during_a_run() -> None:
    # Review2-a D17: widths followed each frame's content, so the bar grew and shrank as an
    # ETA came and went, as "100%" or ", 2 failed" appeared, as a row said "download failed".
    renderer, clock, _ = live(80)
    watches = two_merchantops_jobs()
    renderer.start(watches)
    layouts: list[tuple[int, int]] = []
    for step in range(40):
        clock.now = step * 0.5
        failed = 1 + step // 10
        watches[0].job = merchantops("enr_7Hq2", min(118, 38 + 2 * step), 120, failed)
        if step == 20:  # the crawl ends, its files fail to download
            watches[1].outcome, watches[1].ended_at = "download_failed", clock.now
        if step == 30:  # a retry notice comes and goes
            renderer.problem(watches[0], "retrying in 2s: HTTP 503")
        lines = show(renderer, watches) if step != 30 else frame_lines(renderer)
        assert all(bar_width(line) >= MIN_BAR for line in lines), (step, lines)
        assert "enr_7Hq2" in lines[0] and "crw_9Zx4" in lines[1], (step, lines)
        layout = (lines[1].index(BAR), bar_width(lines[1]))
        if not layouts or layouts[-1] != layout:
            layouts.append(layout)
    # Changes only as a column grows (an id gives way to its provider word, "10s", "download
    # failed"), never back to an earlier layout.
    assert len(layouts) == len(set(layouts)) <= 8, layouts


def test_a_resize_lays_the_rows_out_again() -> None:
    renderer, clock, _ = live(60)
    watches = two_merchantops_jobs()
    renderer.start(watches)
    assert "merchantops" not in show(renderer, watches)[0]  # 60 columns: the id alone
    renderer.console.width = 160
    assert "merchantops enr_7Hq2" in frame_lines(renderer)[0]


# -- downloads in binary units (review2-a D16) -------------------------------------------------


def test_live_downloads_count_in_binary_units_like_the_plain_log() -> None:
    renderer, _, _ = live(100)
    watch = Watch("claret", "904")
    renderer.start([watch])
    progress = renderer.download_progress(watch)
    progress.start("big_904.csv", 50 << 20)
    progress.advance(6 << 20)
    line = next(line for line in frame_lines(renderer) if "big_904.csv" in line)
    assert "6.0/50.0 MiB" in line, line
    rate = BinaryRate().render(SimpleNamespace(finished_speed=None, speed=1.5 * (1 << 20)))
    assert rate.plain == "1.5 MiB/s"


# -- provider text is text (review2-b D7, D8) --------------------------------------------------

MARKUP_IDS = ["[/x]", "[link=https://evil]x[/link]", "[blink]x", "batch:fire:7"]


@pytest.mark.parametrize("job_id", MARKUP_IDS)
def test_markup_and_emoji_codes_in_ids_are_shown_as_written(job_id: str) -> None:
    renderer, _, out = live(120)
    watch = Watch("merchantops", job_id, started=0.0)
    watch.job = merchantops(job_id, 10, 80, 1, message=f"step {job_id}")
    renderer.start([watch])
    assert job_id in frame_lines(renderer)[0]
    progress = renderer.download_progress(watch)
    progress.start(f"{job_id}.csv", 100)
    assert any(f"{job_id}.csv" in line for line in frame_lines(renderer))
    progress.finish(f"{job_id}.csv", True)
    renderer.report_table(f"merchantops {job_id}: 1 error(s)", ["type", "key", "message"],
                          [["validation_error", job_id, f"bad {job_id}"]],
                          f"… and 1 more for {job_id}")
    watch.outcome, watch.ended_at = "failed", 3.0
    renderer.finish([watch], 1)
    text = out.getvalue()
    assert "\x1b]8;" not in text  # no terminal hyperlink
    plain = ANSI.sub("", text)
    assert f"merchantops {job_id}: 1 error(s)" in plain
    assert f"bad {job_id}" in plain and f"… and 1 more for {job_id}" in plain
    assert "🔥" not in text


# -- amounts that add up (review2-a D8) --------------------------------------------------------


def test_merchantops_amounts_count_failed_items_as_handled() -> None:
    assert progress_text(merchantops("j", 116, 120, 4)) == "120/120 items (100%), 4 failed"
    assert progress_text(merchantops("j", 30, 80, 2)) == "32/80 items (40%), 2 failed"
    assert progress_text(merchantops("j", 45, 120, 0)) == "45/120 items (38%)"


def test_amounts_said_shorter_for_narrow_rows() -> None:
    job = merchantops("j", 38, 120, 1)
    assert [progress_text(job, level) for level in range(3)] == [
        "39/120 items (32%), 1 failed", "39/120 (32%), 1 failed", "39/120, 1 failed"]
    percent = Job(provider="julep", job_id="j", state=JobState.RUNNING, status="running",
                  progress=0.45, done=45, total=100, unit="percent")
    assert {progress_text(percent, level) for level in range(3)} == {"45%"}


# -- closing notes (review2-b D14, review2-a D3) -----------------------------------------------


def ended(job_id: str, outcome: str, state: JobState = JobState.SUCCEEDED) -> Watch:
    watch = Watch("claret", job_id, started=0.0, ended_at=2.0, outcome=outcome)
    watch.job = Job(provider="claret", job_id=job_id, state=state, status=state.value)
    return watch


def notes(watches: list[Watch], code: int) -> list[str]:
    end = closing(watches, code, lambda ws: ["jobwatch download claret 2"])
    return [*end.notes, *(f"resume with: {command}" for command in end.resume)]


def test_a_job_that_had_ended_is_never_called_still_running() -> None:
    failed = ended("1", "failed", JobState.FAILED)
    cut = ended("2", "interrupted")  # --fail-fast stopped its downloads
    text = "\n".join(notes([failed, cut], 1))
    assert "still running" not in text
    assert "stopped watching after claret 1 ended failed; ended, downloads cut short: claret 2" \
        in text
    assert "resume with: jobwatch download claret 2" in text


def test_ctrl_c_after_every_job_ended_does_not_say_they_keep_running() -> None:
    text = "\n".join(notes([ended("904", "interrupted")], 130))
    assert "keep running" not in text
    assert "interrupted: downloads stopped; the jobs had ended" in text
    running = Watch("claret", "905", started=0.0, outcome="interrupted")
    text = "\n".join(notes([ended("904", "interrupted"), running], 130))
    assert "interrupted: the remote jobs keep running; jobwatch only stopped watching" in text


# -- one tally (review2-c 10e) -----------------------------------------------------------------


def test_one_tally_for_the_closing_line_and_the_more_line() -> None:
    waiting = Watch("claret", "3")
    running = Watch("claret", "4")
    running.job = Job(provider="claret", job_id="4", state=JobState.RUNNING, status="running")
    watches = [ended("1", "succeeded"), ended("2", "not_found"), waiting, running,
               ended("5", "timeout"), ended("6", "succeeded")]
    assert tally(watches) == "2 succeeded, 1 not found, 1 waiting, 1 running, 1 timed out"
    renderer, _, _ = live(120, height=4)
    renderer.start(watches)
    assert frame_lines(renderer)[-1].startswith("… ")
    assert re.fullmatch(r"… \d more: .*", frame_lines(renderer)[-1])


# -- JSON lines (review2-b D12, review2-c item 2) ----------------------------------------------

UNSAFE = "\u0085\u009b\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029"


def test_json_escapes_c1_controls_and_bidi_characters_but_keeps_the_data() -> None:
    job = Job(provider="claret", job_id="1", state=JobState.RUNNING, status="in_progress",
              message=f"Step {UNSAFE}[31m é", raw={"note": UNSAFE})
    watch = Watch("claret", "1", outcome="timeout")
    watch.job = job
    for text in (job_json(job), json_lines([watch], "default")):
        assert not any(char in text for char in UNSAFE), ascii(text)
        assert "\\u009b" in text and "\\u202e" in text and "\\u2028" in text
        assert "é" in text  # other text stays readable
        data = json.loads(text.splitlines()[0])
        assert data["message"] == f"Step {UNSAFE}[31m é" and data["raw"] == {"note": UNSAFE}


def test_a_job_that_never_answered_has_specs_keys_in_specs_order() -> None:
    assert list(JSON_KEYS) == SPEC_KEYS
    job = Job(provider="claret", job_id="1", state=JobState.RUNNING, status="in_progress")
    assert list(job.to_json_dict()) == SPEC_KEYS
    watch = Watch("claret", "404", profile="staging", outcome="not_found",
                  error=NotFoundError("claret has no job 404"))
    data = json.loads(json_lines([watch]))
    assert list(data) == [*SPEC_KEYS, "outcome", "downloads"]
    assert data["profile"] == "staging" and data["job_id"] == "404"
    assert data["state"] == "unknown" and data["terminal"] is False
    assert data["artifacts"] == [] and data["message"] == "claret has no job 404"


def test_wait_json_for_a_job_that_was_not_found(fake, run_cli) -> None:
    # No route: the fake answers 404.
    result = run_cli("wait", "claret", "4040", "--interval", "0.2", "--json",
                     env=provider_env(fake, "claret"))
    assert result.returncode == 4, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == [*SPEC_KEYS, "outcome", "downloads"]
    assert data["outcome"] == "not_found"


# -- write_out (review2-b D15) -----------------------------------------------------------------


def test_nothing_to_write_is_no_error_on_a_closed_stdout(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    write_out("")  # `jobwatch download ... >&-` with nothing to download


# -- the plain renderer's resume is a callable (review2-c 11) ---------------------------------


def test_the_plain_renderer_resumes_through_a_callable() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, Clock())
    watch = Watch("claret", "1", outcome="timeout")
    renderer.finish([watch], 124)  # no resume given: no command, and no failure
    assert "resume with" not in out.getvalue()


# -- help and CLI text (review2-a D5, D6, D7) --------------------------------------------------

HELP_COMMANDS = [["status"], ["wait"], ["download"], ["providers"], ["schema"], ["demo"],
                 ["config"], ["config", "path"], ["config", "show"], ["config", "init"],
                 ["config", "check"]]


def epilog_of(command: list[str]) -> str:
    import importlib

    from jobwatch.commands import config

    if command[0] == "config":
        names = {"path": "PATH", "show": "SHOW", "init": "INIT", "check": "CHECK"}
        if len(command) == 1:
            return config.config_app.info.help or ""
        return getattr(config, f"{names[command[1]]}_EXAMPLES")
    return importlib.import_module(f"jobwatch.commands.{command[0]}").EXAMPLES


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_examples_stay_whole_at_80_columns(run_cli, command: list[str]) -> None:
    result = run_cli(*command, "--help", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    examples = [line.strip() for line in epilog_of(command).split("\b")[1:]]
    assert examples, command
    lines = result.stdout.splitlines()
    for example in examples:
        assert len(example) < 76, example
        assert f"    {example}" in lines, (example, result.stdout)  # indented like the root's
    assert "  Examples:" in lines


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_shows_no_python_type_names(run_cli, command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"<(str|int|float|bool|list|int range)\b[^>]*>", result.stdout), \
        result.stdout
    assert "0<=x<=" not in result.stdout


def test_download_json_help_says_what_it_prints(run_cli) -> None:
    text = " ".join(run_cli("download", "--help").stdout.split())
    assert "--json JSON Lines on stdout: each job, with outcome and downloads." in text


@pytest.mark.parametrize(("name", "guess"), [("foo", ""), ("julp", " (did you mean 'julep'?)"),
                                              ("claert", " (did you mean 'claret'?)")])
def test_an_unknown_provider_is_named_with_a_suggestion(run_cli, name: str, guess: str) -> None:
    result = run_cli("status", name, "1")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"jobwatch: error: unknown provider '{name}'{guess}; "
        "choose retailgrid, merchantops, julep or claret")
    assert "Value error" not in result.stderr and "Traceback" not in result.stderr


def test_a_provider_name_in_capitals_still_works(fake, run_cli) -> None:
    fake.route("/acme/api/v1/imports/status/1", fake_claret_completed())
    result = run_cli("status", "Claret", "1", "-v", env=provider_env(fake, "claret"))
    assert result.returncode == 0, result.stderr  # -v after the command: Typer's path


def fake_claret_completed() -> Any:
    from tests.fakeserver import json_reply

    return json_reply({"message": "ok", "content": {"job_log_id": 1, "status": "completed"}})


def test_providers_fits_80_columns(run_cli) -> None:
    result = run_cli("providers")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:5]}
    assert rows == {"retailgrid": "UUID", "merchantops": "string", "julep": "UUID",
                    "claret": "integer"}


def test_the_detail_call_note_comes_from_the_adapter() -> None:
    from jobwatch.commands.providers import providers_text

    def adapter(**fields: Any) -> Any:
        return type("Fake", (), {"required": (), "default_base_url": "https://x.example",
                                 "id_form": "UUIDs", "status_path": "/s/{job_id}",
                                 "has_detail": False, **fields})

    text = providers_text({"plain": adapter(),
                           "detailed": adapter(has_detail=True, detail_path="/d/{job_id}")})
    assert "detailed calls GET {base_url}/d/{job_id} once, when a job ends" in text
    assert "plain calls" not in text
