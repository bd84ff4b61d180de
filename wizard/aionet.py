"""httpcore2's network layer on asyncio's own transports (TCP, and TLS through ``loop.start_tls``).

lightkube's AsyncClient (httpx2 over httpcore2) reads through AnyIO's stream wrappers by default:
AnyIO's TLS stream, its socket stream and a cancel scope around every read. On a watch that is
~150 us of interpreter time per event (measured: ~210 us per watch event with them, ~60-100 us on
asyncio's transports), and every microsecond of it sits between a status write and the line that
shows it (issue 21: the watch is compared with ``flux get --watch``). This backend speaks the same
``AsyncNetworkStream`` interface with a buffer, one waiter and one timer per read that has to wait.

Used only under asyncio (the front ends and the flow run on it); errors map to httpcore2's
ConnectError/ReadError/WriteError and timeouts, which httpx2 turns into its TransportError family,
as with the default backend. httpcore2 is imported lazily, with lightkube (``--help`` stays instant).
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections.abc import Iterable
from typing import Any

# a reader that falls behind stops the socket being read above this many buffered bytes
HIGH_WATER = 4 * 1024 * 1024


def _errors() -> Any:
    import httpcore2

    return httpcore2


class _Protocol(asyncio.Protocol):
    """Buffers what arrives; wakes the one reader waiting on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and self.transport is not None and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        if self.drained is None or self.drained.done():
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)


async def _wait(fut: asyncio.Future[Any], timeout: float | None) -> bool:
    """Await ``fut``; False when ``timeout`` passed first (``fut`` is then cancelled)."""
    if timeout is None:
        await fut
        return True
    loop = asyncio.get_running_loop()
    timed_out = False

    def expire() -> None:
        nonlocal timed_out
        if not fut.done():
            timed_out = True
            fut.cancel()

    handle = loop.call_later(timeout, expire)
    try:
        await fut
    except asyncio.CancelledError:
        if not timed_out:
            raise
        return False
    finally:
        handle.cancel()
    return True


class AsyncioStream:
    """httpcore2's AsyncNetworkStream on an asyncio transport."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        protocol.transport = transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._protocol
        while not p.buffer:
            if p.error is not None:
                raise _errors().ReadError(str(p.error) or type(p.error).__name__)
            if p.eof:
                return b""
            p.waiter = asyncio.get_running_loop().create_future()
            try:
                if not await _wait(p.waiter, timeout):
                    raise _errors().ReadTimeout("timed out reading from the server")
            finally:
                p.waiter = None
        data = bytes(p.buffer[:max_bytes])
        del p.buffer[:max_bytes]
        if p.reading_paused and len(p.buffer) <= HIGH_WATER // 4:
            p.reading_paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        p = self._protocol
        if p.error is not None or self._transport.is_closing():
            raise _errors().WriteError(str(p.error or "the connection is closed"))
        self._transport.write(buffer)
        if p.drained is not None and not p.drained.done():
            if not await _wait(p.drained, timeout):
                raise _errors().WriteTimeout("timed out writing to the server")

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        errors = _errors()
        # httpcore's timeout, through the one helper below (asyncio's own handshake limit, 60 s,
        # stays as the outer bound when there is none)
        handshake = loop.start_tls(self._transport, self._protocol, ssl_context, server_hostname=server_hostname)
        try:
            tls = await _within(handshake, timeout)
        except TimeoutError:
            self._transport.abort()
            raise errors.ConnectTimeout("timed out in the TLS handshake") from None
        except (ssl.SSLError, OSError, ConnectionError) as exc:
            self._transport.abort()
            raise errors.ConnectError(str(exc) or type(exc).__name__) from None
        if tls is None:  # pragma: no cover - the transport closed under the handshake
            raise errors.ConnectError("the connection closed during the TLS handshake")
        return AsyncioStream(tls, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        t = self._transport
        if info == "ssl_object":
            return t.get_extra_info("ssl_object")
        if info == "client_addr":
            return t.get_extra_info("sockname")
        if info == "server_addr":
            return t.get_extra_info("peername")
        if info == "socket":
            return t.get_extra_info("socket")
        if info == "is_readable":
            # httpcore asks before reusing an idle connection: anything buffered, an end seen, or
            # bytes waiting on the socket mean the server closed it (or sent what nobody asked for)
            p = self._protocol
            if p.buffer or p.eof or t.is_closing():
                return True
            sock = t.get_extra_info("socket")
            if sock is None:
                return True
            try:
                return bool(select.select([sock.fileno()], [], [], 0)[0])
            except (OSError, ValueError):
                return True
        return None


class AsyncioBackend:
    """httpcore2's AsyncNetworkBackend on asyncio's transports."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncioStream:
        proto = _Protocol()
        local = (local_address, 0) if local_address else None
        connect = asyncio.get_running_loop().create_connection(lambda: proto, host, port, local_addr=local)
        return await _connected(connect, proto, f"{host}:{port}", timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncioStream:
        proto = _Protocol()
        connect = asyncio.get_running_loop().create_unix_connection(lambda: proto, path)
        return await _connected(connect, proto, path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _within(aw: Any, timeout: float | None) -> Any:
    return await (asyncio.wait_for(aw, timeout) if timeout else aw)


async def _connected(
    connect: Any, proto: _Protocol, where: str, timeout: float | None, socket_options: Iterable[Any] | None
) -> AsyncioStream:
    """Await a ``loop.create_*connection`` made for ``proto``: its stream, or httpcore2's errors."""
    errors = _errors()
    try:
        transport, _ = await _within(connect, timeout)
    except TimeoutError:
        raise errors.ConnectTimeout(f"timed out connecting to {where}") from None
    except OSError as exc:
        raise errors.ConnectError(str(exc) or type(exc).__name__) from None
    sock = transport.get_extra_info("socket")
    for option in socket_options or ():
        sock.setsockopt(*option)
    return AsyncioStream(transport, proto)


def use_asyncio_transport(http_client: Any) -> bool:
    """Put :class:`AsyncioBackend` under an httpx2.AsyncClient's default transport (the pool it
    keeps its connections in). False, changing nothing, when the client is not built that way
    (a proxy transport, another httpx2 layout): it then keeps AnyIO's backend, which works."""
    pool = getattr(getattr(http_client, "_transport", None), "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend") or getattr(pool, "_connections", None):
        return False
    if type(pool).__name__ != "AsyncConnectionPool":
        return False
    pool._network_backend = AsyncioBackend()
    return True


__all__ = ["AsyncioBackend", "AsyncioStream", "use_asyncio_transport"]
