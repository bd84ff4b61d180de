"""One round of the proof: every check once, each with what was seen and the fix (a diagnosis).

Blocking (sockets, DNS): runs in a worker thread. The cluster was read before (:mod:`.cluster`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard import events as ev
from wizard.prove import net

if TYPE_CHECKING:
    from wizard.prove.cluster import ClusterView

STAGING = "letsencrypt-staging"
PRODUCTION = "letsencrypt-production"
MAX_ADDRESSES = 4
# Every failure but FINAL is checked again until the deadline (a record propagating, a certificate
# issuing). At the deadline: only WAITING failures (timeouts, still issuing) -> exit 3, else exit 1.
WAITING = "waiting"
FINAL = "final"  # a failure waiting does not fix (a rate limit): stop at once


@dataclass(frozen=True)
class Target:
    """What is proven: the smoke test's host and where its parts are."""

    host: str
    zone: str | None = None
    issuer: str = PRODUCTION  # the ClusterIssuer the smoke test is written with
    namespace: str = "podinfo"
    certificate: str = "podinfo-tls"
    policy_file: Path | None = None  # the host firewall policy (absolute)
    policy_rel: str = ""
    owner: str = ""  # external-dns txtOwnerId
    provider: str = ""  # the answers' dns_provider: whose API holds the record


@dataclass(frozen=True)
class ProveOptions:
    resolver: tuple[str, int] | None = None  # None: the zone's nameservers and the system resolver
    ca_bundle: str | None = None
    cluster: bool = True
    timeout: float = 60.0  # the whole proof (rounds repeat until then)
    net_timeout: float = 5.0  # one connection or DNS query
    poll: float = 2.0
    http_port: int = 80
    https_port: int = 443
    token: str | None = field(default=None, repr=False)  # the DNS token: the record is read at the provider


@dataclass
class Round:
    checks: list[ev.ProofCheck] = field(default_factory=list)
    proof: ev.Proof = field(default_factory=lambda: ev.Proof(host="", proven=False))
    kinds: list[str] = field(default_factory=list)  # WAITING | FINAL per failed check

    @property
    def final(self) -> bool:
        return FINAL in self.kinds

    @property
    def waiting_only(self) -> bool:
        return bool(self.kinds) and all(k == WAITING for k in self.kinds)

    def first_failure(self) -> ev.ProofCheck | None:
        return next((c for c in self.checks if c.status == "fail"), None)

    def add(self, check: str, status: str, seen: str, fix: str = "", kind: str = "") -> None:
        self.checks.append(ev.ProofCheck(check, status, seen, fix))
        if status == "fail":
            self.kinds.append(kind or "failed")


def one_round(t: Target, o: ProveOptions, view: ClusterView | None) -> Round:
    r = Round()
    if view is not None and view.error:
        r.add("cluster", "warn", f"the cluster could not be read ({view.error}); only the outside checks ran.")
        view = None
    _record(r, t, o, view)
    addresses = _addresses(r, t, o, view)
    _port80(r, t, o, addresses)
    cert_ready = _certificate(r, t, view)
    https = _https(r, t, o, addresses, view, cert_ready)
    r.proof = ev.Proof(
        host=t.host,
        proven=not any(c.status == "fail" for c in r.checks),
        issuer=t.issuer,
        addresses=addresses,
        **https,
    )
    return r


