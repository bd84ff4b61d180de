"""Cluster checks: read-only look at a live cluster (lightkube AsyncClient, list/get only).

The cluster is read once into a :class:`Snapshot`; the checks are plain functions over it. Kinds
whose CRD is not installed (cert-manager before its chart, Flux before bootstrap) are skipped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard import controllers
from wizard.doctor import ClusterUnreachable, Finding, check
from wizard.flux.kinds import doctor_kinds
from wizard.retry import Backoff

if TYPE_CHECKING:
    from wizard.kube import KubeConnector

FLUX_CONTROLLERS = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
)
BAD_ACME_STATES = ("invalid", "errored", "expired")
# the custom kinds read (``doctor=True`` in wizard.flux.kinds, the table the watch reads too), by
# plural: (group, kind, plural, namespaced); the version read is whichever the cluster serves
# (storage first)
CUSTOM = {k.plural: (k.group, k.kind, k.plural, k.namespaced) for k in doctor_kinds()}


@dataclass
class Snapshot:
    served: dict[tuple[str, str], list[str]]  # (group, kind) -> served versions, storage version first
    objects: dict[str, list[dict[str, Any]]]  # CUSTOM keys + events, deployments, daemonsets, replicasets
    namespaces: dict[str, dict[str, Any]]
    secrets: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)  # keys only; None = missing
    layout: Any = None

    def items(self, key: str) -> list[dict[str, Any]]:
        return self.objects.get(key) or []

    def workload(self, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        key = {"DaemonSet": "daemonsets", "ReplicaSet": "replicasets", "Deployment": "deployments"}.get(kind)
        return next(
            (o for o in self.items(key or "") if _meta(o).get("namespace") == ns and _meta(o).get("name") == name), None
        )


def _meta(o: dict[str, Any]) -> dict[str, Any]:
    return o.get("metadata") or {}


def _ref(kind: str, o: dict[str, Any]) -> str:
    m = _meta(o)
    return f"{kind}/{m['namespace']}/{m.get('name')}" if m.get("namespace") else f"{kind}/{m.get('name')}"


def cond(o: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in (o.get("status") or {}).get("conditions") or [] if c.get("type") == type_), None)


def _false(o: dict[str, Any], type_: str = "Ready") -> dict[str, Any] | None:
    c = cond(o, type_)
    return c if c and c.get("status") == "False" else None


# -- reading the cluster ----------------------------------------------------------------------
async def take_snapshot(kube: KubeConnector, *, layout: Any = None) -> Snapshot:
    """Read what the cluster checks need through the run's one connector (read-only)."""
    import httpx2
    from lightkube import ApiError

    from wizard.errors import UserError

    try:
        cluster = kube.resolve()
        if cluster is None:
            raise ClusterUnreachable("no kubeconfig was found ($KUBECONFIG, ~/.kube/config)")
        client = kube.async_client()
    except UserError as exc:
        raise ClusterUnreachable(exc.message) from None
    server = cluster.server

    async def listing(res: Any, **kw: Any) -> list[dict[str, Any]]:
        # A CRD created moments ago answers 429/503 ("storage is (re)initializing") for a while.
        backoff = Backoff(first=0.2, cap=6.4, attempts=5)
        while True:
            try:
                return [o.to_dict() for o in [x async for x in client.list(res, **kw)]]
            except ApiError as exc:
                if exc.status.code in (403, 404):
                    return []
                if exc.status.code == 401:
                    raise ClusterUnreachable(
                        f"the API server {server} rejected the credentials ({exc.status.message})"
                    ) from None
                if exc.status.code not in (429, 500, 503) or backoff.exhausted:
                    raise
            except httpx2.HTTPStatusError as exc:
                if exc.response.status_code != 429 or backoff.exhausted:
                    raise
            await backoff.wait()

    try:
        return await _read(client, listing, layout)
    except (httpx2.TransportError, OSError) as exc:
        raise ClusterUnreachable(f"the API server {server} did not answer ({type(exc).__name__}: {exc})") from None
    except Exception as exc:
        if type(exc).__name__ == "ConfigError":  # a failing exec credential plugin, said in one sentence
            raise ClusterUnreachable(kube.explain(exc).message) from None
        raise


