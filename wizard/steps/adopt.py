"""Adopt what is already there: a step manages its objects where the repository declares them.

An object is identified by kind, namespace and name. Where the Flux folder already declares the
step's Flux Kustomization (in any file, among other objects: the guide's one ``ingress.yaml``
holds four), the step edits that document in that file; the folder the Kustomization applies is
the step's component folder; an object already declared in one of that folder's files is edited
there. Only objects found nowhere go to the step's own files. Nothing here ever removes an object
another step or the user declared, and no advice here says to.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from wizard import yamlio
from wizard.applied import applied_files
from wizard.errors import UserError
from wizard.plan import StepPlan
from wizard.steps.base import existing_kustomization, lists_resources


def _ident(doc: Any) -> tuple[str, str, str | None]:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    ns = meta.get("namespace")
    return str(doc.get("kind")), str(meta.get("name")), str(ns) if ns else None


def _same(a: tuple[str, str, str | None], b: tuple[str, str, str | None]) -> bool:
    """Same kind and name, and the same namespace where both say one (kustomize or the Flux
    Kustomization's targetNamespace may set it for a document that names none)."""
    return a[0] == b[0] and a[1] == b[1] and (a[2] is None or b[2] is None or a[2] == b[2])


def component_folder(ctx: Any, kustomization: str, default: str) -> str:
    """The folder the step's objects live in: the one its existing Flux Kustomization applies (when
    that is a folder of this repository other than the Flux folder), else ``default``."""
    k = existing_kustomization(ctx, kustomization)
    if k is None or not k.path or k.path == ctx.layout.flux_dir:
        return default
    from wizard.repo import checked_path

    try:
        checked_path(ctx.layout.root, k.path, folder=True)
    except UserError:
        return default  # a symlinked or escaping path: the step writes its own folder (and says so)
    return str(k.path)


def declared_in(ctx: Any, folder: str, doc: Any) -> str | None:
    """The file of ``folder`` that already declares the object ``doc`` (kind, namespace, name), or
    None. Declared twice there: UserError (kustomize build fails on it)."""
    idx = ctx.layout.index
    ident = _ident(doc)
    files = applied_files(idx, folder) if (ctx.layout.root / folder).is_dir() else {}
    hits: list[str] = []
    for rel, kns in files.items():
        for d in idx.docs(rel):
            kind, name, ns = _ident(d.data)
            if _same((kind, name, ns or kns), ident):
                hits.append(rel)
    if len(hits) > 1:
        raise UserError(
            f"{ident[0]} {ident[1]} is declared {len(hits)} times in {folder} ({', '.join(hits)}); kustomize build "
            'fails on that ("may not add resource with an already registered id"). Delete one of the '
            "documents, then run again."
        )
    return hits[0] if hits else None


def place(
    ctx: Any, sp: StepPlan, folder: str, default_name: str, rendered: yamlio.YamlDoc, migrate: Any = None
) -> list[str]:
    """Write each document of ``rendered`` where the folder declares it, the others into
    ``folder/default_name`` (``migrate``: see :data:`wizard.steps.base.Migrate`). Returns the files
    written to, relative to ``folder``, in order."""
    from wizard.steps.base import write_docs

    default = f"{folder}/{default_name}"
    targets: dict[str, list[Any]] = {}
    for new in rendered.docs:
        other = declared_elsewhere(ctx, folder, new)
        if other is not None:  # never a second declaration of an object the cluster already has
            sp.notes.append(f"{other.describe()} is already there: edge-wizard does not declare it a second time.")
            continue
        found = declared_in(ctx, folder, new)
        targets.setdefault(found or default, []).append(new)
        if found and found != default:
            kind, name, _ = _ident(new)
            sp.notes.append(f"{kind} {name} is managed where it is declared, in {found}.")
    out: list[str] = []
    for rel, docs in targets.items():
        part = yamlio.YamlDoc(
            docs=docs, preamble=rendered.preamble, explicit_start=rendered.explicit_start, indent=rendered.indent
        )
        write_docs(ctx, sp, rel, part, migrate=migrate)
        entry = folder_entry(folder, rel)
        if entry is not None:
            out.append(entry)
    return out


def declared_elsewhere(ctx: Any, folder: str, doc: Any) -> Any | None:
    """The cluster's declaration of the object ``doc`` (kind, namespace, name) in a file outside ``folder``
    (wizard.fluxrepo.Obj), or None. Only objects of kinds a step writes beside its release are looked at."""
    model = ctx.layout.model
    kind, name, ns = _ident(doc)
    if model is None or kind not in _SHARED_KINDS:
        return None
    for o in model.objects(ctx.layout.index, {kind}, containing=name):
        if o.path == folder or o.path.startswith(folder + "/"):
            continue
        if o.name == name and (kind == "Namespace" or ns is None or o.namespace in (None, ns)):
            return o
    return None


# kinds more than one component may need (a Namespace an app already declares); a release or a
# Flux object of the same name elsewhere is found by what it is (found_release) instead
_SHARED_KINDS = frozenset({"Namespace"})


def folder_entry(folder: str, rel: str) -> str | None:
    """``rel`` as an entry of ``folder``'s kustomization.yaml; None for a file outside the folder (a
    declaration reached through ``../``: listed already, where it is)."""
    try:
        return PurePosixPath(rel).relative_to(folder).as_posix()
    except ValueError:
        return None


def existing_doc(ctx: Any, folder: str, kind: str, name: str, namespace: str | None = None) -> tuple[str, Any] | None:
    """(file, plain document) of the object as the repository declares it now (on disk), or None."""
    probe = {"kind": kind, "metadata": {"name": name, **({"namespace": namespace} if namespace else {})}}
    rel = declared_in(ctx, folder, probe)
    if rel is None:
        return None
    for d in ctx.layout.index.docs(rel):
        if _same(_ident(d.data), _ident(probe)):
            return rel, d.data
    return None


__all__ = [
    "component_folder",
    "declared_in",
    "existing_doc",
    "existing_kustomization",
    "folder_entry",
    "lists_resources",
    "place",
]


# -- components found by what they are ------------------------------------------------------------------
def found_release(
    ctx: Any,
    step: str,
    charts: tuple[str, ...],
    own_folder: str,
    kustomization: str | None = None,
    own_file: str | None = None,
) -> Any | None:
    """The one HelmRelease of ``charts`` this cluster applies that is not edge-wizard's own, or None when
    there is none (the step writes, or keeps managing, its own). Its own: in ``own_folder`` when the step's
    Flux Kustomization (``kustomization``, default the step's name) applies it from the Flux folder, or in
    the file edge-wizard names it (``own_file``); a release anywhere else, or in the same folder but in a
    file of the user's (cluster-template's kubernetes/apps/cert-manager/cert-manager/app/helmrelease.yaml),
    is theirs. Two of them, or one beside the step's own: UserError naming each."""
    from wizard import stacks

    found = stacks.releases(ctx.layout, charts)
    owned = existing_kustomization(ctx, kustomization or step) is not None

    def is_mine(r: Any) -> bool:
        inside = r.path == own_folder or r.path.startswith(own_folder + "/")
        return inside and (owned or (own_file is not None and r.path == f"{own_folder}/{own_file}"))

    mine = [r for r in found if is_mine(r)]
    others = [r for r in found if r not in mine]
    if not others:
        return None
    if mine or len(others) > 1:
        listed = "; ".join(r.obj.describe() for r in [*mine, *others])
        raise UserError(
            f"This cluster installs {charts[0]} more than once ({listed}). Both would fight over the same "
            f"cluster-wide objects, so the {step} step writes nothing. Keep one of them (delete the other "
            "HelmRelease's document, or the Flux Kustomization that applies it), then run again."
        )
    return others[0]


def set_dotted(mapping: Any, dotted: str, value: Any) -> tuple[Any, Any]:
    """Set ``a.b.c`` in a round-trip mapping (creating mappings on the way); (old, new) as plain values."""
    keys = dotted.split(".")
    cur = mapping
    for k in keys[:-1]:
        nxt = cur.get(k) if isinstance(cur, dict) else None
        if not isinstance(nxt, dict):
            nxt = yamlio.CommentedMap()
            cur[k] = nxt
        cur = nxt
    old = yamlio.to_plain(cur.get(keys[-1])) if keys[-1] in cur else _UNSET
    if old != value:
        cur[keys[-1]] = value
    return old, value


_UNSET = object()


def adopt_release(
    ctx: Any,
    sp: StepPlan,
    release: Any,
    values: dict[str, Any],
    *,
    why: str,
    migrate: Any = None,
    attention: bool = True,
) -> list[tuple[str, str, str]]:
    """Manage only ``values`` (dotted keys under spec.values) of a HelmRelease the repository declares
    where it declares it; everything else of it is the user's. Changes to it need their own
    confirmation when ``attention`` (other apps depend on what it runs). Returns the changes."""
    from wizard.steps.base import read_for_edit

    rel = release.path
    if not _needs_edit(release, values, migrate) and not ctx.ws.changed(rel):
        # nothing to change (a re-run, the step table): no round-trip parse of the user's file
        if rel not in sp.paths:
            sp.paths.append(rel)
        ctx.ws.touch(rel, sp.step)
        _adopted_note(ctx, sp, release, values, why)
        return []
    doc = read_for_edit(ctx, rel)
    target = (
        None
        if doc is None
        else next(
            (d for d in doc.docs if isinstance(d, dict) and _ident(d)[:2] == ("HelmRelease", release.name)),
            None,
        )
    )
    if doc is None or target is None:
        raise UserError(f"{release.describe()} could not be read back for editing. Fix the file and run again.")
    before = yamlio.to_plain(doc.docs)
    if migrate is not None:
        migrate(target, rel, sp)
    spec = target.get("spec")
    if not isinstance(spec, dict):
        raise UserError(f"{release.describe()} has no spec mapping. Fix the file and run again.")
    if not isinstance(spec.get("values"), dict):
        spec["values"] = yamlio.CommentedMap()
    changes: list[tuple[str, str, str]] = []
    for key, value in values.items():
        old, new = set_dotted(spec["values"], key, value)
        if old != new:
            was = "(not set)" if old is _UNSET else repr(old) if isinstance(old, str) else str(old)
            changes.append((f"values.{key}", was, repr(new) if isinstance(new, str) else str(new)))
    if rel not in sp.paths:
        sp.paths.append(rel)
    if yamlio.to_plain(doc.docs) != before:
        ctx.ws.write_doc(rel, doc, sp.step)
    else:
        ctx.ws.touch(rel, sp.step)
    shared = ctx.layout.shared_with(rel)
    if shared and changes:
        sp.warnings.append(
            f"{rel} is also applied for the cluster{'s' if len(shared) > 1 else ''} {', '.join(shared)}: the changes to "
            f"{release.name} below apply there too (they hold nothing particular to this cluster)."
        )
    _adopted_note(ctx, sp, release, values, why)
    if changes and attention:
        sp.attention_heading = sp.attention_heading or (
            f"Changes to {release.describe()}, which this cluster already runs for other apps"
        )
        sp.attention.extend(f"{release.name} {path}: {was} -> {now}" for path, was, now in changes)
    return changes


def _needs_edit(release: Any, values: dict[str, Any], migrate: Any) -> bool:
    """Whether adopting ``release`` changes anything: a managed value differs, or its migration applies."""
    current = release.values
    for key, value in values.items():
        cur: Any = current
        for k in key.split("."):
            cur = cur.get(k, _UNSET) if isinstance(cur, dict) else _UNSET
        if cur != value:
            return True
    wanted = getattr(migrate, "wanted", None)
    return migrate is not None and (wanted is None or bool(wanted(current)))


def _adopted_note(ctx: Any, sp: StepPlan, release: Any, values: dict[str, Any], why: str) -> None:
    kust = release.obj.applier.ks
    managed = (
        f"only {', '.join(values)} {'is' if len(values) == 1 else 'are'} managed"
        if values
        else "nothing of it needs to change"
    )
    sp.notes.append(
        f"{release.describe()} is adopted where it is (applied by the Flux Kustomization {kust.namespace}/{kust.name}): "
        f"{managed}; {why}"
    )
