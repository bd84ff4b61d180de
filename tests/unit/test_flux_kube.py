"""wizard.flux.kube.watch_dicts: lightkube's watch request, events decoded straight to dicts, against a
local HTTP server that answers like kube-apiserver's watch (chunked, lines split across chunks)."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from wizard.flux.kube import error_code, resource, watch_dicts
from wizard.kube import KubeConnector


def _event(etype: str, name: str, rv: str) -> bytes:
    obj = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "resourceVersion": rv},
        "status": {"conditions": [{"type": "Ready", "status": "True", "message": f"at {rv}"}]},
    }
    return json.dumps({"type": etype, "object": obj}).encode() + b"\n"


class WatchServer:
    """One connection at a time; ``answer`` gives (status line, body chunks) for the request line."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(65536)
                target = head.split(b" ", 2)[1].decode()
                self.requests.append(target)
                status, chunks = self.answer(target)
                conn.sendall(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                )
                for c in chunks:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(c), c))
                conn.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        self.sock.close()


def _connector(tmp_path: Path, port: int) -> KubeConnector:
    kc = tmp_path / "kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    return KubeConnector(str(kc), None)


def _collect(tmp_path: Path, server: WatchServer, **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    async def go() -> list[tuple[str, dict[str, Any]]]:
        conn = _connector(tmp_path, server.port)
        try:
            client = conn.async_client()
            return [e async for e in watch_dicts(client, resource("Kustomization"), **kw)]
        finally:
            await conn.aclose()

    return asyncio.run(go())


def test_events_split_across_chunks_arrive_whole_in_order(tmp_path: Path) -> None:
    body = _event("ADDED", "a", "11") + _event("MODIFIED", "a", "12") + _event("DELETED", "b", "13")
    cuts = [0, 7, 150, 151, len(body) - 3, len(body)]  # inside a line, at a newline, the tail
    server = WatchServer(lambda target: ("200 OK", [body[i:j] for i, j in itertools.pairwise(cuts)]))
    try:
        got = _collect(
            tmp_path,
            server,
            namespace="flux-system",
            fields={"metadata.name": "a"},
            labels={"app": "x"},
            resource_version="10",
        )
    finally:
        server.close()
    assert [(t, o["metadata"]["name"], o["metadata"]["resourceVersion"]) for t, o in got] == [
        ("ADDED", "a", "11"),
        ("MODIFIED", "a", "12"),
        ("DELETED", "b", "13"),
    ]
    assert got[1][1]["status"]["conditions"][0]["message"] == "at 12"
    url = urlsplit(server.requests[0])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"
    assert q["watch"] == "true" and q["resourceVersion"] == "10"
    assert q["fieldSelector"] == "metadata.name=a" and q["labelSelector"] == "app=x"


def test_an_error_event_raises_with_its_code(tmp_path: Path) -> None:
    gone = {"type": "ERROR", "object": {"kind": "Status", "status": "Failure", "code": 410, "message": "too old"}}
    server = WatchServer(lambda target: ("200 OK", [_event("ADDED", "a", "5"), json.dumps(gone).encode() + b"\n"]))
    try:
        with pytest.raises(Exception) as info:
            _collect(tmp_path, server, namespace="flux-system", resource_version="1")
    finally:
        server.close()
    assert error_code(info.value) == 410


def test_a_refused_watch_raises_with_the_http_status(tmp_path: Path) -> None:
    status = {"kind": "Status", "status": "Failure", "code": 403, "message": "forbidden"}
    server = WatchServer(lambda target: ("403 Forbidden", [json.dumps(status).encode()]))
    try:
        with pytest.raises(Exception) as info:
            _collect(tmp_path, server, namespace="*")
    finally:
        server.close()
    assert error_code(info.value) == 403
    assert urlsplit(server.requests[0]).path == "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"
