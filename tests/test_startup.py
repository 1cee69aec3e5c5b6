"""A cheap start: `--version` and `--help` import neither httpx nor the models (`--version` not
even Typer), `status` no live display, and a config from the environment alone builds no
pydantic schema. Each is checked in a fresh interpreter, by what is in sys.modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakeserver import json_reply
from tests.test_global_options import claret_answer

# -- what --version, --help and status import --------------------------------------------------


PROBE = """
import sys
from jobwatch.__main__ import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.__stderr__.write("MODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


def imported_by(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **(env or {})})
    line = [x for x in result.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(line.split()[1:])


def heavy(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in modules for n in names if m == n or m.startswith(n + ".")}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["status", "--help"]])
def test_version_and_help_import_nothing_heavy(args: list[str]) -> None:
    assert heavy(imported_by(args), ("httpx", "httpcore", "rich.live", "rich.progress",
                                     "jobwatch.models", "jobwatch.adapters")) == set()


def test_version_imports_not_even_typer() -> None:
    assert heavy(imported_by(["--version"]), ("typer", "rich", "jobwatch.commands")) == set()


def test_a_status_imports_no_live_display(fake) -> None:
    fake.route("/acme/api/v1/imports/status/1", json_reply(claret_answer(1)))
    env = {"JOBWATCH_CLARET_BASE_URL": fake.url, "JOBWATCH_CLARET_TOKEN": "tok_x",
           "JOBWATCH_CLARET_TENANT": "acme"}
    modules = imported_by(["status", "claret", "1", "--json"], env)
    assert "httpx" in modules  # it did make its request
    assert heavy(modules, ("rich.live", "rich.progress", "rich.table", "jobwatch.live",
                           "jobwatch.engine", "jobwatch.demo", "jobwatch.hooks",
                           "jobwatch.github", "jobwatch.adapters.capabilities",
                           "jobwatch.downloads", "typer")) == set()


# -- a config from the environment alone -------------------------------------------------------


def imported_after(code: str, tmp_path: Path) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env={"PYTHONPATH": str(REPO), "HOME": str(tmp_path),
                                             "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                          timeout=60, check=True)
    return set(done.stdout.split())


def test_no_file_means_no_pydantic(tmp_path) -> None:
    # A run configured by the environment alone never builds the schema.
    modules = imported_after(
        "from jobwatch.config import load_file, resolve_profile\n"
        "c = load_file(None)\nassert not c.exists\n"
        "resolve_profile(c, 'claret', 'default', {'JOBWATCH_CLARET_TIMEOUT': '5m'})", tmp_path)
    assert "jobwatch.config" in modules
    assert "pydantic" not in modules and "jobwatch.config_schema" not in modules
    example = REPO / "config.example.toml"
    modules = imported_after(f"from jobwatch.config import load_file\nload_file({str(example)!r})",
                             tmp_path)
    assert "jobwatch.config_schema" in modules
