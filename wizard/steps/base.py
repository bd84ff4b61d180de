"""The Step protocol, the planning context and the helpers every step shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, ClassVar

from wizard import catalog, yamlio
from wizard.answers import Answers
from wizard.applied import kustomize_file
from wizard.errors import UserError
from wizard.index import FluxKustomization
from wizard.plan import StepPlan, Workspace
from wizard.repo import Layout, norm


@dataclass
class Context:
    layout: Layout
    answers: Answers
    ws: Workspace
    cat: catalog.Catalog = field(default_factory=catalog.catalog)
    # Flux Kustomizations the plan declares so far (name -> flux file, name -> its namespace), for dependsOn.
    declared: dict[str, str] = field(default_factory=dict)
    declared_ns: dict[str, str] = field(default_factory=dict)
    # --split-flux-files: move each step's Flux Kustomization out of a shared file into its own
    split_flux_files: bool = False

    def component(self, folder: str, namespace: str | None = None) -> str:
        """The folder of a new component, by the repository's convention (wizard.placement)."""
        if self.layout.placement is not None:
            return self.layout.placement.component(folder, namespace)
        return f"{self.layout.components_dir}/{folder}"

    def flux_file(self, stem: str, component: str | None = None) -> str:
        """The file declaring the Flux Kustomization of the component in ``component``."""
        if self.layout.placement is not None and component is not None:
            return self.layout.placement.flux_file(stem, component)
        return f"{self.layout.flux_dir}/{stem}.yaml"


