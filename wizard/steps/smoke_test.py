"""smoke-test: podinfo behind the ingress, with a certificate and a DNS record."""

from __future__ import annotations

from wizard import catalog, controllers, yamlio
from wizard.plan import StepPlan
from wizard.steps.base import Context, Step, ensure_listed, flux_kustomization, helm_docs, write_docs

NAMESPACE = "podinfo"
FOLDER = "smoke-test"


def _removed(ctx: Context, kustomization: str) -> bool:
    """A Kustomization this plan removes (the ingress-nginx of a switch) is no dependency any more."""
    ks = ctx.layout.kustomizations.get(kustomization)
    return ks is not None and not ctx.ws.exists(ks.file)


class SmokeTestStep(Step):
    name = "smoke-test"
    title = "Smoke test (podinfo over HTTPS)"
    summary = "podinfo with an Ingress, a TLS certificate and a DNS record"
    needs = ("domain",)
    kustomization = "smoke-test"
    flux_apis = ("helm_repository", "helm_release", "kustomization")

    def plan(self, ctx: Context) -> StepPlan:
        self.require(ctx)
        sp = StepPlan(self.name, self.title)
        host = ctx.answers.resolved_host
        folder = ctx.component(FOLDER)
        docs = helm_docs(ctx, "podinfo", "manifests/smoke-test/podinfo.yaml")
        ing = yamlio.require_doc(docs.docs, "HelmRelease")["spec"]["values"]["ingress"]
        ctrl = controllers.resolve(ctx.layout, ctx.answers)
        ing["className"] = ctrl.ingress_class
        ing["annotations"]["cert-manager.io/cluster-issuer"] = ctx.answers.smoke_test_issuer
        annotation = ctx.cat["external_dns_hostname_annotation"]
        for key in [k for k in ing["annotations"] if "external-dns" in k and k != annotation]:
            del ing["annotations"][key]
        ing["annotations"][annotation] = host
        ing["hosts"][0]["host"] = host
        ing["tls"][0]["hosts"][0] = host
        write_docs(ctx, sp, f"{folder}/namespace.yaml", catalog.load_asset("manifests/smoke-test/namespace.yaml"))
        write_docs(ctx, sp, f"{folder}/podinfo.yaml", docs)
        for f in ("namespace.yaml", "podinfo.yaml"):
            ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", f)
        deps = tuple(
            d
            for d in (ctrl.kustomization, "cluster-issuers")
            if d in ctx.declared or (d in ctx.layout.kustomizations and not _removed(ctx, d))
        )
        flux_kustomization(ctx, sp, self.kustomization, FOLDER, stem="smoke-test", depends_on=deps)
        return sp
