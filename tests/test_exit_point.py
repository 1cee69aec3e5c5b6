"""jobwatch/__main__.py, the one exit point: every error ends as its exit code and one
`jobwatch: error:` line, never a traceback; a bug is exit 70, its text redacted."""

from __future__ import annotations

import pytest

from tests.conftest import assert_clean_error, assert_no_secret, provider_env


def test_a_bug_is_exit_70_and_its_text_is_redacted(monkeypatch, capsys) -> None:
    from jobwatch import __main__

    def boom(args: list[str], secrets: set[str]) -> int:
        secrets.add("tok_registered_secret")
        raise RuntimeError("header tok_registered_secret broke\nsecond line")

    monkeypatch.setattr(__main__, "run_typer", boom)
    assert __main__.run(["config", "show"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("jobwatch: error: internal error: RuntimeError: header *** broke\n")
    assert "tok_registered_secret" not in err and "second line" not in err


@pytest.mark.parametrize("args", [("status", "claret"), ("status",), ("status", "claret", "1",
                                                                     "--bogus"),
                                  ("--bogus", "status"), ("nosuchcommand",),
                                  ("status", "claret:1", "2"), ("status", "nosuch:1"),
                                  ("status", "claret:"), ("status", "claret:x")])
def test_usage_errors_exit_2_without_traceback(run_cli, fake, args) -> None:
    result = run_cli(*args, env=provider_env(fake, "claret"))
    assert_clean_error(result, 2)
    assert_no_secret(result)
    assert fake.requests == []
