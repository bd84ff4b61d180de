"""Which cluster objects a stage touches: read from the repository, no cluster access."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from wizard.flux import kinds
from wizard.index import FluxKustomization, is_flux_kustomization
from wizard.repo import Layout, norm

FLUX_NS = "flux-system"
WORKLOADS = "Workloads"  # placeholder kind: the Deployments/DaemonSets a HelmRelease creates


@dataclass(frozen=True)
class Target:
    """One object to follow. ``after`` names the targets (as keys) that gate it: it is only
    counted ready once they are (it is watched, and its failures reported, from the start)."""

    kind: str
    namespace: str
    name: str
    after: tuple[tuple[str, str, str], ...] = ()
    reconcile: bool = False  # we set reconcile.fluxcd.io/requestedAt on it
    release: str = ""  # Workloads: the Helm release name (label app.kubernetes.io/instance)
    gone: bool = False  # the run removed it from the repository: done once Flux has pruned it

    @functools.cached_property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)  # looked up on every watch event: made once

    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        if self.gone:
            return f"{self.kind} {where}{self.name} (removed)"
        if self.kind == WORKLOADS:
            return f"workloads of HelmRelease {where}{self.name}"
        return f"{self.kind} {where}{self.name}"


INSTANCE_LABEL = "app.kubernetes.io/instance"


def instance_values(t: Target) -> tuple[str, ...]:
    """The ``app.kubernetes.io/instance`` values a chart gives the workloads of release ``t.release``:
    the release name (the common helper), or ``<release>-<namespace>`` (Traefik's chart)."""
    return (t.release, f"{t.release}-{t.namespace}"[:63].rstrip("-"))


def root_kustomization(layout: Layout) -> str:
    """The name of the Kustomization in gotk-sync.yaml (``flux-system`` after a bootstrap)."""
    sync = f"{layout.flux_dir}/gotk-sync.yaml"
    for doc in layout.index.find({"Kustomization"}, files=[sync]):
        if is_flux_kustomization(doc):
            return doc.name
    return "flux-system"


def flux_kustomizations(layout: Layout) -> dict[str, FluxKustomization]:
    """The Flux Kustomizations declared in the Flux folder as it is on disk NOW (the layout was
    discovered before the run wrote new ones)."""
    out = dict(layout.kustomizations)
    out.update({k.name: k for k in layout.index.flux_kustomizations(layout.flux_dir)})
    return out


def _owner(layout: Layout, ks: dict[str, FluxKustomization], rel: str) -> str | None:
    """The Flux Kustomization whose spec.path holds ``rel`` (deepest match)."""
    best, depth = None, -1
    for k in ks.values():
        if not k.path or k.path == norm(layout.flux_dir) or not layout.local(k):
            continue
        if rel == k.path or rel.startswith(k.path + "/"):
            d = len(PurePosixPath(k.path).parts)
            if d > depth:
                best, depth = k.name, d
    return best


def _step_kustomizations(plan: Any | None, layout: Layout, ks: dict[str, FluxKustomization]) -> list[str]:
    from wizard import steps as steps_mod

    names: list[str] = []
    if plan is not None:
        wanted = [s.step for s in plan.steps]
        for step in steps_mod.select(wanted):
            owned = step.owned_kustomizations()
            # a step with one Kustomization: it is planned now; with several (the ingress
            # controllers): the ones the repository declares (a removed one is not followed)
            names += list(owned) if len(owned) == 1 else [k for k in owned if k in ks]
        # plus the Kustomizations that apply any other file the run touched (e.g. the firewall policy)
        for change in plan.changes:
            owner = _owner(layout, ks, change.path)
            if owner and owner not in names:
                names.append(owner)
        for secret in plan.secrets:
            owner = _owner(layout, ks, secret.path)
            if owner and owner not in names:
                names.append(owner)
    else:
        for step_cls in steps_mod.ALL:
            names += [k for k in step_cls.owned_kustomizations() if k in ks]
        if layout.firewall_policy:
            owner = _owner(layout, ks, layout.firewall_policy)
            if owner and owner not in names:
                names.append(owner)
    return names


def objects_for(layout: Layout, plan: Any | None) -> list[Target]:
    """The objects a run of ``plan`` (or, without a plan, the stage as it is in the repository)
    makes Flux reconcile, in the order Flux gets to them."""
    gitrepo = Target("GitRepository", FLUX_NS, layout.git_repository, reconcile=True)
    root = Target("Kustomization", FLUX_NS, root_kustomization(layout), after=(gitrepo.key,), reconcile=True)
    out: list[Target] = [gitrepo, root]
    gone = removed_objects(plan, root.key)
    gone_keys = {t.key for t in gone}
    later: list[Target] = []
    ks = flux_kustomizations(layout)
    for kname in _step_kustomizations(plan, layout, ks):
        if kname == root.name or ("Kustomization", FLUX_NS, kname) in gone_keys:
            continue
        kt = Target("Kustomization", FLUX_NS, kname, after=(root.key,), reconcile=True)
        out.append(kt)
        if kname in ks and ks[kname].path and (layout.root / ks[kname].path).is_dir():
            later += declared(layout, kt, ks[kname].path)
    # de-duplicate, keep order (what the run removes is followed until it is gone, never as "ready")
    seen = set(gone_keys)
    result: list[Target] = list(gone)
    for t in out + later:
        if t.key not in seen:
            seen.add(t.key)
            result.append(t)
    return result


def declared(layout: Layout, kt: Target, path: str) -> list[Target]:
    """The followed objects (``wizard.flux.kinds``, ``repo=True``) that the Kustomization ``kt``
    applies from ``path``, each gated on it, and what they imply (:data:`DERIVED`)."""
    repo_kinds = kinds.from_repo()
    out: list[Target] = []
    for doc in layout.index.find({*repo_kinds, *DERIVED}, under=path):
        if not doc.name:
            continue
        k = repo_kinds.get(doc.kind)
        owner = kt
        if k is not None:
            if not k.declares(doc.api):
                continue
            owner = Target(k.kind, (doc.namespace or "default") if k.namespaced else "", doc.name, after=(kt.key,))
            out.append(owner)
        derive = DERIVED.get(doc.kind)
        if derive is not None:
            out += derive(doc, owner)
    return out


def _release_targets(doc: Any, hr: Target) -> list[Target]:
    """A HelmRelease's workloads (in its target namespace, by release name) and the Certificates its
    chart's Ingress asks cert-manager for."""
    spec = doc.spec
    target_ns = str(spec.get("targetNamespace") or hr.namespace)
    release = spec.get("releaseName") or (
        f"{spec['targetNamespace']}-{hr.name}" if spec.get("targetNamespace") else hr.name
    )
    workloads = Target(WORKLOADS, target_ns, hr.name, after=(hr.key,), release=str(release))
    return [workloads, *_certificates(spec.get("values") or {}, target_ns, (hr.key,))]


def _ingress_targets(doc: Any, owner: Target) -> list[Target]:
    """The Certificates cert-manager's ingress-shim makes for an Ingress."""
    ingress = {"tls": doc.spec.get("tls"), "annotations": doc.metadata.get("annotations") or {}}
    return _certificates({"ingress": ingress}, doc.namespace or "default", (owner.key,))


# kind -> the targets a document of that kind implies besides itself (``owner``: its own target, or
# for a kind that is not followed, the Kustomization that applies it)
DERIVED: dict[str, Callable[[Any, Target], list[Target]]] = {
    "HelmRelease": _release_targets,
    "Ingress": _ingress_targets,
}


PRUNED_KINDS = ("Kustomization", "HelmRelease")


def removed_objects(
    plan: Any | None, root: tuple[str, str, str] = ("Kustomization", FLUX_NS, "flux-system")
) -> list[Target]:
    """The Flux Kustomizations and HelmReleases the plan's changes take out of the repository (in a
    file's old text, not in its new one): Flux prunes them, and the watch waits until they are gone."""
    from wizard import yamlio

    if plan is None:
        return []

    def objects(text: str | None) -> dict[tuple[str, str, str], None]:
        found: dict[tuple[str, str, str], None] = {}
        try:
            docs = yamlio.load_fast(text) if text else []
        except Exception:  # a file that was not valid YAML held nothing Flux applied
            return found
        for d in docs:
            if not isinstance(d, dict) or d.get("kind") not in PRUNED_KINDS:
                continue
            api, meta = str(d.get("apiVersion") or ""), d.get("metadata") or {}
            if not (api.startswith("kustomize.toolkit.fluxcd.io/") or api.startswith("helm.toolkit.fluxcd.io/")):
                continue
            if isinstance(meta, dict) and meta.get("name"):
                default = FLUX_NS if d["kind"] == "Kustomization" else "default"
                found[(str(d["kind"]), str(meta.get("namespace") or default), str(meta["name"]))] = None
        return found

    before: dict[tuple[str, str, str], None] = {}
    after: dict[tuple[str, str, str], None] = {}
    for c in plan.changes:
        if c.status == "unchanged":
            continue
        before.update(objects(c.old))
        after.update(objects(None if c.deleted else c.new))  # moved to another file of the plan: not removed
    return [Target(k[0], k[1], k[2], after=(root,), gone=True) for k in before if k not in after and k != root]


def _certificates(values: dict[str, Any], namespace: str, after: tuple[tuple[str, str, str], ...]) -> list[Target]:
    """cert-manager's ingress-shim names the Certificate after the Ingress tls secretName."""
    ing = values.get("ingress") if isinstance(values, dict) else None
    if not isinstance(ing, dict) or ing.get("enabled") is False:
        return []
    ann = ing.get("annotations") or {}
    if not any(str(k).startswith("cert-manager.io/") for k in ann):
        return []
    out = []
    for tls in ing.get("tls") or []:
        if isinstance(tls, dict) and tls.get("secretName"):
            out.append(Target("Certificate", namespace, str(tls["secretName"]), after=after))
    return out


def smoke_url(layout: Layout, plan: Any | None) -> str:
    """https://<host>/ of the smoke test, if the smoke-test step is part of what we follow."""
    from wizard.steps.smoke_test import FOLDER, SmokeTestStep

    if plan is not None and (plan.removing or SmokeTestStep.name not in [s.step for s in plan.steps]):
        return ""
    if plan is None and SmokeTestStep.kustomization not in flux_kustomizations(layout):
        return ""
    for doc in layout.index.find({"HelmRelease"}, under=f"{layout.components_dir}/{FOLDER}"):
        ing = (doc.spec.get("values") or {}).get("ingress") or {}
        for tls in ing.get("tls") or []:
            hosts = (tls or {}).get("hosts") or []
            if hosts:
                return f"https://{hosts[0]}/"
        for h in ing.get("hosts") or []:
            if isinstance(h, dict) and h.get("host"):
                return f"https://{h['host']}/"
    return ""
