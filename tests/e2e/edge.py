"""The edge's outside world for the e2e tier, on loopback addresses inside the test's network
namespace: the fake Hetzner Cloud API (its RRsets are the zone), a DNS server answering from them,
two Pebble ACME servers (staging and production, each with its own root, validating HTTP-01 for
real through that DNS server), the egress proxy pods use to reach ``api.hetzner.cloud``, and the CA
that signs their TLS listeners.

    services = EdgeServices(bin_dir, workdir).start()
    services.catalog_overlay(chart_repo_url)      # YAML for EDGE_WIZARD_CATALOG
    services.stack_info(api_url)                  # what the pod runtime gives its pods
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cluster import ControlPlaneError, _die_with_parent, free_ports
from .egress import EgressProxy
from .runtime.images import StackInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.fakedns import FakeProviderAPI, ZoneDNSServer

ZONE = "example.com"  # the answers' zone (tests/support/repos.py ANSWERS: domain k8s.example.com)
TOKEN = "hcloud-e2e-FullRunTokenValue-0123456789"
HETZNER_HOST = "api.hetzner.cloud"
ISSUERS = ("letsencrypt-staging", "letsencrypt-production")


@dataclass
class Pebble:
    name: str
    directory: str  # ACME directory URL
    management: str
    popen: subprocess.Popen
    log: Path
    root_pem: str = ""  # the root that signs the certificates it issues
    root_file: Path | None = None  # the same, as a PEM file

    def roots(self, ctx: ssl.SSLContext) -> str:
        with urllib.request.urlopen(f"{self.management}/roots/0", context=ctx, timeout=5) as r:
            return r.read().decode()


class EdgeServices:
    def __init__(self, bin_dir: Path | str, workdir: Path | str, *, zone: str = ZONE, token: str = TOKEN) -> None:
        self.bin = Path(bin_dir)
        self.dir = Path(workdir)
        self.pki = self.dir / "edge-pki"
        self.logs = self.dir / "logs"
        self.zone = zone
        self.token = token
        self.api = FakeProviderAPI(tokens=(token,), zones=(zone,))
        self.dns: ZoneDNSServer | None = None
        self.egress: EgressProxy | None = None
        self.pebbles: dict[str, Pebble] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> EdgeServices:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._pki()
            self.api.start()  # plain HTTP for the wizard's own checks (EDGE_WIZARD_HETZNER_URL)
            self.api.start(tls=(str(self.pki / "hetzner.crt"), str(self.pki / "hetzner.key")))
            host, port = self.api.urls[1].removeprefix("https://").split(":")
            self.egress = EgressProxy({f"{HETZNER_HOST}:443": (host, int(port))}).start()
            self.dns = ZoneDNSServer(self.api).start()
            for name in ISSUERS:
                self.pebbles[name] = self._pebble(name)
            ctx = self.ssl_context()
            for p in self.pebbles.values():
                self._wait(lambda p=p: p.roots(ctx), f"Pebble {p.name} /roots/0", p)
                p.root_pem = p.roots(ctx)
                p.root_file = self.dir / f"{p.name}-root.pem"  # for --ca-bundle FILE style options
                p.root_file.write_text(p.root_pem)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for p in self.pebbles.values():
            if p.popen.poll() is None:
                p.popen.terminate()
                try:
                    p.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.popen.kill()
        if self.dns:
            self.dns.stop()
        if self.egress:
            self.egress.stop()
        self.api.stop()

    # ------------------------------------------------------------------ what others need
    @property
    def ca_file(self) -> Path:
        """The stack's CA (signs the fake API's and Pebble's listeners)."""
        return self.pki / "ca.crt"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def hetzner_url(self) -> str:
        """The fake Hetzner API for the wizard (plain HTTP on 127.0.0.1)."""
        return self.api.urls[0]

    def stack_info(self, api_url: str, bin_dir: Path | None = None) -> StackInfo:
        host, port = api_url.removeprefix("https://").split(":")
        assert self.dns and self.egress
        return StackInfo(
            bin=bin_dir or self.bin,
            api_url=api_url,
            api_host=host,
            api_port=int(port),
            dns=self.dns.address,
            egress=self.egress.url,
            trust_bundle=self.ca_file,
        )

    def catalog_overlay(self, chart_repo_url: str) -> str:
        """EDGE_WIZARD_CATALOG: charts from the local repository, the ClusterIssuers at Pebble (trusted
        through caBundle, never by skipping verification)."""
        ca = self.ca_file.read_text()
        data = {
            "charts": {
                c: {"repository": chart_repo_url}
                for c in ("ingress-nginx", "traefik", "cert-manager", "external-dns", "podinfo")
            },
            "acme": {name: p.directory for name, p in self.pebbles.items()},
            "acme_ca_bundle": {name: ca for name in self.pebbles},
        }
        return json.dumps(data, indent=1) + "\n"  # JSON is YAML

    def logs_tail(self, lines: int = 30) -> str:
        out = []
        for p in self.pebbles.values():
            out.append(f"===== pebble {p.name} ({p.log}) =====")
            out.extend(p.log.read_text(errors="replace").splitlines()[-lines:])
        if self.egress:
            out.append(f"===== egress proxy: {self.egress.seen[-10:]}")
        out.append(f"===== fake Hetzner API changes: {self.api.changes[-20:]}")
        if self.dns:
            out.append(f"===== DNS queries (last 15): {self.dns.queries[-15:]}")
        return "\n".join(out)

    # ------------------------------------------------------------------ internals
    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.pki, check=True, capture_output=True)

    def _pki(self) -> None:
        self.pki.mkdir(parents=True, exist_ok=True)
        if (self.pki / "ca.crt").exists():
            return
        self._openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "3650", "-subj", "/CN=edge-e2e-ca",
        )  # fmt: skip
        for name, san in (
            ("hetzner", f"DNS:{HETZNER_HOST}"),
            ("pebble", "IP:127.0.0.1,DNS:localhost,DNS:pebble"),
        ):
            (self.pki / f"{name}.ext").write_text(
                f"subjectAltName={san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
            )
            self._openssl(
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                f"{name}.key",
                "-out",
                f"{name}.csr",
                "-subj",
                f"/CN={name}",
            )
            self._openssl(
                "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "3650", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
            )  # fmt: skip

    def _pebble(self, name: str) -> Pebble:
        listen, mgmt = free_ports(2)
        cfg = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{listen}",
                "managementListenAddress": f"127.0.0.1:{mgmt}",
                "certificate": str(self.pki / "pebble.crt"),
                "privateKey": str(self.pki / "pebble.key"),
                # HTTP-01 is validated on port 80 of the address the name resolves to (the node)
                "httpPort": 80,
                "tlsPort": 443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "retryAfter": {"authz": 1, "order": 1},
            }
        }
        conf = self.dir / f"pebble-{name}.json"
        conf.write_text(json.dumps(cfg, indent=1))
        log = self.logs / f"pebble-{name}.log"
        assert self.dns
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PEBBLE_VA_NOSLEEP": "1",  # no random pause before validating; validation itself is real
            "PEBBLE_WFE_NONCEREJECT": "0",  # no random badNonce rejections (cert-manager retries them anyway)
        }
        with open(log, "ab") as f:
            popen = subprocess.Popen(
                [str(self.bin / "pebble"), "-config", str(conf), "-dnsserver", self.dns.address],
                stdout=f,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.dir,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return Pebble(name, f"https://127.0.0.1:{listen}/dir", f"https://127.0.0.1:{mgmt}", popen, log)

    def _wait(self, fn, what: str, p: Pebble, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if p.popen.poll() is not None:
                raise ControlPlaneError(f"{p.name} exited rc={p.popen.returncode}:\n{p.log.read_text()[-2000:]}")
            try:
                fn()
                return
            except Exception as e:
                last = e
            time.sleep(0.2)
        raise ControlPlaneError(f"timed out waiting for {what} ({last!r})")


def https_get(url: str, host_ip: str, ca_pem: str, timeout: float = 10) -> tuple[int, bytes, dict]:
    """GET ``url`` connecting to ``host_ip`` (what the test DNS server answered) with SNI and Host of
    the URL's name, verifying the chain against ``ca_pem`` only. Returns (status, body, peer cert)."""
    import http.client
    import urllib.parse

    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cadata=ca_pem)
    sock = socket.create_connection((host_ip, u.port or 443), timeout=timeout)
    tls = ctx.wrap_socket(sock, server_hostname=u.hostname)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=timeout)
    conn.sock = tls
    try:
        conn.request("GET", u.path or "/", headers={"User-Agent": "edge-e2e"})
        r = conn.getresponse()
        return r.status, r.read(), tls.getpeercert()
    finally:
        conn.close()


