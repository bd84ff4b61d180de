"""Discover the layout of a Flux repository shaped like the guide's (or like flux2's clusters/)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from wizard import fluxrepo
from wizard import index as index_mod
from wizard.errors import UserError
from wizard.index import SKIP_DIRS, FluxKustomization, RepoIndex, norm
from wizard.placement import Placement

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
DEFAULT_COMPONENTS = ("manifests/infrastructure", "infrastructure")
FIREWALL_KIND = "CiliumClusterwideNetworkPolicy"
NO_POLICY = "No host firewall policy was found"

__all__ = [
    "CONTROL_PLANE_LABEL",
    "DEFAULT_COMPONENTS",
    "SKIP_DIRS",
    "FluxKustomization",
    "Layout",
    "discover",
    "find_root",
    "norm",
]


@dataclass
class Layout:
    root: Path
    flux_dir: str
    root_path: str
    git_repository: str
    git_url: str | None
    git_branch: str | None
    components_dir: str
    sops_config: str | None
    sops_secret: str | None
    sops_secret_problem: str | None
    firewall_policy: str | None
    firewall_problem: str | None
    flux_version: str | None
    kustomizations: dict[str, FluxKustomization] = field(default_factory=dict)
    root_kustomization: str = "flux-system"  # the Kustomization in gotk-sync.yaml
    # every Flux Kustomization of the cluster, in the order Flux reaches them: a name declared twice appears twice
    declarations: list[FluxKustomization] = field(default_factory=list)
    model: fluxrepo.ClusterModel | None = None  # what Flux applies for this cluster
    clusters: tuple[str, ...] = ()  # every cluster of the repository (by --cluster name)
    _others: list[fluxrepo.ClusterModel] | None = field(default=None, repr=False, compare=False)
    placement: Placement | None = None  # where new components go (the repository's convention)
    # what is computed once per layout (keyed by the caller): answers-derived plans the steps share
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def cluster(self) -> str | None:
        """This cluster's name when the repository holds several (None: it holds one)."""
        return self.model.name if self.model is not None and len(self.clusters) > 1 else None

    def local(self, k: FluxKustomization) -> bool:
        """``k`` applies a folder of this repository (not of an OCIRepository or another repository)."""
        if self.model is not None:
            found = [a for a in self.model.appliers if a.ks == k]
            if found:
                return found[0].folder is not None
        return k.applies_repository(self.git_repository)

    def shared_with(self, rel: str) -> list[str]:
        """The other clusters of the repository whose Flux Kustomizations also apply ``rel`` (a shared base)."""
        if self.model is None or len(self.clusters) < 2:
            return []
        return [m.name for m in self.other_models() if m.applies(rel)]

    def other_models(self) -> list[fluxrepo.ClusterModel]:
        """The models of the repository's other clusters (built once, on first use)."""
        if self._others is None:
            idx = self.index
            entries = find_entries(self.root, idx, idx.yaml_files())
            mine = self.model.entry if self.model is not None else None
            self._others = [fluxrepo.build(idx, e) for e in entries if e != mine]
        return self._others

    def folder_of(self, k: FluxKustomization) -> str | None:
        """The repository folder ``k`` applies (through its source: an ExternalArtifact maps its path)."""
        if self.model is not None:
            for a in self.model.appliers:
                if a.ks == k:
                    return a.folder
        return k.path if k.applies_repository(self.git_repository) else None

    def declared(self, name: str, namespace: str = "flux-system") -> list[FluxKustomization]:
        """Every declaration of the Flux Kustomization ``namespace/name`` in the Flux folder."""
        return [k for k in self.declarations if k.name == name and k.namespace == namespace]

    @property
    def index(self) -> RepoIndex:
        """The shared index of this repository's YAML documents."""
        return index_mod.for_root(self.root)

    @property
    def flux_kustomization_file(self) -> str:
        return f"{self.flux_dir}/kustomization.yaml"

    def abs(self, rel: str) -> Path:
        return self.root / rel

    def require_sops_secret(self) -> str:
        if self.sops_secret:
            return self.sops_secret
        raise UserError(self.sops_secret_problem or "No sops decryption secret name could be found.")

    def require_firewall_policy(self) -> str:
        if self.firewall_policy:
            return self.firewall_policy
        if self.firewall_missing:
            from wizard.errors import NotApplicable

            raise NotApplicable(self.firewall_problem or "No host firewall policy was found.")
        raise UserError(self.firewall_problem or "No host firewall policy was found.")

    @property
    def firewall_missing(self) -> bool:
        """No Cilium host policy at all (most repositories): the firewall step does not apply."""
        return self.firewall_policy is None and (self.firewall_problem or "").startswith(NO_POLICY)


