"""Discover the layout of a Flux repository shaped like the guide's (or like flux2's clusters/)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from wizard import index as index_mod
from wizard.errors import UserError
from wizard.index import SKIP_DIRS, FluxKustomization, RepoIndex, norm

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
DEFAULT_COMPONENTS = ("manifests/infrastructure", "infrastructure")
FIREWALL_KIND = "CiliumClusterwideNetworkPolicy"

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
    # every declaration in the Flux folder, in file order: a name declared twice appears twice
    declarations: list[FluxKustomization] = field(default_factory=list)

    def local(self, k: FluxKustomization) -> bool:
        """``k`` applies a folder of this repository (not of an OCIRepository or another GitRepository)."""
        return k.applies_repository(self.git_repository)

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
        raise UserError(self.firewall_problem or "No host firewall policy was found.")


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


def _find_flux_dir(root: Path, override: str | None, listing: list[str]) -> Path:
    if override:
        d = checked_path(root, override, folder=True)
        checked_path(root, f"{norm(override)}/kustomization.yaml")
        if not (d / "kustomization.yaml").is_file():
            raise UserError(
                f"paths.flux is {override!r}, but {d} has no kustomization.yaml. Point paths.flux at the "
                "folder holding gotk-sync.yaml and kustomization.yaml (the Flux bootstrap folder)."
            )
        return d
    hits = [(root / rel).parent for rel in listing if PurePosixPath(rel).name == "gotk-sync.yaml"]
    if not hits:
        hits = sorted(p for p in root.glob("clusters/*/flux-system") if p.is_dir())
    if not hits:
        raise UserError(
            f"No Flux bootstrap folder was found in {root}: looked for a gotk-sync.yaml file and for "
            "clusters/*/flux-system. Run edge-wizard in a repository bootstrapped with flux, or set "
            "paths.flux in the answers file to the folder holding gotk-sync.yaml."
        )
    if len(hits) > 1:
        listed = ", ".join(_rel(root, h) for h in hits)
        raise UserError(
            f"Found more than one Flux bootstrap folder ({listed}). Set paths.flux in the answers file "
            "to the one for this cluster."
        )
    d = hits[0]
    if not (d / "kustomization.yaml").is_file():
        raise UserError(
            f"The Flux folder {_rel(root, d)} has no kustomization.yaml, so Flux would not apply new "
            "files placed there. Create it (listing gotk-components.yaml and gotk-sync.yaml) or set paths.flux."
        )
    return d


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
    repo: str | os.PathLike[str] | None, paths: dict[str, str] | None = None, sops_secret: str | None = None
) -> Layout:
    """The layout of the repository at (or above) ``repo``. Reads through the shared index: files
    that cannot hold what discovery looks for are never parsed."""
    paths = paths or {}
    root = find_root(repo)
    idx = index_mod.for_root(root)
    listing = idx.yaml_files()  # one walk for the whole discovery
    flux_dir = _find_flux_dir(root, paths.get("flux"), listing)
    flux_rel = _rel(root, flux_dir)

    git_repository, git_url, git_branch, root_path, root_ks = "flux-system", None, None, flux_rel, "flux-system"
    root_found = False
    sync = f"{flux_rel}/gotk-sync.yaml" if flux_rel else "gotk-sync.yaml"
    for doc in idx.find({"GitRepository", "Kustomization"}, files=[sync]):
        spec = doc.spec
        if doc.kind == "GitRepository":
            git_repository = doc.name or git_repository
            url, ref = spec.get("url"), spec.get("ref")
            git_url = str(url) if url else None
            branch = ref.get("branch") if isinstance(ref, dict) else None
            git_branch = str(branch) if branch else None
        else:
            if index_mod.is_flux_kustomization(doc) and not root_found:
                root_ks, root_found = doc.name, True
            if spec.get("path"):
                root_path = norm(str(spec["path"]))

    declarations = idx.flux_kustomizations(flux_rel)
    kustomizations = {k.name: k for k in declarations}
    local = [k for k in declarations if k.applies_repository(git_repository)]

    # components folder
    if paths.get("components"):
        components = norm(paths["components"])
        checked_path(root, components, folder=True)  # no symlinked folder: files would be written through it
    else:
        components = next((c for c in DEFAULT_COMPONENTS if (root / c).is_dir()), DEFAULT_COMPONENTS[0])
        if not (root / components).is_dir():
            used = sorted(
                {str(PurePosixPath(k.path).parent) for k in local if k.path and k.path != flux_rel and "/" in k.path}
            )
            if len(used) == 1:
                components = used[0]

    # sops
    sops_config = ".sops.yaml" if (root / ".sops.yaml").is_file() else None
    names = sorted({k.decryption_secret for k in kustomizations.values() if k.decryption_secret})
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

    # host firewall policy, through the Kustomizations' paths
    fw, fw_problem = None, None
    if paths.get("firewall_policy"):
        cand = checked_path(root, paths["firewall_policy"])
        rel = norm(paths["firewall_policy"])
        if not cand.is_file() or not _control_plane_policies(idx, files=[rel]):
            fw_problem = (
                f"paths.firewall_policy is {paths['firewall_policy']!r}, but that file holds no "
                "CiliumClusterwideNetworkPolicy selecting control-plane nodes. Point it at your host firewall policy."
            )
        else:
            fw = _rel(root, cand)
    else:
        folders = [k.path for k in local if k.path and k.path != flux_rel and (root / k.path).is_dir()]
        applied = [f for f in listing if any(f.startswith(p + "/") for p in folders)]
        found = set(_control_plane_policies(idx, files=applied))
        if len(found) == 1:
            fw = next(iter(found))
        elif not found:
            fw_problem = (
                "No host firewall policy was found: edge-wizard looked, in the folders your Flux "
                "Kustomizations apply, for a CiliumClusterwideNetworkPolicy whose nodeSelector selects "
                f"{CONTROL_PLANE_LABEL}. The firewall step only adds the 80/443 rule to that existing "
                "policy; it never creates a second policy, because a separate policy applied first would "
                "lock the node down to 80/443 and cut off the Kubernetes and Talos APIs. Set "
                "paths.firewall_policy in the answers file, or skip the firewall step."
            )
        else:
            fw_problem = (
                f"More than one host firewall policy selects control-plane nodes ({', '.join(sorted(found))}). Set "
                "paths.firewall_policy in the answers file to the one to extend."
            )

    bundle = f"{flux_rel}/gotk-components.yaml" if flux_rel else "gotk-components.yaml"
    return Layout(
        root=root,
        flux_dir=flux_rel,
        root_path=root_path,
        git_repository=git_repository,
        git_url=git_url,
        git_branch=git_branch,
        components_dir=components,
        sops_config=sops_config,
        sops_secret=secret,
        sops_secret_problem=secret_problem,
        firewall_policy=fw,
        firewall_problem=fw_problem,
        flux_version=idx.flux_version(bundle),
        kustomizations=kustomizations,
        root_kustomization=root_ks,
        declarations=declarations,
    )
