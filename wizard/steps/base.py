"""The Step protocol, the planning context and the helpers every step shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from wizard import catalog, yamlio
from wizard.answers import Answers
from wizard.errors import UserError
from wizard.plan import StepPlan, Workspace
from wizard.repo import Layout, norm


@dataclass
class Context:
    layout: Layout
    answers: Answers
    ws: Workspace
    cat: catalog.Catalog = field(default_factory=catalog.catalog)
    # Flux Kustomizations the plan declares so far (name -> flux file), to resolve dependsOn.
    declared: dict[str, str] = field(default_factory=dict)

    def component(self, folder: str) -> str:
        return f"{self.layout.components_dir}/{folder}"

    def flux_file(self, stem: str) -> str:
        return f"{self.layout.flux_dir}/{stem}.yaml"


class Step:
    """A plain class: ``plan(ctx)`` computes file changes into ``ctx.ws`` and touches no disk."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    kustomization: ClassVar[str | None] = None  # the Flux Kustomization this step owns

    @classmethod
    def owned_kustomizations(cls) -> tuple[str, ...]:
        """Every Flux Kustomization this step may own (the ingress step: one per controller)."""
        return (cls.kustomization,) if cls.kustomization else ()

    def plan(self, ctx: Context) -> StepPlan:  # pragma: no cover - interface
        raise NotImplementedError

    def require(self, ctx: Context) -> None:
        ctx.answers.require(self.needs, f"the {self.name} step")


# -- file helpers ---------------------------------------------------------------------------


def _key(doc: Any) -> tuple[str, str]:
    return (str(doc.get("kind")), str((doc.get("metadata") or {}).get("name")))


def write_docs(ctx: Context, step: StepPlan, rel: str, rendered: yamlio.YamlDoc, *, own: bool = True) -> None:
    """Create ``rel`` from ``rendered``, or merge our managed keys into the existing file."""
    try:
        doc = ctx.ws.read_doc(rel)
    except ValueError as exc:
        raise UserError(f"{exc}. edge-wizard manages this file; fix it or delete it to have it re-created.") from None
    if own and rel not in step.paths:
        step.paths.append(rel)
    if doc is None:
        ctx.ws.write_doc(rel, rendered, step.step)
        return
    before = yamlio.to_plain(doc.docs)
    for new in rendered.docs:
        match = next((d for d in doc.docs if isinstance(d, dict) and _key(d) == _key(new)), None)
        if match is None:
            doc.docs.append(new)
        else:
            yamlio.merge_managed(match, new)
    if yamlio.to_plain(doc.docs) != before:
        ctx.ws.write_doc(rel, doc, step.step)
    else:
        ctx.ws.touch(rel, step.step)


def ensure_listed(ctx: Context, step: StepPlan, kfile: str, entry: str) -> None:
    """Make sure a kustomize ``kustomization.yaml`` lists ``entry`` under resources."""
    try:
        existing = ctx.ws.read_doc(kfile)
    except ValueError as exc:
        raise UserError(f"{exc}. Fix the file so edge-wizard can add {entry} to it.") from None
    if existing is None:
        doc = catalog.load_asset("manifests/common/kustomization.yaml")
        if kfile not in step.paths:
            step.paths.append(kfile)
    else:
        doc = existing
    if not doc.docs or not isinstance(doc.docs[0], dict):
        raise UserError(f"{kfile} is not a kustomize Kustomization (no mapping at the top). Fix it and run again.")
    k = doc.docs[0]
    resources = k.get("resources")
    if resources is None:
        resources = yamlio.CommentedSeq()
        k["resources"] = resources
    if any(norm(str(r)) == norm(entry) for r in resources):
        if existing is None:
            ctx.ws.write_doc(kfile, doc, step.step)
        else:
            ctx.ws.touch(kfile, step.step)
        return
    resources.append(entry)
    # kustomize lists written in flow style ("resources: []") become block style once filled.
    if hasattr(resources, "fa"):
        resources.fa.set_block_style()
    ctx.ws.write_doc(kfile, doc, step.step)


def helm_docs(ctx: Context, chart_key: str, asset: str) -> yamlio.YamlDoc:
    """The HelmRepository + HelmRelease asset of a chart, with API versions, URL and version
    from the catalog (so tests can point charts at a local chart server)."""
    chart = ctx.cat["charts"][chart_key]
    api = ctx.cat["api_versions"]
    doc = catalog.load_asset(asset)
    repo = yamlio.require_doc(doc.docs, "HelmRepository")
    rel = yamlio.require_doc(doc.docs, "HelmRelease")
    repo["apiVersion"] = api["helm_repository"]
    repo["spec"]["url"] = chart["repository"]
    rel["apiVersion"] = api["helm_release"]
    spec = rel["spec"]["chart"]["spec"]
    spec["chart"] = chart["chart"]
    spec["version"] = chart["version"]
    return doc


def flux_kustomization(
    ctx: Context,
    step: StepPlan,
    name: str,
    folder: str,
    *,
    stem: str,
    depends_on: tuple[str, ...] = (),
    health_checks: list[dict[str, str]] | None = None,
    decryption: bool = False,
) -> None:
    """Write the Flux Kustomization for a component folder and list its file in the Flux folder."""
    layout = ctx.layout
    rel = ctx.flux_file(stem)
    existing = layout.kustomizations.get(name)
    if existing and existing.file != rel:
        raise UserError(
            f"A Flux Kustomization named {name!r} is already declared in {existing.file}. edge-wizard "
            f"writes its own in {rel}, and two objects with one name make Flux apply only one of them "
            f"(the guide's duplicate-Kustomization mistake). Remove the old declaration (and its entry in "
            f"{layout.flux_kustomization_file}) or move it into {rel}, then run again."
        )
    doc = catalog.load_asset("manifests/common/flux-kustomization.yaml")
    k = doc.docs[0]
    k["apiVersion"] = ctx.cat["api_versions"]["kustomization"]
    k["metadata"]["name"] = name
    k["spec"]["path"] = f"./{ctx.component(folder)}"
    k["spec"]["sourceRef"]["name"] = layout.git_repository
    if depends_on:
        k["spec"]["dependsOn"] = [{"name": d} for d in depends_on]
    if health_checks:
        k["spec"]["healthChecks"] = health_checks
    if decryption:
        k["spec"]["decryption"] = {"provider": "sops", "secretRef": {"name": layout.require_sops_secret()}}
    write_docs(ctx, step, rel, doc)
    ensure_listed(ctx, step, layout.flux_kustomization_file, f"{stem}.yaml")
    ctx.declared[name] = rel


def helm_release_check(ctx: Context, name: str, namespace: str) -> dict[str, str]:
    return {
        "apiVersion": ctx.cat["api_versions"]["helm_release"],
        "kind": "HelmRelease",
        "name": name,
        "namespace": namespace,
    }
