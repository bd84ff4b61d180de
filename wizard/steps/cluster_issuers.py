"""cluster-issuers: Let's Encrypt staging and production ClusterIssuers (HTTP-01 via ingress)."""

from __future__ import annotations

from typing import Any

from wizard import catalog, controllers, yamlio
from wizard.plan import StepPlan
from wizard.steps.base import Context, Step, ensure_listed, flux_kustomization, helm_release_check, write_docs
from wizard.steps.cert_manager import NAMESPACE as CM_NAMESPACE

FOLDER = "cluster-issuers"
INGRESS_CLASS = controllers.INGRESS_NGINX.ingress_class  # kept for callers; the class follows the controller


class ClusterIssuersStep(Step):
    name = "cluster-issuers"
    title = "Let's Encrypt issuers"
    summary = "letsencrypt-staging and letsencrypt-production ClusterIssuers, after cert-manager"
    needs = ("email",)
    kustomization = "cluster-issuers"

    def plan(self, ctx: Context) -> StepPlan:
        self.require(ctx)
        sp = StepPlan(self.name, self.title)
        folder = ctx.component(FOLDER)
        docs: list[Any] = []
        ingress_class = controllers.resolve(ctx.layout, ctx.answers).ingress_class
        for issuer, server in ctx.cat["acme"].items():
            d = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
            ci = d.docs[0]
            ci["metadata"]["name"] = issuer
            ci["spec"]["acme"]["server"] = server
            ci["spec"]["acme"]["email"] = ctx.answers.email
            ci["spec"]["acme"]["privateKeySecretRef"]["name"] = issuer
            ci["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClassName"] = ingress_class
            docs.extend(d.docs)
        rendered = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
        rendered.docs = docs
        write_docs(ctx, sp, f"{folder}/cluster-issuers.yaml", rendered)
        ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", "cluster-issuers.yaml")
        # dependsOn gates on the cert-manager Kustomization (which itself waits for the
        # HelmRelease), and the health check keeps the ordering even if cert-manager is managed
        # elsewhere: no more "no matches for kind ClusterIssuer" on a fresh cluster.
        flux_kustomization(
            ctx,
            sp,
            self.kustomization,
            FOLDER,
            stem="cluster-issuers",
            depends_on=("cert-manager",),
            health_checks=[helm_release_check(ctx, "cert-manager", CM_NAMESPACE)],
        )
        return sp


__all__ = ["ClusterIssuersStep", "yamlio"]