async def _read(client: Any, listing: Any, layout: Any) -> Snapshot:
    from lightkube import ALL_NS, ApiError
    from lightkube.generic_resource import create_global_resource, create_namespaced_resource
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
    from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet
    from lightkube.resources.core_v1 import Event, Namespace, Secret

    crds = await listing(CustomResourceDefinition)
    served: dict[tuple[str, str], list[str]] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        vers = sorted((v for v in spec.get("versions") or [] if v.get("served")), key=lambda v: not v.get("storage"))
        served[(spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))] = [v["name"] for v in vers]

    async def custom(key: str) -> list[dict[str, Any]]:
        group, kind, plural, namespaced = CUSTOM[key]
        versions = served.get((group, kind))
        if not versions:
            return []
        make = create_namespaced_resource if namespaced else create_global_resource
        res = make(group, versions[0], kind, plural)
        got: list[dict[str, Any]] = await listing(res, namespace=ALL_NS) if namespaced else await listing(res)
        return got

    keys = list(CUSTOM)
    results = await asyncio.gather(
        *(custom(k) for k in keys),
        listing(Event, namespace=ALL_NS, fields={"reason": "FailedCreate"}),
        listing(Deployment, namespace=ALL_NS),
        listing(DaemonSet, namespace=ALL_NS),
        listing(ReplicaSet, namespace=ALL_NS),
        listing(Namespace),
    )
    objects = dict(zip(keys + ["events", "deployments", "daemonsets", "replicasets"], results[:-1]))
    namespaces = {_meta(n).get("name", ""): n for n in results[-1]}
    snap = Snapshot(served=served, objects=objects, namespaces=namespaces, layout=layout)
    for ns, name in sorted({r for d in _external_dns(snap) for r in _secret_refs(d)}):
        try:
            s = (await client.get(Secret, name, namespace=ns)).to_dict()
            snap.secrets[(ns, name)] = set(s.get("data") or {}) | set(s.get("stringData") or {})
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            snap.secrets[(ns, name)] = None
    return snap


# -- PodSecurity ----------------------------------------------------------------------------------
def _ready_workload(kind: str, o: dict[str, Any]) -> bool:
    st, spec = o.get("status") or {}, o.get("spec") or {}
    if kind == "DaemonSet":
        desired = int(st.get("desiredNumberScheduled") or 0)
        return desired > 0 and int(st.get("numberReady") or 0) >= desired
    want = int(spec.get("replicas", 1))
    return int(st.get("readyReplicas") or 0) >= want


@check("pod-security-rejected", scope="cluster")
def pod_security_rejected(snap: Snapshot) -> Iterable[Finding]:
    """DaemonSet/Deployment whose pods PodSecurity admission rejects (FailedCreate events)."""
    done: set[str] = set()
    for ev in snap.items("events"):
        msg = str(ev.get("message") or "")
        if "violates PodSecurity" not in msg:
            continue
        inv = ev.get("involvedObject") or {}
        kind, ns, name = inv.get("kind", ""), inv.get("namespace", ""), inv.get("name", "")
        obj = snap.workload(kind, ns, name)
        if obj is None or _ready_workload(kind, obj):
            continue  # gone or fixed since: the event is stale
        owner = next((r for r in _meta(obj).get("ownerReferences") or [] if r.get("kind") == "Deployment"), None)
        ref = f"Deployment/{ns}/{owner['name']}" if owner else f"{kind}/{ns}/{name}"
        if ref in done:
            continue
        done.add(ref)
        labels = _meta(snap.namespaces.get(ns, {})).get("labels") or {}
        level = labels.get("pod-security.kubernetes.io/enforce")
        where = (
            f"Namespace {ns} enforces PodSecurity level {level}"
            if level
            else f"Namespace {ns} has no pod-security.kubernetes.io/enforce label, so the cluster's default level "
            "applies (Talos: baseline); it"
        )
        yield Finding(
            "pod-security-rejected",
            "error",
            object=ref,
            seen=f"{ref} has no pods: FailedCreate {msg}",
            why=f"{where}, which forbids hostNetwork and hostPorts; the "
            "controller keeps retrying and the workload never starts (Talos enforces baseline by default).",
            fix=f"Label only this namespace privileged: set `pod-security.kubernetes.io/enforce: privileged` and "
            f"`pod-security.kubernetes.io/enforce-version: latest` in its Namespace manifest (kubectl label "
            f"namespace {ns} pod-security.kubernetes.io/enforce=privileged to test), not cluster-wide.",
            step="ingress" if ns in {c.namespace for c in controllers.CONTROLLERS} else None,
        )


