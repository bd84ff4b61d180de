"""The one table of Kubernetes kinds: API coordinates and scope, and for the kinds the watch follows,
the verdict that reads an object's status. The watch (which streams, which targets, which
verdict), doctor (which custom kinds it reads) and the proof read this table and nothing else.

A new followed kind is one entry here and its verdict function (``wizard.flux.status`` or a module
beside it, such as ``wizard.flux.gateway``): with ``repo=True`` the objects of that kind declared in
a followed Kustomization's folder become targets; the watch lists and watches the kind, and waits
(named) while its CRDs are not installed. lightkube is imported only by :func:`resource`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from wizard.flux import gateway as gw
from wizard.flux import status as st

VerdictFn = Callable[[dict[str, Any] | None, st.Context], st.Verdict]


@dataclass(frozen=True)
class Kind:
    """One Kubernetes kind.

    - ``verdict``: the kind is followed; its targets' state is ``verdict(object or None, context)``.
    - ``repo``: objects of the kind that a followed Kustomization applies (documents in its folder,
      apiVersion in ``group``) are followed too.
    - ``companions``: kinds watched alongside it (in its targets' namespaces) that its verdict reads
      through ``context.related`` (a Certificate's ACME Orders and Challenges).
    - ``installed_by``: who installs the kind's CRDs; while the cluster does not serve the kind the
      watch says it waits for them. Empty: the kind is a precondition (Flux's, checked by the
      preflight), and a missing kind reads as a missing object.
    - ``stale_while_gated``: a failure seen before the target's gates are ready is from before this
      revision reached it (history, shown as waiting), not a failure of this run.
    - ``doctor``: doctor reads the kind, at whichever version the cluster serves.
    """

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    verdict: VerdictFn | None = None
    repo: bool = False
    companions: tuple[str, ...] = ()
    installed_by: str = ""
    stale_while_gated: bool = False
    doctor: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None) -> str:
        """The collection's URL path: in ``namespace``, or across all of them (None)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def declares(self, api_version: str) -> bool:
        """Is a repository document of this kind with ``api_version`` an object of this table entry?"""
        return api_version.startswith(f"{self.group}/") if self.group else "/" not in api_version

    def unserved(self) -> st.Verdict:
        return st.Verdict(st.WAITING, f"{self.installed_by}'s CRDs are not installed yet")


FLUX_SOURCE, FLUX_KUSTOMIZE, FLUX_HELM = (
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
)
CERT_MANAGER, ACME, GATEWAY_API = "cert-manager.io", "acme.cert-manager.io", "gateway.networking.k8s.io"


def _table(*kinds: Kind) -> dict[str, Kind]:
    return {k.kind: k for k in kinds}


KINDS: dict[str, Kind] = _table(
    # Flux (the watch requests reconciles of the first two; revisions are checked in their verdicts)
    Kind("GitRepository", FLUX_SOURCE, "v1", "gitrepositories", verdict=st.git_repository_verdict),
    Kind("Kustomization", FLUX_KUSTOMIZE, "v1", "kustomizations", verdict=st.flux_object_verdict, doctor=True),
    Kind("HelmRepository", FLUX_SOURCE, "v1", "helmrepositories", verdict=st.flux_object_verdict, repo=True,
         stale_while_gated=True),
    Kind("HelmRelease", FLUX_HELM, "v2", "helmreleases", verdict=st.flux_object_verdict, repo=True,
         stale_while_gated=True, doctor=True),
    # cert-manager
    Kind("ClusterIssuer", CERT_MANAGER, "v1", "clusterissuers", namespaced=False, verdict=st.cluster_issuer_verdict,
         repo=True, installed_by="cert-manager", doctor=True),
    Kind("Certificate", CERT_MANAGER, "v1", "certificates", verdict=st.certificate_verdict,
         companions=("Order", "Challenge"), installed_by="cert-manager", doctor=True),
    Kind("CertificateRequest", CERT_MANAGER, "v1", "certificaterequests", doctor=True),
    Kind("Order", ACME, "v1", "orders", doctor=True),
    Kind("Challenge", ACME, "v1", "challenges", doctor=True),
    # what a HelmRelease runs (the watch's workloads of a release, wizard.flux.assess)
    Kind("Deployment", "apps", "v1", "deployments"),
    Kind("DaemonSet", "apps", "v1", "daemonsets"),
    Kind("Event", "", "v1", "events"),
    # Gateway API (standard channel)
    Kind("GatewayClass", GATEWAY_API, "v1", "gatewayclasses", namespaced=False, verdict=gw.gateway_class_verdict,
         repo=True, installed_by="the Gateway API", stale_while_gated=True),
    Kind("Gateway", GATEWAY_API, "v1", "gateways", verdict=gw.gateway_verdict, repo=True,
         installed_by="the Gateway API", stale_while_gated=True),
    Kind("HTTPRoute", GATEWAY_API, "v1", "httproutes", verdict=gw.http_route_verdict, repo=True,
         installed_by="the Gateway API", stale_while_gated=True),
)  # fmt: skip


def followed(kinds: Iterable[Kind] | None = None) -> list[Kind]:
    return [k for k in (KINDS.values() if kinds is None else kinds) if k.verdict is not None]


def from_repo(kinds: dict[str, Kind] | None = None) -> dict[str, Kind]:
    """The followed kinds whose objects declared in a followed folder become targets."""
    return {k.kind: k for k in followed((KINDS if kinds is None else kinds).values()) if k.repo}


def doctor_kinds() -> list[Kind]:
    return [k for k in KINDS.values() if k.doctor]


@functools.cache
def resource(kind: str) -> Any:
    """The lightkube generic resource class of ``kind`` (created once: lightkube's registry refuses a
    second class for a core-group kind)."""
    from lightkube.generic_resource import create_global_resource, create_namespaced_resource

    k = KINDS[kind]
    make = create_namespaced_resource if k.namespaced else create_global_resource
    return make(k.group, k.version, k.kind, k.plural)
