"""GitHub Actions mode (``GITHUB_ACTIONS=true``): the progress folded in a group, a workflow
annotation per job that did not simply succeed, a Markdown table in the step summary, and the
outcome, exit code and saved paths as step outputs.

(Over 500 lines on purpose: the escaping rules and why they suffice are written down here,
beside the one renderer that depends on them.)

Wiring (for the integrator; nothing here is called yet):

1. ``__main__.main``, right after stderr becomes a ``GuardedStream``::

       if os.environ.get("GITHUB_ACTIONS") == "true":
           sys.stderr = ActionsStream(sys.stderr)

   Every line jobwatch writes on stderr then passes through ``safe_line``: progress lines,
   ``--verbose`` and warning lines (``Runtime.log``/``warn``), the ``jobwatch: error:`` lines
   (``__main__._error``, ``error_lines``, ``collect._say``) and ``--on-end`` output, as long as
   it is written through ``sys.stderr``/``runtime.stderr`` (never hand a child process fd 2).
   Runtime's default ``stderr`` is read at construction, so it picks the wrapper up.
2. ``Output.choose`` notes ``actions = active(runtime.env)`` and keeps ``runtime.env``; in
   Actions mode ``progress`` is "plain" even on a terminal (never "live": cursor codes in a log).
3. ``Output.renderer`` builds the plain (or quiet) renderer as now and, in Actions mode, returns
   ``GitHubActions(inner, self.stderr, env, clock, group=self.progress == "plain",
   redact=..., concerns=...)``. ``finish`` closes the group, lets the inner renderer print its
   closing lines and error lines, then adds the annotations, ``$GITHUB_OUTPUT`` and the step
   summary. ``abort`` (the engine calls it on a bug or a second Ctrl-C) only closes the group.
   ``Engine.run`` already calls ``finish`` or ``abort`` on every way out once ``start`` ran
   (Ctrl-C and SIGTERM arrive as KeyboardInterrupt and end in ``finish(..., 130)``), so
   ``::endgroup::`` is printed exactly once; a caller that drives a renderer itself (``collect``)
   calls ``abort`` from its own ``finally``.
4. ``watch.py`` passes ``concerns`` (why a job that succeeded deserves a warning), built from the
   adapter: ``lambda w: job_concerns(w, errors=len(e), warnings=len(wn), with_errors=...)``
   with ``e, wn = adapter.detail_reports(w.detail)`` and
   ``adapter.ended_with_errors(w.job, w.detail)``; and ``redact=runtime.redact``.
5. stdout is data and stays exact, but the runner reads it too: in Actions mode ``--json`` and
   ``--events`` lines go through ``safe_json_line`` (the same JSON data) and the ``status``
   summary text through ``safe_line``. Saved paths printed by ``download`` are left exact
   (``| xargs``): a provider file name holding ``##[...]`` could still act there; the paths in
   ``$GITHUB_OUTPUT`` cannot.
6. ``collect.run_download`` calls ``renderer.finish([], 0)`` with no watches: for annotations,
   summary and outputs of ``download`` it would call ``renderer.conclude(watches, code)`` once
   its codes are known.

Why no provider text can issue a workflow command. The runner reads our stdout and stderr line
by line (LF or CR ends a line) and tries each line twice: as ``::name props::data`` after
trimming leading white space, and in the legacy ``##[name props]data`` form *anywhere* in the
line. Both tests use .NET's culture-sensitive ``StartsWith``/``IndexOf``, which skip ignorable
characters (a zero-width space, a soft hyphen): ``\\u200b::error::x`` or ``#\\u200b#[error]`` can
count. So ``safe_line``, applied to every line we write that is not a command of our own:
turns every control character (CR, LF, NEL, NUL, C1, bidi controls, U+2028/2029, lone
surrogates) into a space, so a line stays one line; puts a space inside every ``#``..``#``..``[``
(with anything but visible ASCII between), so no legacy command is left anywhere; and puts
``| `` before a line that starts with anything but a visible ASCII character other than ``:``
and holds two colons. Our own lines start with ``[ 12s] ``, ``jobwatch:`` or ``hint:``, so in
practice only text that is not ours (hook output, Click's help) can ever get that mark. Our
commands (``::group::``, ``::error``, ...) are written past the filter, after ending any partial
line, with their data and properties escaped as GitHub's toolkit does.
"""

