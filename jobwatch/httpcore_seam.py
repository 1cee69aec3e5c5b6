"""The one place that knows httpcore's and h11's insides.

jobwatch reaches below httpx twice, both for HTTP/1.1 connections:

- After an answer's body, whether h11 already took in bytes *past* it (a server or proxy that
  pipelined an unasked-for answer): such a connection must not go back to the pool, or those
  bytes become the answer to the next request on it (``drop_if_overfed``).
- For a large download, reading the rest of a body of known length straight from the
  connection once h11 has handed over its first piece (``direct_reader``): no copy into h11's
  buffer and out again, no per-chunk event machinery (~30% faster at 256 MiB).

And twice into httpx itself, for the CPU of a poll (~500 µs in all):

- An API answer jobwatch read within its own bounds (size, time) is handed back as the very
  response it came on, its body kept where ``Response.read`` keeps it (``with_body``), rather
  than as a copy built with every header again (~15 µs). READS_INTO_CONTENT says, once,
  whether httpx still keeps it there; if not, a copy.
- The client's cookie jar keeps nothing (none of the providers uses cookies), yet httpx
  offers it every answer through urllib's cookie machinery (~40 µs). ``offer_no_cookies``
  gives the client cookies that are never offered one, where OFFERS_COOKIES says httpx still
  offers them through ``client.cookies``, kept in ``_cookies``; if not, the jar that keeps
  nothing is still asked.

The first two need the chain from an httpx response to the h11 state of its connection:
``response.stream`` (httpx BoundSyncStream) ``._stream`` (httpx ResponseStream)
``._httpcore_stream`` (httpcore PoolByteStream) ``._stream`` (HTTP11ConnectionByteStream)
``._connection`` (HTTP11Connection) ``._h11_state`` (h11.Connection, whose ``trailing_data``
is public). AVAILABLE says, once at import, whether the installed httpx and httpcore still
build that chain: each class is there and its ``__init__`` still sets the attribute (read from
its code object's names, which costs no source parsing). If not, the plain httpx path is taken:
every connection whose answer was read is dropped rather than judged (as downloads did before
keep-alive), and bodies stream through httpx. Slower, never wrong. The raw-socket tests
(tests/test_seam.py and the pipelined-answer tests) guard both paths.

The ``network_stream`` response extension is httpcore's public interface; only the knowledge
of when reading from it around h11 is safe lives here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

    import h11
    import httpx
    from httpcore._sync.connection_pool import PoolByteStream
    from httpcore._sync.http11 import HTTP11ConnectionByteStream
    from httpx._client import BoundSyncStream
    from httpx._transports.default import ResponseStream

Reader = Callable[[int], bytes]


class NetworkStream(Protocol):
    """httpcore's ``network_stream`` extension, as far as jobwatch uses it."""

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes: ...
    def close(self) -> None: ...


def relies_on_what_is_there() -> bool:
    """Whether the chain in the module docstring is still what httpx and httpcore build."""
    try:
        import h11
        from httpcore._sync.connection_pool import PoolByteStream
        from httpcore._sync.http11 import HTTP11Connection, HTTP11ConnectionByteStream
        from httpx._client import BoundSyncStream
        from httpx._transports.default import ResponseStream
    except ImportError:
        return False
    needs = ((BoundSyncStream, "_stream"), (ResponseStream, "_httpcore_stream"),
             (PoolByteStream, "_stream"), (HTTP11ConnectionByteStream, "_connection"),
             (HTTP11Connection, "_h11_state"))
    for cls, attribute in needs:
        code = getattr(cls.__init__, "__code__", None)
        if code is None or attribute not in code.co_names:
            return False
    return isinstance(getattr(h11.Connection, "trailing_data", None), property)


AVAILABLE = relies_on_what_is_there()


def reads_into_content() -> bool:
    """Whether httpx's Response keeps a read body in ``_content``, as ``read`` sets it and
    ``content`` returns it (names read from their code objects)."""
    import httpx

    read = getattr(httpx.Response.read, "__code__", None)
    content = getattr(getattr(httpx.Response, "content", None), "fget", None)
    return (read is not None and "_content" in read.co_names and content is not None
            and "_content" in content.__code__.co_names)


READS_INTO_CONTENT = reads_into_content()


