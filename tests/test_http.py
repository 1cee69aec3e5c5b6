"""jobwatch.http: backoff, Retry-After, redaction, retries, and requests over loopback."""

from __future__ import annotations

import email.utils
import socket

import pytest

from jobwatch import __version__
from jobwatch.errors import (
    RETRY_AFTER_CAP,
    ExitCode,
    NotFoundError,
    TransientError,
    UnreachableError,
)
from jobwatch.http import (
    MAX_REDIRECTS,
    USER_AGENT,
    backoff_delay,
    make_client,
    open_response,
    origin_of,
    parse_retry_after,
    retrying,
)
from jobwatch.redact import Redactor
from tests.conftest import within
from tests.fakeserver import FakeServer, Reply, json_reply

TOKEN = "tok_SECRET_http_42"
CREDENTIALS = {"Authorization": f"Bearer {TOKEN}", "X-Organization-ID": "org_7"}
NOW = 1_700_000_000.0


# -- backoff_delay -----------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "ceiling"), [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0),
                                                   (4, 4.0), (6, 16.0), (7, 30.0), (50, 30.0)])
def test_backoff_ceiling_is_exponential_and_capped(failures: int, ceiling: float) -> None:
    assert backoff_delay(failures, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert backoff_delay(failures, rand=lambda: 0.0) == 0.0
    assert backoff_delay(failures, rand=lambda: 0.5) == pytest.approx(ceiling / 2)


def test_backoff_base_and_cap_are_parameters() -> None:
    assert backoff_delay(3, base=1.0, cap=100.0, rand=lambda: 1.0) == pytest.approx(4.0)
    assert backoff_delay(10, base=1.0, cap=5.0, rand=lambda: 1.0) == pytest.approx(5.0)


@pytest.mark.parametrize("failures", [1, 2, 3, 5, 8, 20])
def test_backoff_full_jitter_stays_within_bounds(failures: int) -> None:
    ceiling = min(30.0, 0.5 * 2 ** (failures - 1))
    delays = [backoff_delay(failures) for _ in range(300)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 200  # jittered, not a constant
    assert min(delays) < ceiling * 0.2 and max(delays) > ceiling * 0.8  # the full range


# -- parse_retry_after -------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("1", 1.0), ("0", 0.0), ("  7 ", 7.0),
                                                ("2.5", 2.5), ("300", 300.0)])
def test_retry_after_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["301", "3600", "99999999"])
def test_retry_after_is_capped_at_300(value: str) -> None:
    assert RETRY_AFTER_CAP == 300.0
    assert parse_retry_after(value) == 300.0


def test_retry_after_http_date_in_the_future() -> None:
    value = email.utils.formatdate(NOW + 120, usegmt=True)
    assert parse_retry_after(value, now=NOW) == pytest.approx(120.0)


def test_retry_after_http_date_far_in_the_future_is_capped() -> None:
    value = email.utils.formatdate(NOW + 86400, usegmt=True)
    assert parse_retry_after(value, now=NOW) == 300.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    value = email.utils.formatdate(NOW - 3600, usegmt=True)
    assert parse_retry_after(value, now=NOW) == 0.0


def test_retry_after_http_date_uses_the_clock_by_default() -> None:
    import time

    value = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55.0 <= parse_retry_after(value) <= 61.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "1e3", "1,5", "Tomorrow",
                                   "Wed, 99 Foo 2015 07:28:00 GMT", "0x10", "inf", "nan",
                                   "Wed, 21 Oct 2015 07:28:00"])
def test_retry_after_garbage_is_none(value) -> None:
    assert parse_retry_after(value, now=NOW) is None


# -- Redactor ----------------------------------------------------------------------------------


def test_redactor_replaces_registered_secrets_everywhere() -> None:
    redact = Redactor([TOKEN])
    text = f"GET http://h/x?key={TOKEN} failed: token {TOKEN} rejected"
    out = redact(text)
    assert TOKEN not in out
    assert out.count("***") == 2
    assert out.startswith("GET http://h/x?key=")


