"""What the cluster already runs, found by what it is: charts, edge stacks, issuers (read-only).

A component is recognised by its chart (the HelmRelease's ``chart.spec.chart`` with its
HelmRepository's URL, or its ``chartRef``'s OCIRepository URL), whatever the release, its namespace,
its file or its Flux Kustomization are called: ``network/cloudflare-dns`` is external-dns. Only what
a Flux Kustomization of this cluster applies counts (``wizard.fluxrepo``): an ``.archive/`` folder or
another cluster's folder is not looked at.

Edge stacks: what already serves the nodes' 80/443 (or a LoadBalancer), with the IngressClass or
GatewayClass its routes use. With one in place nothing else goes on 80/443.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.fluxrepo import Obj
    from wizard.repo import Layout

ACME_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
ACME_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"


def _m(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Release:
    """A HelmRelease of the cluster with the chart it installs."""

    obj: Obj
    chart: str  # the chart's name (last segment of an OCI URL)
    url: str  # the chart's repository or OCI URL ('' when its source is not found)

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def namespace(self) -> str:
        return self.obj.namespace or ""

    @property
    def path(self) -> str:
        return self.obj.path

    @property
    def values(self) -> dict[str, Any]:
        return _m(self.obj.doc.spec.get("values"))

    def describe(self) -> str:
        return f"HelmRelease {self.namespace}/{self.name} (chart {self.chart}) in {self.path}"


def _sources(layout: Layout) -> dict[tuple[str, str, str], str]:
    """(kind, namespace, name) -> URL of every HelmRepository and OCIRepository the cluster applies."""
    model = layout.model
    if model is None:
        return {}
    out: dict[tuple[str, str, str], str] = {}
    for o in model.objects(layout.index, {"HelmRepository", "OCIRepository"}):
        url = str(o.doc.spec.get("url") or "")
        out[(o.kind, o.namespace or "", o.name)] = url
    return out


def _chart(o: Obj, sources: dict[tuple[str, str, str], str]) -> tuple[str, str]:
    spec = o.doc.spec
    ns = o.namespace or ""
    ref = _m(spec.get("chartRef"))
    if ref:
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        url = sources.get((kind, str(ref.get("namespace") or ns), name), "")
        return (url.rstrip("/").rsplit("/", 1)[-1] if url else name), url
    chart = _m(_m(spec.get("chart")).get("spec"))
    src = _m(chart.get("sourceRef"))
    url = sources.get((str(src.get("kind") or ""), str(src.get("namespace") or ns), str(src.get("name") or "")), "")
    name = str(chart.get("chart") or "")
    if url.startswith("oci://") and not name:
        name = url.rstrip("/").rsplit("/", 1)[-1]
    return name, url


def releases(layout: Layout, charts: tuple[str, ...] | None = None) -> list[Release]:
    """The cluster's HelmReleases (of ``charts``, when given), each with its chart."""
    model = layout.model
    if model is None:
        return []
    every = layout.memo.get("releases")
    if every is None:  # found once per layout: every step asks for some chart
        sources = _sources(layout)
        every = layout.memo["releases"] = [
            Release(o, *_chart(o, sources)) for o in model.objects(layout.index, {"HelmRelease"})
        ]
    return [r for r in every if charts is None or r.chart in charts]


# -- edge stacks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stack:
    """An edge implementation edge-wizard recognises."""

    key: str
    title: str
    charts: tuple[str, ...]
    ingress_class: str | None  # the IngressClass its Ingresses use (None: it serves no Ingress)
    gateway_controller: str | None  # its GatewayClass controllerName (None: no Gateway API)
    managed: str | None = None  # the wizard.controllers name when edge-wizard writes it itself

    @property
    def gateway_only(self) -> bool:
        return self.ingress_class is None and self.gateway_controller is not None


STACKS: tuple[Stack, ...] = (
    Stack("traefik", "Traefik", ("traefik",), "traefik", "traefik.io/gateway-controller", managed="traefik"),
    Stack("ingress-nginx", "ingress-nginx", ("ingress-nginx",), "nginx", None, managed="ingress-nginx"),
    Stack("nginx-ingress", "F5 NGINX Ingress Controller", ("nginx-ingress",), "nginx", None),
    Stack("envoy-gateway", "Envoy Gateway", ("gateway-helm",), None, "gateway.envoyproxy.io/gatewayclass-controller"),
    Stack("haproxy", "HAProxy Ingress", ("kubernetes-ingress", "haproxy-ingress"), "haproxy", None),
    Stack("contour", "Contour", ("contour",), "contour", "projectcontour.io/gateway-controller"),
    Stack("istio", "Istio", ("gateway", "istiod"), "istio", "istio.io/gateway-controller"),
    Stack("cilium", "Cilium", ("cilium",), "cilium", "io.cilium/gateway-controller"),
)


@dataclass(frozen=True)
class Found:
    """An edge stack the cluster runs: how it was recognised, and the class its routes use."""

    stack: Stack
    release: Release | None
    ingress_class: str | None
    gateway_classes: tuple[str, ...] = ()

    @property
    def serves_ingress(self) -> bool:
        return self.ingress_class is not None

    def describe(self) -> str:
        where = self.release.describe() if self.release is not None else "its GatewayClass"
        return f"{self.stack.title} ({where})"