# -- Flux -------------------------------------------------------------------------------------------
def _kustomization_steps() -> dict[str, str]:
    from wizard.doctor.repo_checks import _step_of_kustomization

    return _step_of_kustomization()


NO_MATCH = re.compile(r'no matches for kind "?(?P<kind>[\w.]+)"?(?: in version "?(?P<ver>[\w./-]+)"?)?')


@check("kustomization-failed", scope="cluster")
def kustomization_failed(snap: Snapshot) -> Iterable[Finding]:
    """Flux Kustomizations not Ready: missing decryption, CRD ordering, or another apply error."""
    steps = _kustomization_steps()
    secret = getattr(snap.layout, "sops_secret", None) or "sops-age"
    for k in snap.items("kustomizations"):
        c = _false(k)
        if not c:
            continue
        msg = str(c.get("message") or "")
        name, ref = _meta(k).get("name", ""), _ref("Kustomization", k)
        seen = f"{ref} is not Ready ({c.get('reason')}): {msg}"
        m = NO_MATCH.search(msg)
        if "illegal base64 data" in msg or re.search(r"is SOPS encrypt\w*, configuring decryption", msg):
            yield Finding(
                "kustomization-decryption-missing",
                "error",
                object=ref,
                seen=seen,
                why="The Kustomization applies a sops-encrypted Secret but has no spec.decryption, so Flux would "
                "apply the ENC[...] text itself; it refuses, and nothing in this Kustomization is applied.",
                fix=f"Add `decryption: {{provider: sops, secretRef: {{name: {secret}}}}}` to Kustomization {name!r} "
                f"in the repository, and make sure Secret flux-system/{secret} holds the age key (key name "
                "ending in .agekey).",
                step=steps.get(name),
            )
        elif m:
            kind = m.group("kind")
            yield Finding(
                "kustomization-crd-missing",
                "error",
                object=ref,
                seen=seen,
                why=f"The cluster has no CRD for {kind} yet: the Kustomization was applied before the chart that "
                "installs it was Ready (CRD ordering). Flux health checks run after the apply, so a health "
                "check alone does not order it.",
                fix=f"Put `dependsOn: [{{name: <the Kustomization installing {kind}'s CRDs>}}]` into Kustomization "
                f"{name!r} and give that Kustomization a healthCheck (or wait: true) on its HelmRelease, e.g. "
                "cert-manager for ClusterIssuer.",
                step="cluster-issuers" if kind in ("ClusterIssuer", "Issuer") else steps.get(name),
            )
        elif re.search(r"decryption.*not found|secrets? \"?[\w-]+\"? not found", msg) and "sops" in msg.lower():
            yield Finding(
                "sops-key-missing",
                "error",
                object=ref,
                seen=seen,
                why="Flux cannot decrypt the Kustomization's secrets without the sops key Secret.",
                fix=f"Create it: `kubectl -n flux-system create secret generic {secret} "
                "--from-file=age.agekey=<your age key file>`.",
            )
        else:
            yield Finding(
                "kustomization-not-ready",
                "warning",
                object=ref,
                seen=seen,
                why="Flux stops applying this Kustomization (and those that depend on it) until the error is fixed.",
                fix=f"Fix what the message names in the repository, then `flux reconcile kustomization {name} "
                "--with-source`.",
            )


def _retries(spec: dict[str, Any], phase: str) -> int:
    r = ((spec.get(phase) or {}).get("remediation") or {}).get("retries")
    return int(r) if isinstance(r, int) else 0