class Step:
    """A plain class: ``plan(ctx)`` computes file changes into ``ctx.ws`` and touches no disk."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    kustomization: ClassVar[str | None] = None  # the Flux Kustomization this step owns
    # the catalog's api_versions keys of the Flux objects it writes (a too old Flux blocks the step)
    flux_apis: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def owned_kustomizations(cls) -> tuple[str, ...]:
        """Every Flux Kustomization this step may own (the ingress step: one per controller)."""
        return (cls.kustomization,) if cls.kustomization else ()

    def plan(self, ctx: Context) -> StepPlan:  # pragma: no cover - interface
        raise NotImplementedError

    # a step that can be removed again (``run STEP --remove``): its files go, Flux prunes its objects
    removable: ClassVar[bool] = False

    def remove(self, ctx: Context) -> StepPlan:
        raise UserError(f"The {self.name} step cannot be removed; only the smoke test can (run smoke-test --remove).")

    def require(self, ctx: Context) -> None:
        ctx.answers.require(self.needs, f"the {self.name} step")


# -- file helpers ---------------------------------------------------------------------------
FLUX_NS = "flux-system"


def existing_kustomization(ctx: Any, name: str, namespace: str = FLUX_NS) -> FluxKustomization | None:
    """The one declaration of the Flux Kustomization ``namespace/name`` in the cluster, or None.
    Declared twice: UserError naming both places (Flux would apply only one of them)."""
    layout: Layout = ctx.layout
    found = layout.declared(name, namespace)
    if len(found) > 1:
        where = " and ".join(f"{k.file} (document {k.doc.index + 1 if k.doc else '?'})" for k in found)
        raise UserError(
            f"The Flux Kustomization {namespace}/{name} is declared {len(found)} times: in {where}. Flux applies "
            "only one of them, so edge-wizard cannot tell which one you mean (the guide's duplicated "
            "cluster-issuers Kustomization). Delete the document you do not want, the `---` block from "
            f"`kind: Kustomization` to the next `---`, not the file's entry in {layout.flux_kustomization_file} "
            "(that would also drop the other objects of that file), then run again."
        )
    if not found:
        return None
    k = found[0]
    if not layout.local(k):
        ref = k.source_ref
        src = f"{ref.kind} {ref.name}" if ref else "no sourceRef"
        raise UserError(
            f"The Flux Kustomization {FLUX_NS}/{name} in {k.file} applies ./{k.path} of {src}, not of this "
            f"repository (GitRepository {layout.git_repository}), so edge-wizard cannot manage its files here. "
            "Leave this step out (edge-wizard run STEP ... with the other steps), or point the Kustomization at "
            "this repository, then run again."
        )
    return k


def lists_resources(ctx: Any, folder: str) -> bool:
    """Whether new files of ``folder`` must be listed in its kustomization.yaml: it has one (or will),
    or the folder is new. An existing folder WITHOUT one is applied whole by Flux: creating one would
    drop every file it did not list, so none is created."""
    if ctx.ws.exists(f"{folder}/kustomization.yaml") or kustomize_file(ctx.layout.index, folder):
        return True
    root = ctx.layout.root / folder
    return not root.is_dir() or not ctx.layout.index.yaml_files(folder)


def _key(doc: Any) -> tuple[str, str]:
    return (str(doc.get("kind")), str((doc.get("metadata") or {}).get("name")))


def read_for_edit(ctx: Context, rel: str, what: str = "edge-wizard manages this file") -> yamlio.YamlDoc | None:
    """``rel`` parsed round-trip with its comments attached to the keys they precede (so an edit
    leaves them there); None when it does not exist."""
    try:
        doc = ctx.ws.read_doc(rel)
    except ValueError as exc:
        raise UserError(f"{exc}. {what}; fix it or delete it to have it re-created.") from None
    if doc is not None:
        ctx.ws.prepare_edit(doc)
    return doc


def _api_note(rel: str, old: Any, new: Any) -> str | None:
    was, now = str(old.get("apiVersion") or ""), str(new.get("apiVersion") or "")
    if not was or was == now:
        return None
    kind, name = _key(new)
    return f"{kind} {name} in {rel}: apiVersion {was} -> {now} (the GA API; the beta one is removed in Flux 2.7/2.8)."


# A migration: called with each existing document before the step's managed keys are merged into
# it (so it can remove keys the new values replace), with the file and the step's plan for notes.
Migrate = Callable[[Any, str, StepPlan], None]


def write_docs(
    ctx: Context,
    step: StepPlan,
    rel: str,
    rendered: yamlio.YamlDoc,
    *,
    own: bool = True,
    migrate: Migrate | None = None,
) -> None:
    """Create ``rel`` from ``rendered``, or merge our managed keys into the existing file."""
    doc = read_for_edit(ctx, rel)
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
            note = _api_note(rel, match, new)
            if note:
                step.notes.append(note)
            if migrate is not None:
                migrate(match, rel, step)
            yamlio.merge_managed(match, new)
    if yamlio.to_plain(doc.docs) != before:
        ctx.ws.write_doc(rel, doc, step.step)
    else:
        ctx.ws.touch(rel, step.step)


def list_in_folder(ctx: Context, step: StepPlan, folder: str, files: list[str]) -> None:
    """List ``files`` (relative to ``folder``) in the folder's kustomization.yaml, creating it for a
    new folder; an existing folder without one is applied whole by Flux and gets none."""
    if not lists_resources(ctx, folder):
        return
    for f in dict.fromkeys(files):
        ensure_listed(ctx, step, f"{folder}/kustomization.yaml", f)


def ensure_listed(ctx: Context, step: StepPlan, kfile: str, entry: str) -> None:
    """Make sure a kustomize ``kustomization.yaml`` lists ``entry`` under resources."""
    existing = read_for_edit(ctx, kfile, f"edge-wizard adds {entry} to it")
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


def require_flux_serves(ctx: Context, what: str, needs: list[tuple[str, str]]) -> None:
    """Block the step (UserError) when the repository's pinned Flux does not serve ``needs``."""
    from wizard.fluxapi import too_old

    problem = too_old(ctx.layout.flux_version, ctx.layout.flux_dir, needs, what)
    if problem:
        raise UserError(problem)


