"""ingress: ingress-nginx as a DaemonSet on the node's own ports 80/443."""

from __future__ import annotations

from wizard import catalog
from wizard.plan import StepPlan
from wizard.steps.base import Context, Step, ensure_listed, flux_kustomization, helm_docs, write_docs

FOLDER = "ingress-nginx"


class IngressStep(Step):
    name = "ingress"
    title = "Ingress controller"
    summary = "ingress-nginx DaemonSet with hostNetwork on ports 80/443, privileged namespace"
    kustomization = "ingress-nginx"

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        sp.warnings.append(" ".join(ctx.cat["warnings"]["ingress-nginx"].split()))
        folder = ctx.component(FOLDER)
        write_docs(ctx, sp, f"{folder}/namespace.yaml", catalog.load_asset("manifests/ingress/namespace.yaml"))
        write_docs(
            ctx,
            sp,
            f"{folder}/ingress-nginx.yaml",
            helm_docs(ctx, "ingress-nginx", "manifests/ingress/ingress-nginx.yaml"),
        )
        for f in ("namespace.yaml", "ingress-nginx.yaml"):
            ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", f)
        flux_kustomization(ctx, sp, self.kustomization, FOLDER, stem="ingress")
        return sp
