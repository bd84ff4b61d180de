"""ingress: the ingress controller (wizard.controllers) as a DaemonSet on the node's own ports 80/443.

Traefik by default; ingress-nginx for a repository that has it (until the user switches). Switching
(``ingress_controller: traefik`` on an ingress-nginx repository) writes Traefik with its
kubernetesIngressNGINX provider, so the ``nginx``-class Ingresses keep serving, and removes the
ingress-nginx files: Flux prunes their objects.

Adopted where it is: an existing controller HelmRelease keeps its other values. When that controller
already serves Ingresses of other apps, the changes to its release are listed under their own
heading and need their own confirmation (``StepPlan.attention``).
"""

from __future__ import annotations

from typing import Any

from wizard import catalog, controllers, yamlio
from wizard.answers import STATE_FILE
from wizard.controllers import INGRESS_NGINX, Controller
from wizard.errors import UserError
from wizard.plan import StepPlan
from wizard.steps.adopt import adopt_release, component_folder, existing_doc, found_release, place
from wizard.steps.base import (
    Context,
    Step,
    drop_flux_kustomization,
    flux_kustomization,
    helm_docs,
    helm_release_check,
    list_in_folder,
)

FOLDER = INGRESS_NGINX.folder  # kept for callers of the old constant
NGINX_CLASS_ASSET = "manifests/ingress/nginx-ingressclass.yaml"
SMOKE_TEST_NAMESPACE = "podinfo"  # the wizard's own smoke test is not "another app"
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
        if _foreign_in_place(ctx, sp):
            return sp
        ctrl = controllers.resolve(ctx.layout, ctx.answers)
        old = controllers.switching_from(ctx.layout, ctx.answers)
        folder = component_folder(ctx, ctrl.kustomization, ctx.component(ctrl.folder, ctrl.namespace))
        found = (
            found_release(ctx, self.name, (ctrl.chart,), folder, ctrl.kustomization, f"{ctrl.folder}.yaml")
            if old is None
            else None
        )
        if found is not None:
            self._adopt(ctx, sp, ctrl, found)
            return sp
        if ctrl.warning:
            sp.warnings.append(" ".join(ctx.cat["warnings"][ctrl.warning].split()))
        if ctrl is INGRESS_NGINX:
            sp.warnings.append(NGINX_HOST_PORTS)
        ns = catalog.load_asset("manifests/ingress/namespace.yaml")
        ns.docs[0]["metadata"]["name"] = ctrl.namespace
        release = helm_docs(ctx, ctrl.chart, ctrl.asset, self.name)
        if ctrl is controllers.TRAEFIK:
            self._traefik_values(ctx, sp, yamlio.require_doc(release.docs, "HelmRelease"), old)
        before = existing_doc(ctx, folder, "HelmRelease", ctrl.release, ctrl.namespace)
        files = place(ctx, sp, folder, "namespace.yaml", ns)
        files += place(ctx, sp, folder, f"{ctrl.folder}.yaml", release)
        if old is not None:
            files += place(ctx, sp, folder, "nginx-ingressclass.yaml", catalog.load_asset(NGINX_CLASS_ASSET))
        list_in_folder(ctx, sp, folder, list(dict.fromkeys(files)))
        # the health check: smoke-test's dependsOn then waits for the controller (and, for ingress-nginx, its
        # admission webhook, which rejects an Ingress while it is not up)
        checks = [helm_release_check(ctx, ctrl.release, ctrl.namespace)]
        flux_kustomization(
            ctx,
            sp,
            ctrl.kustomization,
            ctrl.folder,
            stem=ctrl.flux_stem,
            health_checks=checks,
            path=folder,
            namespace=ctrl.namespace,
        )
        if before is not None:
            _controller_attention(ctx, sp, ctrl, before)
        if old is not None:
            self._remove(ctx, sp, old)
        return sp

    # -- a controller installed elsewhere -------------------------------------------------------
    def _adopt(self, ctx: Context, sp: StepPlan, ctrl: Controller, found: Any) -> None:
        """The controller's HelmRelease where the repository declares it (another Flux Kustomization
        applies it): only the values that put it on the nodes' 80/443 are managed, and its namespace
        gets the privileged PodSecurity label; changes need their own confirmation."""
        if ctrl.warning:
            sp.warnings.append(" ".join(ctx.cat["warnings"][ctrl.warning].split()))
        if ctrl is INGRESS_NGINX:
            sp.warnings.append(NGINX_HOST_PORTS)
        release = yamlio.require_doc(helm_docs(ctx, ctrl.chart, ctrl.asset, self.name).docs, "HelmRelease")
        if ctrl is controllers.TRAEFIK:
            self._traefik_values(ctx, sp, release, None)
        values = dict(flatten(yamlio.to_plain(release["spec"]["values"])))
        adopt_release(
            ctx,
            sp,
            found,
            values,
            why="it must run on each node's ports 80/443 in the host network for the edge; its other values stay.",
        )
        if sp.attention:
            sp.attention_heading = (
                f"Changes to {found.describe()}: they roll its controller pods on every node and apply to every "
                "Ingress it serves"
            )
        _label_namespace(ctx, sp, found.namespace or ctrl.namespace)

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
            drop_flux_kustomization(ctx, flux_rel, old.kustomization, self.name)
        sp.warnings.append(switch_note(layout))


