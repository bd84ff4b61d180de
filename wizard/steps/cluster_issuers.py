"""cluster-issuers: Let's Encrypt staging and production ClusterIssuers (HTTP-01 via ingress)."""

from __future__ import annotations

import base64
from typing import Any

from wizard import catalog, controllers, yamlio
from wizard.errors import UserError
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
        bundles = ctx.cat.get("acme_ca_bundle") or {}
        ingress_class = controllers.resolve(ctx.layout, ctx.answers).ingress_class
        for issuer, server in ctx.cat["acme"].items():
            d = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
            ci = d.docs[0]
            ci["metadata"]["name"] = issuer
            ci["spec"]["acme"]["server"] = server
            if bundles.get(issuer):
                # an ACME server with a private CA (a test server, an internal ACME CA): cert-manager
                # verifies its TLS with this bundle instead of skipping verification
                ci["spec"]["acme"].insert(1, "caBundle", ca_bundle(issuer, bundles[issuer]))
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


def ca_bundle(issuer: str, pem: object) -> str:
    """The catalog's ``acme_ca_bundle.<issuer>`` (PEM text) as the ClusterIssuer's base64 ``caBundle``."""
    if not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem:
        raise UserError(
            f"The catalog's acme_ca_bundle.{issuer} is not PEM certificate text (no '-----BEGIN CERTIFICATE-----'). "
            "It must hold the CA certificates that sign the ACME server's TLS certificate; fix or remove it in "
            "the file EDGE_WIZARD_CATALOG points at."
        )
    return base64.b64encode(pem.encode()).decode()


__all__ = ["ClusterIssuersStep", "ca_bundle", "yamlio"]
