"""Discover the layout of a Flux repository shaped like the guide's (or like flux2's clusters/)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from wizard import yamlio
from wizard.errors import UserError

SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__"}
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
DEFAULT_COMPONENTS = ("manifests/infrastructure", "infrastructure")


@dataclass(frozen=True)
class FluxKustomization:
    name: str
    file: str  # repo-relative path of the file declaring it
    path: str  # spec.path, normalised (no leading ./, no trailing /)
    decryption_secret: str | None
    depends_on: tuple[str, ...] = ()


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


def norm(path: str) -> str:
    p = str(PurePosixPath(path.strip()))
    while p.startswith("./"):
        p = p[2:]
    return "" if p == "." else p.rstrip("/")


def find_root(repo: str | os.PathLike[str] | None) -> Path:
    """The repository root: ``--repo`` as given, else the git top level of the cwd."""
    import git  # GitPython

    start = Path(repo) if repo else Path.cwd()
    if repo and not start.is_dir():
        raise UserError(f"--repo {start} is not a folder. Pass the path of your Flux repository's clone.")
    try:
        top = git.Repo(start, search_parent_directories=True).working_tree_dir
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UserError(
            f"{start.resolve()} is not inside a git repository. Run edge-wizard from your Flux "
            "repository's clone, or pass --repo PATH."
        ) from None
    return Path(top) if not repo else start.resolve()


def _walk_yaml(root: Path, under: Path | None = None) -> Iterator[Path]:
    base = under or root
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")):
                yield Path(dirpath) / name


def _docs(path: Path) -> list[Any]:
    if not _plain_file(path):
        return []  # never read through a link, a FIFO or a huge file while discovering
    try:
        return yamlio.load_plain(path.read_text(encoding="utf-8"), str(path))
    except Exception:
        return []


def _plain_file(path: Path) -> bool:
    """A regular file (not a symlink) of a size a manifest can have."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size <= yamlio.MAX_BYTES


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


def _find_flux_dir(root: Path, override: str | None) -> Path:
    if override:
        d = checked_path(root, override, folder=True)
        checked_path(root, f"{norm(override)}/kustomization.yaml")
        if not (d / "kustomization.yaml").is_file():
            raise UserError(
                f"paths.flux is {override!r}, but {d} has no kustomization.yaml. Point paths.flux at the "
                "folder holding gotk-sync.yaml and kustomization.yaml (the Flux bootstrap folder)."
            )
        return d
    hits = [p.parent for p in _walk_yaml(root) if p.name == "gotk-sync.yaml"]
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


def _flux_version(flux_dir: Path) -> str | None:
    comp = flux_dir / "gotk-components.yaml"
    if not comp.is_file():
        return None
    with comp.open(encoding="utf-8") as fh:
        for _, line in zip(range(20), fh):
            m = re.match(r"#\s*Flux Version:\s*v?(\S+)", line)
            if m:
                return m.group(1)
    return None


def _sops_kind(sops_file: Path) -> str | None:
    docs = _docs(sops_file)
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
    if not isinstance(doc, dict) or doc.get("kind") != "CiliumClusterwideNetworkPolicy":
        return False
    labels = ((doc.get("spec") or {}).get("nodeSelector") or {}).get("matchLabels") or {}
    return CONTROL_PLANE_LABEL in labels


def discover(
    repo: str | os.PathLike[str] | None, paths: dict[str, str] | None = None, sops_secret: str | None = None
) -> Layout:
    paths = paths or {}
    root = find_root(repo)
    flux_dir = _find_flux_dir(root, paths.get("flux"))
    flux_rel = _rel(root, flux_dir)

    git_repository, git_url, git_branch, root_path = "flux-system", None, None, flux_rel
    sync = flux_dir / "gotk-sync.yaml"
    for doc in _docs(sync) if sync.is_file() else []:
        if not isinstance(doc, dict):
            continue
        spec = doc.get("spec") or {}
        if doc.get("kind") == "GitRepository":
            git_repository = (doc.get("metadata") or {}).get("name", git_repository)
            git_url = spec.get("url")
            git_branch = (spec.get("ref") or {}).get("branch")
        elif doc.get("kind") == "Kustomization" and spec.get("path"):
            root_path = norm(spec["path"])

    kustomizations: dict[str, FluxKustomization] = {}
    for f in sorted(flux_dir.glob("*.y*ml")):
        for doc in _docs(f):
            if not isinstance(doc, dict) or doc.get("kind") != "Kustomization":
                continue
            if not str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/"):
                continue
            spec = doc.get("spec") or {}
            name = (doc.get("metadata") or {}).get("name")
            if not name:
                continue
            secret = ((spec.get("decryption") or {}).get("secretRef") or {}).get("name")
            deps = tuple(d.get("name") for d in spec.get("dependsOn") or [] if isinstance(d, dict))
            kustomizations[name] = FluxKustomization(
                name=name,
                file=_rel(root, f),
                path=norm(str(spec.get("path", ""))),
                decryption_secret=secret,
                depends_on=deps,
            )

    # components folder
    if paths.get("components"):
        components = norm(paths["components"])
        checked_path(root, components, folder=True)  # no symlinked folder: files would be written through it
    else:
        components = next((c for c in DEFAULT_COMPONENTS if (root / c).is_dir()), DEFAULT_COMPONENTS[0])
        if not (root / components).is_dir():
            used = sorted(
                {
                    str(PurePosixPath(k.path).parent)
                    for k in kustomizations.values()
                    if k.path and k.path != flux_rel and "/" in k.path
                }
            )
            if len(used) == 1:
                components = used[0]

    # sops
    sops_config = ".sops.yaml" if (root / ".sops.yaml").is_file() else None
    names = sorted({k.decryption_secret for k in kustomizations.values() if k.decryption_secret})
    secret_problem = None
    if sops_secret:
        secret = sops_secret
    elif len(names) == 1:
        secret = names[0]
    elif not names:
        kind = _sops_kind(root / ".sops.yaml") if sops_config else None
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
        if not cand.is_file() or not any(_is_control_plane_policy(d) for d in _docs(cand)):
            fw_problem = (
                f"paths.firewall_policy is {paths['firewall_policy']!r}, but that file holds no "
                "CiliumClusterwideNetworkPolicy selecting control-plane nodes. Point it at your host firewall policy."
            )
        else:
            fw = _rel(root, cand)
    else:
        found: list[str] = []
        for k in kustomizations.values():
            folder = _inside(root, k.path)
            if not folder or not folder.is_dir() or k.path == flux_rel:
                continue
            for f in _walk_yaml(root, folder):
                if any(_is_control_plane_policy(d) for d in _docs(f)):
                    found.append(_rel(root, f))
        found = sorted(set(found))
        if len(found) == 1:
            fw = found[0]
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
                f"More than one host firewall policy selects control-plane nodes ({', '.join(found)}). Set "
                "paths.firewall_policy in the answers file to the one to extend."
            )

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
        flux_version=_flux_version(flux_dir),
        kustomizations=kustomizations,
    )
