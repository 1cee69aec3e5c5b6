"""GitHub Actions mode (jobwatch.github): the group, the annotations, the step summary and the
step outputs, read back the way GitHub's runner reads them; and the escaping, tried with
hostile provider text."""

from __future__ import annotations

import io
import os
import random
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from jobwatch.artifacts import Saved
from jobwatch.engine import Engine, Settings, Watch
from jobwatch.errors import AuthError, NotFoundError, UnreachableError
from jobwatch.github import (
    ERRORS_SHOWN,
    SUMMARY_LIMIT,
    WARNINGS_SHOWN,
    ActionsStream,
    GitHubActions,
    escape_data,
    escape_property,
    job_concerns,
    md_cell,
    output_text,
    safe_json_line,
    safe_line,
    workflow_annotations,
    workflow_command,
)
from jobwatch.models import Job, JobState
from jobwatch.ui import PlainRenderer
from tests.helpers import Clock

# -- GitHub's runner, as far as these tests need it --------------------------------------------
# Ported from actions/runner: ActionCommand.TryParseV2 / TryParse (the legacy `##[` form, found
# anywhere in a line), the Unescape* tables, and SetEnvFileCommand's NAME=VALUE / NAME<<DELIM
# reading of $GITHUB_OUTPUT (Linux: only LF ends a line there).

_DATA_ESCAPES = [("\r", "%0D"), ("\n", "%0A"), ("%", "%25")]
_PROPERTY_ESCAPES = [("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")]


def unescape(text: str, table: list[tuple[str, str]]) -> str:
    for token, replacement in table:
        text = text.replace(replacement, token)
    return text


def runner_lines(text: str) -> list[str]:
    """.NET's ReadLine: CR, LF or CRLF ends a line."""
    return re.split(r"\r\n|\r|\n", text.removesuffix("\n"))


def parse_v2(line: str) -> tuple[str, dict[str, str], str] | None:
    """TryParseV2 with ordinal string tests: our own commands, read back exactly."""
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props_text = info.partition(" ")
    props = {}
    for prop in filter(None, props_text.strip().split(",")):
        key, sep, value = prop.partition("=")
        if sep and key and value:
            props[key] = unescape(value, _PROPERTY_ESCAPES)
    return name, props, unescape(message[end + 2:], _DATA_ESCAPES)


