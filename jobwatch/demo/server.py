"""The simulator's server: one loopback port, HTTP/1.1 keep-alive, the token check, the job
clocks, and dispatch to each provider's script by its path prefix (the scripts are named in
jobwatch/registry.py; their jobs are in catalog.py).

Every scripted job runs on its own clock, started by the first request for that job id, so a
client that arrives late still sees the whole life of a job. ``speed`` scales that clock;
``reset()`` (``POST /__jobwatch/reset``, what `jobwatch demo --reset` sends) starts every clock
again. ``GET /__jobwatch/alive`` answers the challenge by which `-p demo` tells this simulator
from whatever else may listen on its port (jobwatch/demo/state.py).

Standard library only, so `jobwatch demo` starts at once and the module can run anywhere.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from jobwatch.demo import catalog
from jobwatch.demo.routes import NOT_FOUND, Answer, ProviderSim, json_answer
from jobwatch.demo.script import Timeline
from jobwatch.demo.state import ALIVE_PATH, CONTROL_PREFIX, RESET_PATH, proof
from jobwatch.registry import NAMES, REGISTRY

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

PROVIDERS = NAMES
_CHALLENGE_CHARS = range(32, 129)  # hex digits a challenge may have
_NOT_ALLOWED = json_answer(405, {"detail": "Method Not Allowed"}, ("Allow", "GET"))


class Simulator:
    """All the registry's providers on one loopback port, each under its own path prefix."""

    def __init__(
        self,
        *,
        token: str = "demo-token",
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        tenant: str = "demo",
        organization_id: str = "org_demo",
        nonce: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.token = token
        self.speed = speed
        self.tenant = tenant
        self.organization_id = organization_id
        # The key of the alive proof; it never goes on the wire (see jobwatch/demo/state.py).
        self.nonce = nonce or secrets.token_hex(32)
        self._clock = clock
        self._lock = threading.Lock()
        self._first_seen: dict[tuple[str, str], tuple[float, float]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.sims: dict[str, ProviderSim] = {
            name: provider.load_demo()(self) for name, provider in REGISTRY.items()}
        self.demo_jobs: list[tuple[str, str]] = [
            (job.provider, job.job_id) for job in catalog.DEMO_JOBS]
        self.catalog: list[tuple[str, str, str]] = [
            (job.provider, job.job_id, job.summary) for job in catalog.JOBS]
        self._httpd = _Server((host, port), _handler_for(self))
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> Self:
        if self._thread is None:
            # stop() waits for serve_forever's next poll: keep it short for the tests' sake.
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                name="jobwatch-simulator", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def base_url(self, provider: str) -> str:
        if provider not in self.sims:
            raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
        return self.url + self.sims[provider].prefix

    def fields(self, provider: str) -> dict[str, str]:
        """The provider's own profile fields this simulator expects (Claret's tenant)."""
        return self.sims[provider].fields()

    def env(self) -> dict[str, str]:
        """JOBWATCH_<PROVIDER>_* variables that point every provider here."""
        env: dict[str, str] = {}
        for provider in PROVIDERS:
            values = {"base_url": self.base_url(provider), "token": self.token,
                      **self.fields(provider)}
            env.update({f"JOBWATCH_{provider.upper()}_{k.upper()}": v for k, v in values.items()})
        return env

    # --- job clocks ---

    def timeline(self, provider: str, job_id: str) -> Timeline:
        """The job's clock, started by this request if it is the job's first."""
        now = self._clock()
        with self._lock:
            first = self._first_seen.setdefault((provider, job_id), (now, time.time()))
        return self._reading(first, now)

    def timeline_if_started(self, provider: str, job_id: str) -> Timeline | None:
        now = self._clock()
        with self._lock:
            first = self._first_seen.get((provider, job_id))
        return None if first is None else self._reading(first, now)

    def _reading(self, first: tuple[float, float], now: float) -> Timeline:
        s = max(0.0, (now - first[0]) * self.speed)
        return Timeline(s=s, first_wall=first[1], speed=self.speed)

    def reset(self) -> int:
        """Every job starts from its beginning at its next request; how many had started."""
        with self._lock:
            started = len(self._first_seen)
            self._first_seen.clear()
        return started

    # --- requests ---

    def bearer(self, headers: dict[str, str]) -> bool | None:
        """True for the right token, False for a wrong one, None when none was sent."""
        value = headers.get("authorization")
        if not value:
            return None
        scheme, _, credentials = value.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self.token.encode(),
        )

    def _record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, headers))

    def _answer(self, method: str, path: str, query: str, headers: dict[str, str]) -> Answer:
        if path.startswith(CONTROL_PREFIX):
            return self._control(method, path, query, headers)
        if method not in ("GET", "HEAD"):
            return _NOT_ALLOWED
        # Split before decoding, so an encoded "/" inside a job id stays inside it.
        parts = [unquote(part) for part in path.split("/")[1:]]
        for sim in self.sims.values():
            prefix = sim.prefix.split("/")[1:]
            if parts[:len(prefix)] == prefix:
                return sim.answer(parts[len(prefix):], headers)
        return NOT_FOUND

    def _control(self, method: str, path: str, query: str, headers: dict[str, str]) -> Answer:
        """jobwatch's own routes: the alive challenge, and restarting every job's clock."""
        if path == ALIVE_PATH:
            if method not in ("GET", "HEAD"):
                return _NOT_ALLOWED
            challenge = parse_qs(query).get("challenge", [""])[-1]
            if len(challenge) not in _CHALLENGE_CHARS or not _is_hex(challenge):
                return json_answer(400, {"detail": "challenge: 32 to 128 hex digits"})
            return json_answer(200, {"proof": proof(self.nonce, challenge)})
        if path == RESET_PATH:
            if method != "POST":
                return json_answer(405, {"detail": "Method Not Allowed"}, ("Allow", "POST"))
            if not self.bearer(headers):
                return json_answer(401, {"detail": "Not authenticated"},
                                   ("WWW-Authenticate", "Bearer"))
            return json_answer(200, {"restarted": self.reset()})
        return NOT_FOUND


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay silent: a client that hangs up mid-answer is not the simulator's problem."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server_version = "jobwatch-simulator"
    sys_version = ""
    timeout = 30  # idle keep-alive connections end on their own
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms
    # for the delayed ACK on every answer.
    disable_nagle_algorithm = True
    simulator: Simulator

    def log_message(self, format: str, *args: Any) -> None:
        """Print nothing: the demo owns the terminal."""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _other(self) -> None:
        self._serve(send_body=True)

    do_POST = do_PUT = do_PATCH = do_DELETE = _other

    def _serve(self, *, send_body: bool) -> None:
        target = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.simulator._record(self.command, target.path, headers)
        self._drain_body(headers)
        if not target.path.startswith("/"):
            answer = NOT_FOUND if self.command in ("GET", "HEAD") else _NOT_ALLOWED
        else:
            answer = self.simulator._answer(self.command, target.path, target.query, headers)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(answer.body)

    def _drain_body(self, headers: dict[str, str]) -> None:
        # A body left unread would be taken for the next request on this connection.
        if "transfer-encoding" in headers:
            self.close_connection = True
            return
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length) > 0:
            self.rfile.read(int(length))


def _handler_for(simulator: Simulator) -> type[_Handler]:
    return type("SimulatorHandler", (_Handler,), {"simulator": simulator})


__all__ = ["PROVIDERS", "Simulator"]
