"""Fake DNS provider APIs (Hetzner Cloud + Cloudflare) and a tiny fake DNS server, on 127.0.0.1.

``FakeProviderAPI`` serves, on one base URL, the endpoints the wizard uses:

* Hetzner Cloud: ``GET /v1/zones`` (``?name=``, ``?per_page=``), Bearer token.
* Cloudflare:    ``GET /client/v4/user/tokens/verify`` and ``GET /client/v4/zones`` (``?name=``, ``?per_page=``).

with the documented response shapes and error bodies. State is plain attributes, so a test can
change it between calls:

* ``tokens``          tokens the API accepts (others get 401)
* ``account_tokens``  Cloudflare account-owned tokens: verify at /user/... says 401, /zones works
* ``zones``           zone names, or dicts overriding fields (``{"name": "example.com", "status": "pending"}``)
* ``mode``            "ok" | "revoked" (401 for every token) | "expired" | "disabled" (Cloudflare verify status;
                      Hetzner answers 401) | "forbidden" (403) | "ratelimit" (429 + Retry-After) |
                      "error500" | "slow" (sleep ``delay`` s, then answer normally) | "redirect" (301) | "html" (200 text/html)
* ``retry_after``     seconds in Retry-After for "ratelimit"
* ``requests``        every request seen: ``Seen(method, path, query, headers)`` (path without query)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HETZNER_NS = ("hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de.")
CLOUDFLARE_NS = ("ada.ns.cloudflare.com", "bob.ns.cloudflare.com")


@dataclass
class Seen:
    method: str
    path: str  # without query
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_path: str = ""  # path + query as sent


@dataclass
class FakeProviderAPI:
    tokens: tuple[str, ...] = ("good-token",)
    zones: tuple[Any, ...] = ("example.com",)
    mode: str = "ok"
    retry_after: int = 7
    delay: float = 0.0
    account_tokens: tuple[str, ...] = ()
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProviderAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProviderAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ assertions helpers
    def token_outside_auth(self, token: str) -> list[str]:
        """Places other than the Authorization header where ``token`` was seen (empty list = good)."""
        hits: list[str] = []
        for r in self.requests:
            if token in r.raw_path or token in unquote(r.raw_path):
                hits.append(f"url {r.raw_path}")
            for k, v in r.headers.items():
                if k.lower() != "authorization" and token in v:
                    hits.append(f"header {k}")
        return hits

    # ------------------------------------------------------------------ zone data
    def _zone_dicts(self) -> list[dict[str, Any]]:
        out = []
        for i, z in enumerate(self.zones):
            d = {"name": z} if isinstance(z, str) else dict(z)
            d.setdefault("id", 1000 + i)
            out.append(d)
        return out

    def _hetzner_zone(self, d: dict[str, Any]) -> dict[str, Any]:
        ns = list(d.get("nameservers", HETZNER_NS))
        return {
            "id": d["id"],
            "name": d["name"],
            "created": "2026-01-01T00:00:00Z",
            "mode": d.get("mode", "primary"),
            "primary_nameservers": [],
            "labels": {},
            "protection": {"delete": False},
            "ttl": 3600,
            "status": "ok",
            "record_count": 4,
            "authoritative_nameservers": {
                "assigned": ns,
                "delegated": list(d.get("delegated", ns)),
                "delegation_last_check": "2026-08-01T00:00:00Z",
                "delegation_status": d.get("delegation_status", "valid"),
            },
            "registrar": "other",
        }

    def _cloudflare_zone(self, d: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{int(d['id']):032x}",
            "name": d["name"],
            "status": d.get("status", "active"),
            "paused": False,
            "type": "full",
            "name_servers": list(d.get("nameservers", CLOUDFLARE_NS)),
            "original_name_servers": ["a.iana-servers.net", "b.iana-servers.net"],
            "account": {"id": "0" * 32, "name": "Test account"},
        }

    # ------------------------------------------------------------------ request handling
    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        ctype: str = "application/json",
    ) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        try:
            h.wfile.write(data)
        except OSError:
            pass

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        seen = Seen(h.command, parts.path, parse_qs(parts.query), {k: v for k, v in h.headers.items()}, h.path)
        with self._lock:
            self.requests.append(seen)
        path = parts.path.rstrip("/")
        q = seen.query
        if path.startswith("/client/v4"):
            self._cloudflare(h, path[len("/client/v4") :], q, seen)
        elif path.startswith("/v1"):
            self._hetzner(h, path[len("/v1") :], q, seen)
        else:
            self._send(h, 404, {"error": {"code": "not_found", "message": "not found"}})

    def _common(self, h: BaseHTTPRequestHandler, hetzner: bool) -> bool:
        """Modes that apply before auth. Returns True if a response was sent."""
        mode = self.mode
        if mode == "slow":
            self._stopping.wait(self.delay)
            return False
        if mode == "ratelimit":
            reset = int(time.time()) + self.retry_after
            if hetzner:
                self._send(
                    h,
                    429,
                    {"error": {"code": "rate_limit_exceeded", "message": "limit of 3600 requests per hour reached"}},
                    {
                        "Retry-After": str(self.retry_after),
                        "RateLimit-Limit": "3600",
                        "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(reset),
                    },
                )
            else:
                self._send(
                    h,
                    429,
                    {
                        "success": False,
                        "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed"}],
                        "messages": [],
                        "result": None,
                    },
                    {"Retry-After": str(self.retry_after)},
                )
            return True
        if mode == "error500":
            if hetzner:
                self._send(h, 500, {"error": {"code": "server_error", "message": "internal server error"}})
            else:
                self._send(
                    h,
                    500,
                    {
                        "success": False,
                        "errors": [{"code": 10000, "message": "Internal error"}],
                        "messages": [],
                        "result": None,
                    },
                )
            return True
        if mode == "redirect":
            self._send(h, 301, "", {"Location": "https://console.hetzner.com/"}, ctype="text/html")
            return True
        if mode == "html":
            self._send(h, 200, "<html><body>Please log in to the Wi-Fi</body></html>", ctype="text/html")
            return True
        return False

    def _token(self, seen: Seen) -> str | None:
        auth = seen.headers.get("Authorization") or seen.headers.get("authorization") or ""
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    def _hetzner(self, h: BaseHTTPRequestHandler, path: str, q: dict[str, list[str]], seen: Seen) -> None:
        if self._common(h, hetzner=True):
            return
        token = self._token(seen)
        if self.mode in ("revoked", "expired", "disabled") or token not in self.tokens:
            self._send(h, 401, {"error": {"code": "unauthorized", "message": "unable to authenticate"}})
            return
        if self.mode == "forbidden":
            self._send(h, 403, {"error": {"code": "forbidden", "message": "insufficient permissions for this request"}})
            return
        if path != "/zones":
            self._send(h, 404, {"error": {"code": "not_found", "message": "not found"}})
            return
        zones = self._zone_dicts()
        if "name" in q:
            zones = [z for z in zones if z["name"] == q["name"][0]]
        total = len(zones)
        per_page = int(q.get("per_page", ["25"])[0])
        page = [self._hetzner_zone(z) for z in zones[:per_page]]
        last = max(1, -(-total // per_page))
        self._send(
            h,
            200,
            {
                "zones": page,
                "meta": {
                    "pagination": {
                        "page": 1,
                        "per_page": per_page,
                        "previous_page": None,
                        "next_page": 2 if last > 1 else None,
                        "last_page": last,
                        "total_entries": total,
                    }
                },
            },
        )

    def _cloudflare(self, h: BaseHTTPRequestHandler, path: str, q: dict[str, list[str]], seen: Seen) -> None:
        if self._common(h, hetzner=False):
            return
        token = self._token(seen)
        invalid = {
            "success": False,
            "errors": [{"code": 1000, "message": "Invalid API Token"}],
            "messages": [],
            "result": None,
        }
        known = token in self.tokens or token in self.account_tokens
        if self.mode == "revoked" or not known:
            self._send(h, 401, invalid)
            return
        if path == "/user/tokens/verify":
            if token in self.account_tokens:
                self._send(h, 401, invalid)
                return
            status = {"expired": "expired", "disabled": "disabled"}.get(self.mode, "active")
            result = {"id": "f267e341f3dd4697bd3b9f71dd96247f", "status": status}
            if status == "expired":
                result["expires_on"] = "2026-01-01T00:00:00Z"
            self._send(
                h,
                200,
                {
                    "success": True,
                    "errors": [],
                    "messages": [{"code": 10000, "message": "This API Token is valid and active", "type": None}],
                    "result": result,
                },
            )
            return
        if self.mode in ("expired", "disabled"):
            self._send(h, 401, invalid)
            return
        if path == "/zones":
            if self.mode == "forbidden":
                self._send(
                    h,
                    403,
                    {
                        "success": False,
                        "errors": [{"code": 9109, "message": "Unauthorized to access requested resource"}],
                        "messages": [],
                        "result": None,
                    },
                )
                return
            zones = self._zone_dicts()
            if "name" in q:
                zones = [z for z in zones if z["name"] == q["name"][0]]
            per_page = int(q.get("per_page", ["20"])[0])
            page = [self._cloudflare_zone(z) for z in zones[:per_page]]
            self._send(
                h,
                200,
                {
                    "success": True,
                    "errors": [],
                    "messages": [],
                    "result": page,
                    "result_info": {
                        "page": 1,
                        "per_page": per_page,
                        "count": len(page),
                        "total_count": len(zones),
                        "total_pages": max(1, -(-len(zones) // per_page)),
                    },
                },
            )
            return
        self._send(
            h,
            404,
            {
                "success": False,
                "errors": [{"code": 7003, "message": "Could not route to " + path}],
                "messages": [],
                "result": None,
            },
        )


class FakeDNSServer:
    """A tiny UDP DNS server on 127.0.0.1 answering NS queries (needs dnspython).

    ``ns``: zone -> nameserver names; ``nodata``: names that exist but have no NS; anything else is NXDOMAIN.
    """

    def __init__(self, ns: dict[str, list[str]] | None = None, nodata: tuple[str, ...] = ()) -> None:
        import socket

        self.ns = {k.lower().rstrip("."): v for k, v in (ns or {}).items()}
        self.nodata = {n.lower().rstrip(".") for n in nodata}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset

        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            try:
                query = dns.message.from_wire(data)
            except Exception:
                continue
            resp = dns.message.make_response(query)
            resp.flags |= dns.flags.RA
            qname = query.question[0].name
            name = qname.to_text().lower().rstrip(".")
            qtype = query.question[0].rdtype
            if name in self.ns:
                if qtype == dns.rdatatype.NS:
                    targets = [t if t.endswith(".") else t + "." for t in self.ns[name]]
                    resp.answer.append(
                        dns.rrset.from_text_list(qname, 300, dns.rdataclass.IN, dns.rdatatype.NS, targets)
                    )
            elif name in self.nodata:
                pass
            else:
                resp.set_rcode(dns.rcode.NXDOMAIN)
            try:
                self.sock.sendto(resp.to_wire(), addr)
            except OSError:
                pass

    def start(self) -> FakeDNSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def __enter__(self) -> FakeDNSServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
