"""The documentation stays true where a test can tell: every relative link in README.md,
CONTRIBUTING.md and docs/*.md leads to a file (and a #anchor to a heading in it); the README
stays short; its quick start is the command CI runs and a command the package provides; its
code samples fit an 80-column terminal; its table of environment variables names exactly the
variables the config reads, derived from the provider registry."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest
from rich.cells import cell_len

from jobwatch.config import (
    COMMON_FIELDS,
    DURATION_FIELDS,
    PROVIDER_FIELDS,
    ConfigFile,
    env_variable,
    resolve_profile,
)
from jobwatch.registry import REGISTRY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted([README, ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
README_LIMIT = 12 * 1024  # bytes: the README is the pitch and the quick start, not the manual
COLUMNS = 80
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/jobwatch demo"

FENCE = re.compile(r"^(```|~~~)")
# [text](target) and ![alt](target); the target ends at the first space or ")".
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code taken out."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(INLINE_CODE.sub("", line))
    return lines


def code_blocks(text: str) -> list[list[str]]:
    """The lines of each fenced code block, in order."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, "a code block is not closed"
    return blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text without Markdown, lower case, punctuation other
    than - and _ dropped, each space a -."""
    text = re.sub(r"[`*]", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its text
    text = text.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in prose_lines_raw(path.read_text(encoding="utf-8")):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        seen = counts.get(base, 0)
        found.add(base if seen == 0 else f"{base}-{seen}")
        counts[base] = seen + 1
    return found


def prose_lines_raw(text: str) -> list[str]:
    """The lines outside fenced code blocks, as written (headings keep their inline code)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def relative_links(path: Path) -> list[str]:
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
                targets.append(target)
    return targets


def section(text: str, heading: str) -> str:
    """The text under ``heading`` (a whole line, e.g. "## Quick start") up to the next heading
    of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = len(lines)
    fenced = False
    for number in range(start, len(lines)):
        line = lines[number]
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced and re.match(rf"^#{{1,{level}}}\s", line):
            end = number
            break
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, f"broken links in {path.relative_to(ROOT)}: {broken}"


def test_the_docs_have_links_to_check() -> None:
    """The link test above would pass on files it cannot read links from."""
    assert len(relative_links(README)) >= 5
    assert (ROOT / "docs" / "configuration.md") in DOCS


def test_every_doc_is_linked_from_the_readme() -> None:
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in relative_links(README)}
    missing = [str(p.relative_to(ROOT)) for p in DOCS if p != README and p not in linked]
    assert not missing, f"not reachable from the README: {missing}"


def test_readme_stays_short() -> None:
    size = len(README.read_bytes())
    assert size < README_LIMIT, (f"README.md is {size} bytes (limit {README_LIMIT}): move "
                                 "reference material to docs/")


def test_readme_code_samples_fit_80_columns() -> None:
    wide = [f"{cell_len(line)}: {line}" for block in code_blocks(README.read_text("utf-8"))
            for line in block if cell_len(line) > COLUMNS]
    assert not wide, "README code lines over 80 columns:\n" + "\n".join(wide)


def test_quick_start_is_the_command_ci_runs() -> None:
    quick = section(README.read_text(encoding="utf-8"), "## Quick start")
    assert quick.lstrip("\n").startswith("```"), "the quick start must begin with its commands"
    blocks = code_blocks(quick)
    ci_file = ROOT / ".ci" / "run"
    if not ci_file.exists() and not (ROOT / ".git").exists():
        pytest.skip("an unpacked sdist has no .ci/run")
    ci_run = ci_file.read_text(encoding="utf-8")
    # The line of .ci/run that runs the tests (lint and types follow it).
    ci_command = next(line.strip() for line in ci_run.splitlines()
                      if "pip install" in line and "pytest" in line)
    assert blocks[0] == [DEMO_COMMAND]
    assert blocks[1] == [ci_command], ".ci/run and the README's test command differ"


def test_quick_start_commands_are_what_the_package_provides() -> None:
    import typer

    from jobwatch.commands import app

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # `.venv/bin/jobwatch demo`: the console script, and its demo command
    assert project["scripts"]["jobwatch"] == "jobwatch.__main__:main"
    assert "demo" in typer.main.get_command(app).commands  # type: ignore[attr-defined]
    # `pip install -e '.[test]' && .venv/bin/pytest`: the extra brings pytest
    assert any(re.match(r"pytest\b", req) for req in project["optional-dependencies"]["test"])
    # "Python 3.10 or newer", as the package says
    minimum = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"])
    assert minimum is not None
    assert f"Python {minimum.group(1)} or newer" in README.read_text(encoding="utf-8")


def test_readme_lists_every_command() -> None:
    import typer

    from jobwatch.commands import app

    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    listed = set(re.findall(r"^- `jobwatch (\w+)",
                            section(README.read_text(encoding="utf-8"), "## Commands"), re.M))
    assert listed == commands


def environment_fields() -> tuple[set[str], set[str]]:
    """Every JOBWATCH_<PROVIDER>_<FIELD> the registry and the profile fields make, split into
    those the config reads from the environment and those it does not (a field the file alone
    may set): each candidate is set on its own, and the resolved profile says where its value
    came from."""
    no_file = ConfigFile(ROOT / "no-such-dir" / "config.toml", explicit=False, exists=False)
    read, not_read = set(), set()
    for provider in REGISTRY:
        for name in COMMON_FIELDS + PROVIDER_FIELDS[provider]:
            variable = env_variable(provider, name)
            value = "5s" if name in DURATION_FIELDS else "x"
            profile = resolve_profile(no_file, provider, "default", {variable: value})
            (read if profile.source(name) == f"env {variable}" else not_read).add(variable)
    return read, not_read


def readme_variable_table() -> tuple[list[str], list[list[str]]]:
    """The header cells and the rows of the table under "### Environment variables"."""
    text = section(README.read_text(encoding="utf-8"), "### Environment variables")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) > 2, "no table under ### Environment variables"
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    return cells[0], [row for row in cells[2:]]


def test_readme_variable_table_names_exactly_the_variables_read() -> None:
    read, not_read = environment_fields()
    assert read and not_read.isdisjoint(read)
    header, rows = readme_variable_table()
    named = {v for row in rows for cell in row for v in re.findall(r"JOBWATCH_[A-Z0-9_]+", cell)}
    assert named - read == set(), "the README names variables jobwatch does not read"
    assert read - named == set(), "the README's table leaves out variables jobwatch reads"


def test_readme_variable_table_puts_each_variable_under_its_provider() -> None:
    header, rows = readme_variable_table()
    by_title = {p.title: name for name, p in REGISTRY.items()}
    assert set(header[1:]) == set(by_title), "one column per provider, titled as in the registry"
    for row in rows:
        for title, cell in zip(header[1:], row[1:]):
            for variable in re.findall(r"JOBWATCH_[A-Z0-9_]+", cell):
                assert variable.startswith(f"JOBWATCH_{by_title[title].upper()}_"), variable


def test_readme_says_which_fields_the_environment_cannot_set() -> None:
    _, not_read = environment_fields()
    fields = {variable.split("_", 2)[2].lower() for variable in not_read}
    prose = " ".join(section(README.read_text(encoding="utf-8"),
                             "### Environment variables").split())
    for name in fields:
        assert f"`{name}` can be set only in the file" in prose
