"""Render what each Flux Kustomization of a cluster applies, with the real kustomize, as Flux would.

A folder with a kustomization file is built as it is; for one without, a kustomization is generated
the way kustomize-controller does (every manifest below, a subfolder with its own kustomization file as
one unit), in a scratch copy of the repository, never in the repository itself.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from wizard import index, repo, yamlio
from wizard.applied import KUSTOMIZE_FILES

from support.tools import require_tool

CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterIssuer", "ClusterRole", "ClusterRoleBinding", "GatewayClass", "CustomResourceDefinition"}
)
ObjectKey = tuple[str, str, str]


def _has_kfile(folder: Path) -> bool:
    return any((folder / n).is_file() for n in KUSTOMIZE_FILES)


def _generate(folder: Path) -> None:
    """Write the kustomization kustomize-controller would generate for ``folder`` (no kustomization file)."""
    entries: list[str] = []

    def walk(d: Path) -> None:
        for child in sorted(d.iterdir()):
            if child.is_dir():
                if _has_kfile(child):
                    entries.append(child.relative_to(folder).as_posix())
                else:
                    walk(child)
            elif child.suffix in (".yaml", ".yml"):
                text = child.read_text(encoding="utf-8", errors="replace")
                if "kind:" in text and "apiVersion:" in text:
                    entries.append(child.relative_to(folder).as_posix())

    walk(folder)
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {e}\n" for e in entries),
        encoding="utf-8",
    )


def objects(root: Path, cluster: str | None = None) -> dict[str, list[ObjectKey]]:
    """Flux Kustomization (namespace/name) -> the objects its folder renders to, for this cluster."""
    kustomize = require_tool("kustomize")
    index.forget(root)
    layout = repo.discover(root, cluster=cluster)
    assert layout.model is not None
    out: dict[str, list[ObjectKey]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "r"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git"), symlinks=True)
        for a in layout.model.appliers:
            if a.folder is None:
                continue
            folder = copy / a.folder if a.folder else copy
            if not folder.is_dir():
                continue
            generated = not _has_kfile(folder)
            if generated:
                _generate(folder)
            try:
                res = subprocess.run([kustomize, "build", "."], cwd=folder, capture_output=True, text=True)
            finally:
                if generated:
                    (folder / "kustomization.yaml").unlink()
            assert res.returncode == 0, f"kustomize build {a.folder} ({a.ks.name}): {res.stderr}"
            keys: list[ObjectKey] = []
            for d in yamlio.load_plain(res.stdout):
                if not isinstance(d, dict) or "kind" not in d:
                    continue
                meta = d.get("metadata") or {}
                ns = "" if d["kind"] in CLUSTER_SCOPED else str(a.ks.target_namespace or meta.get("namespace") or "")
                keys.append((str(d["kind"]), ns, str(meta.get("name"))))
            out[f"{a.ks.namespace}/{a.ks.name}"] = keys
    return out


def declared_twice(rendered: dict[str, list[ObjectKey]]) -> set[ObjectKey]:
    """Objects that more than one Flux Kustomization of the cluster applies (or one applies twice)."""
    seen: Counter[ObjectKey] = Counter()
    for keys in rendered.values():
        seen.update(keys)
    return {k for k, n in seen.items() if n > 1}