# -- the record at the provider ----------------------------------------------------------------------------
def _record(r: Round, t: Target, o: ProveOptions, view: ClusterView | None) -> None:
    """The A/AAAA RRset at the provider, with external-dns's owner TXT for this txtOwnerId."""
    from wizard.providers import read_records
    from wizard.providers.base import RecordsUnavailable

    if not (o.token and t.provider and t.zone):
        r.add(
            "record",
            "skip",
            "the record at the DNS provider was not read (no DNS token given: --token-env VAR); the checks below "
            "ask the nameservers.",
        )
        return
    try:
        recs = read_records(t.provider, t.zone, t.host, o.token, timeout=o.net_timeout)
    except RecordsUnavailable as exc:
        r.add("record", "warn", f"the record at the DNS provider could not be read: {exc.message}.")
        return
    where = f"{recs.provider} (zone {recs.zone})"
    if not recs.addresses:
        r.add(
            "record",
            "fail",
            f"{where} has no A/AAAA record for {t.host}.",
            _external_dns_fix(t, "no record at the provider"),
            kind=WAITING,
        )
        return
    ttl = f" (TTL {recs.ttl}s)" if recs.ttl is not None else ""
    said = f"{where} holds {t.host} -> {', '.join(recs.addresses)}{ttl}"
    owners = recs.owners
    if t.owner and owners and t.owner not in owners:
        r.add(
            "record",
            "fail",
            f"{said}, owned by external-dns owner {', '.join(owners)}, not {t.owner} (this cluster's txtOwnerId): "
            "external-dns never changes a record another owner holds.",
            f"If that owner is an old install of this cluster, set txt_owner_id: {owners[0]} in the answers and run "
            f"`edge-wizard run external-dns`; otherwise another cluster publishes {t.host}: pick another "
            "smoke_test_host.",
        )
        return
    expected = view.addresses if view is not None else set()
    stale = sorted(set(recs.addresses) - expected) if expected else []
    if stale:
        r.add(
            "record",
            "fail",
            f"{said}, but {', '.join(stale)} is not an address of a node (nodes: {', '.join(sorted(expected))}).",
            _external_dns_fix(t, "an old address at the provider"),
            kind=WAITING,
        )
        return
    if not owners:
        r.add(
            "record",
            "warn",
            f"{said}, with no owner TXT record of external-dns next to it: it was not written by external-dns "
            "(by hand?), so external-dns will not update it.",
            f"Delete the record at the provider; external-dns then creates it with its owner TXT (txtOwnerId "
            f"{t.owner or '?'}).",
        )
        return
    r.add("record", "ok", f"{said}, owned by external-dns ({', '.join(owners)}).")


# -- addresses ---------------------------------------------------------------------------------------------
def _addresses(r: Round, t: Target, o: ProveOptions, view: ClusterView | None) -> tuple[str, ...]:
    answers: list[net.Resolved] = []
    if o.resolver is not None:
        answers.append(net.query(t.host, o.resolver, timeout=o.net_timeout))
    else:
        for name, ip in net.authoritative(t.zone or t.host.split(".", 1)[-1], None, timeout=o.net_timeout)[:2]:
            answers.append(net.query(t.host, (ip, 53), timeout=o.net_timeout, where=f"{name} (authoritative)"))
        answers.append(net.system_resolve(t.host))
    found = [a for a in answers if a.addresses]
    expected = view.addresses if view is not None else set()
    seen = "; ".join(_said(a) for a in answers)
    if not found:
        nx = any(a.error == "NXDOMAIN" for a in answers)
        r.add(
            "addresses",
            "fail",
            f"{t.host} does not resolve: {seen}.",
            _external_dns_fix(t, "NXDOMAIN" if nx else "no record"),
        )
        return ()
    addrs = found[0].addresses
    if expected and not set(addrs) <= expected:
        wrong = sorted(set(addrs) - expected)
        r.add(
            "addresses",
            "fail",
            f"{t.host} resolves to {', '.join(wrong)}, which is not an address of a node ({seen}; nodes: "
            f"{', '.join(sorted(expected))}).",
            _external_dns_fix(t, "old address"),
        )
        return addrs
    sets = {a.addresses for a in found}
    if len(sets) > 1 or len(found) < len(answers):
        r.add(
            "addresses",
            "warn",
            f"the resolvers disagree: {seen}. A resolver keeps an answer for its TTL (a 'does not exist' for the "
            "zone's SOA minimum), so an older answer can stay cached for that long.",
            "Wait for the TTL, or check again with --resolver set to one of the zone's nameservers.",
        )
    else:
        where = "" if not expected else " (addresses of the nodes)"
        r.add("addresses", "ok", f"{t.host} resolves to {', '.join(addrs)}{where}: {seen}.")
    return addrs


