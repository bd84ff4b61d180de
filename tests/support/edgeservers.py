"""Real local servers for the proof's unit tests, all on 127.0.0.1:

* :func:`make_ca` - a test CA and a leaf certificate for a host, made with the openssl binary.
* :class:`AddressDNS` - a UDP DNS server answering A records (or NXDOMAIN with an SOA) from a dict.
* :class:`WebServer` - HTTP or HTTPS (the leaf certificate) answering like podinfo.
* :class:`SilentListener` - accepts connections and never answers.
* :func:`closed_port` - a port nothing listens on.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PODINFO = b'{\n  "hostname": "podinfo-7d9c", "version": "6.14.0", "message": "greetings from podinfo v6.14.0"\n}\n'


@dataclass(frozen=True)
class LocalCA:
    ca: Path  # the root (PEM), for --ca-bundle
    cert: Path  # the leaf (PEM), issued by the root
    key: Path


def make_ca(folder: Path, host: str, *, ca_name: str = "edge-wizard test root", days: int = 30) -> LocalCA:
    folder.mkdir(parents=True, exist_ok=True)

    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
         "-out", "ca.pem", "-days", "60", "-subj", f"/O=edge-wizard tests/CN={ca_name}",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
         "-out", "leaf.csr", "-subj", f"/CN={host}")  # fmt: skip
    (folder / "ext.cnf").write_text(
        f"subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", encoding="utf-8"
    )
    ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "leaf.pem", "-days", str(days), "-extfile", "ext.cnf")  # fmt: skip
    return LocalCA(folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key")


class AddressDNS:
    """A records from ``records`` (name -> addresses); other names: NXDOMAIN with an SOA (negative TTL)."""

    def __init__(self, records: dict[str, list[str]], ttl: int = 120, negative_ttl: int = 300) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.ttl, self.negative_ttl = ttl, negative_ttl
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset

        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
                query = dns.message.from_wire(data)
            except (OSError, Exception):
                continue
            self.queries += 1
            resp = dns.message.make_response(query)
            q = query.question[0]
            name = q.name.to_text().lower().rstrip(".")
            if name in self.records:
                if q.rdtype == dns.rdatatype.A:
                    resp.answer.append(
                        dns.rrset.from_text_list(q.name, self.ttl, dns.rdataclass.IN, "A", self.records[name])
                    )
            else:
                resp.set_rcode(dns.rcode.NXDOMAIN)
                zone = name.split(".", 1)[-1] + "."
                soa = f"ns1.{zone} hostmaster.{zone} 1 7200 900 1209600 {self.negative_ttl}"
                resp.authority.append(dns.rrset.from_text(zone, 3600, "IN", "SOA", soa))
            try:
                self.sock.sendto(resp.to_wire(), addr)
            except OSError:
                pass

    def __enter__(self) -> AddressDNS:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class WebServer:
    """An HTTP server on 127.0.0.1 answering ``status`` with podinfo's JSON; HTTPS with ``tls``."""

    def __init__(self, tls: LocalCA | None = None, status: int = 200, body: bytes = PODINFO) -> None:
        self.hosts: list[str] = []
        seen = self.hosts

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen.append(self.headers.get("Host", ""))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls.cert, tls.key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentListener:
    """Accepts connections (the kernel's backlog) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.sock.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DroppingListener:
    """A listener whose accept queue is full: the kernel drops new SYNs, so a connection times out the
    way it does behind a firewall that drops packets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(c)

    def __enter__(self) -> DroppingListener:
        return self

    def __exit__(self, *exc: Any) -> None:
        for c in self.fillers:
            c.close()
        self.sock.close()
