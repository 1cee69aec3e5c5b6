"""A raw-socket HTTP/1.1 server for answers no well-behaved server sends (chunked framing with a
Content-Length, a body dribbled a byte at a time, a compressed gigabyte). Each route is a
handler given the socket; it writes the whole answer itself. Connections are counted."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable

Handler = Callable[[socket.socket], None]


class RawServer:
    """With ``tls`` (a server-side SSLContext), each connection starts with a handshake;
    ``connections`` counts every TCP connection (each attempt), ``handshakes`` the ones whose
    handshake succeeded (the client trusted the certificate). ``settle()`` waits until every
    connection made so far has been accepted and counted."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self.handshakes = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(20)
        self.port = self._sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.routes: dict[str, Handler] = {}
        self.paths: list[str] = []
        self.connections = 0
        self._probes: dict[tuple[str, int], threading.Event] = {}
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stopped.set()
        self._sock.close()

    def settle(self, limit: float = 10) -> RawServer:
        """Until every TCP connection made so far has been accepted and counted: accept takes
        them in the order they were made, so a probe connection made now comes last (and is
        not counted)."""
        host = self._sock.getsockname()[0]
        with socket.socket() as probe:
            probe.bind((host, 0))
            seen = threading.Event()
            self._probes[probe.getsockname()[:2]] = seen
            probe.connect((host, self.port))
            assert seen.wait(limit), "the raw server never accepted its probe"
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, address = self._sock.accept()
            except OSError:
                return
            probe = self._probes.pop(address[:2], None)
            if probe is not None:
                conn.close()
                probe.set()
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            if self._tls is not None:
                conn.settimeout(10)
                conn = self._tls.wrap_socket(conn, server_side=True)
                self.handshakes += 1
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1].decode("latin-1").split("?")[0]
                self.paths.append(path)
                handler = self.routes.get(path)
                if handler is None:
                    body = b'{"detail":"Not Found"}'
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
                    continue
                handler(conn)
        except OSError:
            pass
        finally:
            conn.close()


def answer(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def dribbling(head: bytes, piece: bytes, times: int, every: float = 0.1) -> Handler:
    """A handler that sends ``head``, then ``piece`` every ``every`` seconds, ``times`` times:
    an answer that keeps coming, too slowly for a read timeout ever to fire."""
    def dribble(conn: socket.socket) -> None:
        conn.sendall(head)
        for _ in range(times):
            conn.sendall(piece)
            time.sleep(every)

    return dribble


def raw_answer(status_line: bytes, headers: list[bytes], body: bytes = b"") -> bytes:
    """An answer written byte for byte: any byte in the status line or a header, which
    ``answer`` (text, encoded as Latin-1) cannot say. Content-Length is added."""
    head = b"HTTP/1.1 " + status_line + b"\r\n" + b"".join(h + b"\r\n" for h in headers)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def sending(data: bytes) -> Handler:
    """A handler that writes ``data`` (a whole answer) for every request."""
    def send(conn: socket.socket) -> None:
        conn.sendall(data)

    return send