from __future__ import annotations

import errno
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from jobwatch.text import printable

if TYPE_CHECKING:
    from jobwatch.engine import Renderer, Watch
    from jobwatch.progress import DownloadProgress

ERRORS_SHOWN = 9  # GitHub keeps 10 per step; one is left for the runner's "exit code 1" line
WARNINGS_SHOWN = 10
SUMMARY_LIMIT = 1024 * 1024  # GitHub drops a step summary file larger than this, whole
MESSAGE_CHARS = 1000  # of an annotation's message
TITLE_CHARS = 200
CELL_CHARS = 300  # of a summary cell, before escaping

ERROR_OUTCOMES = ("failed", "not_found", "auth", "unreachable", "timeout", "download_failed")
_CODE_OUTCOMES = {0: "succeeded", 1: "failed", 4: "not_found", 5: "auth", 7: "unreachable",
                  8: "download_failed", 124: "timeout", 130: "interrupted"}


def active(env: Mapping[str, str]) -> bool:
    """Whether we run as a GitHub Actions step (the runner sets exactly "true")."""
    return env.get("GITHUB_ACTIONS") == "true"


# -- workflow commands ---------------------------------------------------------------------
# As @actions/core's escapeData and escapeProperty; `%` first, so no escape is escaped twice.


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, message: str = "", **properties: str) -> str:
    """``::name key=value,...::message`` as one line (no newline). Values are made printable
    (a control, CR and LF included, becomes a space), then escaped; a property's white space
    is collapsed too (the runner trims it)."""
    props = ",".join(f"{key}={escape_property(' '.join(printable(value).split()))}"
                     for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(printable(message))}"


# -- lines that are not commands -----------------------------------------------------------

_SAFE_START = re.compile(r"[!-9;-~]")  # visible ASCII except ':'
_LEGACY = re.compile(r"#(?=[^!-~]*#[^!-~]*\[)")  # a '#' that could begin "##[" to .NET


def safe_line(line: str) -> str:
    """One line we write on stderr in Actions mode, made unable to act as a workflow command
    (see the module docstring for why this is enough). The text is otherwise kept."""
    text = _LEGACY.sub("# ", printable(line))
    if text and not _SAFE_START.match(text) and text.count(":") >= 2:
        text = "| " + text
    return text


_LEGACY_JSON = re.compile(r"#([^!-~]*#[^!-~]*)\[")


def safe_json_line(line: str) -> str:
    """A JSON line for stdout (`--json`, `--events`) in Actions mode: the same data, with the
    ``[`` of every ``#``..``#``..``[`` written ``\\u005b``. That can only occur inside a string
    (``#`` does not occur outside one, and nothing but invisible characters lies between), where
    the escape means the same character. JSON lines hold no line break and start with ``{``."""
    return _LEGACY_JSON.sub(r"#\1\\u005b", line)


