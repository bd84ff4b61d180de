"""wizard.aionet: httpcore2's network layer on asyncio's transports, under a real httpx2 client,
against real local servers (TLS from a test CA, a streaming chunked body, silence, a closed port)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.edgeservers import LocalCA, SilentListener, WebServer, closed_port, make_ca
from wizard.aionet import HIGH_WATER, AsyncioBackend, use_asyncio_transport


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_ca(tmp_path_factory.mktemp("ca"), "localhost")


def _client(ca: LocalCA | None = None, **kw: Any) -> httpx2.AsyncClient:
    verify: Any = ssl.create_default_context(cafile=str(ca.ca)) if ca else True
    client = httpx2.AsyncClient(verify=verify, trust_env=False, **kw)
    assert use_asyncio_transport(client)
    assert isinstance(client._transport._pool._network_backend, AsyncioBackend)  # type: ignore[attr-defined]
    return client


def test_https_through_asyncio_transports(ca: LocalCA) -> None:
    async def go() -> tuple[int, bytes, Any]:
        async with _client(ca) as c:
            r = await c.get(f"https://localhost:{server.port}/")
            return r.status_code, r.content, r.extensions["network_stream"].get_extra_info("ssl_object")

    with WebServer(tls=ca) as server:
        status, body, ssl_object = asyncio.run(go())
    assert status == 200 and b"podinfo" in body
    assert ssl_object is not None and ssl_object.version().startswith("TLS")


def test_a_certificate_from_another_ca_is_a_connect_error(ca: LocalCA, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "other", "localhost", ca_name="someone else")

    async def go() -> None:
        async with _client(ca) as c:
            await c.get(f"https://localhost:{server.port}/")

    with WebServer(tls=other) as server, pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(go())


def test_a_closed_port_is_a_connect_error() -> None:
    async def go() -> None:
        async with _client() as c:
            await c.get(f"http://127.0.0.1:{closed_port()}/")

    with pytest.raises(httpx2.ConnectError):
        asyncio.run(go())


def test_a_server_that_never_answers_is_a_read_timeout() -> None:
    async def go() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with _client(timeout=httpx2.Timeout(0.3)) as c:
            with pytest.raises(httpx2.ReadTimeout):
                await c.get(f"http://127.0.0.1:{silent.port}/")
        return loop.time() - t0

    with SilentListener() as silent:
        took = asyncio.run(go())
    assert 0.25 < took < 5


class _Streamer:
    """A chunked response, like a watch: ``lines`` JSON-ish lines, one chunk each, then a big one
    (over the read-pause mark), then the end; or, with ``drop``, the connection cut mid-body."""

    def __init__(self, lines: int, big: int, drop: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.lines, self.big, self.drop = lines, big, drop
        self.sent_all = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(self.lines):
                line = b'{"type":"MODIFIED","n":%d}\n' % i
                conn.sendall(b"%x\r\n%s\r\n" % (len(line), line))
            if self.drop:
                conn.shutdown(socket.SHUT_RDWR)
                return
            blob = b"x" * self.big + b"\n"
            conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(blob), blob))
            self.sent_all.set()

    def close(self) -> None:
        self.sock.close()


def test_a_streamed_body_arrives_whole_and_in_order_even_when_the_reader_lags() -> None:
    big = HIGH_WATER * 2  # more than the buffer holds before the socket stops being read
    s = _Streamer(lines=200, big=big)

    async def read() -> tuple[list[str], int]:
        async with _client() as c, c.stream("GET", f"http://127.0.0.1:{s.port}/watch") as r:
            await asyncio.sleep(0.5)  # let it pile up while nobody reads
            got = [line async for line in r.aiter_lines()]
        return got[:-1], len(got[-1])

    async def go() -> tuple[list[str], int]:
        return await asyncio.wait_for(read(), 30)  # a socket never read again would hang here

    try:
        lines, last = asyncio.run(go())
    finally:
        s.close()
    assert lines == [f'{{"type":"MODIFIED","n":{i}}}' for i in range(200)]
    assert last == big
    assert s.sent_all.is_set()


def test_a_connection_cut_mid_body_is_a_transport_error() -> None:
    s = _Streamer(lines=3, big=0, drop=True)

    async def go() -> list[str]:
        got: list[str] = []
        async with _client() as c, c.stream("GET", f"http://127.0.0.1:{s.port}/watch") as r:
            async for line in r.aiter_lines():
                got.append(line)
        return got

    try:
        with pytest.raises(httpx2.TransportError):
            asyncio.run(go())
    finally:
        s.close()


def test_the_kube_connector_client_uses_it(tmp_path: Path) -> None:
    from wizard.kube import KubeConnector

    kc = tmp_path / "kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )

    async def go() -> Any:
        conn = KubeConnector(str(kc), None)
        try:
            client = conn.async_client()
            return type(conn.http(client)._transport._pool._network_backend)
        finally:
            await conn.aclose()

    assert asyncio.run(go()) is AsyncioBackend