def helm_docs(ctx: Context, chart_key: str, asset: str, step: str = "") -> yamlio.YamlDoc:
    """The HelmRepository + HelmRelease asset of a chart, with API versions, URL and version
    from the catalog (so tests can point charts at a local chart server)."""
    chart = ctx.cat["charts"][chart_key]
    api = ctx.cat["api_versions"]
    require_flux_serves(
        ctx,
        f"the {step} step" if step else f"the step that installs {chart_key}",
        [(api["helm_repository"], "HelmRepository"), (api["helm_release"], "HelmRelease")],
    )
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
    path: str | None = None,
    namespace: str | None = None,
) -> None:
    """Write the Flux Kustomization for a component folder (``path``, repo-relative; default the
    components folder's ``folder``) where the repository declares it (adopted in place, whatever file
    holds it), else where its convention puts it (wizard.placement: ``<stem>.yaml`` in the Flux folder,
    or ``ks.yaml`` beside an app folder), and list its file where the convention lists it."""
    layout = ctx.layout
    component = path or ctx.component(folder, namespace)
    own = ctx.flux_file(stem, component)
    placement = layout.placement
    app = placement is not None and placement.app_folders and own.endswith("/" + placement.ks_name)
    ks_ns = (namespace or folder) if app else FLUX_NS
    existing = existing_kustomization(ctx, name, ks_ns)
    rel = existing.file if existing is not None else own
    doc = catalog.load_asset("manifests/common/flux-kustomization.yaml")
    k = doc.docs[0]
    k["apiVersion"] = ctx.cat["api_versions"]["kustomization"]
    require_flux_serves(ctx, f"the {step.step} step", [(k["apiVersion"], "Kustomization")])
    for hc in health_checks or []:
        require_flux_serves(ctx, f"the {step.step} step (its health check)", [(hc["apiVersion"], hc["kind"])])
    k["metadata"]["name"] = name
    k["spec"]["path"] = f"./{component}"
    k["spec"]["sourceRef"]["name"] = layout.git_repository
    if depends_on:
        k["spec"]["dependsOn"] = [_dependency(ctx, d, ks_ns) for d in depends_on]
    if health_checks:
        k["spec"]["healthChecks"] = health_checks
    if decryption:
        k["spec"]["decryption"] = {"provider": "sops", "secretRef": {"name": layout.require_sops_secret()}}
    if app:
        _app_shape(k, ks_ns)
    if existing is not None and rel != own:
        rel = _where_declared(ctx, step, existing, name, own, k, doc)
    elif existing is None and placement is not None and not ctx.declared:  # said once, by the first new one
        step.notes.append(
            f"Flux Kustomization {name} goes to {own}, by this repository's convention ({placement.describe()})."
        )
    write_docs(ctx, step, rel, doc)
    if app:
        _list_app(ctx, step, rel, ks_ns)
    else:
        if lists_resources(ctx, layout.flux_dir):  # a folder without one is applied whole (Flux generates it)
            ensure_listed(ctx, step, layout.flux_kustomization_file, PurePosixPath(rel).name)
    ctx.declared[name] = rel
    ctx.declared_ns[name] = ks_ns


def _dependency(ctx: Context, name: str, ks_ns: str) -> dict[str, str]:
    """A dependsOn entry, with the namespace when the dependency lives in another one (app folders)."""
    ns = ctx.declared_ns.get(name)
    if ns is None:
        found = ctx.layout.kustomizations.get(name)
        ns = found.namespace if found is not None else FLUX_NS
    return {"name": name} if ns == ks_ns else {"name": name, "namespace": ns}


def _app_shape(k: Any, namespace: str) -> None:
    """An app folder's Kustomization: its namespace from the namespace folder's kustomization.yaml, the
    source named with its namespace, the objects into the app's namespace (cluster-template's ks.yaml)."""
    yamlio.delete_key(k["metadata"], "namespace")
    k["spec"]["sourceRef"]["namespace"] = FLUX_NS
    k["spec"]["targetNamespace"] = namespace


def _where_declared(ctx: Context, step: StepPlan, existing: Any, name: str, own: str, k: Any, doc: Any) -> str:
    """The file to manage an existing Kustomization in: where it is, or its own (--split-flux-files)."""
    rel: str = existing.file
    others = [d for d in ctx.layout.index.docs(rel) if (d.kind, d.name) != ("Kustomization", name)]
    if ctx.split_flux_files and others:
        moved = _move_out(ctx, step, rel, name)
        yamlio.merge_managed(moved, k)
        doc.docs = [moved]
        step.notes.append(
            f"Flux Kustomization {name} moves from {existing.file} to its own file {own} (--split-flux-files); "
            f"{existing.file} keeps its other {len(others)} object(s)."
        )
        return own
    how = "" if others else " (it holds nothing else, so it is already one file for this step)"
    step.notes.append(
        f"Flux Kustomization {name} is managed where it is declared, in {existing.file}{how}"
        + (f"; `--split-flux-files` moves it to its own file {own}." if others else ".")
    )
    return rel


