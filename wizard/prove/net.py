"""The proof's checks from outside: DNS answers and HTTP/HTTPS requests, with exact control.

DNS goes through dnspython (stdlib cannot ask a given nameserver, nor say a TTL); the system
resolver is ``getaddrinfo`` (what a browser uses, /etc/hosts included). HTTP and TLS are plain
sockets + :mod:`ssl`: connect to one resolved address, SNI = the host, so a connect timeout, a
refused connection, a TLS failure and the HTTP status are told apart. Verification is never turned
off for a result that says "verified"; :func:`peer_certificate` reads a certificate without
trusting it, only to show what a server presents when its chain cannot be verified.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from wizard.errors import UserError

MAX_BODY = 64 * 1024


# -- DNS ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """What one resolver said about a name: addresses (A and AAAA), the TTL, or the error."""

    where: str
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    error: str = ""  # "" | "NXDOMAIN" | "no address records" | "timeout" | other text
    negative_ttl: int | None = None  # the SOA minimum when the name does not exist (negative caching)


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP`` or ``IP:PORT`` (``[v6]:PORT``) -> (ip, port); UserError otherwise."""
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        if rest:
            port = _port(rest.lstrip(":"), text)
    elif raw.count(":") == 1:
        host, p = raw.split(":")
        port = _port(p, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UserError(
            f"--resolver {text!r} is not an IP address (with an optional :PORT). The proof asks exactly that "
            "nameserver, so it must be an address, e.g. --resolver 1.1.1.1 or --resolver 127.0.0.1:5353."
        ) from None
    return host, port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UserError(f"--resolver {whole!r}: the port {text!r} is not a number from 1 to 65535.")
    return int(text)


def query(host: str, server: tuple[str, int], *, timeout: float, where: str = "") -> Resolved:
    """A and AAAA of ``host`` at one nameserver (no recursion needed from an authoritative one)."""
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    label = where or f"resolver {server[0]}:{server[1]}"
    addresses: list[str] = []
    ttl: int | None = None
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        msg = dns.message.make_query(host, rdtype)
        msg.flags |= dns.flags.RD
        try:
            resp = dns.query.udp(msg, server[0], port=server[1], timeout=timeout)
            if resp.flags & dns.flags.TC:
                resp = dns.query.tcp(msg, server[0], port=server[1], timeout=timeout)
        except dns.exception.Timeout:
            return Resolved(label, error="timeout")
        except OSError as exc:
            return Resolved(label, error=f"unreachable ({exc.strerror or exc})")
        except dns.exception.DNSException as exc:
            return Resolved(label, error=f"bad answer ({exc})")
        if resp.rcode() == dns.rcode.NXDOMAIN:
            return Resolved(label, error="NXDOMAIN", negative_ttl=_soa_minimum(resp))
        if resp.rcode() != dns.rcode.NOERROR:
            return Resolved(label, error=dns.rcode.to_text(resp.rcode()))
        for rrset in resp.answer:
            if rrset.rdtype == rdtype:
                addresses += [r.address for r in rrset]
                ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
    if not addresses:
        return Resolved(label, error="no address records")
    return Resolved(label, tuple(sorted(set(addresses))), ttl)


def _soa_minimum(resp: Any) -> int | None:
    import dns.rdatatype

    for rrset in resp.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, next(iter(rrset)).minimum))
    return None


def authoritative(zone: str, server: tuple[str, int] | None, *, timeout: float) -> list[tuple[str, str]]:
    """The zone's nameservers as (name, address), asked of ``server`` (the system's when None)."""
    import dns.resolver

    res = dns.resolver.Resolver(configure=server is None)
    if server is not None:
        res.nameservers = [server[0]]
        res.port = server[1]
    res.lifetime = timeout
    out: list[tuple[str, str]] = []
    try:
        names = [str(r.target).rstrip(".") for r in res.resolve(zone, "NS")]
    except dns.exception.DNSException:
        return []
    for name in names:
        try:
            out += [(name, r.address) for r in res.resolve(name, "A")]
        except dns.exception.DNSException:
            continue
    return out


