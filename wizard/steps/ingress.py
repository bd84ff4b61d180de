"""ingress: ingress-nginx as a DaemonSet on the node's own ports 80/443.

Adopted where it is: an existing ingress-nginx HelmRelease keeps its other values. When that
controller already serves Ingresses of other apps, the changes to its release are listed under
their own heading and need their own confirmation (``StepPlan.attention``).
"""

from __future__ import annotations

from typing import Any

from wizard import catalog, yamlio
from wizard.plan import StepPlan
from wizard.steps.adopt import component_folder, existing_doc, place
from wizard.steps.base import Context, Step, flux_kustomization, helm_docs, list_in_folder

FOLDER = "ingress-nginx"
RELEASE = "ingress-nginx"
NAMESPACE = "ingress-nginx"
INGRESS_CLASS = "nginx"
SMOKE_TEST_NAMESPACE = "podinfo"  # the wizard's own smoke test is not "another app"


class IngressStep(Step):
    name = "ingress"
    title = "Ingress controller"
    summary = "ingress-nginx DaemonSet with hostNetwork on ports 80/443, privileged namespace"
    kustomization = "ingress-nginx"
    flux_apis = ("helm_repository", "helm_release", "kustomization")

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        sp.warnings.append(" ".join(ctx.cat["warnings"]["ingress-nginx"].split()))
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER))
        release = helm_docs(ctx, "ingress-nginx", "manifests/ingress/ingress-nginx.yaml", self.name)
        before = existing_doc(ctx, folder, "HelmRelease", RELEASE, NAMESPACE)
        files = place(ctx, sp, folder, "namespace.yaml", catalog.load_asset("manifests/ingress/namespace.yaml"))
        files += place(ctx, sp, folder, "ingress-nginx.yaml", release)
        list_in_folder(ctx, sp, folder, files)
        flux_kustomization(ctx, sp, self.kustomization, FOLDER, stem="ingress", path=folder)
        if before is not None:
            _controller_attention(ctx, sp, before)
        return sp


def _controller_attention(ctx: Context, sp: StepPlan, before: tuple[str, Any]) -> None:
    """List the changes to an existing controller that other apps' Ingresses use (their own heading)."""
    rel, old = before
    apps = other_apps(ctx)
    if not apps:
        return
    doc = ctx.ws.read_doc(rel)
    new = yamlio.find_doc(doc.docs, "HelmRelease", RELEASE) if doc is not None else None
    if new is None:
        return
    changes = [
        c
        for c in changed_paths(yamlio.to_plain(old.get("spec") or {}), yamlio.to_plain(new.get("spec") or {}))
        if c[0].startswith("values.") or c[0] == "chart.spec.version"  # what the controller runs with
    ]
    if not changes:
        return
    shown = ", ".join(apps[:3]) + (f" and {len(apps) - 3} more" if len(apps) > 3 else "")
    sp.attention_heading = (
        f"Changes to ingress-nginx, which already serves other apps ({shown}): they roll its controller pods on "
        "every node and apply to those apps' Ingresses too"
    )
    sp.attention.extend(f"{RELEASE} {path}: {was} -> {now}" for path, was, now in changes)


def other_apps(ctx: Context) -> list[str]:
    """Ingresses in the repository that this controller serves and that are not the wizard's smoke test:
    Ingress objects of class nginx (or of no class: the controller is the default one) and charts with
    ``ingress.enabled`` and that class."""
    out: list[str] = []
    for d in ctx.layout.index.find({"Ingress", "HelmRelease"}):
        if d.namespace == SMOKE_TEST_NAMESPACE:
            continue
        if d.kind == "Ingress" and d.group == "networking.k8s.io":
            cls = d.spec.get("ingressClassName") or (d.metadata.get("annotations") or {}).get(
                "kubernetes.io/ingress.class"
            )
            if cls in (None, INGRESS_CLASS):
                out.append(f"Ingress {d.namespace or 'default'}/{d.name} in {d.path}")
        elif d.kind == "HelmRelease" and d.name != RELEASE:
            values = d.spec.get("values")
            ing = values.get("ingress") if isinstance(values, dict) else None
            if isinstance(ing, dict) and ing.get("enabled") and ing.get("className", INGRESS_CLASS) == INGRESS_CLASS:
                out.append(f"HelmRelease {d.namespace or 'default'}/{d.name} (ingress.enabled) in {d.path}")
    return out


def _short(value: Any) -> str:
    if value is _MISSING:
        return "(not set)"
    text = repr(value) if isinstance(value, str) else str(value).replace("'", "")
    return text if len(text) <= 60 else text[:59] + "…"


_MISSING = object()


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, old, new) of every leaf that differs between two plain mappings."""
    out: list[tuple[str, str, str]] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(dict.fromkeys([*old, *new])):
            path = f"{prefix}.{key}" if prefix else str(key)
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if isinstance(a, dict) and isinstance(b, dict):
                out += changed_paths(a, b, path)
            elif a != b:
                out.append((path, _short(a), _short(b)))
    elif old != new:
        out.append((prefix, _short(old), _short(new)))
    return out
