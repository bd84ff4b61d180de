"""cert-manager: the chart with its CRDs; the Kustomization waits for the HelmRelease.

Adopted where it is; an existing ``installCRDs`` is migrated to ``crds.enabled`` (the old key is
removed: with both set, the chart's ``cert-manager.crd-check`` helper fails the install).
"""

from __future__ import annotations

from typing import Any

from wizard import catalog, yamlio
from wizard.plan import StepPlan
from wizard.steps.adopt import adopt_release, component_folder, found_release, place
from wizard.steps.base import (
    Context,
    Step,
    flux_kustomization,
    helm_docs,
    helm_release_check,
    list_in_folder,
)

NAMESPACE = "cert-manager"
FOLDER = "cert-manager"
RELEASE = "cert-manager"
CHARTS = ("cert-manager",)


def migrate_install_crds(existing: Any, rel: str, sp: StepPlan) -> None:
    """``installCRDs`` (deprecated since cert-manager 1.15) -> ``crds.enabled``, the old key removed."""
    if existing.get("kind") != "HelmRelease":
        return
    values = (existing.get("spec") or {}).get("values")
    if not isinstance(values, dict) or "installCRDs" not in values:
        return
    was = values["installCRDs"]
    yamlio.delete_key(values, "installCRDs")
    sp.notes.append(
        f"HelmRelease {RELEASE} in {rel}: installCRDs: {str(was).lower()} -> crds.enabled: true, crds.keep: true "
        "(installCRDs is deprecated since cert-manager 1.15, and with both keys set the chart's "
        "cert-manager.crd-check helper fails the install; the old key is removed)."
    )


migrate_install_crds.wanted = lambda values: "installCRDs" in values  # type: ignore[attr-defined]


class CertManagerStep(Step):
    name = "cert-manager"
    title = "cert-manager"
    summary = "cert-manager 1.21 with crds.enabled; Flux waits for it to be Ready"
    kustomization = "cert-manager"
    flux_apis = ("helm_repository", "helm_release", "kustomization")

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER, NAMESPACE))
        found = found_release(ctx, self.name, CHARTS, folder, own_file="cert-manager.yaml")
        if found is not None:
            # the cluster's own cert-manager, whatever applies it: only what the edge needs of it
            adopt_release(
                ctx,
                sp,
                found,
                {"crds.enabled": True},
                why="the ClusterIssuers need its CRDs; its version, source and other values stay as they are.",
                migrate=migrate_install_crds,
            )
            return sp
        release = helm_docs(ctx, "cert-manager", "manifests/cert-manager/cert-manager.yaml", self.name)
        files = place(ctx, sp, folder, "namespace.yaml", catalog.load_asset("manifests/cert-manager/namespace.yaml"))
        files += place(ctx, sp, folder, "cert-manager.yaml", release, migrate_install_crds)
        list_in_folder(ctx, sp, folder, files)
        flux_kustomization(
            ctx,
            sp,
            self.kustomization,
            FOLDER,
            stem="cert-manager",
            health_checks=[helm_release_check(ctx, RELEASE, NAMESPACE)],
            path=folder,
            namespace=NAMESPACE,
        )
        return sp