@check("helmrelease-stalled", scope="cluster")
def helmrelease_stalled(snap: Snapshot) -> Iterable[Finding]:
    """HelmReleases stalled or with remediation retries exhausted (or otherwise not Ready)."""
    for hr in snap.items("helmreleases"):
        spec, st = hr.get("spec") or {}, hr.get("status") or {}
        ready = _false(hr)
        stalled = cond(hr, "Stalled")
        name, ns, ref = _meta(hr).get("name"), _meta(hr).get("namespace"), _ref("HelmRelease", hr)
        inst, upg = st.get("installFailures") or 0, st.get("upgradeFailures") or 0
        exhausted = []
        if (
            inst
            and _retries(spec, "install") >= 0
            and inst > _retries(spec, "install")
            and ((spec.get("install") or {}).get("strategy") or {}).get("name") != "RetryOnFailure"
        ):
            exhausted.append(f"installFailures {inst} > install.remediation.retries {_retries(spec, 'install')}")
        if (
            upg
            and _retries(spec, "upgrade") >= 0
            and upg > _retries(spec, "upgrade")
            and ((spec.get("upgrade") or {}).get("strategy") or {}).get("name") != "RetryOnFailure"
        ):
            exhausted.append(f"upgradeFailures {upg} > upgrade.remediation.retries {_retries(spec, 'upgrade')}")
        is_stalled = stalled and stalled.get("status") == "True"
        if is_stalled or (ready and exhausted):
            c = (stalled if is_stalled else ready) or {}
            detail = f" ({'; '.join(exhausted)})" if exhausted else ""
            msg = (ready or {}).get("message") or c.get("message")
            yield Finding(
                "helmrelease-stalled",
                "error",
                object=ref,
                seen=f"{ref} is stalled ({c.get('reason')}){detail}: {msg}",
                why="helm-controller has used up its remediation retries and stops trying until the HelmRelease "
                "changes or its failure counters are reset, even after the cause is fixed.",
                fix=f"Fix the cause the message names (values, chart version, a missing CRD or Secret), then reset "
                f"the counters: T=$(date +%s); kubectl -n {ns} annotate helmrelease/{name} --overwrite "
                "reconcile.fluxcd.io/requestedAt=$T reconcile.fluxcd.io/resetAt=$T",
            )
        elif ready:
            yield Finding(
                "helmrelease-not-ready",
                "warning",
                object=ref,
                seen=f"{ref} is not Ready ({ready.get('reason')}): {ready.get('message')}",
                why="The chart is not (fully) installed; helm-controller retries on its interval.",
                fix=f"Fix what the message names; `flux reconcile helmrelease {name} -n {ns} --with-source` retries "
                "at once.",
            )


@check("flux-not-ready", scope="cluster")
def flux_not_ready(snap: Snapshot) -> Iterable[Finding]:
    """Flux missing (no CRDs) or a Flux controller Deployment that exists and is not available."""
    if not snap.served.get(("kustomize.toolkit.fluxcd.io", "Kustomization")):
        yield Finding(
            "flux-not-installed",
            "error",
            object="CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io",
            seen="The cluster serves no kustomize.toolkit.fluxcd.io Kustomization API: Flux is not installed.",
            why="Nothing in the repository reaches the cluster without Flux.",
            fix="Bootstrap Flux (flux bootstrap git ... --path=<the Flux folder's parent>), as in the guide's "
            "Part III.",
        )
        return
    for d in snap.items("deployments"):
        m = _meta(d)
        if m.get("namespace") != "flux-system" or m.get("name") not in FLUX_CONTROLLERS:
            continue
        avail = cond(d, "Available")
        want = (d.get("spec") or {}).get("replicas", 1)
        if want and ((d.get("status") or {}).get("availableReplicas") or 0) < want:
            yield Finding(
                "flux-not-ready",
                "error",
                object=_ref("Deployment", d),
                seen=f"{_ref('Deployment', d)} has {(d.get('status') or {}).get('availableReplicas') or 0}/{want} "
                f"available replicas{': ' + avail.get('message', '') if avail else ''}.",
                why="While a Flux controller is down, its kinds are not reconciled: commits are not applied and "
                "statuses go stale.",
                fix=f"kubectl -n flux-system describe deployment {m.get('name')} and its pods; `flux check` lists "
                "what is wrong.",
            )


