"""A small Kubernetes API client for the pod runtime (stdlib only): JSON requests and watches with
the control plane's admin certificate, over one TLS connection per call."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, status: int, body: Any, what: str) -> None:
        self.status = status
        self.body = body
        msg = body.get("message") if isinstance(body, dict) else str(body)[:200]
        super().__init__(f"{what}: HTTP {status}: {msg}")


class Api:
    def __init__(self, url: str, ca: Path, cert: Path, key: Path, timeout: float = 30) -> None:
        u = urllib.parse.urlsplit(url)
        self.url = url
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 443
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.ctx.load_cert_chain(str(cert), str(key))
        self.timeout = timeout

    def _conn(self, timeout: float | None = None) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout or self.timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        ok: tuple[int, ...] = (200, 201, 202),
    ) -> Any:
        conn = self._conn()
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            out = json.loads(raw) if raw else None
        except ValueError:
            out = raw.decode(errors="replace")
        if resp.status not in ok:
            raise ApiError(resp.status, out, f"{method} {path}")
        return out

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def get_or_none(self, path: str) -> Any:
        try:
            return self.request("GET", path)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def patch_status(self, path: str, patch: dict[str, Any]) -> Any:
        return self.request("PATCH", path + "/status", patch, "application/merge-patch+json")

    def watch(self, path: str, resource_version: str, timeout_seconds: int = 60) -> Iterator[dict[str, Any]]:
        """Events of a watch (``path`` without query), until the server ends it."""
        sep = "&" if "?" in path else "?"
        q = f"{path}{sep}watch=1&allowWatchBookmarks=true&timeoutSeconds={timeout_seconds}"
        q += f"&resourceVersion={resource_version}"
        conn = self._conn(timeout=timeout_seconds + 30)
        try:
            conn.request("GET", q, headers={"Accept": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(resp.status, resp.read().decode(errors="replace"), f"watch {path}")
            buf = b""
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        finally:
            conn.close()
