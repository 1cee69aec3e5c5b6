"""A scriptable provider server on loopback, for tests and benchmarks.

Each route (a path, without the query) has a sequence of replies served in order; the last one
repeats. A reply may also be a callable taking the recorded request. Every request and every
accepted TCP connection is recorded, so tests can count polls and check which headers arrived.

A connection is counted when the serving thread accepts it, which can be after the client
(a CLI that gave up at once) has exited: ``settle()`` waits until every connection made so far
has been counted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = b""  # bytes, str, a JSON-able dict/list, or an iterable of byte chunks
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_length: int | None = None  # announce more than is sent to simulate a cut body


def json_reply(payload: Any, status: int = 200, **kwargs: Any) -> Reply:
    return Reply(status=status, body=payload, **kwargs)


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float


Responder = Reply | Callable[[Recorded], Reply]


class FakeServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, list[Responder]] = {}
        self._served: dict[str, int] = {}
        self.requests: list[Recorded] = []
        self.connections = 0
        self.open_now = 0  # connections accepted and not yet closed
        self.most_open = 0  # the most at once: what a pool's bound is about
        self._lock = threading.Lock()
        self._probes: dict[tuple[str, int], threading.Event] = {}
        self._httpd = _Server((host, port), _make_handler(self), self)
        self.host = host
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> FakeServer:
        """Forget every route, request and connection count (the server keeps running)."""
        with self._lock:
            self.routes.clear()
            self._served.clear()
            self.requests.clear()
            self.connections = 0
            self.most_open = self.open_now
        return self

    def settle(self, limit: float = 10) -> FakeServer:
        """Until every TCP connection made to the server so far has been accepted and
        counted. The kernel hands connections to ``accept`` in the order they were made, so
        once a probe connection of our own, made now, reaches the serving thread, every
        earlier one has been counted (the probe itself is not)."""
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            seen = threading.Event()
            with self._lock:
                self._probes[probe.getsockname()[:2]] = seen
            probe.connect((self.host, self.port))
            assert seen.wait(limit), "the fake server never accepted its probe"
        return self

    def _accepted(self, client: tuple[str, int]) -> bool:
        """On the serving thread, for each connection in the order they were made: counted,
        or (a probe of settle()) dropped."""
        with self._lock:
            probe = self._probes.pop(client[:2], None)
            if probe is None:
                self.connections += 1
                self.open_now += 1
                self.most_open = max(self.most_open, self.open_now)
        if probe is not None:
            probe.set()
        return probe is None

    def route(self, path: str, *replies: Responder) -> None:
        with self._lock:
            self.routes[path] = list(replies)
            self._served[path] = 0

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            replies = self.routes.get(recorded.path)
            if not replies:
                return json_reply({"detail": "Not Found"}, status=404)
            index = min(self._served[recorded.path], len(replies) - 1)
            self._served[recorded.path] += 1
            responder = replies[index]
        return responder(recorded) if callable(responder) else responder


def _encode(body: Any) -> tuple[Iterable[bytes], int | None, str | None]:
    if isinstance(body, bytes):
        return [body], len(body), None
    if isinstance(body, str):
        data = body.encode()
        return [data], len(data), "text/plain; charset=utf-8"
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        return [data], len(data), "application/json"
    return body, None, None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # Called on the serving thread right after accept, in the order connections came.
        return self.fake._accepted(client_address)


def _make_handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # or every keep-alive answer waits ~40 ms

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionResetError, BrokenPipeError):
                pass  # the client hung up (Ctrl-C tests, cut downloads): not a server error
            finally:
                with server._lock:
                    server.open_now -= 1

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            recorded = Recorded(
                method="GET", path=parts.path, query=parts.query,
                headers={k.lower(): v for k, v in self.headers.items()}, at=time.monotonic(),
            )
            reply = server._next_reply(recorded)
            if reply.delay:
                time.sleep(reply.delay)
            chunks, length, content_type = _encode(reply.body)
            try:
                self.send_response(reply.status)
                headers = {k.lower(): v for k, v in reply.headers.items()}
                if content_type and "content-type" not in headers:
                    self.send_header("Content-Type", content_type)
                announced = reply.content_length if reply.content_length is not None else length
                if announced is not None:
                    self.send_header("Content-Length", str(announced))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(chunk)
                if reply.content_length is not None and reply.content_length != length:
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