@check("flux-api-not-served", scope="cluster")
def flux_api_not_served(snap: Snapshot) -> Iterable[Finding]:
    """Flux API versions in the repository that the cluster's CRDs do not serve."""
    if snap.layout is None:
        return
    from wizard.doctor.repo_checks import RepoContext, _api_refs
    from wizard.fluxapi import CURRENT

    ctx = RepoContext.build(snap.layout)
    for d, api, kind, where in _api_refs(ctx):
        group, _, ver = api.partition("/")
        served = snap.served.get((group, kind))
        if not served or ver in served:
            continue
        newer = ver in ("v1", "v2") or ver > served[0]
        yield Finding(
            "flux-api-not-served",
            "error",
            path=d.path,
            object=f"CustomResourceDefinition/{kind}.{group}",
            seen=f"{where} in {d.path} uses {api}, but the cluster's Flux serves {group} "
            f"{', '.join(served)} for {kind}.",
            why='Flux cannot apply the object: the dry-run fails with "no matches for kind" and the Kustomization '
            "holding it stalls.",
            fix=(
                f"Upgrade Flux in the cluster (it serves {served[0]}; {api} needs a newer Flux), or use "
                f"{group}/{served[0]}."
                if newer
                else f"Change apiVersion to {group}/{CURRENT.get(group, served[0])} (served: {served[0]})."
            ),
        )


# -- cert-manager -----------------------------------------------------------------------------------
@check("clusterissuer-not-ready", scope="cluster")
def clusterissuer_not_ready(snap: Snapshot) -> Iterable[Finding]:
    """ClusterIssuers with Ready=False (ACME account registration errors)."""
    from wizard import catalog

    ours = set(catalog.catalog()["acme"])
    for ci in snap.items("clusterissuers"):
        c = _false(ci)
        if not c:
            continue
        ref = _ref("ClusterIssuer", ci)
        acme = (ci.get("spec") or {}).get("acme") or {}
        yield Finding(
            "clusterissuer-not-ready",
            "error",
            object=ref,
            seen=f"{ref} is not Ready ({c.get('reason')}): {c.get('message')}",
            why="No Certificate that uses this issuer can be issued until it has an ACME account "
            f"(server {acme.get('server', '?')}, email {acme.get('email', '?')}).",
            fix="Check the ACME server URL and the email address (Let's Encrypt rejects example.com and invalid "
            "addresses) and that the cluster can reach the server; cert-manager retries on its own once fixed.",
            step="cluster-issuers" if _meta(ci).get("name") in ours else None,
        )


def _owned_by(o: dict[str, Any], owner: dict[str, Any]) -> bool:
    uid = _meta(owner).get("uid")
    return any(r.get("uid") == uid for r in _meta(o).get("ownerReferences") or [])


@check("certificate-not-ready", scope="cluster")
def certificate_not_ready(snap: Snapshot) -> Iterable[Finding]:
    """Certificates not Ready, with the reason of their ACME Order and Challenge."""
    for cert in snap.items("certificates"):
        c = _false(cert)
        if not c:
            continue
        ref = _ref("Certificate", cert)
        ns = _meta(cert).get("namespace")
        reqs = [r for r in snap.items("certificaterequests") if _owned_by(r, cert)]
        orders = [o for o in snap.items("orders") if any(_owned_by(o, r) for r in reqs)]
        chals = [ch for ch in snap.items("challenges") if any(_owned_by(ch, o) for o in orders)]
        parts, bad = [], False
        for kind, objs in (("Order", orders), ("Challenge", chals)):
            for o in objs:
                st = o.get("status") or {}
                state = st.get("state") or "pending"
                bad = bad or state in BAD_ACME_STATES
                parts.append(
                    f"{kind} {_meta(o).get('name')} is {state}" + (f": {st['reason']}" if st.get("reason") else "")
                )
        issuing = cond(cert, "Issuing")
        bad = bad or bool(issuing and issuing.get("status") == "False" and issuing.get("reason") == "Failed")
        issuer = ((cert.get("spec") or {}).get("issuerRef") or {}).get("name", "?")
        detail = "; ".join(parts) or "no ACME Order yet"
        yield Finding(
            "certificate-not-ready",
            "error" if bad else "warning",
            object=ref,
            seen=f"{ref} is not Ready ({c.get('reason')}): {c.get('message')}. {detail}.",
            why=f"The TLS Secret {(cert.get('spec') or {}).get('secretName', '?')} is not issued, so HTTPS serves no "
            f"valid certificate. HTTP-01 needs http://<host>/.well-known/acme-challenge/ reachable from the "
            f"internet: DNS pointing at the node, port 80 open in the host firewall, the ingress controller "
            f"running, and ClusterIssuer {issuer} Ready.",
            fix=f"Follow the reason above: kubectl -n {ns} describe challenges shows the last check; fix DNS (external-"
            "dns), the firewall rule or the issuer, then cert-manager retries (delete the failed Order to retry "
            "at once).",
        )