def _said(a: net.Resolved) -> str:
    if a.addresses:
        return f"{a.where}: {', '.join(a.addresses)}" + (f" (TTL {a.ttl}s)" if a.ttl is not None else "")
    neg = f", cached for up to {a.negative_ttl}s" if a.negative_ttl is not None else ""
    return f"{a.where}: {a.error}{neg}"


EXTERNAL_DNS_CHECKS = ("record", "addresses")  # failures whose fix is external-dns's (its state is added)


def _external_dns_fix(t: Target, what: str) -> str:
    owner = f" and its owner TXT record (txtOwnerId {t.owner})" if t.owner else ""
    return (
        f"external-dns writes the record for {t.host} from the Ingress annotation ({what} means it has not, yet or at "
        f"all). `kubectl -n external-dns logs deploy/external-dns --tail 20` shows its last error: a rejected token "
        f"(401/403: the token Secret's key), no matching zone (domainFilters vs the zone {t.zone or '?'}), or a TXT "
        f"owner conflict (a record{owner} owned by another external-dns). `edge-wizard doctor` checks these."
    )


# -- port 80 ----------------------------------------------------------------------------------------------
def _port80(r: Round, t: Target, o: ProveOptions, addresses: tuple[str, ...]) -> None:
    if not addresses:
        r.add("port-80", "skip", "no address to connect to.")
        return
    results = [net.http_get(t.host, a, o.http_port, timeout=o.net_timeout) for a in addresses[:MAX_ADDRESSES]]
    bad = [a for a in results if a.outcome != "http"]
    if not bad:
        codes = ", ".join(f"{a.address} HTTP {a.status}" for a in results)
        r.add("port-80", "ok", f"http://{t.host}/ reaches a web server ({codes}): the ACME HTTP-01 path is open.")
        return
    a = bad[0]
    fix, kind = _connection_fix(t, a, 80)
    r.add("port-80", "fail", f"http://{t.host}/ at {a.address}:{a.port}: {a.detail} ({a.outcome}).", fix, kind)


def _connection_fix(t: Target, a: net.Answer, port: int) -> tuple[str, str]:
    if a.outcome == "connect-timeout":
        return _firewall_fix(t, port), WAITING
    if a.outcome == "refused":
        return (
            f"Nothing listens on {a.address}:{a.port}. The ingress controller listens on the nodes' ports 80/443 "
            f"with hostNetwork (a DaemonSet): `kubectl -n ingress-nginx get pods -o wide` shows whether a pod runs on "
            f"the node with {a.address}; `kubectl -n ingress-nginx describe daemonset` says why one is not scheduled.",
            "failed",
        )
    if a.outcome == "read-timeout":
        return (
            f"Something accepted the connection on {a.address}:{a.port} but never answered: not the ingress "
            "controller, or it is stuck. `kubectl -n ingress-nginx logs daemonset/ingress-nginx-controller` shows it.",
            WAITING,
        )
    return (f"{a.address}:{a.port} did not answer HTTP as the ingress controller would ({a.detail}).", "failed")


def _firewall_fix(t: Target, port: int) -> str:
    if t.policy_file is None:
        return (
            f"Port {port} timed out: a firewall drops the packets. The guide's host firewall (a Cilium policy) must "
            f"allow 80 and 443 from the world: `edge-wizard run firewall` writes that rule."
        )
    try:
        text = t.policy_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    has = bool(re.search(rf"port:\s*[\"']?{port}[\"']?", text))
    state = "has a rule for it" if has else "has no rule for it"
    more = (
        " The rule covers only the nodes its policy selects (nodeSelector): check that this node is one of them, and "
        "that Flux applied the policy (`kubectl get ccnp`)."
        if has
        else " `edge-wizard run firewall` adds the rule for 80/443."
    )
    return (
        f"Port {port} timed out: the host firewall drops it. The policy {t.policy_rel or t.policy_file} {state}.{more}"
    )


