"""The node's egress for pods that call an external SaaS: an HTTP CONNECT proxy on 127.0.0.1 that
maps the allowed ``host:port`` targets to local fakes (``api.hetzner.cloud:443`` -> the fake Hetzner
API's TLS listener) and refuses everything else with 403, logging each request. The client still
speaks TLS end to end with the fake (the fake's certificate is for the real name, signed by the
stack's CA), so nothing but the address changes.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from typing import Any


class EgressProxy:
    def __init__(self, routes: dict[str, tuple[str, int]], host: str = "127.0.0.1") -> None:
        self.routes = dict(routes)
        self.seen: list[tuple[str, bool]] = []  # (target, allowed)
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, 0), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="egress")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 16384:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = line.split()
        target = parts[1] if len(parts) >= 2 and parts[0] == "CONNECT" else ""
        route = self.routes.get(target)
        self.seen.append((target or line, route is not None))
        if route is None:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        try:
            up = socket.create_connection(route, timeout=10)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            up.sendall(rest)
        self._pipe(conn, up)

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            socks = [a, b]
            while True:
                r, _, _ = select.select(socks, [], [], 60)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            b.close()

    def start(self) -> EgressProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EgressProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