# -- external-dns -----------------------------------------------------------------------------------
def _external_dns(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for d in snap.items("deployments"):
        m = _meta(d)
        labels = m.get("labels") or {}
        if labels.get("app.kubernetes.io/name") == "external-dns" or m.get("name") == "external-dns":
            out.append(d)
    return out


def _secret_refs(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(ns, name) for ns, name, _key in _secret_uses(d)]


def _secret_uses(d: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    ns = _meta(d).get("namespace", "")
    pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
    out: list[tuple[str, str, str | None]] = []
    for c in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref and ref.get("name") and not ref.get("optional"):
                out.append((ns, ref["name"], ref.get("key")))
        for e in c.get("envFrom") or []:
            ref = e.get("secretRef")
            if ref and ref.get("name") and not ref.get("optional"):
                out.append((ns, ref["name"], None))
    for v in pod.get("volumes") or []:
        s = v.get("secret")
        if s and s.get("secretName") and not s.get("optional"):
            out.append((ns, s["secretName"], None))
    return out


@check("external-dns", scope="cluster")
def external_dns(snap: Snapshot) -> Iterable[Finding]:
    """external-dns whose token Secret (or key) is missing, or that is not running."""
    for d in _external_dns(snap):
        ref = _ref("Deployment", d)
        st = d.get("status") or {}
        want = (d.get("spec") or {}).get("replicas", 1)
        avail = st.get("availableReplicas") or 0
        state = f"{avail}/{want} replicas available"
        missing = False
        for ns, name, key in dict.fromkeys(_secret_uses(d)):
            keys = snap.secrets.get((ns, name), set())
            if keys is None or (key and key not in keys):
                missing = True
                what = (
                    f"Secret {ns}/{name} does not exist"
                    if keys is None
                    else f"Secret {ns}/{name} has no key {key!r} (keys: {', '.join(sorted(keys)) or 'none'})"
                )
                yield Finding(
                    "external-dns-secret-missing",
                    "error",
                    object=ref,
                    seen=f"{ref} reads the DNS token from {ns}/{name}{f' key {key}' if key else ''}, but {what} "
                    f"({state}).",
                    why="The pod cannot start (CreateContainerConfigError) or runs without a token, so no DNS records "
                    "are written and certificates for those hosts cannot be validated.",
                    fix=f"Let Flux apply the sops-encrypted Secret {name}: it must be listed in the component's "
                    "kustomization.yaml and its Flux Kustomization needs the decryption block; `edge-wizard run "
                    "external-dns` writes both (with the token).",
                    step="external-dns",
                )
        if not missing and want and avail < want:
            yield Finding(
                "external-dns-not-running",
                "error",
                object=ref,
                seen=f"{ref} is not running: {state}.",
                why="DNS records for the Ingress hosts are not created or updated.",
                fix=f"kubectl -n {_meta(d).get('namespace')} logs deploy/{_meta(d).get('name')} --all-containers "
                "shows why (a rejected token prints 401/403; a wrong zone prints no matching zones).",
            )