def _git_top_level(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding a git work tree's ``.git`` (a folder, or the
    ``gitdir:`` file of a linked worktree or submodule). Stdlib only: no GitPython import."""
    cur = Path(os.path.normpath(os.path.abspath(start)))
    while True:
        dotgit = cur / ".git"
        if dotgit.is_dir() and (dotgit / "HEAD").is_file():
            return cur
        if dotgit.is_file():
            try:
                first = dotgit.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
            except OSError:
                first = ""
            if first.startswith("gitdir:"):
                target = Path(first[len("gitdir:") :].strip())
                if ((cur / target) if not target.is_absolute() else target).joinpath("HEAD").is_file():
                    return cur
        if cur.parent == cur:
            return None
        cur = cur.parent


def find_root(repo: str | os.PathLike[str] | None) -> Path:
    """The repository root: ``--repo`` as given, else the git top level of the cwd."""
    start = Path(repo) if repo else Path.cwd()
    if repo and not start.is_dir():
        raise UserError(f"--repo {start} is not a folder. Pass the path of your Flux repository's clone.")
    top = _git_top_level(start)
    if top is None:
        raise UserError(
            f"{start.resolve()} is not inside a git repository. Run edge-wizard from your Flux "
            "repository's clone, or pass --repo PATH."
        )
    return top if not repo else start.resolve()


def checked_path(root: Path, rel: str, *, folder: bool = False) -> Path:
    """``root / rel`` for a path from the answers/state (paths.*): relative, inside, no symlink (UserError)."""
    from wizard.plan import safe_path

    return safe_path(root, norm(rel), folder=folder)


def _inside(root: Path, rel: str) -> Path | None:
    """The folder ``root / rel`` when it is a plain path inside the repository without symlinks, else None."""
    try:
        return checked_path(root, rel, folder=True) if rel else None
    except UserError:
        return None


def _rel(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _no_entry(root: Path) -> UserError:
    return UserError(
        f"No Flux entry point was found in {root}: edge-wizard looked for a gotk-sync.yaml (flux bootstrap; also "
        "below clusters/*/flux-system) and for a FluxInstance, or a HelmRelease of the flux-instance chart, with "
        "spec.sync (the Flux Operator). Run edge-wizard in the repository Flux syncs your cluster from, or set "
        "paths.flux in the answers file to the folder holding gotk-sync.yaml."
    )


def _override_entry(root: Path, override: str, entries: list[fluxrepo.Entry], idx: RepoIndex) -> fluxrepo.Entry:
    """The entry paths.flux names: its bootstrap folder or its root path."""
    d = checked_path(root, override, folder=True)
    rel = norm(override)
    for e in entries:
        if rel in (e.bootstrap_dir, e.kustomization.path):
            return e
    if not (d / "kustomization.yaml").is_file():
        raise UserError(
            f"paths.flux is {override!r}, but {d} has no kustomization.yaml. Point paths.flux at the "
            "folder holding gotk-sync.yaml and kustomization.yaml (the Flux bootstrap folder)."
        )
    # a bootstrap folder without gotk-sync.yaml (bootstrap not run yet): what bootstrap would write
    made = fluxrepo._bootstrap_entry(idx, f"{rel}/{fluxrepo.BOOTSTRAP_SYNC}" if rel else fluxrepo.BOOTSTRAP_SYNC)
    if made is None:
        raise _no_entry(root)
    return made


def _choose_entry(root: Path, entries: list[fluxrepo.Entry], cluster: str | None) -> fluxrepo.Entry:
    if cluster:
        found = [e for e in entries if cluster in (e.cluster, e.kustomization.path, e.bootstrap_dir)]
        if len(found) == 1:
            return found[0]
        listed = ", ".join(e.cluster for e in entries) or "none"
        raise UserError(
            f"There is no cluster {cluster!r} in {root} (clusters found: {listed}). Pass one of them with "
            "--cluster NAME, or set cluster: in the answers file."
        )
    if len(entries) == 1:
        return entries[0]
    listed = "; ".join(f"{e.cluster}: {e.describe()}" for e in entries)
    raise UserError(
        f"This repository holds {len(entries)} clusters ({listed}). Choose the one to set up with --cluster NAME "
        f"(e.g. --cluster {entries[0].cluster}), or set cluster: in the answers file; the answers and the state "
        "are kept per cluster."
    )


def _flux_dir(root: Path, model: fluxrepo.ClusterModel) -> str:
    """Where this cluster declares its Flux Kustomizations: the folder holding most of those the root
    Kustomization applies (the guide's flux-system folder, the official example's clusters/<name>),
    else the bootstrap folder when it has a kustomization.yaml, else the root Kustomization's folder."""
    entry = model.entry
    counts: dict[str, int] = {}
    for a in model.children(model.root):
        folder = str(PurePosixPath(a.ks.file).parent)
        folder = "" if folder == "." else folder
        if model.applies(a.ks.file):
            counts[folder] = counts.get(folder, 0) + 1
    boot = entry.bootstrap_dir
    if counts:
        best = max(counts.values())
        tops = [f for f, n in counts.items() if n == best]
        return boot if boot in tops else sorted(tops)[0]
    if boot is not None and (root / boot / "kustomization.yaml").is_file():
        return boot
    return model.root.folder or entry.kustomization.path