class ActionsStream:
    """stderr in Actions mode: each line written passes through ``safe_line``; ``command``
    writes a workflow command of ours past it, always at the start of a line. Whole lines go
    through at once; a partial line waits for its end, or for ``flush``/``command``, which end
    it with a newline (jobwatch writes whole lines; a hanging one must not swallow a
    command)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""
        self._lock = threading.RLock()  # worker threads log too

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
            if lines:
                self._stream.write("".join(safe_line(_chomp(line)) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._end_partial()
            self._stream.flush()

    def command(self, line: str) -> None:
        """A workflow command built by ``workflow_command`` (or ``::endgroup::``)."""
        with self._lock:
            self._end_partial()
            self._stream.write(line + "\n")
            self._stream.flush()

    def _end_partial(self) -> None:
        if self._partial:
            partial, self._partial = self._partial, ""
            self._stream.write(safe_line(_chomp(partial)) + "\n")

    def isatty(self) -> bool:
        return bool(self._stream.isatty())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _chomp(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


def actions_stream(stream: TextIO) -> ActionsStream:
    return stream if isinstance(stream, ActionsStream) else ActionsStream(stream)


# -- Markdown ------------------------------------------------------------------------------

_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
# cmark-gfm links x@example.com and xmpp:x@y even with the '@' and '.' escaped, and github.com
# links @user and #123 after rendering: an invisible word joiner after '@' and '#' stops both.
_WORD_JOINER = "\u2060"


def md_text(text: str) -> str:
    """Provider text as Markdown that renders as that text and nothing else: no link, image,
    HTML, emphasis or code, no cell separator, on one line (controls and line breaks become
    spaces, runs of white space one space)."""
    flat = " ".join(printable(text).split())
    escaped = _MD_PUNCT.sub(r"\\\1", flat)
    return escaped.replace("@", "@" + _WORD_JOINER).replace("#", "#" + _WORD_JOINER)


def md_cell(text: str, limit: int = CELL_CHARS) -> str:
    """``md_text`` cut to ``limit`` characters first (an escape is never cut in half: a lone
    trailing backslash would escape the cell's closing ``|``)."""
    return md_text(_cut(" ".join(printable(text).split()), limit))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


# -- what each job deserves ----------------------------------------------------------------


def job_title(watch: Watch) -> str:
    """'claret 12345', or 'claret@staging 12345' for a job of another profile than default."""
    at = f"@{watch.profile}" if watch.profile != "default" else ""
    return f"{watch.provider}{at} {watch.job_id}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def job_concerns(watch: Watch, *, errors: int = 0, warnings: int = 0,
                 with_errors: bool = False) -> list[str]:
    """Why a job that succeeded deserves a warning: '3 failed items', '2 warnings'. ``errors``
    and ``warnings`` count what its detail answer listed; ``with_errors`` is the adapter's
    word that it ended with errors (Claret: an errors file)."""
    job = watch.job
    failed = job.failed_items if job is not None and job.failed_items else 0
    found = [_plural(failed, "failed item")] if failed else []
    if errors and not failed:
        found.append(_plural(errors, "error"))
    if warnings:
        found.append(_plural(warnings, "warning"))
    if with_errors and not found:
        found.append("errors reported")
    return found


def _concerns(concerns: Callable[[Watch], list[str]], watch: Watch) -> list[str]:
    if watch.outcome != "succeeded" or watch.job is None:
        return []
    return concerns(watch)


@dataclass(frozen=True)
class Annotation:
    kind: str  # "error" or "warning"
    title: str
    message: str

    def command(self, redact: Callable[[str], str] = str) -> str:
        return workflow_command(self.kind, _cut(redact(self.message), MESSAGE_CHARS),
                                title=_cut(redact(self.title), TITLE_CHARS))


def _error_message(watch: Watch) -> str:
    from jobwatch.closing import outcome_text
    from jobwatch.words import outcome_word

    if watch.error is not None:  # "refused: HTTP 401", where the closing lines say "auth: ..."
        text = printable(f"{outcome_word(watch.outcome or 'failed')}: {watch.error.message}")
    else:
        text = outcome_text(watch)
    if watch.download_failures:
        text += ": " + "; ".join(watch.download_failures[:3])
    if watch.error is not None and watch.error.hint:
        text += f"; hint: {watch.error.hint}"
    return text


def _warning_message(watch: Watch, found: list[str]) -> str:
    from jobwatch.closing import saved_summary
    from jobwatch.durations import format_duration

    text = f"succeeded with {', '.join(found)}"
    if watch.ended_at is not None:
        text += f" (watched {format_duration(watch.ended_at - watch.started)})"
    saved = saved_summary(watch)
    return text + (f"; {saved}" if saved else "")


