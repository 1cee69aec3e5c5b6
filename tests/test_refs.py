"""Job references: `PROVIDER JOB_ID...`, `PROVIDER[@PROFILE]:JOB_ID...`, and `-` for stdin;
each job watched once; bad references are usage errors (2) before any request."""

from __future__ import annotations

import io
import json

import pytest

from jobwatch.errors import UsageError
from jobwatch.refs import JobRef, parse_refs, unique
from tests.conftest import assert_clean_error
from tests.fakeserver import FakeServer, json_reply
from tests.test_wait import CLARET, claret, env

UUID = "3f1c2a9e-5b7d-4c1e-9a2b-8d6e4f0a1b2c"


@pytest.mark.parametrize(("args", "refs"), [
    (["claret", "1", "2"], [JobRef("claret", None, "1"), JobRef("claret", None, "2")]),
    (["CLARET", " 7 "], [JobRef("claret", None, "7")]),
    (["merchantops", "a:b"], [JobRef("merchantops", None, "a:b")]),  # the id holds a colon
    (["claret@staging", "1"], [JobRef("claret", "staging", "1")]),
    (["claret:1", "merchantops@eu:x:y", f"julep:{UUID.upper()}"],
     [JobRef("claret", None, "1"), JobRef("merchantops", "eu", "x:y"),
      JobRef("julep", None, UUID)]),
])
def test_the_forms(args: list[str], refs: list[JobRef]) -> None:
    assert parse_refs(args) == refs


@pytest.mark.parametrize(("args", "words"), [
    ([], "no jobs given"),
    (["claret"], "no job id given for claret"),
    (["claret:"], "no job id in 'claret:'"),
    (["nosuch:1"], "unknown provider 'nosuch' in 'nosuch:1'"),
    (["claert", "1"], "did you mean 'claret'?"),
    (["claret@:1"], "no profile name after '@'"),
    (["claret:x"], "claret job ids are integers"),
    (["claret:1", "2"], "'2' is not a job reference"),
    (["claret", "1", "-"], "- reads the job ids from stdin and must be the only id"),
    (["-", "claret:1"], "must be the only one"),
])
def test_bad_references_are_usage_errors_naming_them(args: list[str], words: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_refs(args, stdin=io.StringIO(""))
    assert words in raised.value.message


def test_stdin_skips_blank_and_comment_lines_and_trims() -> None:
    text = "# ids from the import\n\n  1  \n2\n#3\n"
    assert parse_refs(["claret", "-"], stdin=io.StringIO(text)) == [
        JobRef("claret", None, "1"), JobRef("claret", None, "2")]
    assert parse_refs(["-"], stdin=io.StringIO("claret:4\n merchantops@eu:m \n")) == [
        JobRef("claret", None, "4"), JobRef("merchantops", "eu", "m")]


def test_a_byte_order_mark_on_stdin_is_no_part_of_the_first_id(run_cli, fake) -> None:
    # A list saved by an editor that starts files with U+FEFF (Notepad, some Excel exports).
    fake.route(CLARET.format(8), claret(8, "completed", 8, 8))
    for text in ("\ufeff8\n", "\ufeff# ids\n8\n"):
        result = run_cli("status", "claret", "-", "--json", env=env(fake), input=text)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["job_id"] == "8"


def test_an_empty_stdin_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no job ids on stdin"):
        parse_refs(["claret", "-"], stdin=io.StringIO("\n# nothing\n"))


def test_a_job_given_twice_is_one_job() -> None:
    refs = parse_refs(["claret:1", "claret@default:1", "claret:2", "claret@x:1"])
    assert unique(refs, "default") == [JobRef("claret", "default", "1"),
                                       JobRef("claret", "default", "2"),
                                       JobRef("claret", "x", "1")]


def test_stdin_on_a_terminal_says_it_waits_for_ids() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    said = io.StringIO()
    parse_refs(["claret", "-"], stdin=Terminal("1\n"), stderr=said)
    assert "reading job ids from stdin" in said.getvalue() and "Ctrl-D" in said.getvalue()


def test_a_bad_reference_is_2_before_any_request(run_cli, fake: FakeServer) -> None:
    fake.route(CLARET.format(1), claret(1, "completed", 8, 8))
    for args in (["claret:1", "nosuch:1"], ["claret:1", "claret:"], ["claret:1", "claret:x"]):
        result = run_cli("status", *args, env=env(fake))
        assert_clean_error(result, 2)
    assert fake.hits(CLARET.format(1)) == 0


@pytest.mark.slow
def test_ten_thousand_ids_on_stdin(run_cli, fake: FakeServer) -> None:
    ids = [str(n) for n in range(1, 10_001)]
    body = {"message": "ok", "content": {"status": "completed"}}
    for job_id in ids:
        fake.route(CLARET.format(job_id), json_reply(body))
    result = run_cli("status", "claret", "-", "--json", env=env(fake),
                     input="\n".join(ids) + "\n", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["job_id"] for line in lines] == ids  # command-line (stdin) order
    # Bounded: one client, a pool of 16 at once (a connection the pool let go of may be
    # replaced by a new one over 10,000 requests).
    assert fake.most_open <= 16


def test_a_claret_id_with_leading_zeros_is_the_same_job(run_cli, fake: FakeServer) -> None:
    fake.route(CLARET.format(7), claret(7, "completed", 8, 8))
    for args in (["claret", "7", "007", "0007"], ["claret:7", "claret@default:007"]):
        result = run_cli("status", *args, "--json", env=env(fake))
        assert result.returncode == 0, result.stderr
        assert [json.loads(line)["job_id"] for line in result.stdout.splitlines()] == ["7"]
    assert fake.hits(CLARET.format(7)) == 2


@pytest.mark.parametrize(("args", "hint"), [
    (["claret", "1001", "merchantops:enr_7Hq2"],
     "hint: after 'claret' come its ids only; to mix providers, give every job as "
     "PROVIDER:JOB_ID, for example: claret:12345 merchantops:job_8f2c1"),
    (["claret", "1001", "claret", "1002"],
     "hint: after 'claret' come its ids only; name claret once, then all its ids"),
])
def test_a_provider_among_the_ids_says_how_to_write_it(run_cli, args, hint) -> None:
    result = run_cli("status", *args)
    assert_clean_error(result, 2)
    assert hint in result.stderr.splitlines()
