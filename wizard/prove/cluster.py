"""The proof's reads from the cluster (through the one connector, read-only): the nodes' addresses,
the smoke test's Certificate and its Secret's certificate, and the ACME objects' reasons."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.errors import UserError

if TYPE_CHECKING:
    from wizard.kube import KubeConnector

RATE_LIMIT_MARKS = ("ratelimited", "rate limit", "too many certificates", "too many failed authorizations")


@dataclass
class ClusterView:
    nodes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # node -> ExternalIPs, else InternalIPs
    certificate: dict[str, Any] | None = None
    tls_crt: str | None = None  # the Secret's tls.crt (PEM: public)
    acme: list[tuple[str, str, str]] = field(default_factory=list)  # (kind/name, state, reason)
    error: str = ""

    @property
    def addresses(self) -> set[str]:
        return {a for addrs in self.nodes.values() for a in addrs}

    def ready(self) -> tuple[bool, str]:
        cert = self.certificate or {}
        for c in (cert.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready":
                return c.get("status") == "True", f"{c.get('reason', '')}: {c.get('message', '')}".strip(": ")
        return False, "no Ready condition yet"

    @property
    def issuer_ref(self) -> str:
        return str((((self.certificate or {}).get("spec") or {}).get("issuerRef") or {}).get("name") or "")

    @property
    def rate_limited(self) -> str:
        for ref, _state, reason in self.acme:
            if any(m in reason.lower() for m in RATE_LIMIT_MARKS):
                return f"{ref}: {reason}"
        return ""


def node_addresses(node: dict[str, Any]) -> tuple[str, ...]:
    addrs = (node.get("status") or {}).get("addresses") or []
    ext = tuple(a["address"] for a in addrs if a.get("type") == "ExternalIP" and a.get("address"))
    return ext or tuple(a["address"] for a in addrs if a.get("type") == "InternalIP" and a.get("address"))


EXTERNAL_DNS_NS = "external-dns"


def pod_state(pod: dict[str, Any]) -> str:
    """One pod in a few words: phase, readiness, a waiting reason, restarts and the last exit message."""
    meta, st = pod.get("metadata") or {}, pod.get("status") or {}
    words = [str(st.get("phase") or "Pending")]
    cs = st.get("containerStatuses") or []
    if cs and all(c.get("ready") for c in cs):
        words.append("ready")
    for c in cs:
        waiting = (c.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            words.append(str(waiting["reason"]))
        if c.get("restartCount"):
            words.append(f"{c['restartCount']} restarts")
        last = ((c.get("lastState") or {}).get("terminated") or {}).get("message")
        if last:
            words.append(f"last exit: {' '.join(str(last).split())[:160]}")
    return f"pod {meta.get('name', '?')} " + ", ".join(words)


def last_error(lines: list[str]) -> str:
    """The last error line of external-dns's log (logrus text or JSON), shortened."""
    for line in reversed(lines):
        if "level=error" in line or "level=fatal" in line or '"level":"error"' in line:
            m = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
            return " ".join((m.group(1) if m else line).split())[:200]
    return ""


async def external_dns_state(kube: KubeConnector) -> str:
    """external-dns's pods (and the last error in their log, when the API serves logs), for the
    diagnosis of a missing record: read once, when the proof ends failing on it; "" if unreadable."""
    from lightkube.resources.core_v1 import Pod

    from wizard import redact

    said = []
    try:
        client = kube.async_client()
        async for p in client.list(Pod, namespace=EXTERNAL_DNS_NS):
            d = p.to_dict()
            text = pod_state(d)
            try:
                lines = [ln async for ln in client.log(d["metadata"]["name"], namespace=EXTERNAL_DNS_NS, tail_lines=50)]
            except Exception:  # no logs through the API (a node without a kubelet log endpoint): the state alone
                lines = []
            err = last_error(lines)
            said.append(text + (f"; last error: {err}" if err else ""))
    except Exception:  # the diagnosis is a bonus: never hide the check behind it
        return ""
    if not said:
        return f"no pod in the namespace {EXTERNAL_DNS_NS}"
    return redact.scrub("; ".join(said[:3]))


async def read(kube: KubeConnector, namespace: str, certificate: str) -> ClusterView:
    """What the proof needs from the cluster; ``error`` says why it could not be read."""
    from lightkube import ApiError
    from lightkube.resources.core_v1 import Node, Secret

    from wizard.flux.kinds import resource

    view = ClusterView()
    try:
        if kube.resolve() is None:
            view.error = "no kubeconfig was found ($KUBECONFIG, ~/.kube/config)"
            return view
        client = kube.async_client()
        async for n in client.list(Node):
            d = n.to_dict()
            view.nodes[(d.get("metadata") or {}).get("name", "?")] = node_addresses(d)
        try:
            view.certificate = (await client.get(resource("Certificate"), certificate, namespace=namespace)).to_dict()
        except ApiError as exc:
            if exc.status.code != 404:
                raise
        if view.certificate is not None:
            secret = ((view.certificate.get("spec") or {}).get("secretName")) or certificate
            try:
                s = (await client.get(Secret, secret, namespace=namespace)).to_dict()
                raw = (s.get("data") or {}).get("tls.crt")
                view.tls_crt = base64.b64decode(raw).decode("ascii", "replace") if raw else None
            except ApiError as exc:
                if exc.status.code != 404:
                    raise
        for kind in ("CertificateRequest", "Order", "Challenge"):
            try:
                async for o in client.list(resource(kind), namespace=namespace):
                    d = o.to_dict()
                    st = d.get("status") or {}
                    reason = str(st.get("reason") or "")
                    for c in st.get("conditions") or []:
                        if c.get("status") == "False" and c.get("message"):
                            reason = reason or str(c["message"])
                    view.acme.append(
                        (f"{kind}/{(d.get('metadata') or {}).get('name')}", str(st.get("state") or ""), reason)
                    )
            except ApiError as exc:
                if exc.status.code not in (403, 404):
                    raise
    except UserError as exc:
        view.error = exc.message
    except Exception as exc:  # the API server did not answer: said, the outside checks still run
        if (
            type(exc).__name__ in ("ApiError", "ConfigError")
            or isinstance(exc, OSError)
            or "httpx" in type(exc).__module__
        ):
            view.error = kube.explain(exc).message
        else:
            raise
    return view
