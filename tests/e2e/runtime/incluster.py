"""The API as a pod sees it (for the Python stand-ins): the pod's kubeconfig from the runtime, its
service-account token (so the chart's RBAC decides what it may do), JSON requests."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class PodClient:
    def __init__(self, kubeconfig: str | None = None) -> None:
        cfg = json.loads(Path(kubeconfig or os.environ["STANDIN_KUBECONFIG"]).read_text())
        cluster = cfg["clusters"][0]["cluster"]
        user = cfg["users"][0]["user"]
        self.server = cluster["server"].rstrip("/")
        self.ca = cluster["certificate-authority"]
        self.token_file = user["tokenFile"]
        self.ctx = ssl.create_default_context(cafile=self.ca)
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ctx)
        )

    def request(self, method: str, path: str, body: Any = None, ctype: str = "application/json") -> tuple[int, Any]:
        token = Path(self.token_file).read_text().strip()
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with self.opener.open(req, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")