@dataclass
class EdgeStack:
    """The control plane running the edge's real workloads, with their outside world.

    ``cp``: the ControlPlane (``cp.runtime`` runs the pods); ``services``: the EdgeServices;
    ``chart_repo``: the real charts. Tests of the edge use the helpers below.
    """

    cp: Any
    services: EdgeServices
    chart_repo: Any

    @property
    def node_ip(self) -> str:
        return self.cp.node_ip

    @property
    def dns(self) -> str:
        """host:port of the DNS server answering from the fake provider's records."""
        assert self.services.dns
        return self.services.dns.address

    @property
    def hetzner_url(self) -> str:
        return self.services.hetzner_url

    @property
    def api(self) -> FakeProviderAPI:
        return self.services.api

    def directory(self, issuer: str) -> str:
        return self.services.pebbles[issuer].directory

    def root_pem(self, issuer: str) -> str:
        """The root CA that signs what the ACME server behind ``issuer`` issues."""
        return self.services.pebbles[issuer].root_pem

    def root_file(self, issuer: str) -> Path:
        """``root_pem(issuer)`` as a PEM file (e.g. for a ``--ca-bundle FILE``)."""
        f = self.services.pebbles[issuer].root_file
        assert f is not None
        return f

    def write_catalog(self, path: Path) -> Path:
        path.write_text(self.services.catalog_overlay(self.chart_repo.url))
        return path

    def resolve(self, name: str, rtype: str = "A") -> list[str]:
        """Ask the stack's DNS server (as Pebble and cert-manager do)."""
        import dns.message
        import dns.query
        import dns.rdatatype

        host, port = self.dns.split(":")
        r = dns.query.udp(dns.message.make_query(name, rtype), host, port=int(port), timeout=3)
        return [rd.to_text().strip('"') for rr in r.answer if rr.rdtype == dns.rdatatype.from_text(rtype) for rd in rr]

    def https_get(self, url: str, issuer: str) -> tuple[int, bytes, dict]:
        """GET ``url`` at the address the DNS server gives its host, trusting only ``issuer``'s root."""
        import urllib.parse

        host = urllib.parse.urlsplit(url).hostname or ""
        addrs = self.resolve(host)
        if not addrs:
            raise AssertionError(f"{host} does not resolve through the stack's DNS server")
        return https_get(url, addrs[0], self.root_pem(issuer))

    def logs(self, match: str = "", lines: int = 40) -> str:
        """Tails of the pods' logs whose file name contains ``match`` (``ns_pod_container.log``)."""
        return self.cp.runtime.tail_logs(lines, match) if self.cp.runtime else ""
