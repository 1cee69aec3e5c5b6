"""config.example.toml at the repo root: valid for the real loader, and it shows every field."""

from __future__ import annotations

import re
import sys

import pytest

from jobwatch.config import (
    DEFAULTS_FIELDS,
    DURATION_FIELDS,
    PROFILE_FIELDS,
    PROVIDERS,
    TOKEN_FIELDS,
    load_defaults,
    load_file,
    profile_names,
    resolve_profile,
)
from jobwatch.durations import parse_duration
from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLE = REPO / "config.example.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
# `key = value` or `# key = value`, at the start of a line: a field, shown active or commented.
FIELD_LINE = re.compile(r"^(#\s*)?([a-z_]+)\s*=", re.MULTILINE)
EXPECTED_SECTIONS = ["claret.default", "claret.staging", "merchantops.default", "julep.default",
                     "retailgrid.default"]


def sections() -> list[tuple[str, str]]:
    data = tomllib.loads(TEXT)
    return [(provider, name) for provider in PROVIDERS for name in data.get(provider, {})]


def section_text(section: str) -> str:
    """The lines of one [section], up to the next section header."""
    match = re.search(r"^\[" + re.escape(section) + r"\][^\n]*\n(.*?)(?=^\[|\Z)", TEXT,
                      re.MULTILINE | re.DOTALL)
    assert match, f"[{section}] not found in {EXAMPLE.name}"
    return match.group(1)


def fields_shown(section: str) -> set[str]:
    return {m.group(2) for m in FIELD_LINE.finditer(section_text(section))}


def test_it_loads_through_the_real_loader() -> None:
    config = load_file(EXAMPLE, env={})
    assert config.exists and config.explicit
    assert {f"{p}.{n}" for p, n in sections()} == set(EXPECTED_SECTIONS)
    for provider, name in sections():
        profile = resolve_profile(config, provider, name, env={})
        assert profile.get("base_url"), (provider, name)
        assert sum(k in profile.values for k in TOKEN_FIELDS) == 1, (provider, name)
        if provider == "claret":
            assert profile.get("tenant"), name


def test_config_show_lists_every_section(run_cli) -> None:
    result = run_cli("--config", str(EXAMPLE), "config", "show")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for section in ["defaults", *EXPECTED_SECTIONS]:
        assert f"[{section}]" in result.stdout, (section, result.stdout)


def test_every_field_name_appears() -> None:
    shown = {m.group(2) for m in FIELD_LINE.finditer(TEXT)}
    assert set(PROFILE_FIELDS) <= shown, set(PROFILE_FIELDS) - shown
    assert set(DEFAULTS_FIELDS) <= fields_shown("defaults")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_default_profile_shows_all_its_fields(provider: str) -> None:
    own = {"claret": {"tenant"}, "merchantops": {"organization_id"}}.get(provider, set())
    others = {"tenant", "organization_id"} - own
    expected = set(PROFILE_FIELDS) - others
    assert fields_shown(f"{provider}.default") == expected


def test_every_shown_field_has_a_one_line_comment() -> None:
    for line in TEXT.splitlines():
        match = FIELD_LINE.match(line)
        if match:
            assert re.search(r"\S\s+#\s*\S", line[match.end():]), line


def test_commented_lines_are_valid_when_uncommented() -> None:
    for section in ["defaults", *EXPECTED_SECTIONS]:
        for line in section_text(section).splitlines():
            if FIELD_LINE.match(line) and line.startswith("#"):
                key, value = next(iter(tomllib.loads(line.lstrip("# ")).items()))
                valid = DEFAULTS_FIELDS if section == "defaults" else PROFILE_FIELDS
                assert key in valid, (section, line)
                if key in DURATION_FIELDS:
                    parse_duration(value)


def test_durations_parse_and_no_literal_secret_is_active() -> None:
    config = load_file(EXAMPLE, env={})
    for key, found in load_defaults(config).values.items():
        if key in DURATION_FIELDS:
            parse_duration(found.value)
    for provider in PROVIDERS:
        for name in profile_names(config, provider):
            profile = resolve_profile(config, provider, name, env={})
            for key in ("interval", "timeout"):
                if profile.get(key) is not None:
                    parse_duration(profile.get(key))
            # A literal token belongs in a chmod-600 file, not in an example people copy.
            assert "token" not in profile.values, (provider, name)