def workflow_annotations(watches: list[Watch], code: int,
                concerns: Callable[[Watch], list[str]] = job_concerns) -> list[Annotation]:
    """The annotations of a run, errors first, within GitHub's per-step limits: past them, the
    last one shown stands for the rest. A job stopped before it ended (Ctrl-C, SIGTERM, which a
    cancelled workflow sends, or --fail-fast) is no error of its own: the stopped ones share
    one warning."""
    from jobwatch.words import outcome_word

    errors = [Annotation("error", job_title(w), _error_message(w))
              for w in watches if w.outcome in ERROR_OUTCOMES]
    warned = [(w, found) for w in watches for found in [_concerns(concerns, w)] if found]
    warnings = [Annotation("warning", job_title(w), _warning_message(w, found))
                for w, found in warned]
    stopped = [w for w in watches if w.outcome == "interrupted"]
    note = []
    if stopped:
        why = "interrupted (Ctrl-C or SIGTERM)" if code == 130 else "stopped early"
        names = _names(stopped)
        note = [Annotation("warning", "jobwatch: " + why,
                           f"{why} with {_plural(len(stopped), 'job')} not watched to the end: "
                           f"{names}")]
    error_rest = [f"{job_title(w)} ({outcome_word(w.outcome)})"
                  for w in watches if w.outcome in ERROR_OUTCOMES]
    warning_rest = [job_title(w) for w, _ in warned]
    return (_capped(errors, error_rest, ERRORS_SHOWN, "error", "did not succeed")
            + _capped(warnings, warning_rest, WARNINGS_SHOWN - len(note), "warning",
                      "succeeded with warnings") + note)


def _capped(items: list[Annotation], labels: list[str], shown: int, kind: str,
            what: str) -> list[Annotation]:
    if len(items) <= shown:
        return items
    rest = labels[shown - 1:]
    return items[:shown - 1] + [Annotation(
        kind, f"jobwatch: {len(rest)} more jobs {what}",
        f"and {len(rest)} more jobs {what}: {_names(rest)} (see the step summary and the log)")]


def _names(items: Iterable[Watch | str]) -> str:
    from jobwatch.words import named

    return named([i if isinstance(i, str) else job_title(i) for i in items])


# -- the step summary ----------------------------------------------------------------------

_ICONS = {"succeeded": "✅", "timeout": "⏱️", "interrupted": "⏹️"}
_HEAD = ("| Job | Outcome | Time watched | Progress | Message | Files saved |\n"
         "| --- | --- | --- | --- | --- | --- |\n")


def _outcome_cell(watch: Watch, found: list[str]) -> str:
    from jobwatch.words import outcome_word, state_word

    outcome = watch.outcome or "timeout"
    word = outcome_word(outcome)
    if outcome == "failed" and watch.job is not None:
        word = ("failed (--strict)" if watch.job.state.value == "succeeded"
                else state_word(watch.job))
    if found:
        return f"⚠️ {word} with {', '.join(found)}"
    return f"{_ICONS.get(outcome, '❌')} {word}"


def _message(watch: Watch) -> str:
    parts = []
    if watch.error is not None:
        parts.append(watch.error.message)
    elif watch.job is not None and watch.job.message:
        parts.append(watch.job.message)
    elif watch.last_problem:
        parts.append(watch.last_problem)
    parts += [f"download failed: {failure}" for failure in watch.download_failures]
    return "; ".join(parts)


def summary_row(watch: Watch, now: float, found: list[str],
                redact: Callable[[str], str] = str) -> str:
    from jobwatch.closing import saved_summary
    from jobwatch.durations import format_duration
    from jobwatch.words import progress_text

    end = watch.ended_at if watch.ended_at is not None else now
    saved = saved_summary(watch) or ""
    cells = [job_title(watch), _outcome_cell(watch, found), format_duration(end - watch.started),
             progress_text(watch.job) if watch.job is not None else "", _message(watch),
             saved.removeprefix("saved ")]
    return "| " + " | ".join(md_cell(redact(cell)) for cell in cells) + " |\n"


