"""Provider text is text: escape codes, markup, emoji codes, bidi controls and lone surrogates
in an answer are shown as written (or replaced), never obeyed by the terminal or by rich,
whether in `status`'s summary, `wait`'s CI log or the live rows. --json keeps the provider's
words, escaped."""

from __future__ import annotations

import json
import re

import pytest

from jobwatch.engine import Watch
from tests.fakeserver import Reply, json_reply
from tests.helpers import RG_PATH, UUID, frame_lines, retailgrid, rg_status, strict_json
from tests.test_cli_status import load, status
from tests.test_live_rows import live, merchantops
from tests.test_wait import FAST, claret, env, route_claret

# -- status and wait -------------------------------------------------------------------------------


def test_a_lone_surrogate_from_the_provider_is_printed_as_a_replacement(run_cli, fake) -> None:
    body = json.dumps(retailgrid(error_message="bad \ud800 text")).encode()
    assert b"\\ud800" in body
    fake.route(RG_PATH, Reply(200, body, {"Content-Type": "application/json"}))
    human = rg_status(run_cli, fake)
    assert human.returncode == 3, human.stderr  # still running: not an internal error
    assert "bad \ufffd text" in human.stdout
    as_json = rg_status(run_cli, fake, "--json")
    assert as_json.returncode == 3, as_json.stderr
    assert strict_json(as_json.stdout)["message"] == "bad \ufffd text"


def test_the_summary_shows_the_id_asked_for_not_escape_codes_from_the_answer(run_cli,
                                                                             fake) -> None:
    fake.route(RG_PATH, json_reply(retailgrid(job_id="\x1b]0;PWNED\x07\x1b[31mRED")))
    for args in ((), ("--json",)):
        result = rg_status(run_cli, fake, *args)
        assert result.returncode == 3, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert UUID in result.stdout


def test_provider_text_cannot_inject_escape_codes_into_the_summary(run_cli, fake) -> None:
    payload = load("claret/in_progress.json")
    payload["content"]["progress"]["current_step"] = "Step \x1b[31mred\x1b[0m\rX\u202e"
    fake.route("/acme/api/v1/imports/status/12345", json_reply(payload))
    result = status(run_cli, fake, "claret", "12345")
    assert result.returncode == 3, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "Step  [31mred [0m X" in result.stdout
    # --json keeps the provider's words unchanged (JSON escapes them)
    data = json.loads(status(run_cli, fake, "claret", "12345", "--json").stdout)
    assert data["message"] == "Step \x1b[31mred\x1b[0m\rX\u202e"


def test_provider_text_cannot_inject_escape_codes_into_ci_logs(fake, run_cli) -> None:
    route_claret(fake, 80, claret(80, "in_progress", 2, step="Step \x1b[31mred\x1b[0m\rX"),
                 claret(80, "completed", 8, 8))
    result = run_cli("wait", "claret", "80", *FAST, env=env(fake))
    assert result.returncode == 0
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "Step  [31mred [0m X" in result.stderr


# -- the live rows and the closing tables ------------------------------------------------------


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


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