def system_resolve(host: str) -> Resolved:
    """The system resolver (getaddrinfo: /etc/hosts, nsswitch, the stub resolver); no TTL."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return Resolved("the system resolver", error="NXDOMAIN")
        return Resolved("the system resolver", error=str(exc.strerror or exc))
    return Resolved("the system resolver", tuple(sorted({str(i[4][0]) for i in infos})))


# -- HTTP and HTTPS ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """One request to one address. ``outcome``: ``http`` (an HTTP answer: ``status``), ``connect-timeout``,
    ``refused``, ``unreachable``, ``read-timeout`` (connected, no answer), ``tls-untrusted`` (the chain
    does not verify), ``tls-name`` (the certificate does not cover the host), ``tls-error``, ``bad-http``."""

    address: str
    port: int
    outcome: str
    status: int | None = None
    detail: str = ""
    seconds: float = 0.0
    cert: dict[str, Any] = field(default_factory=dict)  # the verified peer certificate (getpeercert())
    body: str = ""


def _connect(address: str, port: int, timeout: float) -> socket.socket | Answer:
    started = time.monotonic()
    try:
        return socket.create_connection((address, port), timeout=timeout)
    except TimeoutError:
        return Answer(address, port, "connect-timeout", detail=f"no answer to the connection within {timeout:g}s")
    except ConnectionRefusedError:
        return Answer(address, port, "refused", detail="connection refused", seconds=time.monotonic() - started)
    except OSError as exc:
        return Answer(address, port, "unreachable", detail=str(exc.strerror or exc))


def _request(sock: socket.socket, host: str, path: str) -> tuple[int, str]:
    req = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: edge-wizard-verify\r\n"
        "Accept: application/json\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(req.encode("ascii"))
    data = b""
    while len(data) < MAX_BODY:
        chunk = sock.recv(16384)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError(head[:60].decode("latin-1") or "an empty answer")
    return int(parts[1]), body.decode("utf-8", "replace")


def http_get(host: str, address: str, port: int = 80, *, timeout: float = 10.0, path: str = "/") -> Answer:
    """GET http://host/path sent to ``address``: any HTTP answer means the port reaches a web server."""
    started = time.monotonic()
    sock = _connect(address, port, timeout)
    if isinstance(sock, Answer):
        return sock
    with sock:
        try:
            status, body = _request(sock, host, path)
        except TimeoutError:
            return Answer(address, port, "read-timeout", detail=f"connected, but no HTTP answer within {timeout:g}s")
        except (OSError, ValueError) as exc:
            return Answer(address, port, "bad-http", detail=f"not an HTTP answer: {exc}")
    return Answer(address, port, "http", status, seconds=time.monotonic() - started, body=body[:2000])


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system trust store, or only ``ca_bundle`` (a PEM file); verification always on."""
    if ca_bundle is not None:
        try:
            return ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise UserError(
                f"--ca-bundle {ca_bundle}: cannot read it as PEM certificates ({exc}). The HTTPS check verifies the "
                "chain against it, so it must hold the issuer's root(s): pass a PEM file, e.g. the ACME server's roots."
            ) from None
    return ssl.create_default_context()


def https_get(
    host: str, address: str, port: int = 443, *, context: ssl.SSLContext, timeout: float = 10.0, path: str = "/"
) -> Answer:
    """GET https://host/path at ``address`` with SNI and verification (chain and host name)."""
    started = time.monotonic()
    raw = _connect(address, port, timeout)
    if isinstance(raw, Answer):
        return raw
    try:
        with context.wrap_socket(raw, server_hostname=host) as sock:
            cert = sock.getpeercert() or {}
            try:
                status, body = _request(sock, host, path)
            except TimeoutError:
                return Answer(address, port, "read-timeout", detail=f"TLS done, but no HTTP answer in {timeout:g}s")
            except (OSError, ValueError) as exc:
                return Answer(address, port, "bad-http", detail=f"not an HTTP answer: {exc}", cert=cert)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        name = "mismatch" in (exc.verify_message or "") or "Hostname" in str(exc)
        return Answer(address, port, "tls-name" if name else "tls-untrusted", detail=exc.verify_message or str(exc))
    except TimeoutError:
        raw.close()
        return Answer(address, port, "read-timeout", detail=f"connected, but no TLS handshake within {timeout:g}s")
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        return Answer(address, port, "tls-error", detail=str(getattr(exc, "reason", None) or exc))
    return Answer(address, port, "http", status, seconds=time.monotonic() - started, cert=cert, body=body[:2000])


def peer_certificate(host: str, address: str, port: int = 443, *, timeout: float = 10.0) -> dict[str, Any] | None:
    """The certificate ``address`` presents for ``host``, read WITHOUT trusting it (nothing is sent over
    the connection): only to show names, issuer and validity when the chain cannot be verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as sock,
        ):
            der = sock.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return decode_pem(ssl.DER_cert_to_PEM_cert(der)) if der else None


def decode_pem(pem: str) -> dict[str, Any] | None:
    """Decode a PEM certificate (the first of a chain) to getpeercert()'s shape. Uses CPython's private
    ``ssl._ssl._test_decode_cert`` (no public API exists); None when it is not there or fails."""
    decoder = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decoder is None:
        return None
    first = pem.split("-----END CERTIFICATE-----", 1)[0] + "-----END CERTIFICATE-----\n"
    fd, path = tempfile.mkstemp(prefix="edge-wizard-cert-", suffix=".pem")  # a public certificate only
    try:
        with os.fdopen(fd, "w") as f:
            f.write(first)
        result: dict[str, Any] = decoder(path)
        return result
    except (ssl.SSLError, OSError, ValueError):
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


# -- certificate fields ------------------------------------------------------------------------------------
def cert_names(cert: dict[str, Any]) -> tuple[str, ...]:
    return tuple(v for k, v in cert.get("subjectAltName") or () if k in ("DNS", "IP Address"))


def cert_issuer(cert: dict[str, Any]) -> str:
    parts = {k: v for rdn in cert.get("issuer") or () for k, v in rdn}
    return ", ".join(parts[k] for k in ("organizationName", "commonName") if k in parts) or "?"


def cert_not_after(cert: dict[str, Any]) -> float | None:
    text = cert.get("notAfter")
    return float(ssl.cert_time_to_seconds(text)) if text else None


def cert_not_before(cert: dict[str, Any]) -> float | None:
    text = cert.get("notBefore")
    return float(ssl.cert_time_to_seconds(text)) if text else None


def covers(names: tuple[str, ...], host: str) -> bool:
    host = host.lower().rstrip(".")
    for n in names:
        n = n.lower().rstrip(".")
        if n == host or (n.startswith("*.") and host.split(".", 1)[-1] == n[2:] and host.count(".") == n.count(".")):
            return True
    return False
