"""The cluster's model: every Flux Kustomization reached from the entry, through its real source,
with the repository files it applies."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wizard.applied import applied_files
from wizard.fluxrepo.entries import Entry, _mapping
from wizard.fluxrepo.sources import FLUX_NS, GENERATOR_KIND, SOURCE_KINDS, Ignore, Source
from wizard.index import FluxKustomization, RepoIndex, is_flux_kustomization, norm


@dataclass(frozen=True)
class Applier:
    """A Flux Kustomization of the cluster and the repository files it applies."""

    ks: FluxKustomization
    source: Source | None  # None: its source is not known (declared nowhere the cluster applies)
    folder: str | None  # the repository folder of spec.path (None: not this repository's)
    files: dict[str, str | None] = field(default_factory=dict)  # file -> kustomize namespace
    parent: tuple[str, str] | None = None  # (namespace, name) of the Kustomization that applies its declaration

    @property
    def key(self) -> tuple[str, str]:
        return (self.ks.namespace, self.ks.name)

    def namespace_of(self, doc_namespace: str | None, rel: str) -> str | None:
        """Where a namespaced object of ``rel`` lands: targetNamespace, else its own, else kustomize's."""
        if self.ks.target_namespace:
            return self.ks.target_namespace
        return doc_namespace or self.files.get(rel)


@dataclass(frozen=True)
class Obj:
    """A document as this cluster applies it: its file, the Kustomization applying it, its namespace."""

    doc: Any  # wizard.index.Doc
    applier: Applier
    namespace: str | None

    @property
    def kind(self) -> str:
        return str(self.doc.kind)

    @property
    def name(self) -> str:
        return str(self.doc.name)

    @property
    def path(self) -> str:
        return str(self.doc.path)

    def describe(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name} in {self.path} (Flux Kustomization {self.applier.ks.name})"


@dataclass
class ClusterModel:
    entry: Entry
    appliers: list[Applier]
    sources: dict[tuple[str, str, str], Source]
    files: dict[str, list[Applier]]  # repository file -> the Kustomizations applying it
    problems: list[str] = field(default_factory=list)  # what could not be followed, one sentence each
    duplicates: list[FluxKustomization] = field(default_factory=list)  # a second declaration of a name
    ignore: Ignore | None = None

    @property
    def name(self) -> str:
        return self.entry.cluster

    @property
    def root(self) -> Applier:
        return self.appliers[0]

    def kustomization(self, name: str, namespace: str | None = None) -> list[Applier]:
        return [a for a in self.appliers if a.ks.name == name and (namespace is None or a.ks.namespace == namespace)]

    def applies(self, rel: str) -> bool:
        return rel in self.files

    def syncs(self, rel: str) -> bool:
        """Whether the repository's source puts ``rel`` into the artifact Flux reads."""
        return self.ignore is None or not self.ignore.excludes(norm(rel))

    def objects(self, idx: RepoIndex, kinds: Iterable[str], *, containing: str = "") -> Iterator[Obj]:
        """The documents of ``kinds`` this cluster applies, each with the Kustomization applying it."""
        wanted = frozenset(kinds)
        for doc in idx.find(wanted, files=list(self.files), containing=containing):
            for a in self.files[doc.path]:
                yield Obj(doc, a, a.namespace_of(doc.namespace or None, doc.path))

    def children(self, applier: Applier) -> list[Applier]:
        return [a for a in self.appliers if a.parent == applier.key]


def build(idx: RepoIndex, entry: Entry) -> ClusterModel:
    """Follow the cluster from its root Kustomization through every Flux Kustomization it applies."""
    root = os.fspath(idx.root)
    ignore = Ignore(root, entry.source.ignore) if entry.source.repo else None
    sources: dict[tuple[str, str, str], Source] = {entry.source.key: entry.source}
    model = ClusterModel(entry=entry, appliers=[], sources=sources, files={}, ignore=ignore)
    queue: list[tuple[FluxKustomization, tuple[str, str] | None]] = [(entry.kustomization, None)]
    deferred: list[tuple[FluxKustomization, tuple[str, str] | None]] = []
    seen: set[tuple[str, str]] = set()
    while queue or deferred:
        if not queue:
            queue, deferred = deferred, []
            retry = True
        else:
            retry = False
        ks, parent = queue.pop(0)
        if (ks.namespace, ks.name) in seen:
            if ks not in model.duplicates and not any(a.ks == ks for a in model.appliers):
                model.duplicates.append(ks)  # Flux applies only one of them: the steps name both places
            continue
        source = _source_of(ks, sources)
        if source is None and not retry:
            deferred.append((ks, parent))
            continue
        seen.add((ks.namespace, ks.name))
        applier = _applier(idx, model, ks, source, parent)
        model.appliers.append(applier)
        for rel in applier.files:
            model.files.setdefault(rel, []).append(applier)
            for doc in idx.find({*SOURCE_KINDS, GENERATOR_KIND, "Kustomization"}, files=[rel]):
                ns = applier.namespace_of(doc.namespace or None, rel) or FLUX_NS
                _learn(doc, ns, entry, sources, queue, applier)
    return model