# -- the certificate --------------------------------------------------------------------------------------
def _certificate(r: Round, t: Target, view: ClusterView | None) -> bool | None:
    if view is None:
        r.add("certificate", "skip", "not checked (no cluster).")
        return None
    ref = f"Certificate {t.namespace}/{t.certificate}"
    if view.certificate is None:
        r.add(
            "certificate",
            "fail",
            f"{ref} does not exist (yet).",
            "cert-manager creates it from the smoke test's Ingress (the cert-manager.io/cluster-issuer annotation); "
            "`kubectl -n podinfo describe ingress` and the cert-manager logs say why it has not.",
            WAITING,
        )
        return False
    limited = view.rate_limited
    if limited:
        r.add(
            "certificate",
            "fail",
            f"the ACME server refused with a rate limit: {limited}.",
            "Let's Encrypt's production limits (e.g. 5 duplicate certificates a week) last days: do not retry. Wait "
            "for the limit to expire (the error says until when) and prove on staging meanwhile.",
            FINAL,
        )
        return False
    ready, why = view.ready()
    if not ready:
        acme = "; ".join(f"{o_} is {st or 'pending'}" + (f": {rsn}" if rsn else "") for o_, st, rsn in view.acme)
        bad = any(state in ("invalid", "errored") for _r, state, _x in view.acme)
        r.add(
            "certificate",
            "fail",
            f"{ref} is not Ready ({why})" + (f"; {acme}" if acme else "") + ".",
            f"The HTTP-01 challenge needs http://{t.host}/.well-known/acme-challenge/ reachable from the ACME server: "
            f"`kubectl -n {t.namespace} describe challenges` shows the reason. cert-manager retries by itself.",
            "failed" if bad else WAITING,
        )
        return False
    cert = net.decode_pem(view.tls_crt) if view.tls_crt else None
    issuer = f"issued by {view.issuer_ref}" if view.issuer_ref else "issued"
    if cert is None:
        r.add(
            "certificate",
            "ok",
            f"{ref} is Ready ({issuer}; its Secret's certificate could not be decoded here, "
            "so the names are the Certificate's status only).",
        )
        return True
    names = net.cert_names(cert)
    if not net.covers(names, t.host):
        r.add(
            "certificate",
            "fail",
            f"{ref} is Ready but its Secret's certificate names {', '.join(names) or 'nothing'}, not {t.host}.",
            f"`kubectl -n {t.namespace} delete secret {t.certificate}` makes cert-manager issue it again for the host.",
        )
        return False
    r.add(
        "certificate",
        "ok",
        f"{ref} is Ready ({issuer}), its Secret's certificate covers {t.host} "
        f"(decoded from the Secret; expires {cert.get('notAfter', '?')}).",
    )
    return True


