"""cluster-issuers: Let's Encrypt staging and production ClusterIssuers (HTTP-01 via ingress).

Existing choices are kept: an issuer that solves DNS-01 (the guide's 2025 move to a Hetzner DNS-01
webhook) keeps its solvers and its account key Secret; only its e-mail and server are managed,
unless the answers say ``acme_solver: http01``.
"""

from __future__ import annotations

import base64
from typing import Any

from wizard import catalog, controllers, yamlio
from wizard.errors import UserError
from wizard.plan import StepPlan
from wizard.steps.adopt import component_folder, existing_doc, place
from wizard.steps.base import Context, Step, flux_kustomization, helm_release_check, list_in_folder
from wizard.steps.cert_manager import NAMESPACE as CM_NAMESPACE

FOLDER = "cluster-issuers"
INGRESS_CLASS = controllers.INGRESS_NGINX.ingress_class  # kept for callers; the class follows the controller


def _solver_kinds(issuer: Any) -> list[str]:
    solvers = (((issuer.get("spec") or {}).get("acme") or {}).get("solvers")) or []
    return [str(k) for s in solvers if isinstance(s, dict) for k in s if k in ("http01", "dns01")]


def _dns01_what(issuer: Any) -> str:
    for s in ((issuer.get("spec") or {}).get("acme") or {}).get("solvers") or []:
        dns = s.get("dns01") if isinstance(s, dict) else None
        if isinstance(dns, dict):
            hook = dns.get("webhook")
            if isinstance(hook, dict):
                return f"DNS-01 through the webhook {hook.get('groupName')}/{hook.get('solverName')}"
            return "DNS-01 through " + (", ".join(str(k) for k in dns) or "a DNS provider")
    return "DNS-01"


class ClusterIssuersStep(Step):
    name = "cluster-issuers"
    title = "Let's Encrypt issuers"
    summary = "letsencrypt-staging and letsencrypt-production ClusterIssuers, after cert-manager"
    needs = ("email",)
    kustomization = "cluster-issuers"
    flux_apis = ("kustomization", "helm_release")  # the health check names the HelmRelease API

    def plan(self, ctx: Context) -> StepPlan:
        self.require(ctx)
        sp = StepPlan(self.name, self.title)
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER))
        docs: list[Any] = []
        bundles = ctx.cat.get("acme_ca_bundle") or {}
        ingress_class = controllers.resolve(ctx.layout, ctx.answers).ingress_class
        for issuer, server in ctx.cat["acme"].items():
            d = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
            ci = d.docs[0]
            ci["metadata"]["name"] = issuer
            acme = ci["spec"]["acme"]
            acme["server"] = server
            if bundles.get(issuer):
                # an ACME server with a private CA (a test server, an internal ACME CA): cert-manager
                # verifies its TLS with this bundle instead of skipping verification
                acme.insert(1, "caBundle", ca_bundle(issuer, bundles[issuer]))
            acme["email"] = ctx.answers.email
            acme["privateKeySecretRef"]["name"] = issuer
            acme["solvers"][0]["http01"]["ingress"]["ingressClassName"] = ingress_class
            found = existing_doc(ctx, folder, "ClusterIssuer", issuer)
            if found is not None:
                self._adopt(ctx, sp, acme, issuer, *found, ingress_class=ingress_class)
            docs.extend(d.docs)
        rendered = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
        rendered.docs = docs
        files = place(ctx, sp, folder, "cluster-issuers.yaml", rendered)
        list_in_folder(ctx, sp, folder, files)
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
            path=folder,
        )
        return sp

    @staticmethod
    def _adopt(ctx: Context, sp: StepPlan, acme: Any, issuer: str, rel: str, old: Any, *, ingress_class: str) -> None:
        """Keep what the existing issuer chose: its DNS-01 solvers (unless acme_solver: http01) and the
        Secret holding its ACME account key (a new name would register a new account)."""
        old_acme = ((old.get("spec") or {}).get("acme")) or {}
        key_ref = (old_acme.get("privateKeySecretRef") or {}).get("name")
        if key_ref:
            yamlio.delete_key(acme, "privateKeySecretRef")
        kinds = _solver_kinds(old)
        if "dns01" in kinds:
            if ctx.answers.acme_solver != "http01":
                yamlio.delete_key(acme, "solvers")
                sp.notes.append(
                    f"ClusterIssuer {issuer} in {rel} solves {_dns01_what(old)}: its solvers are kept (only its "
                    "e-mail and server are managed). Set `acme_solver: http01` in the answers to switch it to "
                    f"HTTP-01 through the ingress class {ingress_class}."
                )
            else:
                sp.notes.append(
                    f"ClusterIssuer {issuer} in {rel}: {_dns01_what(old)} -> HTTP-01 through the ingress class {ingress_class} "
                    "(acme_solver: http01). The DNS-01 webhook and its Secret stay; remove them if nothing else uses "
                    "them."
                )
            return
        for s in old_acme.get("solvers") or []:
            ingress = ((s or {}).get("http01") or {}).get("ingress") if isinstance(s, dict) else None
            if isinstance(ingress, dict) and "class" in ingress:
                sp.notes.append(
                    f"ClusterIssuer {issuer} in {rel}: http01.ingress.class: {ingress['class']} -> "
                    f"ingressClassName: {ingress_class} (class is meant for ingress-gce; cert-manager 1.19 rejects "
                    "a solver that sets more than one of class/ingressClassName/name)."
                )
                break


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