def offers_cookies() -> bool:
    """Whether httpx.Client offers each answer to ``self.cookies.extract_cookies``, the
    ``cookies`` property returning ``_cookies`` (names read from their code objects)."""
    import httpx

    send = getattr(httpx.Client._send_single_request, "__code__", None)
    getter = getattr(getattr(httpx.Client, "cookies", None), "fget", None)
    return (send is not None and {"cookies", "extract_cookies"} <= set(send.co_names)
            and getter is not None and "_cookies" in getter.__code__.co_names)


OFFERS_COOKIES = offers_cookies()


def offer_no_cookies(client: httpx.Client, jar: CookieJar) -> None:
    """From now on ``client`` does not even offer its answers' cookies to ``jar`` (which must
    keep none: no cookie ever goes out either way)."""
    if OFFERS_COOKIES:
        client._cookies = _unoffered()(jar)


@functools.cache
def _unoffered() -> type[httpx.Cookies]:
    import httpx

    class Unoffered(httpx.Cookies):
        """Cookies that are never offered one: a jar that keeps nothing need not look."""

        def extract_cookies(self, response: httpx.Response) -> None:
            pass

    return Unoffered


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """``response``, whose stream the caller has read to its end (and closed), as a read
    response whose content is ``body``."""
    if READS_INTO_CONTENT:
        response._content = body
        return response
    import httpx

    return httpx.Response(response.status_code, headers=response.headers, content=body,
                          request=response.request, extensions=response.extensions)


@functools.cache
def _chain() -> tuple[type[BoundSyncStream], type[ResponseStream], type[PoolByteStream],
                      type[HTTP11ConnectionByteStream], type[h11.Connection]]:
    """The classes of the chain, looked up once (this runs for every answer)."""
    import h11
    from httpcore._sync.connection_pool import PoolByteStream
    from httpcore._sync.http11 import HTTP11ConnectionByteStream
    from httpx._client import BoundSyncStream
    from httpx._transports.default import ResponseStream

    return BoundSyncStream, ResponseStream, PoolByteStream, HTTP11ConnectionByteStream, \
        h11.Connection


def _h11_state(response: httpx.Response) -> h11.Connection | None:
    """The h11 state of the connection ``response`` came on; None where the chain differs
    (HTTP/2, a mock transport, another httpcore)."""
    if not AVAILABLE:
        return None
    bound, transport, pool, own_stream, h11_connection = _chain()
    stream = response.stream
    if not isinstance(stream, bound) or not isinstance(stream._stream, transport):
        return None
    pooled = stream._stream._httpcore_stream
    if not isinstance(pooled, pool):
        return None
    own = pooled._stream
    if not isinstance(own, own_stream):
        return None
    state = getattr(own._connection, "_h11_state", None)
    return state if isinstance(state, h11_connection) else None


def _network_stream(response: httpx.Response) -> NetworkStream | None:
    stream = response.extensions.get("network_stream")
    return stream if hasattr(stream, "read") and hasattr(stream, "close") else None


def drop_if_overfed(response: httpx.Response) -> None:
    """Keep the connection out of the pool when the server sent more than this answer. Called
    once a body has been read to its end. httpcore discards an idle connection whose socket
    has something to read, but not bytes h11 already took in, which only h11 knows; where h11
    is out of reach, the connection is dropped anyway."""
    state = _h11_state(response)
    if state is not None and not state.trailing_data[0]:
        return
    stream = _network_stream(response)
    if stream is not None:
        stream.close()  # an idle connection whose socket is closed is never handed out again


def direct_reader(response: httpx.Response) -> Reader | None:
    """A reader of the rest of ``response``'s body straight from its connection, or None to
    go on through httpx. Ask only after a piece of the body came through httpx, and only for a
    body of known length without Transfer-Encoding (read around h11, chunk framing would land
    in the file): h11 then holds nothing more, which is checked here. The connection is closed
    rather than reused afterwards (h11 never sees the end of the body): httpcore does that
    when the response closes. httpcore's errors come out as httpx's."""
    if response.http_version != "HTTP/1.1":
        return None
    state = _h11_state(response)
    stream = _network_stream(response)
    if state is None or stream is None or state.trailing_data[0]:
        return None
    import httpcore
    import httpx

    timeout = (response.request.extensions.get("timeout") or {}).get("read")

    def read(max_bytes: int) -> bytes:
        # httpx maps httpcore's errors for the reads it makes itself, not for these.
        try:
            return stream.read(max_bytes, timeout)
        except httpcore.TimeoutException as exc:
            raise httpx.ReadTimeout(str(exc)) from exc
        except httpcore.NetworkError as exc:
            raise httpx.ReadError(str(exc)) from exc

    return read
