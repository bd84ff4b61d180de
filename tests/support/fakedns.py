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
* ``rrsets``          Hetzner Cloud RRsets per zone name: ``{(name, type): {"ttl", "labels", "records"}}`` with
                      names relative to the zone (``@`` = apex), as the Cloud API keeps them. The RRset endpoints
                      (``/v1/zones/{id}/rrsets[/{name}/{type}[/actions/...]]``) that external-dns's Hetzner webhook
                      (hcloud-go) calls read and write them; ``changes`` logs every write.

``start(host=..., port=..., tls=(cert, key))`` serves HTTPS on a chosen address (the e2e tier's pods reach it as
``api.hetzner.cloud``). ``ZoneDNSServer`` answers DNS queries from the same RRsets.
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
    rrsets: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._servers: list[tuple[ThreadingHTTPServer, bool]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._action_id = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """The first listener's base URL."""
        assert self._servers, "start() first"
        return self.urls[0]

    @property
    def urls(self) -> list[str]:
        out = []
        for server, tls in self._servers:
            host, port = server.server_address[:2]
            out.append(f"{'https' if tls else 'http'}://{host}:{port}")
        return out

    def start(self, host: str = "127.0.0.1", port: int = 0, tls: tuple[str, str] | None = None) -> FakeProviderAPI:
        """Serve on ``host:port`` (HTTPS with ``tls=(cert, key)``); call again for another listener."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_PUT(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

        server = ThreadingHTTPServer((host, port), Handler)
        if tls:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            # the handshake happens in the handler's thread, so a stalled client blocks no one
            server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.daemon_threads = True
        server.block_on_close = False
        self._servers.append((server, bool(tls)))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server, _tls in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

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
            "record_count": len(self.rrsets.get(d["name"], {})) or 4,
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
            self._hetzner_zone_api(h, path, q, seen)
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

    # ------------------------------------------------------------------ Hetzner Cloud zones and RRsets
    def _find_zone(self, id_or_name: str) -> dict[str, Any] | None:
        for z in self._zone_dicts():
            if str(z["id"]) == id_or_name or z["name"] == id_or_name:
                return z
        return None

    def _action(self, command: str, zone_id: int) -> dict[str, Any]:
        with self._lock:
            self._action_id += 1
            aid = self._action_id
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "id": aid,
            "command": command,
            "status": "success",
            "progress": 100,
            "started": now,
            "finished": now,
            "resources": [{"id": zone_id, "type": "zone"}],
            "error": None,
        }

    def _rrset_json(self, zone: dict[str, Any], key: tuple[str, str], rr: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{key[0]}/{key[1]}",
            "name": key[0],
            "type": key[1],
            "ttl": rr.get("ttl"),
            "labels": dict(rr.get("labels") or {}),
            "protection": {"change": False},
            "records": [dict(r) for r in rr["records"]],
            "zone": zone["id"],
        }

    def _body(self, h: BaseHTTPRequestHandler) -> dict[str, Any]:
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def _hetzner_zone_api(self, h: BaseHTTPRequestHandler, path: str, q: dict[str, list[str]], seen: Seen) -> None:
        """/zones/{idOrName}[/rrsets[/{name}/{type}[/actions/{action}]]] of the Hetzner Cloud API."""
        parts = [unquote(p) for p in path.split("/")[2:]]  # after "/zones"
        not_found = {"error": {"code": "not_found", "message": "not found"}}
        zone = self._find_zone(parts[0]) if parts else None
        if zone is None:
            self._send(h, 404, not_found)
            return
        zname = zone["name"]
        if len(parts) == 1 and h.command == "GET":
            self._send(h, 200, {"zone": self._hetzner_zone(zone)})
            return
        if len(parts) < 2 or parts[1] != "rrsets":
            self._send(h, 404, not_found)
            return
        with self._lock:
            sets = self.rrsets.setdefault(zname, {})
        if len(parts) == 2:
            if h.command == "GET":
                items = sorted(sets.items())
                if "name" in q:
                    items = [(k, v) for k, v in items if k[0] == q["name"][0]]
                if "type" in q:
                    items = [(k, v) for k, v in items if k[1] in q["type"]]
                per_page = int(q.get("per_page", ["25"])[0])
                page = int(q.get("page", ["1"])[0])
                last = max(1, -(-len(items) // per_page))
                chunk = items[(page - 1) * per_page : page * per_page]
                self._send(
                    h,
                    200,
                    {
                        "rrsets": [self._rrset_json(zone, k, v) for k, v in chunk],
                        "meta": {
                            "pagination": {
                                "page": page,
                                "per_page": per_page,
                                "previous_page": page - 1 if page > 1 else None,
                                "next_page": page + 1 if page < last else None,
                                "last_page": last,
                                "total_entries": len(items),
                            }
                        },
                    },
                )
                return
            if h.command == "POST":
                body = self._body(h)
                key = (str(body.get("name", "")), str(body.get("type", "")))
                with self._lock:
                    if key in sets:
                        conflict = True
                    else:
                        conflict = False
                        sets[key] = {
                            "ttl": body.get("ttl"),
                            "labels": body.get("labels") or {},
                            "records": [{"value": r.get("value", "")} for r in body.get("records") or []],
                        }
                        self.changes.append(f"create {key[1]} {key[0]} {[r['value'] for r in sets[key]['records']]}")
                if conflict:
                    self._send(h, 409, {"error": {"code": "uniqueness_error", "message": "RRSet already exists"}})
                    return
                self._send(
                    h,
                    201,
                    {
                        "rrset": self._rrset_json(zone, key, sets[key]),
                        "action": self._action("create_rrset", zone["id"]),
                    },
                )
                return
            self._send(h, 405, {"error": {"code": "method_not_allowed", "message": "method not allowed"}})
            return
        if len(parts) < 4:
            self._send(h, 404, not_found)
            return
        key = (parts[2], parts[3].upper())
        with self._lock:
            rr = sets.get(key)
        if rr is None:
            self._send(h, 404, not_found)
            return
        if len(parts) == 4:
            if h.command == "GET":
                self._send(h, 200, {"rrset": self._rrset_json(zone, key, rr)})
            elif h.command == "PUT":
                body = self._body(h)
                with self._lock:
                    if body.get("labels") is not None:
                        rr["labels"] = body["labels"]
                    self.changes.append(f"update {key[1]} {key[0]} labels")
                self._send(h, 200, {"rrset": self._rrset_json(zone, key, rr)})
            elif h.command == "DELETE":
                with self._lock:
                    sets.pop(key, None)
                    self.changes.append(f"delete {key[1]} {key[0]}")
                self._send(h, 201, {"action": self._action("delete_rrset", zone["id"])})
            else:
                self._send(h, 405, {"error": {"code": "method_not_allowed", "message": "method not allowed"}})
            return
        action = parts[5] if len(parts) == 6 and parts[4] == "actions" else ""
        body = self._body(h)
        records = [{"value": r.get("value", "")} for r in body.get("records") or []]
        with self._lock:
            if action == "change_ttl":
                rr["ttl"] = body.get("ttl")
            elif action == "set_records":
                rr["records"] = records
            elif action == "add_records":
                rr["records"] += [r for r in records if r not in rr["records"]]
                if body.get("ttl") is not None:
                    rr["ttl"] = body["ttl"]
            elif action == "remove_records":
                rr["records"] = [r for r in rr["records"] if r not in records]
            elif action == "update_records":
                pass  # comments only
            elif action != "change_protection":
                action = ""
            if action:
                self.changes.append(f"{action} {key[1]} {key[0]} {[r['value'] for r in rr['records']]}")
        if not action:
            self._send(h, 404, not_found)
            return
        self._send(h, 201, {"action": self._action(action, zone["id"])})

    def records(self, fqdn: str, rtype: str) -> list[str] | None:
        """Values of the RRset ``fqdn``/``rtype`` (TXT values unquoted); None if ``fqdn`` is in no zone."""
        name = fqdn.lower().rstrip(".")
        zones = sorted((z["name"] for z in self._zone_dicts()), key=len, reverse=True)
        for z in zones:
            if name == z or name.endswith("." + z):
                rel = "@" if name == z else name[: -len(z) - 1]
                with self._lock:
                    rr = self.rrsets.get(z, {}).get((rel, rtype.upper()))
                    values = [r["value"] for r in rr["records"]] if rr else []
                if rtype.upper() == "TXT":
                    values = [v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v for v in values]
                return values
        return None

    def names(self, fqdn: str) -> bool:
        """True if any RRset exists at ``fqdn``."""
        name = fqdn.lower().rstrip(".")
        with self._lock:
            for z, sets in self.rrsets.items():
                for rel, _t in sets:
                    if (z if rel == "@" else f"{rel}.{z}") == name:
                        return True
        return False

    def _cf_records(self, zone: dict[str, Any], q: dict[str, list[str]]) -> list[dict[str, Any]]:
        """Cloudflare's DNS records (one per value, names fully qualified) of a zone's RRsets."""
        out = []
        with self._lock:
            sets = sorted(self.rrsets.get(zone["name"], {}).items())
        for (rel, rtype), rr in sets:
            name = zone["name"] if rel == "@" else f"{rel}.{zone['name']}"
            if ("type" in q and rtype != q["type"][0]) or ("name" in q and name != q["name"][0]):
                continue
            for r in rr["records"]:
                out.append(
                    {
                        "id": f"{len(out):032x}",
                        "type": rtype,
                        "name": name,
                        "content": r["value"],
                        "ttl": rr.get("ttl") or 1,
                    }
                )
        return out

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
        parts = path.split("/")  # /zones/{id}/dns_records: read from the same RRsets as the Hetzner API
        if len(parts) == 4 and parts[1] == "zones" and parts[3] == "dns_records" and h.command == "GET":
            zone = next((z for z in self._zone_dicts() if self._cloudflare_zone(z)["id"] == parts[2]), None)
            if zone is not None:
                self._send(h, 200, {"success": True, "errors": [], "messages": [], "result": self._cf_records(zone, q)})
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


class ZoneDNSServer:
    """A DNS server (UDP and TCP, one port) answering from a ``FakeProviderAPI``'s Hetzner RRsets
    (needs dnspython). Pebble's VA resolves over TCP, cert-manager's self-check over UDP.

    What external-dns writes through the fake API is what this server answers, at once: A, AAAA, TXT
    and CNAME from the RRsets; NS and SOA at each zone's apex; NXDOMAIN (with the SOA) for names of a
    zone that have no RRset; NODATA for other types of names that exist; REFUSED outside the zones.
    ``hosts`` adds fixed A records (any name). ``queries`` logs ``(name, type, rcode)``.
    """

    def __init__(self, api: FakeProviderAPI, host: str = "127.0.0.1", port: int = 0, hosts: dict | None = None):
        import socket

        self.api = api
        self.hosts = {k.lower().rstrip("."): list(v) for k, v in (hosts or {}).items()}
        self.queries: list[tuple[str, str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.1)
        self.host, self.port = self.sock.getsockname()[:2]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.host, self.port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="zone-dns")
        self._tcp_thread = threading.Thread(target=self._serve_tcp, daemon=True, name="zone-dns-tcp")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _zone_of(self, name: str) -> str | None:
        zones = sorted((z["name"] for z in self.api._zone_dicts()), key=len, reverse=True)
        return next((z for z in zones if name == z or name.endswith("." + z)), None)

    def answer(self, query: Any) -> Any:
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset

        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA
        q = query.question[0]
        qname, qtype = q.name, q.rdtype
        name = qname.to_text().lower().rstrip(".")
        tname = dns.rdatatype.to_text(qtype)

        def add(rtype: str, values: list[str], ttl: int = 60) -> None:
            if rtype == "TXT":
                values = ['"' + v.replace('"', '\\"') + '"' for v in values]
            resp.answer.append(dns.rrset.from_text_list(qname, ttl, dns.rdataclass.IN, rtype, values))

        zone = self._zone_of(name)

        def soa() -> Any:
            assert zone is not None
            z = dns.name.from_text(zone)
            return dns.rrset.from_text(z, 60, "IN", "SOA", f"{HETZNER_NS[0]} hostmaster.{zone}. 1 3600 600 86400 60")

        import dns.name

        if name in self.hosts and qtype == dns.rdatatype.A:
            add("A", self.hosts[name])
        elif zone is None:
            resp.set_rcode(dns.rcode.NXDOMAIN if name in self.hosts else dns.rcode.REFUSED)
            resp.flags &= ~dns.flags.AA
        elif name == zone and qtype in (dns.rdatatype.NS, dns.rdatatype.SOA):
            if qtype == dns.rdatatype.NS:
                add("NS", list(HETZNER_NS))
            else:
                resp.answer.append(soa())
        else:
            cname = self.api.records(name, "CNAME")
            values = self.api.records(name, tname) if tname in ("A", "AAAA", "TXT", "CNAME", "MX", "NS") else []
            if cname and qtype != dns.rdatatype.CNAME:
                add("CNAME", cname)
            elif values:
                add(tname, values)
            elif not self.api.names(name) and name != zone:
                resp.set_rcode(dns.rcode.NXDOMAIN)
                resp.authority.append(soa())
            else:
                resp.authority.append(soa())
        self.queries.append((name, tname, dns.rcode.to_text(resp.rcode())))
        return resp

    def _serve(self) -> None:
        import dns.message

        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            try:
                resp = self.answer(dns.message.from_wire(data))
                self.sock.sendto(resp.to_wire(), addr)
            except Exception:  # a malformed query: no answer, like a real server under garbage
                continue

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True).start()

    def _tcp_conn(self, conn: Any) -> None:
        import dns.message

        conn.settimeout(10)
        try:
            while True:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                n = int.from_bytes(head, "big")
                data = b""
                while len(data) < n:
                    chunk = conn.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                wire = self.answer(dns.message.from_wire(data)).to_wire()
                conn.sendall(len(wire).to_bytes(2, "big") + wire)
        except Exception:
            return
        finally:
            conn.close()

    def start(self) -> ZoneDNSServer:
        self._thread.start()
        self._tcp_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._tcp_thread.join(timeout=2)
        self.sock.close()
        self.tcp.close()

    def __enter__(self) -> ZoneDNSServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