def _controller_attention(ctx: Context, sp: StepPlan, ctrl: Controller, before: tuple[str, Any]) -> None:
    """List the changes to an existing controller that other apps' Ingresses use (their own heading)."""
    rel, old = before
    apps = other_apps(ctx, ctrl)
    if not apps:
        return
    doc = ctx.ws.read_doc(rel)
    new = yamlio.find_doc(doc.docs, "HelmRelease", ctrl.release) if doc is not None else None
    if new is None:
        return
    changes = [
        c
        for c in changed_paths(yamlio.to_plain(old.get("spec") or {}), yamlio.to_plain(new.get("spec") or {}))
        if c[0].startswith("values.") or c[0] == "chart.spec.version"  # what the controller runs with
    ]
    if not changes:
        return
    shown = ", ".join(apps[:3]) + (f" and {len(apps) - 3} more" if len(apps) > 3 else "")
    sp.attention_heading = (
        f"Changes to {ctrl.release}, which already serves other apps ({shown}): they roll its controller pods on "
        "every node and apply to those apps' Ingresses too"
    )
    sp.attention.extend(f"{ctrl.release} {path}: {was} -> {now}" for path, was, now in changes)


def other_apps(ctx: Context, ctrl: Controller = INGRESS_NGINX) -> list[str]:
    """Ingresses in the repository that this controller serves and that are not the wizard's smoke test:
    Ingress objects of its class (or of no class: the controller is the default one) and charts with
    ``ingress.enabled`` and that class."""
    out: list[str] = []
    for d in ctx.layout.index.find({"Ingress", "HelmRelease"}):
        if d.namespace == SMOKE_TEST_NAMESPACE:
            continue
        if d.kind == "Ingress" and d.group == "networking.k8s.io":
            cls = d.spec.get("ingressClassName") or (d.metadata.get("annotations") or {}).get(
                "kubernetes.io/ingress.class"
            )
            if cls in (None, ctrl.ingress_class):
                out.append(f"Ingress {d.namespace or 'default'}/{d.name} in {d.path}")
        elif d.kind == "HelmRelease" and d.name != ctrl.release:
            values = d.spec.get("values")
            ing = values.get("ingress") if isinstance(values, dict) else None
            if (
                isinstance(ing, dict)
                and ing.get("enabled")
                and ing.get("className", ctrl.ingress_class) == ctrl.ingress_class
            ):
                out.append(f"HelmRelease {d.namespace or 'default'}/{d.name} (ingress.enabled) in {d.path}")
    return out


