"""ingress: ingress-nginx as a DaemonSet on the node's own ports 80/443."""

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

FOLDER = "ingress-nginx"
NAMESPACE = "ingress-nginx"
HOST_PORTS = (
    "With hostNetwork the controller also listens on 8443 (admission webhook), 10254 (health, metrics) and 8181 "
    "(default backend) on every node it runs on; the host firewall rule opens only 80/443, and only on the nodes "
    "its policy selects."
)


class IngressStep(Step):
    name = "ingress"
    title = "Ingress controller"
    summary = "ingress-nginx DaemonSet with hostNetwork on ports 80/443, privileged namespace"
    kustomization = "ingress-nginx"

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        sp.warnings.append(" ".join(ctx.cat["warnings"]["ingress-nginx"].split()))
        sp.warnings.append(HOST_PORTS)
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
        # the health check: smoke-test's dependsOn then waits for the controller (and its admission webhook,
        # which rejects an Ingress while it is not up)
        flux_kustomization(
            ctx,
            sp,
            self.kustomization,
            FOLDER,
            stem="ingress",
            health_checks=[helm_release_check(ctx, "ingress-nginx", NAMESPACE)],
        )
        return sp
