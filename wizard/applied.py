"""Which files of the repository a Flux Kustomization applies (read-only, through the index).

With a ``kustomization.yaml`` in its ``spec.path``: what it lists, recursively (resources, bases,
components); without one: every YAML file below, like the kustomization kustomize-controller
generates. Used by doctor (which namespace a document lands in, which encrypted files a
Kustomization applies) and by the steps (where an object the wizard manages is already declared).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from wizard.index import RepoIndex, norm

KUSTOMIZE_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomize_file(idx: RepoIndex, folder: str) -> str | None:
    """The kustomize file of ``folder`` (repo-relative), None when it has none."""
    return next((f"{folder}/{n}" if folder else n for n in KUSTOMIZE_FILES if (idx.root / folder / n).is_file()), None)


def applied_files(
    idx: RepoIndex, path: str, namespace: str | None = None, seen: set[str] | None = None
) -> dict[str, str | None]:
    """Files a Flux Kustomization with ``spec.path: path`` applies (repo-relative -> kustomize
    namespace, None when the kustomization sets none)."""
    seen = set() if seen is None else seen
    out: dict[str, str | None] = {}
    root = idx.root
    folder = root / path if path else root
    if path in seen or not folder.is_dir():
        return out
    seen.add(path)
    kfile = kustomize_file(idx, path)
    if kfile is None:
        return _generated(idx, path, namespace, seen)
    loaded = idx.load(kfile)
    k = loaded[0] if loaded and isinstance(loaded[0], dict) else None
    if k is None:
        return out
    ns = namespace or k.get("namespace")
    for entry in [*(k.get("resources") or []), *(k.get("bases") or []), *(k.get("components") or [])]:
        entry = str(entry)
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            continue
        rel = norm((PurePosixPath(path) / entry).as_posix()) if path else norm(entry)
        rel = resolve_dots(rel)
        target = root / rel
        if target.is_dir():
            out.update({f: n for f, n in applied_files(idx, rel, ns, seen).items() if f not in out})
        elif target.is_file():
            out.setdefault(rel, ns)
    return out


def _generated(idx: RepoIndex, path: str, namespace: str | None, seen: set[str]) -> dict[str, str | None]:
    """What kustomize-controller's generated kustomization applies: every manifest below ``path``,
    except that a subfolder with its own kustomization file is one unit (what that file lists)."""
    out: dict[str, str | None] = {}
    units: list[str] = []
    prefix = f"{path}/" if path else ""
    has_kfile: dict[str, bool] = {}

    def is_unit(folder: str) -> bool:
        if folder not in has_kfile:
            has_kfile[folder] = kustomize_file(idx, folder) is not None
        return has_kfile[folder]

    for rel in idx.yaml_files(path):
        inner = rel[len(prefix) :].split("/")[:-1]
        folders = (f"{prefix}{'/'.join(inner[: i + 1])}" for i in range(len(inner)))
        unit = next((f for f in folders if is_unit(f)), None)
        if unit is None:
            out.setdefault(rel, namespace)
        elif unit not in units:
            units.append(unit)
    for unit in units:
        for f, n in applied_files(idx, unit, namespace, seen).items():
            out.setdefault(f, n)
    return out


def resolve_dots(rel: str) -> str:
    parts: list[str] = []
    for part in rel.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


__all__ = ["KUSTOMIZE_FILES", "applied_files", "kustomize_file", "resolve_dots"]
