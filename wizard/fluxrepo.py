"""What Flux applies for one cluster of a repository: the repository model every scan reads.

A cluster is found from its roots, the way Flux itself starts:

- ``flux bootstrap``: a ``gotk-sync.yaml`` (its GitRepository and the root Kustomization's path); a
  placeholder file (the official example's "generated automatically by flux bootstrap") stands for
  what bootstrap writes: GitRepository and Kustomization ``flux-system`` applying the folder above it;
- the Flux Operator: a ``FluxInstance`` (or a HelmRelease of the ``flux-instance`` chart) whose
  ``spec.sync`` names the source and the entry path; the operator names both objects after the
  instance's namespace (``flux-system``), like bootstrap.

From the root Kustomization the model follows every Flux Kustomization the applied files declare,
through their sources: the repository's GitRepository (what it syncs: ``spec.ignore``, Flux's
default exclusions and ``.sourceignore`` files), other GitRepositories of the same URL, and
ExternalArtifacts of an ArtifactGenerator (Flux 2.7) copying folders of the repository. A folder
with no ``kustomization.yaml`` is applied as Flux generates one (every manifest below; a subfolder
with its own kustomization.yaml as one unit). Files no Flux Kustomization of the cluster applies (an
``.archive/`` folder, another cluster's folder, a path the source ignores) are not the cluster's.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from wizard.applied import applied_files
from wizard.index import FluxKustomization, RepoIndex, SourceRef, is_flux_kustomization, norm

FLUX_NS = "flux-system"
BOOTSTRAP_SYNC = "gotk-sync.yaml"
OPERATOR_KIND = "FluxInstance"
OPERATOR_CHART = "flux-instance"
GENERATOR_KIND = "ArtifactGenerator"
SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")
# source-controller's default exclusions (pkg/sourceignore): VCS files, binaries, CI configs, tool files
DEFAULT_IGNORE = (
    ".git/",
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
)
SOURCEIGNORE = ".sourceignore"


# -- sources -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """A Flux source a Kustomization of the cluster reads, and how its paths map to this repository."""

    kind: str
    name: str
    namespace: str
    repo: bool  # its artifact holds files of THIS repository
    url: str | None = None
    branch: str | None = None
    ignore: str | None = None  # spec.ignore as written (None: not set)
    file: str = ""  # the file declaring it ("" for one Flux itself creates: bootstrap's placeholder, the operator)
    # an ExternalArtifact: (artifact prefix, repository prefix) for each folder an ArtifactGenerator copies
    copies: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def repo_path(self, path: str) -> str | None:
        """The repository folder of the artifact path ``path`` (None: not a folder of this repository)."""
        if not self.repo:
            return None
        p = norm(path)
        if self.kind != "ExternalArtifact":
            return p
        best: tuple[int, str] | None = None
        for to, frm in self.copies:
            if to == "" or p == to or p.startswith(to + "/"):
                rest = p[len(to) :].lstrip("/") if to else p
                cand = norm(f"{frm}/{rest}") if frm and rest else (frm or rest)
                if best is None or len(to) > best[0]:
                    best = (len(to), cand)
        return None if best is None else best[1]

    def artifact_path(self, rel: str) -> str | None:
        """The inverse of :meth:`repo_path`: where the repository folder ``rel`` is in the artifact."""
        if not self.repo:
            return None
        p = norm(rel)
        if self.kind != "ExternalArtifact":
            return p
        for to, frm in self.copies:
            if frm == "" or p == frm or p.startswith(frm + "/"):
                rest = p[len(frm) :].lstrip("/") if frm else p
                return norm(f"{to}/{rest}") if to and rest else (to or rest)
        return None


class Ignore:
    """What a GitRepository leaves out of its artifact (gitignore syntax, as source-controller reads it)."""

    def __init__(self, root: str, spec_ignore: str | None) -> None:
        import pathspec

        lines: list[str] = [] if spec_ignore is not None else list(DEFAULT_IGNORE)
        for rel in _sourceignore_files(root):
            folder = str(PurePosixPath(rel).parent)
            prefix = "" if folder == "." else folder + "/"
            try:
                with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
                    text = fh.read(256 * 1024)
            except OSError:
                continue
            lines += [_scoped(line, prefix) for line in text.splitlines()]
        if spec_ignore is not None:
            lines += spec_ignore.splitlines()
        self._spec = pathspec.GitIgnoreSpec.from_lines([ln for ln in lines if ln is not None])

    def excludes(self, rel: str) -> bool:
        return bool(self._spec.match_file(rel))


def _scoped(line: str, prefix: str) -> str:
    """A .sourceignore line of a subfolder as a pattern of the repository root."""
    raw = line.rstrip()
    if not prefix or not raw or raw.startswith("#"):
        return raw
    neg = raw.startswith("!")
    body = raw[1:] if neg else raw
    if body.startswith("/"):
        body = prefix + body[1:]
    elif "/" not in body.rstrip("/"):
        body = prefix + "**/" + body
    else:
        body = prefix + body
    return ("!" if neg else "") + body


@functools.lru_cache(maxsize=16)
def _sourceignore_cached(root: str, stamp: float) -> tuple[str, ...]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", ".venv", "__pycache__"))
        if SOURCEIGNORE in files:
            found.append(os.path.relpath(os.path.join(folder, SOURCEIGNORE), root).replace(os.sep, "/"))
    return tuple(found)


def _sourceignore_files(root: str) -> tuple[str, ...]:
    try:
        stamp = os.stat(root).st_mtime
    except OSError:
        return ()
    return _sourceignore_cached(root, stamp)


# -- entries ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """Where Flux starts for one cluster: its source and root Kustomization."""

    cluster: str  # the name --cluster takes
    how: str  # "flux bootstrap" | "Flux Operator"
    file: str  # the file that says so (gotk-sync.yaml, the FluxInstance)
    source: Source
    kustomization: FluxKustomization  # the root Kustomization (made up for a placeholder or the operator)
    bootstrap_dir: str | None = None  # the folder holding gotk-components.yaml/gotk-sync.yaml
    placeholder: bool = False  # gotk-sync.yaml is still the "generated by flux bootstrap" placeholder

    def describe(self) -> str:
        return f"{self.how} ({self.file}): {self.source.describe()}, path ./{self.kustomization.path}"


def _root_ks(name: str, namespace: str, path: str, source: Source, file: str) -> FluxKustomization:
    return FluxKustomization(
        name=name,
        file=file,
        path=norm(path),
        decryption_secret=None,
        namespace=namespace,
        source_ref=SourceRef(source.kind, source.name, source.namespace),
    )


def _bootstrap_entry(idx: RepoIndex, rel: str) -> Entry | None:
    folder = str(PurePosixPath(rel).parent)
    folder = "" if folder == "." else folder
    source: Source | None = None
    root: FluxKustomization | None = None
    for doc in idx.docs(rel):
        if doc.kind == "GitRepository" and source is None:
            spec = doc.spec
            ref = _mapping(spec.get("ref"))
            source = Source(
                "GitRepository",
                doc.name or FLUX_NS,
                doc.namespace or FLUX_NS,
                repo=True,
                url=str(spec["url"]) if spec.get("url") else None,
                branch=str(ref["branch"]) if ref.get("branch") else None,
                ignore=str(spec["ignore"]) if isinstance(spec.get("ignore"), str) else None,
                file=rel,
            )
        elif is_flux_kustomization(doc) and root is None:
            root = FluxKustomization.from_doc(doc)
    placeholder = source is None and root is None
    if placeholder:
        # what `flux bootstrap --path <folder above flux-system>` writes into this file
        parent = str(PurePosixPath(folder).parent) if folder else ""
        source = Source("GitRepository", FLUX_NS, FLUX_NS, repo=True, file="")
        root = _root_ks(FLUX_NS, FLUX_NS, "" if parent == "." else parent, source, rel)
    if source is None or root is None:
        return None
    return Entry(
        cluster=_cluster_name(folder, root.path),
        how="flux bootstrap",
        file=rel,
        source=source,
        kustomization=root,
        bootstrap_dir=folder,
        placeholder=placeholder,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _cluster_name(bootstrap_dir: str, root_path: str) -> str:
    """clusters/<name>/flux-system -> <name>; else the last folder of the root Kustomization's path."""
    parts = PurePosixPath(bootstrap_dir).parts if bootstrap_dir else ()
    if len(parts) >= 2 and parts[-1] == FLUX_NS:
        return parts[-2]
    p = PurePosixPath(root_path).parts
    return p[-1] if p else (parts[-1] if parts else "cluster")