def _sops_kind(idx: RepoIndex, rel: str) -> str | None:
    docs = idx.load(rel)
    if not docs or not isinstance(docs[0], dict):
        return None
    for rule in docs[0].get("creation_rules") or []:
        if isinstance(rule, dict):
            if rule.get("age"):
                return "age"
            if rule.get("pgp"):
                return "pgp"
    return None


def _is_control_plane_policy(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != FIREWALL_KIND:
        return False
    selector = (doc.get("spec") or {}).get("nodeSelector") or {}
    labels = (selector.get("matchLabels") if isinstance(selector, dict) else None) or {}
    return isinstance(labels, dict) and CONTROL_PLANE_LABEL in labels


def _control_plane_policies(idx: RepoIndex, *, under: str = "", files: list[str] | None = None) -> list[str]:
    """Files holding a CiliumClusterwideNetworkPolicy that selects control-plane nodes."""
    return sorted(
        {d.path for d in idx.find({FIREWALL_KIND}, under=under, files=files) if _is_control_plane_policy(d.data)}
    )


def discover(
    repo: str | os.PathLike[str] | None,
    paths: dict[str, str] | None = None,
    sops_secret: str | None = None,
    cluster: str | None = None,
) -> Layout:
    """The layout of the repository at (or above) ``repo`` for one cluster: what Flux applies for it
    (:mod:`wizard.fluxrepo`) and where the wizard's files go. Reads through the shared index: files
    that cannot hold what discovery looks for are never parsed."""
    paths = paths or {}
    root = find_root(repo)
    idx = index_mod.for_root(root)
    listing = idx.yaml_files()  # one walk for the whole discovery
    entries = find_entries(root, idx, listing)
    if paths.get("flux"):
        entry = _override_entry(root, paths["flux"], entries, idx)
    elif not entries:
        raise _no_entry(root)
    else:
        entry = _choose_entry(root, entries, cluster)
    model = fluxrepo.build(idx, entry)
    flux_rel = norm(paths["flux"]) if paths.get("flux") else _flux_dir(root, model)
    declarations = [a.ks for a in model.appliers] + model.duplicates
    kustomizations = {k.name: k for k in declarations}
    applied = sorted(model.files)

    # components folder
    if paths.get("components"):
        components = norm(paths["components"])
        checked_path(root, components, folder=True)  # no symlinked folder: files would be written through it
    else:
        components = _components_dir(root, model, flux_rel)
        if len(entries) > 1:
            # a components folder several clusters share is never written with one cluster's values:
            # this cluster's new components go to a folder of its own beside the shared ones
            components = f"{components}/{entry.cluster}"

    # sops
    sops_config = ".sops.yaml" if (root / ".sops.yaml").is_file() else None
    names = sorted({k.decryption_secret for k in declarations if k.decryption_secret})
    secret_problem = None
    secret: str | None
    if sops_secret:
        secret = sops_secret
    elif len(names) == 1:
        secret = names[0]
    elif not names:
        kind = _sops_kind(idx, ".sops.yaml") if sops_config else None
        secret = "sops-gpg" if kind == "pgp" else "sops-age"
    else:
        secret = None
        secret_problem = (
            f"The Flux Kustomizations use more than one sops decryption secret ({', '.join(names)}), so "
            "edge-wizard cannot tell which one decrypts the DNS token. Set sops_secret in the answers file."
        )

    fw, fw_problem = _firewall(root, idx, paths, applied)
    from wizard import placement as placement_mod

    placement = placement_mod.learn(
        model, flux_rel, components, overridden=bool(paths.get("flux") or paths.get("components"))
    )
    bundle_dir = entry.bootstrap_dir if entry.bootstrap_dir is not None else flux_rel
    bundle = f"{bundle_dir}/gotk-components.yaml" if bundle_dir else "gotk-components.yaml"
    source = entry.source
    return Layout(
        root=root,
        flux_dir=flux_rel,
        root_path=entry.kustomization.path,
        git_repository=source.name,
        git_url=source.url,
        git_branch=source.branch,
        components_dir=components,
        sops_config=sops_config,
        sops_secret=secret,
        sops_secret_problem=secret_problem,
        firewall_policy=fw,
        firewall_problem=fw_problem,
        flux_version=idx.flux_version(bundle),
        kustomizations=kustomizations,
        root_kustomization=entry.kustomization.name,
        declarations=declarations,
        model=model,
        clusters=tuple(e.cluster for e in entries) or (entry.cluster,),
        placement=placement,
    )


def cluster_choices(engine: Any) -> list[tuple[str, str]]:
    """(name, what Flux starts from) of each cluster of the engine's repository when the run has not
    named one (--cluster, cluster: in the answers file or the state); [] when there is nothing to choose."""
    from pathlib import Path as _Path

    from wizard import answers as answers_mod

    if engine.overrides.get("cluster"):
        return []
    if engine.answers_file and answers_mod.read_file(_Path(engine.answers_file)).get("cluster"):
        return []
    try:
        root = find_root(engine.repo_arg)
    except UserError:
        return []  # preflight says why
    idx = index_mod.for_root(root)
    entries = find_entries(root, idx, idx.yaml_files())
    return [(e.cluster, e.describe()) for e in entries] if len(entries) > 1 else []


def find_entries(root: Path, idx: RepoIndex, listing: list[str]) -> list[fluxrepo.Entry]:
    """Every cluster entry (wizard.fluxrepo); a clusters/*/flux-system folder with a kustomization.yaml
    but no gotk-sync.yaml yet counts as bootstrap's placeholder."""
    entries = fluxrepo.find_entries(idx, listing)
    if entries:
        return entries
    out = []
    for d in sorted(p for p in root.glob("clusters/*/flux-system") if p.is_dir()):
        if (d / "kustomization.yaml").is_file():
            e = fluxrepo._bootstrap_entry(idx, f"{_rel(root, d)}/{fluxrepo.BOOTSTRAP_SYNC}")
            if e is not None:
                out.append(e)
    return out


def _components_dir(root: Path, model: fluxrepo.ClusterModel, flux_rel: str) -> str:
    """Where the wizard's new component folders go (the guide's manifests/infrastructure, the official
    example's infrastructure): an existing one the cluster's source syncs, else the one folder the
    cluster's Kustomizations apply folders from."""
    for c in DEFAULT_COMPONENTS:
        if (root / c).is_dir() and model.syncs(f"{c}/x.yaml"):
            return c
    used = sorted(
        {
            str(PurePosixPath(a.folder).parent)
            for a in model.appliers[1:]
            if a.folder and a.folder != flux_rel and "/" in a.folder
        }
    )
    if len(used) == 1:
        return used[0]
    return next((c for c in DEFAULT_COMPONENTS if model.syncs(f"{c}/x.yaml")), DEFAULT_COMPONENTS[0])


def _firewall(root: Path, idx: RepoIndex, paths: dict[str, str], applied: list[str]) -> tuple[str | None, str | None]:
    """The host firewall policy among the files the cluster applies (or paths.firewall_policy)."""
    if paths.get("firewall_policy"):
        cand = checked_path(root, paths["firewall_policy"])
        rel = norm(paths["firewall_policy"])
        if not cand.is_file() or not _control_plane_policies(idx, files=[rel]):
            return None, (
                f"paths.firewall_policy is {paths['firewall_policy']!r}, but that file holds no "
                "CiliumClusterwideNetworkPolicy selecting control-plane nodes. Point it at your host firewall policy."
            )
        return _rel(root, cand), None
    found = set(_control_plane_policies(idx, files=applied))
    if len(found) == 1:
        return next(iter(found)), None
    if not found:
        return None, (
            f"{NO_POLICY}: edge-wizard looked, in the files your Flux "
            "Kustomizations apply, for a CiliumClusterwideNetworkPolicy whose nodeSelector selects "
            f"{CONTROL_PLANE_LABEL}. The firewall step only adds the 80/443 rule to that existing "
            "policy; it never creates a second policy, because a separate policy applied first would "
            "lock the node down to 80/443 and cut off the Kubernetes and Talos APIs. Without such a policy "
            "the nodes' ports are not filtered by Cilium and the step has nothing to do; if your policy "
            "lives elsewhere, set paths.firewall_policy in the answers file."
        )
    return None, (
        f"More than one host firewall policy selects control-plane nodes ({', '.join(sorted(found))}). Set "
        "paths.firewall_policy in the answers file to the one to extend."
    )