# -- HTTPS ---------------------------------------------------------------------------------------------------
def _https(
    r: Round, t: Target, o: ProveOptions, addresses: tuple[str, ...], view: ClusterView | None, cert_ready: bool | None
) -> dict[str, Any]:
    if not addresses:
        r.add("https", "skip", "no address to connect to.")
        return {}
    ctx = net.tls_context(o.ca_bundle)
    trust = f"--ca-bundle {o.ca_bundle}" if o.ca_bundle else "the system trust store"
    pending = WAITING if cert_ready is False else "failed"
    results = [
        net.https_get(t.host, a, o.https_port, context=ctx, timeout=o.net_timeout) for a in addresses[:MAX_ADDRESSES]
    ]
    bad = [a for a in results if a.outcome != "http" or a.status != 200]
    if not bad:
        a = results[0]
        info = _cert_info(a.cert, verified=True)
        podinfo = "podinfo" in a.body.lower()
        r.add(
            "https",
            "ok" if podinfo else "warn",
            f"https://{t.host}/ answered HTTP 200 in {a.seconds * 1000:.0f} ms"
            + (" from podinfo" if podinfo else " (the page does not look like podinfo's)")
            + f"; the chain verifies against {trust}: issuer {info['cert_issuer']}, names "
            f"{', '.join(info['names'])}, expires {info['not_after']}.",
        )
        return {**info, "status": 200, "seconds": round(a.seconds, 3)}
    a = bad[0]
    where = f"https://{t.host}/ at {a.address}:{a.port}"
    if a.outcome == "http":
        r.add(
            "https",
            "fail",
            f"{where} answered HTTP {a.status}, not 200.",
            "The Ingress reaches the controller but not podinfo: `kubectl -n podinfo get pods,ingress` shows it.",
            pending,
        )
        return {**_cert_info(a.cert, verified=True), "status": a.status, "seconds": round(a.seconds, 3)}
    if a.outcome in ("tls-untrusted", "tls-name"):
        return _untrusted(r, t, o, a, where, trust, pending)
    fix, kind = _connection_fix(t, a, 443)
    r.add("https", "fail", f"{where}: {a.detail} ({a.outcome}).", fix, kind)
    return {}


def _untrusted(
    r: Round, t: Target, o: ProveOptions, a: net.Answer, where: str, trust: str, pending: str
) -> dict[str, Any]:
    peer = net.peer_certificate(t.host, a.address, a.port, timeout=o.net_timeout) or {}
    info = _cert_info(peer, verified=False)
    names = info["names"]
    issuer = str(info["cert_issuer"])
    shown = f"issuer {issuer}, names {', '.join(names) or 'none'}, expires {info['not_after']}"
    if a.outcome == "tls-name" or not net.covers(tuple(names), t.host):
        r.add(
            "https",
            "fail",
            f"{where} serves a certificate that does not cover {t.host} ({shown}): {a.detail}.",
            "The controller serves its default certificate until the TLS Secret exists: the certificate check above "
            "says where issuing stands.",
            pending,
        )
        return info
    staging_cert = "staging" in issuer.lower()
    if t.issuer == STAGING and o.ca_bundle is None:
        now = time.time()
        nb, na = net.cert_not_before(peer), net.cert_not_after(peer)
        valid = nb is not None and na is not None and nb <= now <= na
        r.add(
            "https",
            "ok" if valid else "fail",
            f"{where} serves a certificate for {t.host} ({shown}){'' if valid else ', outside its validity'}. The chain "
            "was NOT verified: edge-wizard has no Let's Encrypt staging roots (pass --ca-bundle with them to verify); "
            "names, issuer and validity were checked.",
        )
        return info
    if staging_cert and t.issuer == PRODUCTION:
        r.add(
            "https",
            "fail",
            f"{where} still serves a staging certificate ({shown}); browsers reject it.",
            "The smoke test is still on letsencrypt-staging, or its Secret still holds the staging certificate: "
            "`edge-wizard run smoke-test` writes the production issuer; cert-manager then replaces the Secret.",
            pending,
        )
        return info
    r.add(
        "https",
        "fail",
        f"{where}: the certificate chain does not verify against {trust} ({a.detail}; {shown}).",
        "Pass the issuer's root with --ca-bundle FILE when it is a private ACME server; for Let's Encrypt "
        "production the system trust store must verify it (update ca-certificates).",
        FINAL if pending != WAITING else WAITING,
    )
    return info


def _cert_info(cert: dict[str, Any], *, verified: bool) -> dict[str, Any]:
    names = net.cert_names(cert)
    return {
        "cert_issuer": net.cert_issuer(cert) if cert else "",
        "names": names,
        "not_after": str(cert.get("notAfter") or ""),
        "verified": verified,
    }