def _list_app(ctx: Context, step: StepPlan, ks_file: str, namespace: str) -> None:
    """List ``./<app>/ks.yaml`` in its namespace folder's kustomization.yaml; a new namespace folder gets
    one shaped like a sibling's (its namespace and components)."""
    app_dir = PurePosixPath(ks_file).parent
    ns_dir = app_dir.parent.as_posix()
    kfile = f"{ns_dir}/kustomization.yaml"
    if not ctx.ws.exists(kfile):
        doc = catalog.load_asset("manifests/common/kustomization.yaml")
        k = doc.docs[0]
        k.insert(len(k) - 1 if "resources" in k else len(k), "namespace", namespace)
        components = _sibling_components(ctx, ns_dir)
        if components:
            k.insert(len(k) - 1 if "resources" in k else len(k), "components", components)
        ctx.ws.write_doc(kfile, doc, step.step)
        if kfile not in step.paths:
            step.paths.append(kfile)
    ensure_listed(ctx, step, kfile, f"./{app_dir.name}/{PurePosixPath(ks_file).name}")


def _sibling_components(ctx: Context, ns_dir: str) -> list[str]:
    """The kustomize components a sibling namespace folder uses (cluster-template's ../../components/sops)."""
    placement = ctx.layout.placement
    sibling = placement.sibling if placement is not None else None
    if sibling is None:
        return []
    sib_ns = PurePosixPath(sibling.file).parent.parent.as_posix()
    for d in ctx.layout.index.docs(f"{sib_ns}/kustomization.yaml"):
        comps = d.data.get("components")
        if isinstance(comps, list) and PurePosixPath(sib_ns).parent == PurePosixPath(ns_dir).parent:
            return [str(c) for c in comps]
    return []


def _move_out(ctx: Context, step: StepPlan, rel: str, name: str) -> Any:
    """Remove the document of Kustomization ``name`` from ``rel`` and return it (with the keys the
    step does not manage, and its comments); the other documents of ``rel`` stay as they are."""
    doc = read_for_edit(ctx, rel)
    assert doc is not None
    index = next(i for i, d in enumerate(doc.docs) if isinstance(d, dict) and _key(d) == ("Kustomization", name))
    moved = doc.docs.pop(index)
    ctx.ws.write_doc(rel, doc, step.step)
    return moved


def drop_flux_kustomization(ctx: Context, rel: str, name: str, step: str) -> None:
    """Remove the Flux Kustomization ``name`` from ``rel``: the document, or the whole file (and its
    entry in the Flux folder's kustomization.yaml) when it holds nothing else. Flux prunes it then."""
    doc = ctx.ws.read_doc(rel)
    if doc is None:
        return
    keep = [d for d in doc.docs if not (isinstance(d, dict) and _key(d) == ("Kustomization", name))]
    if keep:
        doc.docs = keep
        ctx.ws.write_doc(rel, doc, step)
        return
    ctx.ws.delete(rel, step)
    kfile = ctx.layout.flux_kustomization_file
    k = ctx.ws.read_doc(kfile)
    entry = PurePosixPath(rel).name
    if k is not None and k.docs and isinstance(k.docs[0], dict):
        resources = k.docs[0].get("resources") or []
        for i, r in reversed(list(enumerate(resources))):
            if norm(str(r)) == norm(entry):
                del resources[i]
        ctx.ws.write_doc(kfile, k, step)


def helm_release_check(ctx: Context, name: str, namespace: str) -> dict[str, str]:
    return {
        "apiVersion": ctx.cat["api_versions"]["helm_release"],
        "kind": "HelmRelease",
        "name": name,
        "namespace": namespace,
    }