# What ICU's culture-sensitive comparison may skip (the runner's StartsWith and IndexOf are
# culture-sensitive): controls, format characters and Unicode's default-ignorable code points.
_IGNORABLE_RANGES = [(0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
                     (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
                     (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
                     (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF)]


def _ignorable(ch: str) -> bool:
    code = ord(ch)
    return (unicodedata.category(ch) in ("Cc", "Cf", "Cs")
            or any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES))


def acts_as_command(line: str) -> bool:
    """Whether the runner could take ``line`` for a command of any name (stop-commands makes
    any word one): more generous than the runner, never less."""
    folded = "".join(ch for ch in line if not _ignorable(ch))
    trimmed = folded.lstrip()
    if trimmed.startswith("::") and trimmed.find("::", 2) >= 0:
        return True
    start = folded.find("##[")
    return start >= 0 and folded.find("]", start) >= 0


def our_commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    """Every line the runner takes for a command, each one checked to be one of ours: it
    starts with a literal '::' and parses exactly."""
    found = []
    for line in runner_lines(text):
        if acts_as_command(line):
            parsed = parse_v2(line)
            assert parsed is not None and line.startswith("::"), f"not ours: {line!r}"
            found.append(parsed)
    return found


def read_outputs(text: str) -> dict[str, str]:
    """SetEnvFileCommand's reading of $GITHUB_OUTPUT (the same for GITHUB_ENV)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line.split("=", 1)
            values[name] = value
            continue
        assert heredoc >= 0, f"invalid line {line!r}"
        name, delimiter = line.split("<<", 1)
        assert name and delimiter
        body = []
        while True:
            assert i < len(lines), f"no closing delimiter {delimiter!r}"
            if lines[i] == delimiter:
                i += 1
                break
            body.append(lines[i])
            i += 1
        values[name] = "\n".join(body)
    return values


# -- jobs to report on -------------------------------------------------------------------------


def job(job_id: str = "1", state: str = "succeeded", provider: str = "claret",
        message: str | None = None, failed_items: int | None = None) -> Job:
    return Job(provider=provider, job_id=job_id, state=JobState(state), status=state,
               progress=1.0 if state == "succeeded" else 0.5, done=8 if state == "succeeded"
               else 4, total=8, unit="steps", message=message, failed_items=failed_items)


def watch(job_id: str = "1", outcome: str | None = "succeeded", state: str | None = None,
          message: str | None = None, profile: str = "default", provider: str = "claret",
          failed_items: int | None = None, error: Any = None, ended_at: float | None = 12.0,
          saved: list[str] = (), failures: list[str] = ()) -> Watch:
    w = Watch(provider, job_id, profile=profile, started=0.0)
    if state is None:
        state = {"succeeded": "succeeded", "failed": "failed",
                 "download_failed": "succeeded"}.get(outcome or "", "running")
    if error is None:
        w.job = job(job_id, state, provider, message, failed_items)
    w.outcome, w.error, w.ended_at = outcome, error, ended_at
    w.downloads = [Saved("output", Path(p), 10) for p in saved]
    w.download_failures = list(failures)
    return w


def actions(env: dict[str, str] | None = None, *, clock: Clock | None = None, **kwargs: Any
            ) -> tuple[GitHubActions, io.StringIO, Clock]:
    """The Actions renderer as the integrator builds it: plain lines into a filtered stream."""
    clock = clock or Clock()
    raw = io.StringIO()
    stream = ActionsStream(raw)
    inner = PlainRenderer(stream, clock)
    return GitHubActions(inner, stream, env or {}, clock, **kwargs), raw, clock


HOSTILE = [
    "%0A", "%0D%0A::error::x", "\r\n::set-output name=x::y", "\n::add-mask::secret",
    "::add-mask::secret", "::stop-commands::tok", "##[error]pwned", "x ##[add-mask]s",
    "#\u200b#[error]zw", "\u200b::error::zw", " \u00a0::warning::nbsp", "\u00ad::error::shy",
    ":\u200b:error::x", "a\rb\n\n::endgroup::", "\x00NUL\x00", "\ud800lone\udfff",
    "\x1b[31mred\x1b[0m", "\u2028::error::ls", "\x85::error::nel", "[x](http://evil)",
    "![img](http://evil/i.png)", "<script>alert(1)</script>", "a | b || c", "`code` *em* _u_",
    "x@evil.com", "xmpp:a@b.c", "www.evil.com", "http://evil.com", "@octocat #12",
    "&lt;b&gt; &#64;", "\\", "trailing backslash\\", "::", "##[", "%", "%25", ",:=", "]",
]


# -- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "data", "prop"), [
    ("50% done", "50%25 done", "50%25 done"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("%0A", "%250A", "%250A"),
    ("claret: 1, 2", "claret: 1, 2", "claret%3A 1%2C 2"),
])
def test_escaping_is_githubs(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


def test_escaping_round_trips_through_the_runners_unescaping() -> None:
    rng = random.Random(7)
    alphabet = ["%", "0", "A", "D", "2", "5", "C", "3", "\r", "\n", ":", ",", "x", "%0A", "%25"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert unescape(escape_data(text), _DATA_ESCAPES) == text
        assert unescape(escape_property(text), _PROPERTY_ESCAPES) == text
        assert "\n" not in escape_property(text) and "\r" not in escape_data(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_command_carries_hostile_text_as_data_only(text: str) -> None:
    line = workflow_command("error", f"failed: {text}", title=f"claret {text}")
    assert "\n" not in line and "\r" not in line
    (name, props, data), = our_commands(line + "\n")
    assert name == "error"
    assert set(props) == {"title"}
    # What GitHub shows: the text, with every control made a space (a line break included).
    assert data == "failed: " + re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\ud800-\udfff]", " ", text)
    assert props["title"] == " ".join(("claret " + re.sub(
        r"[\x00-\x1f\x7f-\x9f\u2028\ud800-\udfff]", " ", text)).split())


def _fragments(rng: random.Random) -> str:
    pieces = HOSTILE + [":", "#", "[", "]", " ", "\t", "\u200b", "\u2060", "\ufeff", "\u3164",
                        "\ufe0f", "\u00ad", "error", "add-mask", "\r", "\n", "\x00", "é", "："]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))


def test_safe_line_leaves_no_command_and_no_line_break_property() -> None:
    rng = random.Random(2024)
    for _ in range(5000):
        text = _fragments(rng)
        for line in (text, f"[  5s] claret 1: {text}", f"jobwatch: error: claret {text}"):
            safe = safe_line(line)
            assert not re.search(r"[\r\n\x85\u2028\u2029]", safe), repr(line)
            assert not acts_as_command(safe), (line, safe)


def test_json_lines_keep_their_data_and_lose_every_legacy_command() -> None:
    import json

    from jobwatch.ui import json_text

    rng = random.Random(11)
    for _ in range(3000):
        data = {"message": _fragments(rng), "raw": {"steps": [_fragments(rng), "#", "["]},
                "n": [1, "#"]}
        line = safe_json_line(json_text(data))
        assert json.loads(line) == json.loads(json_text(data))
        assert not acts_as_command(line), line


@pytest.mark.parametrize("line", [
    "[  5s] claret 1: running  3/8 steps (38%)  Validating rows",
    "jobwatch: error: claret 2: claret job 2 not found (HTTP 422: Job not found)",
    "hint: set JOBWATCH_CLARET_TOKEN",
    "  --timeout DURATION  stop after this long: 90, 5m, 1h30m",
    "Ünïcödé: fine",
    "",
])
def test_safe_line_keeps_ordinary_lines_as_they_are(line: str) -> None:
    assert safe_line(line) == line


def test_safe_line_marks_and_defuses_what_could_act() -> None:
    assert safe_line("::error::x") == "| ::error::x"
    assert safe_line("\u200b::error::x") == "| \u200b::error::x"
    assert safe_line("[ 1s] see ##[error]x") == "[ 1s] see # #[error]x"
    assert safe_line("a ###[b") == "a ## #[b"
    assert safe_line("x\n::add-mask::y") == "x ::add-mask::y"


def test_the_stream_filters_whole_lines_and_commands_start_a_line() -> None:
    raw = io.StringIO()
    stream = ActionsStream(raw)
    stream.write("one\n::error::from a provider\nhalf")
    stream.command("::endgroup::")
    stream.write("after\n")
    stream.write("no newline")
    stream.flush()
    assert raw.getvalue().split("\n") == [
        "one", "| ::error::from a provider", "half", "::endgroup::", "after", "no newline", ""]
    assert [name for name, _, _ in our_commands(raw.getvalue())] == ["endgroup"]


# -- Markdown ----------------------------------------------------------------------------------


def _rendered_cells(markdown: str) -> list[list[str]]:
    """The table's body cells as markdown-it (CommonMark + GFM tables) renders them; asserts
    the cells hold only text."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows: list[list[str]] = []
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and i and tokens[i - 1].type == "td_open":
            assert all(child.type == "text" for child in token.children), token.children
            rows[-1].append("".join(child.content for child in token.children))
    return [row for row in rows if row]


def _shown(text: str) -> str:
    """What a cell should show for ``text``: one line, controls as spaces, runs of white space
    as one, and the invisible word joiners md_cell adds after '@' and '#'."""
    flat = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\ud800-\udfff]", " ", text).split())
    return flat.replace("@", "@\u2060").replace("#", "#\u2060")


def test_markdown_cells_render_as_their_text_and_keep_the_table_whole() -> None:
    rows = "".join(f"| {md_cell(text)} | {md_cell('x' + text)} |\n" for text in HOSTILE)
    cells = _rendered_cells("| a | b |\n| --- | --- |\n" + rows)
    assert len(cells) == len(HOSTILE)
    for text, row in zip(HOSTILE, cells):
        assert row == [_shown(text), _shown("x" + text)], text


def test_markdown_cells_make_no_link_in_githubs_own_renderer() -> None:
    cmarkgfm = pytest.importorskip("cmarkgfm")  # GitHub's cmark fork: its autolinks too
    rows = "".join(f"| {md_cell(text)} | b |\n" for text in HOSTILE)
    html = cmarkgfm.github_flavored_markdown_to_html("| a | b |\n| --- | --- |\n" + rows)
    assert html.count("<tr>") == len(HOSTILE) + 1
    assert html.count("<td>") == 2 * len(HOSTILE)
    for tag in ("<a", "<img", "<script", "<em", "<strong", "<code", "<br"):
        assert tag not in html, tag


def test_a_long_cell_is_cut_before_it_is_escaped() -> None:
    cell = md_cell("|" * 5000)
    assert len(cell) < 700 and cell.endswith("…")
    assert cell.count("\\|") == cell.count("|")  # no separator left unescaped
    assert not md_cell("a" * 299 + "\\").endswith("\\\\…")
    assert len(md_cell("x" * 2_000_000)) == 300


# -- the group ---------------------------------------------------------------------------------


def test_progress_is_folded_and_the_closing_lines_follow_the_group() -> None:
    renderer, raw, clock = actions()
    watches = [watch("1", None), watch("2", None)]
    renderer.start(watches)
    for w in watches:
        w.job = job(w.job_id, "running", message="Validating rows")
        renderer.update(w)
    clock.now = 12.0
    watches[0].outcome, watches[0].job = "succeeded", job("1")
    watches[1].outcome, watches[1].job = "failed", job("2", "failed", message="bad rows")
    for w in watches:
        renderer.update(w)
    renderer.finish(watches, 1)
    lines = raw.getvalue().splitlines()
    assert lines[0] == "::group::jobwatch: watching 2 jobs"
    assert lines.count("::endgroup::") == 1
    end = lines.index("::endgroup::")
    assert any("Validating rows" in line for line in lines[1:end])
    assert lines[end + 1].endswith("done (exit 1): 1 succeeded, 1 failed")
    assert "jobwatch: error:" not in raw.getvalue()  # a failed job is no error line of ours
    assert lines[-1] == "::error title=claret 2::failed: bad rows (watched 12s)"


@pytest.mark.parametrize("way_out", ["finish", "abort", "finish_then_abort", "inner_raises"])
def test_endgroup_is_printed_exactly_once_on_every_way_out(way_out: str) -> None:
    renderer, raw, _ = actions()
    watches = [watch("1")]
    renderer.start(watches)
    if way_out == "inner_raises":
        def broken(*args: Any) -> None:
            raise KeyboardInterrupt  # a second Ctrl-C while the closing lines are printed
        renderer.inner.finish = broken  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            renderer.finish(watches, 0)
        renderer.abort()  # what Engine.run's finally does next
    if way_out in ("finish", "finish_then_abort"):
        renderer.finish(watches, 0)
    if way_out in ("abort", "finish_then_abort"):
        renderer.abort()
    assert raw.getvalue().splitlines().count("::endgroup::") == 1


def _engine_run(fetch: Any, renderer: Any, clock: Clock, ids: list[str]) -> int:
    engine = Engine(fetch, renderer, Settings(interval=1.0, workers=0), clock=clock)
    return engine.run([Watch("claret", i) for i in ids])


def test_the_engine_closes_the_group_when_a_bug_ends_the_run() -> None:
    renderer, raw, clock = actions()

    def fetch(w: Watch) -> Job:
        raise RuntimeError("a bug in an adapter")

    with pytest.raises(RuntimeError):
        _engine_run(fetch, renderer, clock, ["1"])
    lines = raw.getvalue().splitlines()
    assert lines[0].startswith("::group::") and lines.count("::endgroup::") == 1


def test_ctrl_c_closes_the_group_and_leaves_one_warning_not_errors() -> None:
    renderer, raw, clock = actions()
    answers = iter([job("1", "running"), job("2", "running")])

    def fetch(w: Watch) -> Job:
        if clock.now >= 1:
            raise KeyboardInterrupt
        return next(answers)

    assert _engine_run(fetch, renderer, clock, ["1", "2"]) == 130
    text = raw.getvalue()
    assert text.splitlines().count("::endgroup::") == 1
    commands = our_commands(text)
    assert [name for name, _, _ in commands] == ["group", "endgroup", "warning"]
    assert commands[-1][2] == ("interrupted (Ctrl-C or SIGTERM) with 2 jobs not watched to the "
                               "end: claret 1, claret 2")


def test_quiet_has_no_group_but_still_annotates(tmp_path: Path) -> None:
    from jobwatch.ui import QuietRenderer

    raw = io.StringIO()
    stream = ActionsStream(raw)
    renderer = GitHubActions(QuietRenderer(stream), stream, {}, Clock(), group=False)
    watches = [watch("3", "not_found", error=NotFoundError("claret job 3 not found"))]
    renderer.start(watches)
    renderer.finish(watches, 4)
    renderer.abort()
    assert raw.getvalue().splitlines() == [
        "jobwatch: error: claret 3: claret job 3 not found",
        "::error title=claret 3::not found: claret job 3 not found"]


def test_a_finish_without_jobs_concludes_nothing(tmp_path: Path) -> None:
    """`download` says finish([], 0) before it knows its exit code, then conclude()."""
    output = tmp_path / "output"
    renderer, raw, _ = actions({"GITHUB_OUTPUT": str(output)}, title="jobwatch: downloading")
    renderer.start([])
    renderer.finish([], 0)
    assert not output.exists()
    renderer.conclude([watch("1", "download_failed", failures=["a.csv: HTTP 404"])], 8)
    assert read_outputs(output.read_text())["exit-code"] == "8"
    assert [name for name, _, _ in our_commands(raw.getvalue())] == [
        "group", "endgroup", "error"]
    assert raw.getvalue().startswith("::group::jobwatch: downloading\n")


def test_hostile_provider_text_everywhere_issues_no_command(tmp_path: Path) -> None:
    renderer, raw, clock = actions()
    nasty = "\r\n::add-mask::x ##[error]y %0A::stop-commands::z\n\u200b::error::w"
    watches = [watch(f"{i}{nasty}", None) for i in range(3)]
    renderer.start(watches)
    for w in watches:
        w.job = job(w.job_id, "running", message=nasty)
        renderer.update(w)
        renderer.problem(w, f"HTTP 503 {nasty}")
        renderer.report_table(f"{w.label}: 1 error(s)", ["type", "message"], [["x", nasty]])
    clock.now = 5
    watches[0].outcome, watches[0].job = "failed", job(watches[0].job_id, "failed",
                                                        message=nasty)
    watches[1].outcome, watches[1].error = "auth", AuthError(f"refused {nasty}", hint=nasty)
    watches[2].outcome = "timeout"
    renderer.finish(watches, 1)
    names = [name for name, _, _ in our_commands(raw.getvalue())]
    assert names == ["group", "endgroup", "error", "error", "error"]


# -- annotations -------------------------------------------------------------------------------


def test_each_outcome_gets_its_annotation_titled_with_the_job() -> None:
    watches = [
        watch("1"),
        watch("2", "failed", message="3 rows rejected"),
        watch("3", "not_found", error=NotFoundError("claret job 3 not found")),
        watch("4", "auth", error=AuthError("HTTP 401", hint="set JOBWATCH_CLARET_TOKEN"),
              profile="staging"),
        watch("5", "unreachable", error=UnreachableError("HTTP 503; gave up")),
        watch("6", "timeout", ended_at=None),
        watch("7", "download_failed", failures=["output: cannot write a.csv: disk full"]),
        watch("8", failed_items=3, saved=["claret-8/errors/e.csv"]),
    ]
    got = [(a.kind, a.title, a.message) for a in workflow_annotations(watches, 1)]
    assert got == [
        ("error", "claret 2", "failed: 3 rows rejected (watched 12s)"),
        ("error", "claret 3", "not found: claret job 3 not found"),
        ("error", "claret@staging 4", "refused: HTTP 401; hint: set JOBWATCH_CLARET_TOKEN"),
        ("error", "claret 5", "unreachable: HTTP 503; gave up"),
        ("error", "claret 6", "still running at the timeout (4/8 steps (50%))"),
        ("error", "claret 7", "succeeded (watched 12s); 1 download(s) failed: output: cannot "
                              "write a.csv: disk full"),
        ("warning", "claret 8", "succeeded with 3 failed items (watched 12s); saved 1 file in "
                                "./claret-8/errors/ (e.csv)"),
    ]


def test_warnings_come_from_the_callers_concerns() -> None:
    w = watch("enr_1", provider="merchantops")
    assert workflow_annotations([w], 0) == []
    got = workflow_annotations([w], 0, lambda w: job_concerns(w, warnings=2))
    assert [(a.kind, a.message) for a in got] == [
        ("warning", "succeeded with 2 warnings (watched 12s)")]
    assert job_concerns(w, with_errors=True) == ["errors reported"]
    assert job_concerns(watch(failed_items=1), errors=1, warnings=1) == [
        "1 failed item", "1 warning"]


@pytest.mark.parametrize("failed", [ERRORS_SHOWN, ERRORS_SHOWN + 1, 40])
def test_many_failures_stay_within_githubs_limits(failed: int) -> None:
    watches = [watch(str(i), "failed") for i in range(failed)]
    watches += [watch(f"w{i}", failed_items=1) for i in range(25)]
    got = workflow_annotations(watches, 1)
    errors = [a for a in got if a.kind == "error"]
    warnings = [a for a in got if a.kind == "warning"]
    assert len(errors) == min(failed, ERRORS_SHOWN)
    assert len(warnings) == WARNINGS_SHOWN
    if failed > ERRORS_SHOWN:
        rest = failed - ERRORS_SHOWN + 1
        assert errors[-1].title == f"jobwatch: {rest} more jobs did not succeed"
        assert errors[-1].message.startswith(f"and {rest} more jobs did not succeed: claret "
                                             f"{ERRORS_SHOWN - 1} (failed), ")
    assert warnings[-1].title == "jobwatch: 16 more jobs succeeded with warnings"


def test_an_annotation_is_bounded() -> None:
    w = watch("1", "failed", message="x" * 2_000_000)
    line = workflow_annotations([w], 1)[0].command()
    assert len(line) < 1200


# -- the step summary --------------------------------------------------------------------------


def test_the_summary_is_appended_as_a_table(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step output\n")
    renderer, _, clock = actions({"GITHUB_STEP_SUMMARY": str(summary)})
    watches = [watch("1", saved=["claret-1/output/a b.csv", "claret-1/errors/e.csv"]),
               watch("2", "failed", message="[click](http://evil) | <b>x</b>\n2nd line"),
               watch("3", "timeout", ended_at=None)]
    renderer.start(watches)
    clock.now = 30
    renderer.finish(watches, 1)
    text = summary.read_text()
    assert text.startswith("# Earlier step output\n\n### jobwatch\\: 1 succeeded\\, 1 failed\\, 1 "
                           "timed out \\(exit 1\\)\n\n| Job | Outcome |")
    assert _rendered_cells(text) == [
        ["claret 1", "✅ succeeded", "12s", "8/8 steps (100%)", "",
         "2 files in ./claret-1/ (output/a b.csv, errors/e.csv)"],
        ["claret 2", "❌ failed", "12s", "4/8 steps (50%)",
         "[click](http://evil) | <b>x</b> 2nd line", ""],
        ["claret 3", "⏱️ timed out", "30s", "4/8 steps (50%)", "", ""],
    ]


@pytest.mark.slow
def test_the_summary_stays_under_a_mebibyte_with_10000_jobs(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * 100_000)  # an earlier command of the same step wrote some
    renderer, _, _ = actions({"GITHUB_STEP_SUMMARY": str(summary)})
    watches = [watch(str(i), "failed", message="m" * 400 + "|" * 100) for i in range(10_000)]
    renderer.finish(watches, 1)
    size = summary.stat().st_size
    assert SUMMARY_LIMIT - 2000 < size <= SUMMARY_LIMIT
    text = summary.read_text()
    shown = len(_rendered_cells(text))
    assert text.endswith(f"\n\n… and {10_000 - shown} more jobs\\, left out to keep the "
                         "summary under 1 MiB\n")
    assert 1000 < shown < 10_000


def test_a_full_summary_gets_no_table_but_a_warning(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * (SUMMARY_LIMIT - 100))
    renderer, raw, _ = actions({"GITHUB_STEP_SUMMARY": str(summary)})
    renderer.finish([watch("1")], 0)
    assert summary.stat().st_size == SUMMARY_LIMIT - 100
    assert our_commands(raw.getvalue())[-1][2].startswith("no room left in the step summary")


# -- step outputs ------------------------------------------------------------------------------

WEIRD_PATHS = ["/tmp/ünï cødé/claret-1/output/a b.csv", "/tmp/ünï cødé/claret-1/%0A.csv",
               "/tmp/ünï cødé/claret-1/x=y<<EOF.csv", "/tmp/ünï cødé/claret-1/ghadelimiter_x",
               "out dir/claret-3/tab\there.csv", "out dir/claret-3/  lead and trail  ",
               "out dir/claret-3/#[]{}*?$`'\".csv"]


def test_outputs_parse_back_to_the_exact_values(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.write_text("earlier=1")  # no final newline: ours must still start a line
    renderer, _, _ = actions({"GITHUB_OUTPUT": str(output)})
    watches = [watch("1", saved=WEIRD_PATHS[:4]), watch("2", "failed"),
               watch("3", saved=WEIRD_PATHS[4:])]
    renderer.finish(watches, 1)
    assert read_outputs(output.read_text()) == {
        "earlier": "1", "outcome": "failed", "exit-code": "1",
        "downloads": "\n".join(WEIRD_PATHS)}


@pytest.mark.parametrize(("code", "outcome"), [(0, "succeeded"), (124, "timeout"),
                                               (130, "interrupted"), (8, "download_failed")])
def test_the_outcome_output_names_the_exit_code(code: int, outcome: str) -> None:
    text, _ = output_text([], code)
    assert read_outputs(text) == {"outcome": outcome, "exit-code": str(code), "downloads": ""}


def test_a_path_that_cannot_be_one_line_is_left_out_and_said(tmp_path: Path) -> None:
    output = tmp_path / "output"
    renderer, raw, _ = actions({"GITHUB_OUTPUT": str(output)})
    renderer.finish([watch("1", saved=["ok.csv", "two\nlines.csv", "bad\udc80.csv"])], 0)
    assert read_outputs(output.read_text())["downloads"] == "ok.csv"
    assert "2 saved paths left out of the downloads output" in our_commands(
        raw.getvalue())[-1][2]


def test_the_delimiter_never_occurs_in_the_value() -> None:
    saved = watch("1", saved=["ghadelimiter_fixed"])
    text, _ = output_text([saved], 0, delimiter="ghadelimiter_fixed")
    assert read_outputs(text)["downloads"] == "ghadelimiter_fixed"


def test_a_short_write_leaves_no_half_record(tmp_path: Path, monkeypatch) -> None:
    output = tmp_path / "output"
    output.write_text("earlier=1\n")
    real_write = os.write

    def short(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])

    renderer, raw, _ = actions({"GITHUB_OUTPUT": str(output)})
    monkeypatch.setattr(os, "write", short)
    renderer.finish([watch("1", saved=["a.csv"])], 0)
    monkeypatch.undo()
    assert output.read_text() == "earlier=1\n"
    assert "cannot append to $GITHUB_OUTPUT" in our_commands(raw.getvalue())[-1][2]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_unwritable_output_is_a_warning_not_a_crash() -> None:
    renderer, raw, _ = actions({"GITHUB_OUTPUT": "/dev/full",
                                "GITHUB_STEP_SUMMARY": "/nonexistent/dir/summary"})
    renderer.finish([watch("1")], 0)
    warnings = [data for name, _, data in our_commands(raw.getvalue()) if name == "warning"]
    assert len(warnings) == 2
    assert warnings[0].startswith("cannot append to $GITHUB_OUTPUT (/dev/full): ")
    assert warnings[1].startswith("cannot append to $GITHUB_STEP_SUMMARY (/nonexistent/dir/")


# -- end to end --------------------------------------------------------------------------------

# The wiring the module docstring asks for, done from outside: until the integrator wires it,
# the end-to-end test runs the real CLI through this; afterwards, as plain `-m jobwatch`.
def _run_wait(fake: Any, run_cli: Any, tmp_path: Path) -> Any:
    from tests.test_wait import claret, env, route_claret

    nasty = "Validating\n::add-mask::x ##[error]y"
    route_claret(fake, 1, claret(1, "in_progress", 3, step=nasty), claret(1, "completed", 8, 8))
    route_claret(fake, 2, claret(2, "in_progress", 2, step=nasty),
                 claret(2, "failed", 4, step=f"bad rows {nasty}"))
    files = {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
             "GITHUB_OUTPUT": str(tmp_path / "output")}
    variables = {**env(fake), **files, "GITHUB_ACTIONS": "true"}
    args = ("wait", "claret", "1", "2", "--interval", "0.2")
    return run_cli(*args, env=variables)


def _check_wait(result: Any, tmp_path: Path) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "::group::jobwatch: watching 2 jobs"
    assert lines.count("::endgroup::") == 1
    commands = our_commands(result.stderr)
    assert [(name, props) for name, props, _ in commands] == [
        ("group", {}), ("endgroup", {}), ("error", {"title": "claret 2"})]
    # Data of a command of ours: the runner reads the line as that command, and no other.
    assert re.fullmatch(r"failed: bad rows Validating ::add-mask::x ##\[error\]y \(watched \d+s\)",
                        commands[-1][2])
    assert read_outputs((tmp_path / "output").read_text()) == {
        "outcome": "failed", "exit-code": "1", "downloads": ""}
    cells = _rendered_cells((tmp_path / "summary.md").read_text())
    assert [row[:2] for row in cells] == [["claret 1", "✅ succeeded"], ["claret 2", "❌ failed"]]
    assert cells[1][4] == _shown("bad rows Validating ::add-mask::x ##[error]y")


def test_wait_in_github_actions_end_to_end(fake, run_cli, tmp_path: Path) -> None:
    """GITHUB_ACTIONS=true jobwatch wait claret 1 2 against the fake provider."""
    _check_wait(_run_wait(fake, run_cli, tmp_path), tmp_path)



def test_a_job_that_succeeded_with_errors_gets_a_warning_end_to_end(fake, run_cli,
                                                                    tmp_path: Path) -> None:
    """What the adapter knows of a succeeded job reaches the annotations and the summary: a
    Claret job with an errors file, a MerchantOps job whose detail answer lists failed items,
    errors and warnings."""
    from tests.conftest import provider_env
    from tests.test_artifacts_e2e import claret, merchantops

    claret(fake, 7, "completed", {"errors": ["/acme/download/errors.csv"]})
    merchantops(fake, "m1", {"failed_items": 4}, {
        "failed_items": 4, "errors": [{"entity_key": "SKU-1", "message": "bad"}],
        "warnings": [{"entity_key": "SKU-2", "message": "meh"}, {"message": "also"}]})
    summary = tmp_path / "summary.md"
    variables = {**provider_env(fake, "claret"), **provider_env(fake, "merchantops"),
                 "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_cli("wait", "claret:7", "merchantops:m1", "--interval", "0.2",
                     "--no-download", env=variables)
    assert result.returncode == 0, result.stderr
    warnings = {props["title"]: data for name, props, data in our_commands(result.stderr)
                if name == "warning"}
    assert set(warnings) == {"claret 7", "merchantops m1"}, result.stderr
    assert "errors reported" in warnings["claret 7"]
    assert "4 failed items, 2 warnings" in warnings["merchantops m1"]
    cells = _rendered_cells(summary.read_text())
    assert [row[1] for row in cells] == ["⚠️ succeeded with errors reported",
                                         "⚠️ succeeded with 4 failed items, 2 warnings"]
