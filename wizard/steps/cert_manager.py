"""cert-manager: the chart with its CRDs; the Kustomization waits for the HelmRelease."""

from __future__ import annotations

from wizard import catalog
from wizard.plan import StepPlan
from wizard.steps.base import (
    Context,
    Step,
    ensure_listed,
    flux_kustomization,
    helm_docs,
    helm_release_check,
    write_docs,
)

NAMESPACE = "cert-manager"
FOLDER = "cert-manager"


class CertManagerStep(Step):
    name = "cert-manager"
    title = "cert-manager"
    summary = "cert-manager 1.21 with crds.enabled; Flux waits for it to be Ready"
    kustomization = "cert-manager"

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        folder = ctx.component(FOLDER)
        write_docs(ctx, sp, f"{folder}/namespace.yaml", catalog.load_asset("manifests/cert-manager/namespace.yaml"))
        write_docs(
            ctx,
            sp,
            f"{folder}/cert-manager.yaml",
            helm_docs(ctx, "cert-manager", "manifests/cert-manager/cert-manager.yaml"),
        )
        for f in ("namespace.yaml", "cert-manager.yaml"):
            ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", f)
        flux_kustomization(
            ctx,
            sp,
            self.kustomization,
            FOLDER,
            stem="cert-manager",
            health_checks=[helm_release_check(ctx, "cert-manager", NAMESPACE)],
        )
        return sp