def _ingress_class(stack: Stack, values: dict[str, Any]) -> str | None:
    """The IngressClass a stack's values give its Ingresses (None: it serves no Ingress with these values)."""
    if stack.key == "cilium":
        ing = _m(values.get("ingressController"))
        return str(ing.get("ingressClassName") or "cilium") if ing.get("enabled") else None
    if stack.key == "ingress-nginx":
        res = _m(_m(values.get("controller")).get("ingressClassResource"))
        return str(res.get("name") or "nginx")
    if stack.key == "nginx-ingress":
        cls = _m(values.get("controller")).get("ingressClass")
        return str(_m(cls).get("name") or "nginx") if isinstance(cls, dict) else str(cls or "nginx")
    if stack.key == "traefik":
        ic = _m(values.get("ingressClass"))
        if ic.get("enabled") is False:
            return None
        return str(ic.get("name") or "traefik")
    return stack.ingress_class


def _gateway_enabled(stack: Stack, values: dict[str, Any]) -> bool:
    if stack.key == "cilium":
        return bool(_m(values.get("gatewayAPI")).get("enabled"))
    if stack.key == "traefik":
        return bool(_m(_m(values.get("providers")).get("kubernetesGateway")).get("enabled"))
    return stack.gateway_controller is not None


def gateway_classes(layout: Layout) -> dict[str, str]:
    """GatewayClass name -> controllerName, of the GatewayClasses the cluster applies."""
    model = layout.model
    if model is None:
        return {}
    return {o.name: str(o.doc.spec.get("controllerName") or "") for o in model.objects(layout.index, {"GatewayClass"})}


def edge_stacks(layout: Layout) -> list[Found]:
    """Every edge stack the cluster runs, by its chart (and for Cilium by its values)."""
    classes = gateway_classes(layout)
    by_chart: dict[str, list[Stack]] = {}
    for s in STACKS:
        for c in s.charts:
            by_chart.setdefault(c, []).append(s)
    out: list[Found] = []
    for rel in releases(layout, tuple(by_chart)):
        for stack in by_chart[rel.chart]:
            if stack.key == "istio" and rel.chart == "istiod":
                continue  # istiod is the control plane; the gateway chart is the edge
            ing = _ingress_class(stack, rel.values)
            gw = _gateway_enabled(stack, rel.values)
            if ing is None and not gw:
                continue  # e.g. Cilium without its ingress controller or Gateway API
            mine = tuple(n for n, c in classes.items() if gw and c == stack.gateway_controller)
            out.append(Found(stack, rel, ing, mine))
    return out


def serving(layout: Layout) -> Found | None:
    """The edge stack that serves the cluster's Ingresses, else the first Gateway-only one, else None."""
    stacks = edge_stacks(layout)
    return next((f for f in stacks if f.serves_ingress), None) or (stacks[0] if stacks else None)


# -- issuers -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issuer:
    obj: Obj
    server: str  # as this cluster applies it (after its Flux Kustomization's patches)

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def path(self) -> str:
        return self.obj.path

    def role(self, servers: dict[str, str] | None = None) -> str | None:
        """The role (``letsencrypt-staging`` / ``letsencrypt-production``: the catalog's ``acme`` keys) whose
        ACME server this issuer uses, None for another CA."""
        table = servers or {"letsencrypt-staging": ACME_STAGING, "letsencrypt-production": ACME_PRODUCTION}
        s = self.server.rstrip("/")
        return next((role for role, url in table.items() if str(url).rstrip("/") == s), None)


def _patched_server(o: Obj) -> str:
    """spec.acme.server after the JSON 6902 patches the applying Flux Kustomization makes to this issuer."""
    server = str(_m(_m(o.doc.spec).get("acme")).get("server") or "")
    ks_doc = o.applier.ks.doc
    patches = _m(ks_doc.spec if ks_doc is not None else {}).get("patches") or []
    for p in patches if isinstance(patches, list) else []:
        target = _m(_m(p).get("target"))
        if target.get("kind") not in (None, o.kind) or target.get("name") not in (None, o.name):
            continue
        for op in _json6902(_m(p).get("patch")):
            if op.get("path") == "/spec/acme/server" and op.get("op") in ("replace", "add"):
                server = str(op.get("value") or server)
    return server


def _json6902(text: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(text, str):
        return
    from wizard import yamlio

    try:
        loaded = yamlio.load_fast(text)
    except Exception:  # a patch that is not YAML: not ours to judge here
        return
    ops = loaded[0] if loaded else None
    if isinstance(ops, list):
        yield from (op for op in ops if isinstance(op, dict))


def issuers(layout: Layout) -> list[Issuer]:
    """The ClusterIssuers the cluster applies, with their effective ACME server."""
    model = layout.model
    if model is None:
        return []
    return [Issuer(o, _patched_server(o)) for o in model.objects(layout.index, {"ClusterIssuer"})]


__all__ = [
    "ACME_PRODUCTION",
    "ACME_STAGING",
    "STACKS",
    "Found",
    "Issuer",
    "Release",
    "Stack",
    "edge_stacks",
    "gateway_classes",
    "issuers",
    "releases",
    "serving",
]
