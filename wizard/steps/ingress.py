"""ingress: the ingress controller (wizard.controllers) as a DaemonSet on the node's own ports 80/443.

Traefik by default; ingress-nginx for a repository that has it (until the user switches). Switching
(``ingress_controller: traefik`` on an ingress-nginx repository) writes Traefik with its
kubernetesIngressNGINX provider, so the ``nginx``-class Ingresses keep serving, and removes the
ingress-nginx files: Flux prunes their objects.
"""

from __future__ import annotations

from typing import Any

from wizard import catalog, controllers, yamlio
from wizard.controllers import INGRESS_NGINX, Controller
from wizard.errors import UserError
from wizard.plan import StepPlan
from wizard.repo import norm
from wizard.steps.base import (
    Context,
    Step,
    ensure_listed,
    flux_kustomization,
    helm_docs,
    helm_release_check,
    write_docs,
)

FOLDER = INGRESS_NGINX.folder  # kept for callers of the old constant
NGINX_CLASS_ASSET = "manifests/ingress/nginx-ingressclass.yaml"
NGINX_HOST_PORTS = (
    "With hostNetwork the controller also listens on 8443 (admission webhook), 10254 (health, metrics) and 8181 "
    "(default backend) on every node it runs on; the host firewall rule opens only 80/443, and only on the nodes "
    "its policy selects."
)


