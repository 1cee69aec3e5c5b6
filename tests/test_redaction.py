"""Redaction changes only what jobwatch shows and writes as its own output, never the data it
acts on (SPEC.md, Hardening): a state, a progress, a file URL reach the code exactly as sent,
whatever the token looks like — short, or a word that occurs in the answers."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TOKEN, assert_no_secret
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.test_wait import CLARET, FAST, claret, env


def answer(job_id: int, status: str = "completed", step: str = "Import complete",
           files: dict[str, list[str]] | None = None) -> Reply:
    return claret(job_id, status, 8, 8, step=step, files=files)


@pytest.mark.parametrize("token", ["t", "1234", "test", "in"])
def test_a_short_or_wordlike_token_never_changes_the_answer(run_cli, fake, token) -> None:
    # Once every "t" of the answer became ***, "completed" was no status and status said
    # "answered JSON without a job status" (exit 7).
    fake.route(CLARET.format(5), answer(5, step="1234 rows imported in the test tenant"))
    result = run_cli("status", "claret", "5", "--json", env=env(fake, token=token))
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert (job["state"], job["status"], job["progress"]) == ("succeeded", "completed", 1.0)
    assert job["message"] == "1234 rows imported in the test tenant"


def test_a_token_that_is_a_status_word_is_acted_on_and_never_shown(run_cli, fake) -> None:
    # A secret of ANYWHERE characters or more is hidden wherever it shows, words included;
    # the state jobwatch decides on is the provider's word as sent.
    fake.route(CLARET.format(5), answer(5))
    result = run_cli("status", "claret", "5", "--json", env=env(fake, token="completed"))
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert (job["state"], job["status"]) == ("succeeded", "***")
    assert "completed" not in result.stdout + result.stderr


@pytest.mark.parametrize("where", ["query", "path"])
def test_a_file_url_carrying_the_token_is_fetched_as_sent(run_cli, fake, where) -> None:
    path = f"/acme/download/report.csv?api_token={TOKEN}" if where == "query" else \
        f"/acme/download/{TOKEN}/report.csv"
    served = path.split("?")[0]
    fake.route(CLARET.format(6), answer(6, files={"output": [path]}))
    fake.route(served, Reply(200, b"a,b\n1,2\n"))
    result = run_cli("wait", "claret", "6", *FAST, "--json", env=env(fake))
    assert result.returncode == 0, result.stderr
    [request] = fake.requests_to(served)
    assert TOKEN in request.path + "?" + request.query  # as the provider gave it, never ***
    assert (run_cli.cwd / "claret-6" / "output" / "report.csv").read_bytes() == b"a,b\n1,2\n"
    assert_no_secret(result)  # neither the JSON nor the progress lines show it


def test_a_short_token_is_hidden_where_a_credential_stands(run_cli, fake) -> None:
    fake.route(CLARET.format(7), answer(7, step="1234 rows; see /f?key=1234",
                                        files={"errors": ["/acme/d/e.csv?key=1234"]}))
    fake.route("/acme/d/e.csv", Reply(200, b"x\n"))
    result = run_cli("wait", "claret", "7", *FAST, "--json", env=env(fake, token="1234"))
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["message"] == "1234 rows; see /f?key=***"  # the word stays, the credential not
    assert line["artifacts"][0]["url"].endswith("/acme/d/e.csv?key=***")
    assert fake.requests_to("/acme/d/e.csv")[0].query == "key=1234"


def test_an_echoed_token_is_hidden_in_every_output_and_file(run_cli, fake: FakeServer) -> None:
    echo = f"token {TOKEN} lacks the scope imports:read"
    fake.route("/api/jobs/m1/status", json_reply({"job_id": "m1", "status": "failed",
                                                  "error_message": echo, "failed_items": 1}))
    fake.route("/api/jobs/m1", json_reply({"job_id": "m1", "status": "failed",
                                           "errors": [{"message": echo, "entity_key": TOKEN}]}))
    result = run_cli("wait", "merchantops", "m1", *FAST, "--json", env=env(fake, "merchantops"))
    assert result.returncode == 1, result.stderr
    assert_no_secret(result)
    assert "lacks the scope imports:read" in result.stdout
    for saved in (run_cli.cwd / "merchantops-m1").iterdir():
        assert TOKEN not in saved.read_text(encoding="utf-8"), saved
