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
from wizard.steps.base import (
    Context,
    Step,
    flux_kustomization,
    helm_release_check,
    list_in_folder,
    read_for_edit,
)
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


def existing_roles(ctx: Context) -> dict[str, Any]:
    """role -> the ClusterIssuer this cluster already has for it (wizard.stacks.Issuer), by ACME server
    (after the Flux Kustomization's patches: the official example patches one issuer per cluster)."""
    from wizard import stacks

    out: dict[str, Any] = {}
    servers = dict(ctx.cat["acme"])
    for i in stacks.issuers(ctx.layout):
        role = i.role(servers)
        if role is None:
            continue
        # the wizard's own name wins when a role has two issuers; else the first found
        if role not in out or i.name == role:
            out[role] = i
    return out


def issuer_names(ctx: Context) -> dict[str, str]:
    """role -> the ClusterIssuer name the smoke test annotates: the cluster's own issuer of that role
    (whatever it is called), else the wizard's (the role's name)."""
    found = existing_roles(ctx)
    return {role: (found[role].name if role in found else role) for role in ctx.cat["acme"]}


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
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER, CM_NAMESPACE))
        ingress_class = controllers.ingress_class(ctx.layout, ctx.answers)
        found = {
            role: i
            for role, i in existing_roles(ctx).items()
            if not (i.path == folder or i.path.startswith(folder + "/"))  # the wizard's own are handled below
        }
        own: list[Any] = []
        for role, server in ctx.cat["acme"].items():
            if role in found:
                self._adopt_elsewhere(ctx, sp, found[role], ingress_class=ingress_class)
                continue
            doc = self._render(ctx, role, server, ingress_class)
            beside = next(iter(found.values()), None)
            if beside is not None and not ctx.layout.shared_with(beside.path):
                self._beside(ctx, sp, beside, doc, role, ingress_class)
                continue
            template = found and next(iter(found.values()))
            if template:
                _copy_solvers(doc, template, role, ingress_class)
            _refuse_gateway_only(ctx, doc, role)
            existing = existing_doc(ctx, folder, "ClusterIssuer", role)
            if existing is not None:
                self._adopt(ctx, sp, doc["spec"]["acme"], role, *existing, ingress_class=ingress_class)
            own.append(doc)
        if not own:
            return sp
        rendered = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
        rendered.docs = own
        files = place(ctx, sp, folder, "cluster-issuers.yaml", rendered)
        list_in_folder(ctx, sp, folder, files)
        # dependsOn gates on the cert-manager Kustomization (which itself waits for the
        # HelmRelease), and the health check keeps the ordering even if cert-manager is managed
        # elsewhere: no more "no matches for kind ClusterIssuer" on a fresh cluster.
        cm = _cert_manager(ctx)
        flux_kustomization(
            ctx,
            sp,
            self.kustomization,
            FOLDER,
            stem="cluster-issuers",
            depends_on=cm[0],
            health_checks=[helm_release_check(ctx, cm[1], cm[2])],
            path=folder,
            namespace=CM_NAMESPACE,
        )
        return sp

    @staticmethod
    def _render(ctx: Context, issuer: str, server: str, ingress_class: str) -> Any:
        d = catalog.load_asset("manifests/cluster-issuers/cluster-issuer.yaml")
        ci = d.docs[0]
        ci["metadata"]["name"] = issuer
        acme = ci["spec"]["acme"]
        acme["server"] = server
        bundles = ctx.cat.get("acme_ca_bundle") or {}
        if bundles.get(issuer):
            # an ACME server with a private CA (a test server, an internal ACME CA): cert-manager
            # verifies its TLS with this bundle instead of skipping verification
            acme.insert(1, "caBundle", ca_bundle(issuer, bundles[issuer]))
        acme["email"] = ctx.answers.email
        acme["privateKeySecretRef"]["name"] = issuer
        acme["solvers"][0]["http01"]["ingress"]["ingressClassName"] = ingress_class
        return ci

    def _adopt_elsewhere(self, ctx: Context, sp: StepPlan, issuer: Any, *, ingress_class: str) -> None:
        """The cluster's own issuer of this role, where it is declared: kept as it is (its server, solvers,
        account key and e-mail are the repository's choices); the file is still committed with the stage."""
        rel = issuer.path
        acme = (issuer.obj.doc.spec.get("acme") or {}) if isinstance(issuer.obj.doc.spec, dict) else {}
        if isinstance(acme, dict) and ctx.answers.email and acme.get("email") != ctx.answers.email:
            sp.notes.append(
                f"ClusterIssuer {issuer.name} in {rel} keeps its ACME e-mail ({acme.get('email') or 'none'}): it is "
                f"the repository's choice (Let's Encrypt no longer writes to it); the answers' {ctx.answers.email} "
                "is used for the issuers edge-wizard adds."
            )
        role = issuer.role(dict(ctx.cat["acme"])) or ""
        sp.notes.append(
            f"ClusterIssuer {issuer.name} in {rel} (Flux Kustomization {issuer.obj.applier.ks.name}) is this cluster's "
            f"{'staging' if 'staging' in role else 'production'} issuer: adopted where it is; its server, solvers "
            "and account key stay."
        )
        if rel not in sp.paths:
            sp.paths.append(rel)
        ctx.ws.touch(rel, sp.step)

    def _beside(self, ctx: Context, sp: StepPlan, beside: Any, doc: Any, role: str, ingress_class: str) -> None:
        """A missing role's issuer written beside the cluster's existing one (same file), solving the
        challenges the same way (its DNS-01 or Gateway solvers)."""
        _copy_solvers(doc, beside, role, ingress_class)
        _refuse_gateway_only(ctx, doc, role)
        rel = beside.path
        existing = read_for_edit(ctx, rel)
        if existing is None:
            return
        if yamlio.find_doc(existing.docs, "ClusterIssuer", role) is None:
            existing.docs.append(doc)
            ctx.ws.write_doc(rel, existing, sp.step)
        if rel not in sp.paths:
            sp.paths.append(rel)
        sp.notes.append(
            f"ClusterIssuer {role} is added beside {beside.name} in {rel}, solving challenges the way it does."
        )

    @staticmethod
    def _adopt(
        ctx: Context,
        sp: StepPlan,
        acme: Any,
        issuer: str,
        rel: str,
        old: Any,
        *,
        ingress_class: str,
    ) -> None:
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