def _operator_sync(doc: Any) -> tuple[dict[str, Any], str] | None:
    """(spec.sync, namespace) of a FluxInstance, or of a HelmRelease of the flux-instance chart."""
    spec = doc.spec
    if doc.kind == OPERATOR_KIND:
        sync = spec.get("sync")
        return (sync, doc.namespace or FLUX_NS) if isinstance(sync, dict) else None
    chart = _mapping(_mapping(spec.get("chart")).get("spec"))
    ref = _mapping(spec.get("chartRef"))
    if OPERATOR_CHART not in (str(chart.get("chart") or ""), str(ref.get("name") or "")):
        return None
    instance = _mapping(_mapping(spec.get("values")).get("instance"))
    sync = instance.get("sync")
    ns = str(spec.get("targetNamespace") or doc.namespace or FLUX_NS)
    return (sync, ns) if isinstance(sync, dict) else None


def _operator_entry(doc: Any) -> Entry | None:
    found = _operator_sync(doc)
    if found is None:
        return None
    sync, ns = found
    kind = str(sync.get("kind") or "GitRepository")
    ref = str(sync.get("ref") or "")
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") or "/" not in ref else None
    source = Source(
        kind,
        ns,  # the operator names the source and the Kustomization after the namespace
        ns,
        repo=kind == "GitRepository",
        url=str(sync["url"]) if sync.get("url") else None,
        branch=branch or None,
        ignore=str(sync["ignore"]) if isinstance(sync.get("ignore"), str) else None,
        file="",
    )
    path = norm(str(sync.get("path") or ""))
    return Entry(
        cluster=_cluster_name("", path),
        how="Flux Operator",
        file=doc.path,
        source=source,
        kustomization=_root_ks(ns, ns, path, source, doc.path),
    )