class IngressStep(Step):
    name = "ingress"
    title = "Ingress controller"
    summary = "Traefik (or ingress-nginx, kept where it is) as a DaemonSet on ports 80/443, privileged namespace"
    kustomization = "ingress-nginx"  # the ingress-nginx path; Traefik's is controllers.TRAEFIK.kustomization

    @classmethod
    def owned_kustomizations(cls) -> tuple[str, ...]:
        return tuple(c.kustomization for c in controllers.CONTROLLERS)

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        ctrl = controllers.resolve(ctx.layout, ctx.answers)
        old = controllers.switching_from(ctx.layout, ctx.answers)
        if ctrl.warning:
            sp.warnings.append(" ".join(ctx.cat["warnings"][ctrl.warning].split()))
        if ctrl is INGRESS_NGINX:
            sp.warnings.append(NGINX_HOST_PORTS)
        folder = ctx.component(ctrl.folder)
        ns = catalog.load_asset("manifests/ingress/namespace.yaml")
        ns.docs[0]["metadata"]["name"] = ctrl.namespace
        write_docs(ctx, sp, f"{folder}/namespace.yaml", ns)
        release = helm_docs(ctx, ctrl.chart, ctrl.asset)
        files = ["namespace.yaml", f"{ctrl.folder}.yaml"]
        if ctrl is controllers.TRAEFIK:
            self._traefik_values(ctx, sp, yamlio.require_doc(release.docs, "HelmRelease"), old)
        write_docs(ctx, sp, f"{folder}/{ctrl.folder}.yaml", release)
        if old is not None:
            write_docs(ctx, sp, f"{folder}/nginx-ingressclass.yaml", catalog.load_asset(NGINX_CLASS_ASSET))
            files.append("nginx-ingressclass.yaml")
        for f in files:
            ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", f)
        # the health check: smoke-test's dependsOn then waits for the controller (and, for ingress-nginx, its
        # admission webhook, which rejects an Ingress while it is not up)
        checks = [helm_release_check(ctx, ctrl.release, ctrl.namespace)]
        flux_kustomization(ctx, sp, ctrl.kustomization, ctrl.folder, stem=ctrl.flux_stem, health_checks=checks)
        if old is not None:
            self._remove(ctx, sp, old)
        return sp

    # -- Traefik -----------------------------------------------------------------------------
    def _traefik_values(self, ctx: Context, sp: StepPlan, rel: Any, old: Controller | None) -> None:
        values = rel["spec"]["values"]
        address = ctx.answers.ingress_address
        ingress = values["providers"]["kubernetesIngress"]
        if address:
            key = "hostname" if any(c.isalpha() for c in address) and ":" not in address else "ip"
            ingress["ingressEndpoint"] = {key: address}
        else:
            sp.warnings.append(
                "No ingress_address is set, so Traefik leaves each Ingress's status empty and external-dns "
                "publishes no record for it (the smoke test's name would not resolve). Set ingress_address to "
                "your node's public IP (or a DNS name resolving to all nodes) in the answers file and run "
                "`edge-wizard run ingress` again."
            )
        if old is not None:
            nginx: dict[str, Any] = {"enabled": True}
            if address:
                nginx["publishStatusAddress"] = address
            values["providers"]["kubernetesIngressNGINX"] = nginx

    # -- the switch ----------------------------------------------------------------------------
    def _remove(self, ctx: Context, sp: StepPlan, old: Controller) -> None:
        """Remove the wizard-shaped ingress-nginx: its Flux Kustomization (file and listing) and its
        component folder. Anything else installing ingress-nginx is the user's to remove first."""
        layout = ctx.layout
        folder = ctx.component(old.folder)
        own = {f"{folder}/{f}" for f in ("namespace.yaml", "ingress-nginx.yaml", "kustomization.yaml")}
        elsewhere = sorted({d.path for d in controllers.releases(layout, old.chart) if d.path not in own})
        ks = layout.kustomizations.get(old.kustomization)
        flux_rel = ctx.flux_file(old.flux_stem)
        if elsewhere or (ks is not None and ks.file != flux_rel):
            where = ", ".join(elsewhere + ([ks.file] if ks is not None and ks.file != flux_rel else []))
            raise UserError(
                f"ingress_controller is traefik, but ingress-nginx is also installed from {where}, which edge-wizard "
                "did not write, so it cannot remove it safely; both would fight over the nodes' ports 80/443. "
                "Remove that ingress-nginx HelmRelease (or its Flux Kustomization) yourself, or set "
                "ingress_controller: ingress-nginx to keep it, then run `edge-wizard run ingress` again."
            )
        others = [
            rel
            for rel in layout.index.yaml_files(folder)
            if rel not in own and not rel.startswith(ctx.component(controllers.TRAEFIK.folder) + "/")
        ]
        if others:
            raise UserError(
                f"{folder} holds files edge-wizard did not write ({', '.join(sorted(others))}). Switching to Traefik "
                f"removes that folder's ingress-nginx; move those files elsewhere first, then run `edge-wizard run "
                "ingress` again."
            )
        for rel in sorted(own):
            if ctx.ws.exists(rel):
                ctx.ws.delete(rel, self.name)
        if ctx.ws.exists(flux_rel):
            self._drop_kustomization(ctx, flux_rel, old.kustomization)
        sp.warnings.append(switch_note(layout))

    def _drop_kustomization(self, ctx: Context, rel: str, name: str) -> None:
        doc = ctx.ws.read_doc(rel)
        if doc is None:
            return
        keep = [d for d in doc.docs if not (isinstance(d, dict) and (d.get("metadata") or {}).get("name") == name)]
        if keep:
            doc.docs = keep
            ctx.ws.write_doc(rel, doc, self.name)
            return
        ctx.ws.delete(rel, self.name)
        kfile = ctx.layout.flux_kustomization_file
        k = ctx.ws.read_doc(kfile)
        entry = rel.rsplit("/", 1)[-1]
        if k is not None and k.docs and isinstance(k.docs[0], dict):
            resources = k.docs[0].get("resources") or []
            for i, r in reversed(list(enumerate(resources))):
                if norm(str(r)) == norm(entry):
                    del resources[i]
            ctx.ws.write_doc(kfile, k, self.name)


def switch_note(layout: Any) -> str:
    """What switching from ingress-nginx to Traefik does, in order, and what it does not carry over."""
    text = (
        "Switching from ingress-nginx to Traefik: on its next sync Flux applies the traefik Kustomization and "
        "prunes the ingress-nginx one, which uninstalls ingress-nginx. Both listen on each node's ports 80/443 in "
        "the host network, so a node's Traefik pod can start only once that node's ingress-nginx pod is gone: "
        "expect a short gap (seconds to a minute) on 80/443. Traefik's kubernetesIngressNGINX provider serves the "
        "Ingresses of class nginx, and the IngressClass nginx is re-created by the traefik Kustomization (at once "
        "with `flux reconcile kustomization traefik` after the uninstall). The ClusterIssuers and the smoke test "
        "keep class nginx (served by that provider) until `edge-wizard run cluster-issuers smoke-test` moves them "
        "to class traefik."
    )
    bad = controllers.unsupported_in_repo(layout)
    if bad:
        listed = "; ".join(f"{name} in {path}: {', '.join(anns)}" for path, name, anns in bad)
        text += f" These Ingresses use nginx annotations Traefik does not support, which stop having effect: {listed}."
    return text