def _short(value: Any) -> str:
    if value is _MISSING:
        return "(not set)"
    text = repr(value) if isinstance(value, str) else str(value).replace("'", "")
    return text if len(text) <= 60 else text[:59] + "…"


_MISSING = object()


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, old, new) of every leaf that differs between two plain mappings."""
    out: list[tuple[str, str, str]] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(dict.fromkeys([*old, *new])):
            path = f"{prefix}.{key}" if prefix else str(key)
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if isinstance(a, dict) and isinstance(b, dict):
                out += changed_paths(a, b, path)
            elif a != b:
                out.append((path, _short(a), _short(b)))
    elif old != new:
        out.append((prefix, _short(old), _short(new)))
    return out


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


def _foreign_in_place(ctx: Context, sp: StepPlan) -> bool:
    """Another edge stack (one edge-wizard does not write) already serves the cluster: nothing else goes
    on 80/443. True when the step has nothing to write (in place); UserError when the answers ask for
    a controller beside it."""
    other = controllers.foreign(ctx.layout)
    if other is None or controllers.installed(ctx.layout) is not None:
        return False
    if ctx.answers.ingress_controller:
        chosen = controllers.get(ctx.answers.ingress_controller)
        raise UserError(
            f"ingress_controller is {chosen.name}, but {other.describe()} already serves this cluster's edge. "
            f"{chosen.title} on the nodes' ports 80/443 beside it would not start (or would take them from it), so "
            "the ingress step writes nothing. Leave ingress_controller out of the answers (and the state file "
            f"{STATE_FILE}) to keep {other.stack.title}, or remove {other.stack.title} first."
        )
    how = (
        f"IngressClass {other.ingress_class}"
        if other.serves_ingress
        else "Gateway API routes only (GatewayClass " + ", ".join(other.gateway_classes or ("?",)) + ")"
    )
    sp.in_place = (
        f"{other.describe()} serves this cluster's edge ({how}): nothing else goes on the nodes' ports 80/443, "
        "and the issuers and the smoke test use it."
    )
    sp.notes.append(sp.in_place)
    return True


def _label_namespace(ctx: Context, sp: StepPlan, namespace: str) -> None:
    """The privileged PodSecurity label on the controller's Namespace where the cluster declares it."""
    model = ctx.layout.model
    objs = [o for o in model.objects(ctx.layout.index, {"Namespace"}) if o.name == namespace] if model else []
    if not objs:
        sp.warnings.append(
            f"The Namespace {namespace} is not declared in the repository, so edge-wizard cannot give it the label "
            "pod-security.kubernetes.io/enforce: privileged that a controller in the host network needs under "
            f"PodSecurity baseline (Talos' default). Add it: kubectl label namespace {namespace} "
            "pod-security.kubernetes.io/enforce=privileged, or declare the Namespace in the repository."
        )
        return
    from wizard.steps.base import read_for_edit

    rel = objs[0].path
    doc = read_for_edit(ctx, rel)
    ns_doc = next(
        (
            d
            for d in (doc.docs if doc else [])
            if isinstance(d, dict)
            and d.get("kind") == "Namespace"
            and (d.get("metadata") or {}).get("name") == namespace
        ),
        None,
    )
    if doc is None or ns_doc is None:
        return
    before = yamlio.to_plain(doc.docs)
    meta = ns_doc.setdefault("metadata", yamlio.CommentedMap())
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        labels = meta["labels"] = yamlio.CommentedMap()
    labels["pod-security.kubernetes.io/enforce"] = "privileged"
    if yamlio.to_plain(doc.docs) != before:
        ctx.ws.write_doc(rel, doc, sp.step)
        if rel not in sp.paths:
            sp.paths.append(rel)


def flatten(values: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, leaf) of a plain mapping; lists and scalars are leaves."""
    out: list[tuple[str, Any]] = []
    if isinstance(values, dict) and values:
        for k, v in values.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif prefix:
        out.append((prefix, values))
    return out