def find_entries(idx: RepoIndex, listing: list[str]) -> list[Entry]:
    """Every cluster entry of the repository, in path order (one per root path and source)."""
    out: list[Entry] = []
    for rel in listing:
        if PurePosixPath(rel).name == BOOTSTRAP_SYNC:
            e = _bootstrap_entry(idx, rel)
            if e is not None:
                out.append(e)
    for doc in idx.find({OPERATOR_KIND, "HelmRelease"}, files=listing, containing="sync"):
        e = _operator_entry(doc)
        if e is not None:
            out.append(e)
    seen: set[tuple[str, str, str]] = set()
    unique: list[Entry] = []
    for e in out:  # the Flux Operator's instance may also be written down beside a bootstrap: one cluster
        key = (e.kustomization.path, e.source.url or "", e.file if e.how == "flux bootstrap" else "")
        if key not in seen:
            seen.add(key)
            unique.append(e)
    # two entries with the same short name: use their paths instead
    names = [e.cluster for e in unique]
    return [
        e if names.count(e.cluster) == 1 else _renamed(e, e.kustomization.path or e.bootstrap_dir or e.file)
        for e in unique
    ]


def _renamed(e: Entry, name: str) -> Entry:
    from dataclasses import replace

    return replace(e, cluster=name)


# -- the model ---------------------------------------------------------------------------------------
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


__all__ = [
    "DEFAULT_IGNORE",
    "FLUX_NS",
    "Applier",
    "ClusterModel",
    "Entry",
    "Obj",
    "Source",
    "build",
    "find_entries",
]