def _copy_solvers(doc: Any, template: Any, role: str, ingress_class: str) -> None:
    """Solve the way the cluster's existing issuer does (DNS-01, Gateway API HTTP-01, an ingress class)."""
    solvers = ((template.obj.doc.spec.get("acme") or {}).get("solvers")) or []
    if not isinstance(solvers, list) or not solvers:
        return
    import copy

    copied = copy.deepcopy(solvers)
    for sv in copied:
        ing = ((sv or {}).get("http01") or {}).get("ingress") if isinstance(sv, dict) else None
        if isinstance(ing, dict):  # an ingress solver: through the edge's class, the current way
            ing.pop("class", None)
            ing["ingressClassName"] = ingress_class
    doc["spec"]["acme"]["solvers"] = copied


def _refuse_gateway_only(ctx: Context, doc: Any, role: str) -> None:
    """HTTP-01 through an Ingress on a cluster whose edge serves only Gateway API routes cannot work."""
    other = controllers.foreign(ctx.layout)
    if other is None or other.serves_ingress or controllers.installed(ctx.layout) is not None:
        return
    solvers = (doc["spec"]["acme"].get("solvers")) or []
    if any(isinstance(sv, dict) and "ingress" in (sv.get("http01") or {}) for sv in solvers):
        raise UserError(
            f"{other.describe()} serves this cluster's edge through Gateway API routes only, so a ClusterIssuer "
            f"{role} solving HTTP-01 through an Ingress could never answer its challenges. edge-wizard does not "
            "write Gateway API issuers yet: add the issuer yourself with an http01.gatewayHTTPRoute solver (or "
            "DNS-01), then run again (it is adopted), or leave this step out (run --skip cluster-issuers)."
        )


def _cert_manager(ctx: Context) -> tuple[tuple[str, ...], str, str]:
    """(dependsOn, release name, namespace) for the issuers' Kustomization: the wizard's cert-manager
    Kustomization, else the one applying the cluster's cert-manager HelmRelease."""
    from wizard import stacks

    rel = next(iter(stacks.releases(ctx.layout, ("cert-manager",))), None)
    if rel is None or "cert-manager" in ctx.declared or "cert-manager" in ctx.layout.kustomizations:
        return ("cert-manager",), "cert-manager", CM_NAMESPACE
    ks = rel.obj.applier.ks
    return (ks.name,), rel.name, rel.namespace or CM_NAMESPACE