def summary_markdown(watches: list[Watch], code: int, now: float, budget: int, *,
                     concerns: Callable[[Watch], list[str]] = job_concerns,
                     redact: Callable[[str], str] = str) -> str:
    """The heading and table appended to the step summary, at most ``budget`` bytes of UTF-8:
    rows that do not fit are left out for one '… and N more jobs' line. '' when not even the
    heading fits."""
    from jobwatch.words import tally

    head = f"\n### {md_text(f'jobwatch: {tally(watches)} (exit {code})')}\n\n{_HEAD}"
    used = len(head.encode())

    def more(n: int) -> str:  # after a blank line: a line under a table would be a row
        return f"\n{md_text(f'… and {n} more jobs, left out to keep the summary under 1 MiB')}\n"

    reserve = len(more(len(watches)).encode())
    if used + reserve > budget:
        return ""
    rows = []
    for watch in watches:
        row = summary_row(watch, now, _concerns(concerns, watch), redact)
        size = len(row.encode())
        if used + size + reserve > budget:
            break
        rows.append(row)
        used += size
    left = len(watches) - len(rows)
    return head + "".join(rows) + (more(left) if left else "")


# -- step outputs --------------------------------------------------------------------------


def run_outcome(code: int) -> str:
    """The run's outcome, named as `wait --json` names a job's: the exit code says which job
    spoke (the first in command-line order that did not succeed), so its word is the run's."""
    return _CODE_OUTCOMES.get(code, "error")


def output_text(watches: list[Watch], code: int, delimiter: str | None = None
                ) -> tuple[str, list[str]]:
    """The ``$GITHUB_OUTPUT`` record (outcome, exit-code, downloads as one path per line in
    GitHub's ``name<<DELIMITER`` form) and the paths left out of it: one holding a line break,
    or not writable as UTF-8, could not be given back exactly."""
    paths, left_out = [], []
    for watch in watches:
        for saved in watch.downloads:
            path = str(saved.path)
            if "\n" in path or "\r" in path or not _utf8(path):
                left_out.append(path)
            else:
                paths.append(path)
    value = "\n".join(paths)
    import uuid

    while delimiter is None or delimiter in value:  # as @actions/core, but never failing
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    text = (f"outcome={run_outcome(code)}\nexit-code={code}\n"
            f"downloads<<{delimiter}\n{value}\n{delimiter}\n")
    return text, left_out


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def append_whole(path: str, build: Callable[[int], str]) -> None:
    """Append ``build(size of the file now)`` to ``path`` in one write, after a newline if the
    file does not end with one (someone's `echo -n >> $GITHUB_OUTPUT` must not swallow our
    first line). All or nothing: a short write (a full disk) is undone. Raises OSError."""
    flags = os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, os.O_RDWR | flags, 0o644)
        readable = True
    except PermissionError:  # write-only: trust it ends with a newline
        fd = os.open(path, os.O_WRONLY | flags, 0o644)
        readable = False
    try:
        size = os.fstat(fd).st_size
        lead = b""
        if size and readable and os.pread(fd, 1, size - 1) != b"\n":
            lead = b"\n"
        data = lead + build(size + len(lead)).encode("utf-8")
        if data == lead:
            return
        written = os.write(fd, data)
        if written != len(data):
            os.ftruncate(fd, size)
            raise OSError(errno.ENOSPC, f"only {written} of {len(data)} bytes could be written")
    finally:
        os.close(fd)


# -- the renderer --------------------------------------------------------------------------


