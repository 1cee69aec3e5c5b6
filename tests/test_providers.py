"""The providers: `jobwatch providers` (what each needs, within 80 columns), and provider names on
the command line (any case; an unknown one named, with a suggestion)."""

from __future__ import annotations

from typing import Any

import pytest

from jobwatch.commands.providers import providers_text
from tests.conftest import assert_clean_error, assert_no_secret, provider_env
from tests.test_cli_status import assert_ok, route_payload

# -- names on the command line -----------------------------------------------------------------


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


def test_unknown_provider_is_a_usage_error(run_cli, fake) -> None:
    result = run_cli("status", "gitlab", "1", env=provider_env(fake, "claret"))
    assert_clean_error(result, 2)
    assert_no_secret(result)
    assert "gitlab" in result.stderr
    assert "claret" in result.stderr  # says which providers exist
    assert fake.requests == []


def test_provider_name_is_case_insensitive(run_cli, fake) -> None:
    route_payload(fake, "claret/completed.json")
    result = run_cli("status", "Claret", "12345", env=provider_env(fake, "claret"))
    assert_ok(result, 0)


def fake_claret_completed() -> Any:
    from tests.fakeserver import json_reply

    return json_reply({"message": "ok", "content": {"job_log_id": 1, "status": "completed"}})


# -- jobwatch providers ------------------------------------------------------------------------


def test_providers_fits_80_columns(run_cli) -> None:
    result = run_cli("providers")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:5]}
    assert rows == {"retailgrid": "UUID", "merchantops": "string", "julep": "UUID",
                    "claret": "integer"}


def test_providers_lists_all_four(run_cli) -> None:
    result = run_cli("providers")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {"retailgrid", "merchantops", "julep", "claret"} <= rows
    assert "/{tenant}/api/v1/imports/status/{job_id}" in result.stdout
    assert "/api/jobs/{job_id}/status" in result.stdout
    assert "https://api.julep.ai/api" in result.stdout


def test_the_detail_call_note_comes_from_the_adapter() -> None:
    def adapter(**fields: Any) -> Any:
        return type("Fake", (), {"required": (), "default_base_url": "https://x.example",
                                 "id_form": "UUIDs", "status_path": "/s/{job_id}",
                                 **fields})

    endpoint = {name: lambda *args: None for name in (
        "detail_url", "fetch_detail", "wants_detail", "detail_reports", "reported_errors")}
    text = providers_text({"plain": adapter(),
                           "detailed": adapter(detail_path="/d/{job_id}", **endpoint),
                           "pathonly": adapter(detail_path="/p/{job_id}")})
    assert "detailed calls GET {base_url}/d/{job_id} once, when a job ends" in text
    assert "plain calls" not in text
    assert "pathonly calls" not in text  # a path without the DetailEndpoint methods
