"""Redaction changes only what jobwatch shows and writes as its own output, never the data it
acts on (SPEC.md, Hardening): a state, a progress, a file URL reach the code exactly as sent,
whatever the token looks like — short, or a word that occurs in the answers."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TOKEN, assert_clean_error, assert_no_secret
from tests.fakeserver import FakeServer, Reply, json_reply
from tests.helpers import RG_PATH, retailgrid, rg_status
from tests.test_cli_status import PATHS, status
from tests.test_wait import CLARET, FAST, claret, env, merchantops_status


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


def test_a_token_the_provider_echoes_back_is_never_printed(run_cli, fake) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(
        status="failed", error_message=f"token {TOKEN} is revoked")))
    for args in ((), ("--json",)):
        result = rg_status(run_cli, fake, *args)
        assert result.returncode == 1, result.stderr
        assert_no_secret(result)
        assert "token *** is revoked" in result.stdout


# -- tokens the provider echoes back, JSON-escaped ---------------------------------------------


ESCAPED_TOKEN = "tok/SECRET+abc=="  # PHP's json_encode writes it as tok\/SECRET+abc==


def _escaped_answer(status: str = "in_progress") -> bytes:
    # The token echoed twice, JSON-escaped two ways: \/ for its slash, \u0074 for its "t".
    return (b'{"message": "key tok\\/SECRET+abc== accepted", "content": {"status": "%s", '
            b'"job_log_id": 1, "job_status_link": "https://x/\\u0074ok\\/SECRET+abc==", '
            b'"tok\\/SECRET+abc==": "a key"}}' % status.encode())


@pytest.mark.parametrize("args", [(), ("--json",), ("-v",)])
def test_a_token_echoed_json_escaped_is_never_printed(run_cli, fake, args) -> None:
    # The raw bytes hold no copy of the token; the decoded strings do.
    fake.route(PATHS["claret"].format(1), Reply(200, _escaped_answer(),
                                                {"Content-Type": "application/json"}))
    result = status(run_cli, fake, "claret", "1", *args, token=ESCAPED_TOKEN)
    assert result.returncode == 3, result.stderr
    assert_no_secret(result, ESCAPED_TOKEN)
    if args == ("--json",):
        job = json.loads(result.stdout)
        assert job["url"] == "https://x/***"
        assert job["raw"]["message"] == "key *** accepted" and "***" in job["raw"]["content"]


def test_the_verbose_snippet_hides_a_token_echoed_json_escaped(run_cli, fake) -> None:
    body = (b'{"content": {"no_status": "here"}, "echo": "\\u0074ok\\/SECRET+abc==", '
            b'"auth": "Bearer tok\\/SECRET+abc=="}')
    fake.route(PATHS["claret"].format(1), Reply(200, body, {"Content-Type": "application/json"}))
    result = status(run_cli, fake, "claret", "1", "-v", token=ESCAPED_TOKEN)
    assert_clean_error(result, 7)
    assert "body starts:" in result.stderr
    assert_no_secret(result, ESCAPED_TOKEN)
    assert "SECRET" not in result.stderr


def test_a_token_cut_at_the_snippet_end_shows_no_prefix_of_it(run_cli, fake) -> None:
    body = b'<html>' + b"x" * 100 + b" " + TOKEN.encode() + b"</html>"
    fake.route(PATHS["claret"].format(1), Reply(200, body, {"Content-Type": "text/html"}))
    result = status(run_cli, fake, "claret", "1", "-v")
    assert_clean_error(result, 7)
    assert TOKEN[:8] not in result.stderr


ESCAPED = TOKEN.replace("t", "\\u0074", 1).replace("_", "\\u005f")  # \u0074ok\u005fSECRET...


def test_a_token_echoed_json_escaped_in_a_detail_answer_is_never_shown_or_saved(
        fake, run_cli) -> None:
    # Neither the errors table, the reports, job.json nor --json holds it.
    fake.route("/api/jobs/job_5/status", merchantops_status("failed", 40, 1))
    detail = ('{"job_id": "job_5", "status": "failed", "failed_items": 1, "warnings": [], '
              '"errors": [{"entity_type": "product", "entity_key": "K", "error_type": "auth", '
              f'"message": "key {ESCAPED} lacks scope", "timestamp": "t"}}], '
              f'"{ESCAPED}": "echoed as a key too"}}')
    fake.route("/api/jobs/job_5", Reply(200, detail.encode(),
                                        {"Content-Type": "application/json"}))
    result = run_cli("wait", "merchantops", "job_5", *FAST, "--json",
                     env=env(fake, "merchantops"))
    assert result.returncode == 1, result.stderr
    assert_no_secret(result)
    assert "key *** lacks scope" in result.stderr  # the errors table
    folder = run_cli.cwd / "merchantops-job_5"
    assert sorted(p.name for p in folder.iterdir()) == ["errors.csv", "job.json",
                                                        "warnings.csv"]
    for saved in folder.iterdir():
        assert TOKEN not in saved.read_text(encoding="utf-8"), saved
    assert json.loads((folder / "job.json").read_text())["errors"][0]["message"] == (
        "key *** lacks scope")


# -- header values -----------------------------------------------------------------------------


def test_only_credential_header_values_are_hidden_in_answers(run_cli, fake, tmp_path) -> None:
    # Every `headers` value was a secret: X-Debug = "1" blanked each 1 of the answer (dates,
    # file URLs, keys) and X-Request-Source = "jobwatch" the word. Only values of headers
    # named like a credential are hidden now.
    config = tmp_path / "headers.toml"
    config.write_text(
        f'[claret.default]\nbase_url = "{fake.url}"\ntenant = "acme"\ntoken_env = "T"\n'
        'headers = { X-Debug = "1", X-Request-Source = "jobwatch", '
        'X-Api-Key = "hdr_key_4242" }\n', encoding="utf-8")
    config.chmod(0o600)
    fake.route(PATHS["claret"].format(1), json_reply({"content": {
        "status": "in_progress", "job_log_id": 1,
        "timestamps": {"started_at": "2026-11-21T10:21:51Z"},
        "progress": {"completed_steps": 1, "total_steps": 8,
                     "current_step": "jobwatch saw key hdr_key_4242"}}}))
    result = run_cli("--config", str(config), "status", "claret", "1", "--json",
                     env={"T": TOKEN})
    assert result.returncode == 3, result.stderr
    assert_no_secret(result, "hdr_key_4242")
    job = json.loads(result.stdout)
    assert job["started_at"] == "2026-11-21T10:21:51Z"
    assert job["raw"]["content"]["job_log_id"] == 1 and "status" in job["raw"]["content"]
    assert job["message"] == "jobwatch saw key ***"
    assert fake.requests[-1].headers["x-debug"] == "1"  # still sent