def test_redactor_added_secrets_and_longest_first() -> None:
    redact = Redactor()
    redact.add("abcdef123")
    redact.add("abc")
    redact.add(None)
    redact.add("")
    out = redact("x abcdef123 y abc z ?key=abc")
    assert "abcdef" not in out and "123" not in out
    # A secret this short is hidden where a credential stands, not in every word.
    assert out == "x *** y abc z ?key=***"


@pytest.mark.parametrize("text", [
    "Authorization: Bearer abc.def-ghi~123",
    "authorization=Bearer abc.def-ghi~123",
    "{'authorization': 'Bearer abc.def-ghi~123'}",
    '{"Authorization": "Bearer abc.def-ghi~123"}',
    "[('authorization', 'Bearer abc.def-ghi~123')]",
    "Proxy-Authorization: Bearer abc.def-ghi~123",
    "sent bearer abc.def-ghi~123 to host",
    "AUTHORIZATION:Bearer abc.def-ghi~123",
    "Authorization: abc.def-ghi~123",
])
def test_redactor_hides_unregistered_bearer_and_authorization_values(text: str) -> None:
    out = Redactor()(text)
    assert "abc.def" not in out and "ghi~123" not in out, out
    assert "***" in out


@pytest.mark.parametrize("text", ["Cookie: session=s3cr3t", "cookie=s3cr3t",
                                  "{'cookie': 's3cr3t'}", "Set-Cookie: sid=s3cr3t; Path=/",
                                  "X-Organization-ID: s3cr3t"])
def test_redactor_hides_cookie_and_organization_header_values(text: str) -> None:
    out = Redactor()(text)
    assert "s3cr3t" not in out, out


def test_redactor_hides_every_cookie_of_a_cookie_header() -> None:
    out = Redactor()("Cookie: session=abc111; csrftoken=def222")
    assert "abc111" not in out and "def222" not in out, out


@pytest.mark.parametrize("text", ["Authorization: Basic dXNlcjpwYXNz",
                                  "Authorization: Token dXNlcjpwYXNz"])
def test_redactor_hides_other_authorization_schemes(text: str) -> None:
    out = Redactor()(text)
    assert "dXNlcjpwYXNz" not in out, out


def test_redactor_leaves_ordinary_text_alone() -> None:
    text = "GET http://127.0.0.1:8080/acme/api/v1/imports/status/12345 200 3ms"
    assert Redactor([TOKEN])(text) == text


# -- retrying ----------------------------------------------------------------------------------


