"""The ingress controllers edge-wizard can write, in one place.

Every step and check that depends on the controller (the ingress step, the ClusterIssuers' HTTP-01
class, the smoke test's Ingress class, the firewall rule, doctor, the plan's notes) reads it from
here: :func:`resolve` says which controller a run uses, :class:`Controller` what follows from it.

Which one: the ``ingress_controller`` answer when given; else the one the repository already has
(an ingress-nginx repository keeps it until the user chooses to switch); else Traefik.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.repo import Layout


@dataclass(frozen=True)
class Controller:
    name: str  # the answers value
    title: str
    help: str  # one line, shown next to the choice in both interactive front ends
    chart: str  # key in assets/catalog.yaml charts
    asset: str  # the HelmRepository + HelmRelease asset
    folder: str  # component folder (and namespace, HelmRelease, Flux Kustomization name)
    flux_stem: str  # the Flux Kustomization's file in the Flux folder (<stem>.yaml)
    ingress_class: str
    webhook_port: str | None  # an admission webhook in the host network, reached from the cluster
    summary: str
    warning: str | None = None  # catalog warnings key shown in every plan that writes it

    @property
    def namespace(self) -> str:
        return self.folder

    @property
    def release(self) -> str:
        return self.folder

    @property
    def kustomization(self) -> str:
        return self.folder

    host_ports: tuple[str, ...] = ("80", "443")


TRAEFIK = Controller(
    name="traefik",
    title="Traefik",
    help="Traefik 3.7 (maintained): a DaemonSet on each node's ports 80/443, IngressClass traefik.",
    chart="traefik",
    asset="manifests/ingress/traefik.yaml",
    folder="traefik",
    flux_stem="traefik",
    ingress_class="traefik",
    webhook_port=None,
    summary="Traefik DaemonSet with hostNetwork on ports 80/443, privileged namespace",
)
INGRESS_NGINX = Controller(
    name="ingress-nginx",
    title="ingress-nginx",
    help="ingress-nginx as in the guide, IngressClass nginx: retired upstream in March 2026 (no more fixes).",
    chart="ingress-nginx",
    asset="manifests/ingress/ingress-nginx.yaml",
    folder="ingress-nginx",
    flux_stem="ingress",
    ingress_class="nginx",
    webhook_port="8443",
    summary="ingress-nginx DaemonSet with hostNetwork on ports 80/443, privileged namespace",
    warning="ingress-nginx",
)
CONTROLLERS: tuple[Controller, ...] = (TRAEFIK, INGRESS_NGINX)
NAMES: tuple[str, ...] = tuple(c.name for c in CONTROLLERS)
DEFAULT = TRAEFIK

# The nginx annotations Traefik's kubernetesIngressNGINX provider reads (traefik v3.7,
# pkg/provider/kubernetes/ingress-nginx/annotations.go). An Ingress with any other
# nginx.ingress.kubernetes.io/ annotation loses that behaviour when Traefik serves it.
NGINX_PREFIX = "nginx.ingress.kubernetes.io/"
NGINX_SUPPORTED = frozenset(
    NGINX_PREFIX + a
    for a in (
        "auth-type auth-secret auth-realm auth-secret-type auth-url auth-signin auth-response-headers "
        "auth-tls-secret auth-tls-verify-client auth-tls-pass-certificate-to-upstream "
        "force-ssl-redirect ssl-redirect ssl-passthrough use-regex rewrite-target app-root "
        "permanent-redirect permanent-redirect-code temporal-redirect temporal-redirect-code from-to-www-redirect "
        "affinity session-cookie-name session-cookie-secure session-cookie-path session-cookie-domain "
        "session-cookie-samesite session-cookie-max-age session-cookie-expires service-upstream backend-protocol "
        "proxy-ssl-secret proxy-ssl-verify proxy-ssl-name proxy-ssl-server-name proxy-connect-timeout "
        "enable-cors cors-allow-credentials cors-expose-headers cors-allow-headers cors-allow-methods "
        "cors-allow-origin cors-max-age whitelist-source-range allowlist-source-range custom-headers upstream-vhost "
        "proxy-request-buffering client-body-buffer-size proxy-body-size proxy-buffering proxy-buffer-size "
        "proxy-buffers-number proxy-max-temp-file-size"
    ).split()
)


def get(name: str) -> Controller:
    return next(c for c in CONTROLLERS if c.name == name)


def releases(layout: Layout, chart: str) -> list[Any]:
    """HelmReleases this cluster applies that install ``chart`` (wizard.stacks: by chart, wherever declared)."""
    from wizard import stacks

    if layout.model is None:  # a layout built by hand (tests): every file of the repository
        out = []
        for d in layout.index.find({"HelmRelease"}, containing=chart):
            spec = (d.spec.get("chart") or {}).get("spec") or {}
            if isinstance(spec, dict) and str(spec.get("chart") or "") == chart:
                out.append(d)
        return out
    return [r.obj.doc for r in stacks.releases(layout, (chart,))]


def installed(layout: Layout) -> Controller | None:
    """The controller the repository already has (its HelmRelease or the wizard's Kustomization)."""
    for c in (INGRESS_NGINX, TRAEFIK):
        if c.kustomization in layout.kustomizations or releases(layout, c.chart):
            return c
    return None


def foreign(layout: Layout) -> Any | None:
    """An edge stack edge-wizard does not write (F5 NGINX, HAProxy, Contour, Istio, Cilium, Envoy Gateway)
    that serves this cluster's 80/443 (wizard.stacks.Found), or None."""
    from wizard import stacks

    if layout.model is None:
        return None
    found = [f for f in stacks.edge_stacks(layout) if f.stack.managed is None]
    return next((f for f in found if f.serves_ingress), None) or (found[0] if found else None)


def ingress_class(layout: Layout, answers: Answers) -> str:
    """The IngressClass the issuers' HTTP-01 solver and the smoke test use: the class of the stack that
    serves the cluster's Ingresses (one edge-wizard does not write), else the chosen controller's."""
    other = foreign(layout)
    if other is not None and other.ingress_class and installed(layout) is None:
        return str(other.ingress_class)
    return resolve(layout, answers).ingress_class


def resolve(layout: Layout, answers: Answers) -> Controller:
    if answers.ingress_controller:
        return get(answers.ingress_controller)
    return installed(layout) or DEFAULT


def switching_from(layout: Layout, answers: Answers) -> Controller | None:
    """The controller a run replaces: ingress-nginx in the repository while Traefik is chosen."""
    chosen = resolve(layout, answers)
    if chosen is TRAEFIK and (
        INGRESS_NGINX.kustomization in layout.kustomizations or releases(layout, INGRESS_NGINX.chart)
    ):
        return INGRESS_NGINX
    return None


def nginx_ingresses(layout: Layout) -> list[Any]:
    """Ingresses in the repository that ingress-nginx serves today (class ``nginx``, by field or
    by the old annotation)."""
    out = []
    found = (
        [o.doc for o in layout.model.objects(layout.index, {"Ingress"})]
        if layout.model is not None
        else layout.index.find({"Ingress"})
    )
    for d in found:
        ann = d.metadata.get("annotations") or {}
        cls = d.spec.get("ingressClassName") or (
            ann.get("kubernetes.io/ingress.class") if isinstance(ann, dict) else None
        )
        if cls == INGRESS_NGINX.ingress_class:
            out.append(d)
    return out


def unsupported_annotations(annotations: Iterable[str]) -> list[str]:
    return sorted(a for a in annotations if a.startswith(NGINX_PREFIX) and a not in NGINX_SUPPORTED)


def unsupported_in_repo(layout: Layout) -> list[tuple[str, str, list[str]]]:
    """(file, namespace/name, annotations) of every nginx-class Ingress whose nginx annotations
    Traefik's kubernetesIngressNGINX provider does not support."""
    out = []
    for d in nginx_ingresses(layout):
        ann = d.metadata.get("annotations") or {}
        bad = unsupported_annotations(ann if isinstance(ann, dict) else {})
        if bad:
            out.append((d.path, f"{d.namespace or 'default'}/{d.name}", bad))
    return out


__all__ = [
    "CONTROLLERS",
    "DEFAULT",
    "INGRESS_NGINX",
    "NAMES",
    "TRAEFIK",
    "Controller",
    "foreign",
    "get",
    "ingress_class",
    "installed",
    "nginx_ingresses",
    "resolve",
    "switching_from",
    "unsupported_in_repo",
]
