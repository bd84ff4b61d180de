"""A minimal stand-in for kube-apiserver's HTTP side on 127.0.0.1, for the unit tier: one request per
connection (``Connection: close``), answered by a function of the request target with a status line
and body chunks (chunked, as a watch streams). It records each request's target and Authorization
header. The e2e tier runs the real kube-apiserver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Answer = Callable[[str], tuple[str, list[bytes]]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append(self.path)
        owner.auth.append(self.headers.get("Authorization") or "")
        status, chunks = owner.answer(self.path)
        code, _, reason = status.partition(" ")
        try:
            self.send_response(int(code), reason)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for c in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away (a cancelled watch)
            pass
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ApiServer


class ApiServer:
    """Serves until :meth:`close` (which stops the accepting thread before the socket is closed, so a
    later server that gets the same descriptor never has its connections taken)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[str] = []
        self.auth: list[str] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fakeapi", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def kubeconfig(path: Path, server: str, user: str = "{}") -> Path:
    """A kubeconfig for ``server`` (plain HTTP), one context ``c``; ``user`` in YAML flow style."""
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        f"users: [{{name: u, user: {user}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\n",
        encoding="utf-8",
    )
    return path


def listing(items: list[dict[str, Any]], rv: str = "1") -> bytes:
    return json.dumps(
        {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}
    ).encode()


def event(etype: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": etype, "object": obj}).encode() + b"\n"