class Script:
    """A call that raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retrying_returns_after_transient_failures() -> None:
    sleeps: list[float] = []
    call = Script(TransientError("a"), TransientError("b"))
    assert retrying(call, attempts=3, sleep=sleeps.append) == "ok"
    assert call.calls == 3
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= 0.5 and 0.0 <= sleeps[1] <= 1.0


def test_retrying_gives_up_after_the_attempts() -> None:
    sleeps: list[float] = []
    retried: list[tuple[str, float]] = []
    call = Script(*[TransientError(f"boom {i}") for i in range(10)])
    with pytest.raises(UnreachableError) as caught:
        retrying(call, attempts=3, sleep=sleeps.append,
                 on_retry=lambda exc, delay: retried.append((exc.message, delay)))
    assert call.calls == 3
    assert len(sleeps) == 2
    assert [m for m, _ in retried] == ["boom 0", "boom 1"]
    assert [d for _, d in retried] == sleeps
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert not isinstance(caught.value, TransientError)  # an outer retry must not retry it
    assert "boom 2" in caught.value.message
    assert "3 attempts" in caught.value.message
    assert caught.value.hint


def test_retrying_one_attempt_never_sleeps() -> None:
    sleeps: list[float] = []
    call = Script(TransientError("x"))
    with pytest.raises(UnreachableError):
        retrying(call, attempts=1, sleep=sleeps.append)
    assert call.calls == 1 and sleeps == []


def test_retrying_does_not_retry_other_errors() -> None:
    sleeps: list[float] = []
    call = Script(NotFoundError("gone"))
    with pytest.raises(NotFoundError):
        retrying(call, attempts=5, sleep=sleeps.append)
    assert call.calls == 1 and sleeps == []


def test_retrying_honours_retry_after() -> None:
    sleeps: list[float] = []
    call = Script(TransientError("429", retry_after=7.0), TransientError("429", retry_after=0.0))
    assert retrying(call, attempts=3, sleep=sleeps.append) == "ok"
    assert sleeps == [7.0, 0.0]  # 0 is honoured too, not replaced by the backoff


def test_retrying_caps_backoff_sleeps_at_the_deadline() -> None:
    sleeps: list[float] = []
    call = Script(TransientError("503"), TransientError("503"))
    assert retrying(call, attempts=3, sleep=sleeps.append, clock=lambda: 100.0,
                    deadline=100.2) == "ok"
    assert len(sleeps) == 2 and all(0.0 <= s <= 0.2 + 1e-9 for s in sleeps), sleeps


def test_retrying_honours_a_retry_after_that_fits_before_the_deadline() -> None:
    sleeps: list[float] = []
    call = Script(TransientError("429", retry_after=1.5))
    assert retrying(call, attempts=3, sleep=sleeps.append, clock=lambda: 100.0,
                    deadline=160.0) == "ok"
    assert sleeps == [1.5]


@pytest.mark.parametrize(("retry_after", "now", "deadline", "said"), [
    # Asking again at the deadline, before the provider said to, would only be refused again.
    pytest.param(250.0, 100.0, 160.0, "asks to retry in 250s: more than the 60s left",
                 id="retry-after-passes-the-deadline"),
    pytest.param(30.0, 200.0, 100.0, "no time left", id="already-past-the-deadline"),
])
def test_retrying_gives_up_at_once_without_sleeping_when_the_deadline_cannot_be_met(
        retry_after: float, now: float, deadline: float, said: str) -> None:
    sleeps: list[float] = []
    call = Script(TransientError("429", retry_after=retry_after))
    with pytest.raises(UnreachableError, match=said):
        retrying(call, attempts=3, sleep=sleeps.append, clock=lambda: now, deadline=deadline)
    assert sleeps == []


# -- open_response over loopback ---------------------------------------------------------------


@pytest.fixture
def client():
    with make_client(redact=Redactor([TOKEN])) as c:
        yield c


def get(client, fake: FakeServer, path: str, **kwargs):
    kwargs.setdefault("credentials", CREDENTIALS)
    kwargs.setdefault("trusted", origin_of(fake.url))
    kwargs.setdefault("redact", Redactor([TOKEN]))
    return open_response(client, fake.url + path, **kwargs)


def test_user_agent(client, fake) -> None:
    fake.route("/x", json_reply({"ok": True}))
    response = get(client, fake, "/x")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert USER_AGENT == f"jobwatch/{__version__}"
    assert fake.requests[0].headers["user-agent"] == f"jobwatch/{__version__}"


def test_credentials_go_to_the_trusted_origin(client, fake) -> None:
    fake.route("/x", json_reply({}))
    get(client, fake, "/x")
    headers = fake.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-organization-id"] == "org_7"


def test_credentials_not_sent_to_another_origin(client, fake) -> None:
    fake.route("/x", json_reply({}))
    get(client, fake, "/x", trusted=("http", "127.0.0.1", fake.port + 1))
    headers = fake.requests[0].headers
    assert "authorization" not in headers
    assert "x-organization-id" not in headers
    assert headers["user-agent"] == USER_AGENT


def test_client_itself_carries_no_credentials(client) -> None:
    assert "authorization" not in client.headers
    assert not client.follow_redirects


def test_redirect_to_another_host_drops_credentials(client, fake, other_fake) -> None:
    fake.route("/start", Reply(302, b"", headers={"Location": other_fake.url + "/landing"}))
    other_fake.route("/landing", json_reply({"landed": True}))
    response = get(client, fake, "/start")
    assert response.status_code == 200
    assert response.json() == {"landed": True}
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    [landed] = other_fake.requests
    assert landed.path == "/landing"
    assert "authorization" not in landed.headers
    assert "x-organization-id" not in landed.headers


def test_redirect_to_another_port_drops_credentials(client, fake) -> None:
    second = FakeServer().start()
    try:
        fake.route("/start", Reply(307, b"", headers={"Location": second.url + "/landing"}))
        second.route("/landing", json_reply({}))
        get(client, fake, "/start")
        assert "authorization" not in second.requests[0].headers
    finally:
        second.stop()


def test_same_origin_relative_redirect_keeps_credentials(client, fake) -> None:
    fake.route("/a/start", Reply(301, b"", headers={"Location": "../b/end"}))
    fake.route("/b/end", json_reply({"end": 1}))
    response = get(client, fake, "/a/start")
    assert response.json() == {"end": 1}
    assert [r.path for r in fake.requests] == ["/a/start", "/b/end"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)


def test_redirect_back_to_the_trusted_origin_gets_credentials_again(client, fake,
                                                                    other_fake) -> None:
    fake.route("/start", Reply(302, b"", headers={"Location": other_fake.url + "/hop"}))
    other_fake.route("/hop", Reply(302, b"", headers={"Location": fake.url + "/end"}))
    fake.route("/end", json_reply({}))
    get(client, fake, "/start")
    assert "authorization" not in other_fake.requests[0].headers
    assert fake.requests[-1].path == "/end"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


def test_redirect_loop_gives_up(client, fake) -> None:
    fake.route("/loop", Reply(302, b"", headers={"Location": "/loop"}))
    with pytest.raises(UnreachableError) as caught:
        get(client, fake, "/loop")
    assert not isinstance(caught.value, TransientError)
    assert "redirects" in caught.value.message
    assert len(fake.requests) == MAX_REDIRECTS + 1


def test_cookies_are_never_sent_back(client, fake) -> None:
    fake.route("/set", Reply(200, b"{}", headers={"Set-Cookie": "sid=abc; Path=/",
                                                    "Content-Type": "application/json"}))
    fake.route("/next", json_reply({}))
    get(client, fake, "/set")
    get(client, fake, "/next")
    assert "cookie" not in fake.requests[1].headers


def test_request_log_line(client, fake) -> None:
    fake.route("/x", json_reply({}, 503))
    lines: list[str] = []
    response = get(client, fake, "/x?q=1", log=lines.append)
    assert response.status_code == 503  # open_response does not judge status codes
    assert len(lines) == 1
    method, url, status, ms = lines[0].split(" ")
    assert (method, url, status) == ("GET", fake.url + "/x?q=1", "503")
    assert ms.endswith("ms") and ms[:-2].isdigit()


def test_connection_refused_is_transient_and_redacted(client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lines: list[str] = []
    url = f"http://127.0.0.1:{port}/x?key={TOKEN}"
    with pytest.raises(TransientError) as caught:
        open_response(client, url, credentials=CREDENTIALS,
                      trusted=origin_of(url), redact=Redactor([TOKEN]), log=lines.append)
    assert f"127.0.0.1:{port}" in caught.value.message
    assert TOKEN not in caught.value.message
    assert len(lines) == 1 and TOKEN not in lines[0]


def test_non_http_urls_are_refused(client) -> None:
    with pytest.raises(UnreachableError):
        open_response(client, "file:///etc/passwd", credentials=CREDENTIALS,
                      trusted=("http", "127.0.0.1", 80), redact=Redactor())


def test_streamed_response_can_be_read_by_the_caller(client, fake) -> None:
    fake.route("/big", Reply(200, b"x" * 100_000))
    response = get(client, fake, "/big", stream=True)
    try:
        assert b"".join(response.iter_bytes()) == b"x" * 100_000
    finally:
        response.close()


def test_httpx_and_httpcore_log_records_are_redacted(fake) -> None:
    # jobwatch never turns logging on, but a user or an embedding program may.
    import logging

    fake.route("/x", Reply(200, b"{}", {"Set-Cookie": "session=SEKRET_cookie_1"}))
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore.http11")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        with make_client(redact=Redactor([TOKEN])) as client:
            open_response(client, f"{fake.url}/x?key={TOKEN}",
                          credentials={"Authorization": f"Bearer {TOKEN}"},
                          trusted=origin_of(fake.url), redact=Redactor([TOKEN]))
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)
    text = "\n".join(records)
    assert "receive_response_headers" in text  # httpcore's records were seen
    assert TOKEN not in text and "SEKRET_cookie_1" not in text
    assert "(b'Set-Cookie', b'***')" in text


# -- API answers bounded in size and time ----------------------------------------------------


def _gzip_json_of(size: int) -> bytes:
    """Valid JSON of ``size`` bytes (mostly whitespace), gzip-compressed to a few KiB."""
    import zlib

    encoder = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [encoder.compress(b'{"status": "running"')]
    parts += [encoder.compress(b" " * (1 << 20)) for _ in range(size >> 20)]
    return b"".join(parts) + encoder.compress(b"}") + encoder.flush()


def test_an_api_answer_is_asked_for_as_stored(client, fake) -> None:
    fake.route("/x", json_reply({"status": "running"}))
    get(client, fake, "/x")
    assert fake.requests[0].headers["accept-encoding"] == "identity"


def test_a_compressed_answer_is_still_read(client, fake) -> None:
    import gzip

    fake.route("/x", Reply(200, gzip.compress(b'{"status": "running"}'),
                           {"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    response = get(client, fake, "/x")
    assert response.json() == {"status": "running"}
    assert "content-encoding" not in response.headers


def test_a_gzip_bomb_answer_is_answering_badly_in_bounded_memory(client, fake) -> None:
    # 64 MiB of JSON in ~64 KiB of gzip, sent though identity was asked for.
    import tracemalloc

    fake.route("/x", Reply(200, _gzip_json_of(64 << 20), {"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(TransientError, match="answered more than 8 MiB"):
            get(client, fake, "/x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, peak


def test_an_oversized_plain_answer_is_answering_badly(client, fake) -> None:
    fake.route("/x", Reply(200, (b" " * (1 << 20) for _ in range(16))))  # 16 MiB, chunked
    with pytest.raises(TransientError, match="answered more than 8 MiB"):
        get(client, fake, "/x")


@pytest.mark.slow
def test_an_answer_dribbled_a_byte_at_a_time_is_cut_at_the_time_limit(client) -> None:
    # A byte every 0.1 s never trips the 30 s read timeout.
    import time

    from tests.rawserver import RawServer, answer, dribbling

    raw = RawServer()
    raw.routes["/x"] = dribbling(answer("200 OK", {"Content-Length": "1000"}), b" ", 100)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match="took more than 1s to answer"):
            open_response(client, raw.url + "/x", credentials={}, trusted=origin_of(raw.url),
                          redact=str, time_limit=1.0)
    finally:
        raw.close()
    assert time.monotonic() - started < within(2.5)


def test_an_answer_pipelined_behind_another_is_never_the_next_ones(client) -> None:
    # A server (or a proxy) sends a second, unasked-for answer behind the first, in the same
    # write. On a reused connection h11 would read it as the answer to the next poll.
    from tests.rawserver import RawServer, answer

    raw = RawServer()
    polls = iter([b'{"status": "processing"}', b'{"status": "completed"}'])
    fake_done = b'{"status": "failed"}'

    def handler(conn) -> None:
        body = next(polls)
        conn.sendall(answer("200 OK", {"Content-Length": str(len(body))}, body)
                     + answer("200 OK", {"Content-Length": str(len(fake_done))}, fake_done))

    raw.routes["/job"] = handler
    try:
        answers = [open_response(client, raw.url + "/job", credentials={},
                                 trusted=origin_of(raw.url), redact=str).json()
                   for _ in range(2)]
    finally:
        raw.close()
    assert answers == [{"status": "processing"}, {"status": "completed"}]
    assert raw.connections == 2  # the overfed connection was dropped


def test_the_redacting_log_filter_never_piles_up(fake) -> None:
    import logging

    for _ in range(5):
        with make_client(redact=Redactor([TOKEN])):
            pass
    for name in ("httpx", "httpcore", "httpcore.http11"):
        assert len(logging.getLogger(name).filters) == 1


def test_retrying_says_gave_up_without_double_parentheses() -> None:
    def call():
        raise TransientError("cannot reach http://x (ConnectError: refused)")

    with pytest.raises(UnreachableError) as info:
        retrying(call, attempts=2, sleep=lambda s: None, hint="the hint")
    assert info.value.message == ("cannot reach http://x (ConnectError: refused); gave up "
                                  "after 2 attempts")
    assert info.value.hint == "the hint"
