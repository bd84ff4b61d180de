"""smoke-test: podinfo behind the ingress, with a certificate and a DNS record."""

from __future__ import annotations

from typing import Any

from wizard import catalog, controllers, yamlio
from wizard.errors import UserError
from wizard.plan import StepPlan
from wizard.steps.adopt import component_folder, existing_kustomization
from wizard.steps.base import (
    Context,
    Step,
    drop_flux_kustomization,
    ensure_listed,
    flux_kustomization,
    helm_docs,
    write_docs,
)
from wizard.steps.cluster_issuers import issuer_names

NAMESPACE = "podinfo"
FOLDER = "smoke-test"
FILES = ("namespace.yaml", "podinfo.yaml", "kustomization.yaml")  # what the step writes in its folder


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
        _refuse_gateway_only(ctx)
        host = ctx.answers.resolved_host
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER, NAMESPACE))
        namespace = smoke_namespace(ctx.layout, folder)
        if namespace != NAMESPACE and not ctx.ws.exists(f"{folder}/namespace.yaml"):
            folder = ctx.component(FOLDER, namespace)  # app folders: the app lives in its namespace's folder
        docs = helm_docs(ctx, "podinfo", "manifests/smoke-test/podinfo.yaml")
        for d in docs.docs:
            d["metadata"]["namespace"] = namespace
        release = yamlio.require_doc(docs.docs, "HelmRelease")
        release["spec"]["chart"]["spec"]["sourceRef"]["namespace"] = namespace
        ing = release["spec"]["values"]["ingress"]
        ctrl = controllers.resolve(ctx.layout, ctx.answers)
        ing["className"] = controllers.ingress_class(ctx.layout, ctx.answers)
        issuer = issuer_names(ctx).get(ctx.answers.smoke_test_issuer, ctx.answers.smoke_test_issuer)
        ing["annotations"]["cert-manager.io/cluster-issuer"] = issuer
        if namespace != NAMESPACE:
            sp.notes.append(
                f"The smoke test runs in the namespace {namespace}: {NAMESPACE} is already used by an app of this "
                "cluster, and removing the smoke test must never touch it."
            )
        annotation = ctx.cat["external_dns_hostname_annotation"]
        for key in [k for k in ing["annotations"] if "external-dns" in k and k != annotation]:
            del ing["annotations"][key]
        ing["annotations"][annotation] = host
        ing["hosts"][0]["host"] = host
        ing["tls"][0]["hosts"][0] = host
        ns_doc = catalog.load_asset("manifests/smoke-test/namespace.yaml")
        ns_doc.docs[0]["metadata"]["name"] = namespace
        write_docs(ctx, sp, f"{folder}/namespace.yaml", ns_doc)
        write_docs(ctx, sp, f"{folder}/podinfo.yaml", docs)
        for f in ("namespace.yaml", "podinfo.yaml"):
            ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", f)
        deps = tuple(
            d
            for d in dict.fromkeys((ctrl.kustomization, *_applying(ctx)))
            if d in ctx.declared or (d in ctx.layout.kustomizations and not _removed(ctx, d))
        )
        flux_kustomization(
            ctx, sp, self.kustomization, FOLDER, stem="smoke-test", depends_on=deps, path=folder, namespace=namespace
        )
        return sp

    # -- run smoke-test --remove ---------------------------------------------------------------------
    removable = True

    def remove(self, ctx: Context) -> StepPlan:
        """Delete the smoke test's folder and its Flux Kustomization (Flux prunes podinfo, its Ingress, its
        certificate and its namespace). Refuses when that would prune objects edge-wizard did not write."""
        sp = StepPlan(self.name, "Remove the smoke test")
        name = self.kustomization
        assert name is not None
        ks = existing_kustomization(ctx, name)
        folder = ctx.component(FOLDER)
        if ks is not None and ks.path and ks.path != folder:
            raise UserError(
                f"The Flux Kustomization {name} in {ks.file} applies ./{ks.path}, not the folder edge-wizard writes "
                f"({folder}), so removing it would prune objects edge-wizard did not write. Remove that Kustomization "
                "yourself (delete its document and commit), or point it at ./" + folder + " first."
            )
        others = sorted(rel for rel in ctx.layout.index.yaml_files(folder) if rel.rsplit("/", 1)[-1] not in FILES)
        if others:
            raise UserError(
                f"{folder} also holds {', '.join(others)}, which edge-wizard did not write; removing the smoke test "
                "makes Flux prune everything that folder applies. Move those files to another folder first, then run "
                "`edge-wizard run smoke-test --remove` again."
            )
        waiting = sorted(k.name for k in ctx.layout.kustomizations.values() if name in k.depends_on)
        if waiting:
            raise UserError(
                f"The Flux Kustomization{'s' if len(waiting) > 1 else ''} {', '.join(waiting)} depend{'' if len(waiting) > 1 else 's'} "
                f"on {name} (dependsOn), so {'they' if len(waiting) > 1 else 'it'} would wait for it forever once it is "
                "gone. Remove that dependsOn entry first, then run `edge-wizard run smoke-test --remove` again."
            )
        for f in FILES:
            rel = f"{folder}/{f}"
            if ctx.ws.exists(rel):
                ctx.ws.delete(rel, self.name)
                sp.paths.append(rel)
        if ks is not None:
            drop_flux_kustomization(ctx, ks.file, name, self.name)
        return sp


def smoke_namespace(layout: Any, folder: str) -> str:
    """The smoke test's namespace: the one its folder already declares, else ``podinfo`` unless an app of
    the cluster uses that namespace (the official example's podinfo), then ``edge-smoke-test``."""
    idx = layout.index
    for d in idx.docs(f"{folder}/namespace.yaml"):
        if d.kind == "Namespace" and d.name:
            return str(d.name)
    model = layout.model
    if model is None:
        return NAMESPACE
    for o in model.objects(idx, _NAMESPACED_KINDS | {"Namespace"}, containing=NAMESPACE):
        if o.path.startswith(folder + "/"):
            continue
        if (o.kind == "Namespace" and o.name == NAMESPACE) or (o.kind != "Namespace" and o.namespace == NAMESPACE):
            return OWN_NAMESPACE
    return NAMESPACE


OWN_NAMESPACE = "edge-smoke-test"
_NAMESPACED_KINDS = frozenset({"HelmRelease", "HelmRepository", "OCIRepository", "Deployment", "Service", "Ingress"})


def _applying(ctx: Context) -> tuple[str, ...]:
    """The Flux Kustomizations the smoke test waits for: the issuers' (the wizard's, else the one applying
    the cluster's issuers) and the controller's when it is the wizard's."""
    from wizard import stacks

    out = ["cluster-issuers"]
    for i in stacks.issuers(ctx.layout):
        if i.obj.applier.ks.namespace == "flux-system":
            out.append(i.obj.applier.ks.name)
    return tuple(dict.fromkeys(out))


def _refuse_gateway_only(ctx: Context) -> None:
    other = controllers.foreign(ctx.layout)
    if other is None or other.serves_ingress or controllers.installed(ctx.layout) is not None:
        return
    raise UserError(
        f"{other.describe()} serves this cluster's edge through Gateway API routes only, so the smoke test's "
        "Ingress would never be served. edge-wizard does not write the smoke test as an HTTPRoute yet; leave this "
        "step out (run --skip smoke-test)."
    )