class GitHubActions:
    """A renderer around the plain (or quiet) one: its lines folded in a group, then the
    annotations, the step outputs and the step summary. Everything else is the inner one's."""

    def __init__(self, inner: Renderer, stream: TextIO, env: Mapping[str, str],
                 clock: Callable[[], float], *, group: bool = True, title: str | None = None,
                 concerns: Callable[[Watch], list[str]] = job_concerns,
                 redact: Callable[[str], str] = str) -> None:
        self.inner = inner
        self.stream = actions_stream(stream)
        self.env = env
        self.clock = clock
        self.group = group
        self.title = title
        self.concerns = concerns
        self.redact = redact
        self._open = False
        self._lock = threading.RLock()

    # -- the group -------------------------------------------------------------------------

    def start(self, watches: list[Watch]) -> None:
        with self._lock:
            if self.group and not self._open:
                self.stream.command(workflow_command("group", self.redact(
                    self.title or _group_title(watches))))
                self._open = True
        self.inner.start(watches)

    def close_group(self) -> None:
        """``::endgroup::`` if the group is open; safe to call on every way out."""
        with self._lock:
            if self._open:
                self._open = False
                self.stream.command("::endgroup::")

    def finish(self, watches: list[Watch], code: int) -> None:
        """Close the group (the closing lines, notes and errors stay in sight), let the inner
        renderer close, then conclude. Without watches (`download` says ``finish([], 0)``
        before its exit code is known) there is nothing to conclude: it calls ``conclude``."""
        self.close_group()
        self.inner.finish(watches, code)
        if watches:
            self.conclude(watches, code)

    def abort(self) -> None:
        """After a bug, or a second Ctrl-C while finishing: close the group and stop; no
        annotations or files (the exit code and the error line say what happened)."""
        try:
            self.close_group()
        finally:
            inner_abort = getattr(self.inner, "abort", None)
            if inner_abort is not None:
                inner_abort()

    # -- after the group -------------------------------------------------------------------

    def conclude(self, watches: list[Watch], code: int) -> None:
        for annotation in workflow_annotations(watches, code, self.concerns):
            self.stream.command(annotation.command(self.redact))
        output = self.env.get("GITHUB_OUTPUT")
        if output:
            text, left_out = output_text(watches, code)
            if left_out:
                self._warn(f"{_plural(len(left_out), 'saved path')} left out of the downloads "
                           "output: a line break or an undecodable name cannot be one line of "
                           "it")
            self._append("GITHUB_OUTPUT", output, lambda size: text)
        summary = self.env.get("GITHUB_STEP_SUMMARY")
        if summary and watches:
            self._append("GITHUB_STEP_SUMMARY", summary,
                         lambda size: self._summary(watches, code, SUMMARY_LIMIT - size))

    def _summary(self, watches: list[Watch], code: int, budget: int) -> str:
        text = summary_markdown(watches, code, self.clock(), budget, concerns=self.concerns,
                                redact=self.redact)
        if not text:
            self._warn("no room left in the step summary for the table of jobs (GitHub keeps "
                       "at most 1 MiB per step)")
        return text

    def _append(self, name: str, path: str, build: Callable[[int], str]) -> None:
        try:
            append_whole(path, build)
        except OSError as exc:
            # The runner's file, not the job: the exit code stays the job's.
            self._warn(f"cannot append to ${name} ({path}): {exc.strerror or exc}")

    def _warn(self, message: str) -> None:
        self.stream.command(workflow_command("warning", message, title="jobwatch"))

    # -- the rest is the inner renderer's --------------------------------------------------

    def add(self, watch: Watch) -> None:
        self.inner.add(watch)

    def update(self, watch: Watch) -> None:
        self.inner.update(watch)

    def problem(self, watch: Watch, text: str) -> None:
        self.inner.problem(watch, text)

    def tick(self, now: float) -> float | None:
        wish: float | None = self.inner.tick(now)
        return wish

    def report_table(self, title: str, columns: list[str], rows: list[list[str]],
                     footer: str = "") -> None:
        self.inner.report_table(title, columns, rows, footer)

    def say(self, lines: list[str]) -> None:
        self.inner.say(lines)

    def download_progress(self, watch: Watch) -> DownloadProgress:
        return self.inner.download_progress(watch)


def _group_title(watches: list[Watch]) -> str:
    if not watches:
        return "jobwatch"
    if len(watches) == 1:
        return f"jobwatch: watching {job_title(watches[0])}"
    return f"jobwatch: watching {len(watches)} jobs"