def _source_of(ks: FluxKustomization, sources: dict[tuple[str, str, str], Source]) -> Source | None:
    ref = ks.source_ref
    if ref is None:
        return None
    return sources.get((ref.kind, ref.namespace or ks.namespace, ref.name))


def _applier(
    idx: RepoIndex, model: ClusterModel, ks: FluxKustomization, source: Source | None, parent: tuple[str, str] | None
) -> Applier:
    if source is None:
        ref = ks.source_ref
        what = f"{ref.kind} {ref.namespace or ks.namespace}/{ref.name}" if ref else "no sourceRef"
        model.problems.append(
            f"The Flux Kustomization {ks.namespace}/{ks.name} in {ks.file} reads {what}, which nothing this "
            "cluster applies declares; its files are not followed."
        )
        return Applier(ks, None, None, {}, parent)
    folder = source.repo_path(ks.path)
    if folder is None:
        return Applier(ks, source, None, {}, parent)
    files = applied_files(idx, folder)
    if model.ignore is not None and source.kind in ("GitRepository", "ExternalArtifact"):
        files = {f: n for f, n in files.items() if not model.ignore.excludes(f)}
    return Applier(ks, source, folder, files, parent)


def _learn(
    doc: Any,
    namespace: str,
    entry: Entry,
    sources: dict[tuple[str, str, str], Source],
    queue: list[tuple[FluxKustomization, tuple[str, str] | None]],
    applier: Applier,
) -> None:
    """Record a source, an ArtifactGenerator's artifacts or a Flux Kustomization found in an applied file."""
    kind = doc.kind
    if kind == "Kustomization":
        if is_flux_kustomization(doc):
            ks = FluxKustomization.from_doc(doc)
            if not doc.namespace:
                from dataclasses import replace

                ks = replace(ks, namespace=namespace)
            queue.append((ks, applier.key))
        return
    if kind == GENERATOR_KIND:
        for s in _artifacts(doc, namespace, sources):
            sources.setdefault(s.key, s)
        return
    if kind not in SOURCE_KINDS or not doc.group.startswith("source.toolkit.fluxcd.io"):
        return
    spec = doc.spec
    url = str(spec.get("url") or "") or None
    own = kind == "GitRepository" and (
        (url is not None and entry.source.url is not None and _same_url(url, entry.source.url))
        or (doc.name, namespace) == (entry.source.name, entry.source.namespace)
    )
    ref = _mapping(spec.get("ref"))
    s = Source(
        kind,
        doc.name,
        namespace,
        repo=own,
        url=url,
        branch=str(ref["branch"]) if ref.get("branch") else None,
        ignore=str(spec["ignore"]) if isinstance(spec.get("ignore"), str) else None,
        file=doc.path,
    )
    sources.setdefault(s.key, s)


def _same_url(a: str, b: str) -> bool:
    def key(u: str) -> str:
        u = u.strip().lower().removesuffix("/").removesuffix(".git")
        for prefix in ("ssh://git@", "https://", "http://", "git@"):
            u = u.removeprefix(prefix)
        return u.replace(":", "/")

    return key(a) == key(b)


def _artifacts(doc: Any, namespace: str, sources: dict[tuple[str, str, str], Source]) -> list[Source]:
    """The ExternalArtifacts an ArtifactGenerator produces, with the repository folders each copies."""
    spec = doc.spec
    aliases: dict[str, Source | None] = {}
    for s in spec.get("sources") or []:
        if not isinstance(s, dict) or not s.get("alias"):
            continue
        key = (str(s.get("kind") or ""), str(s.get("namespace") or namespace), str(s.get("name") or ""))
        aliases[str(s["alias"])] = sources.get(key)
    out: list[Source] = []
    for art in spec.get("artifacts") or []:
        if not isinstance(art, dict) or not art.get("name"):
            continue
        copies: list[tuple[str, str]] = []
        repo = True
        for c in art.get("copy") or []:
            if not isinstance(c, dict):
                continue
            frm, to = str(c.get("from") or ""), str(c.get("to") or "")
            alias, _, frm_path = frm.lstrip("@").partition("/")
            src = aliases.get(alias)
            if src is None or not src.repo or not to.startswith("@artifact"):
                repo = False
                continue
            if not (frm_path.endswith("/**") or frm_path.endswith("/*") or frm_path in ("**", "*", "")):
                continue  # a single file or a pattern: not a folder the wizard can write into
            f = norm(frm_path.removesuffix("**").removesuffix("*"))
            t = norm(to.removeprefix("@artifact").lstrip("/"))
            copies.append((t, f))
        out.append(
            Source(
                "ExternalArtifact",
                str(art["name"]),
                namespace,
                repo=repo and bool(copies),
                file=doc.path,
                copies=tuple(copies),
            )
        )
    return out
