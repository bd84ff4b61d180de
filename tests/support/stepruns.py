"""Helpers of the step tests: run steps through the CLI, see what they wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard import yamlio
from wizard.frontends.cli import main

from support.repos import git

FW = "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch"]


def run_cli(repo: Path, answers: Path, *steps: str) -> int:
    return main(["run", *steps, "--repo", str(repo), "--answers", str(answers), *RUN])


def written(repo: Path) -> dict[str, str]:
    out = git(repo, "status", "--porcelain", "--untracked-files=all")
    return {path: status for status, path in (line.split(maxsplit=1) for line in out.splitlines())}


def docs(repo: Path, rel: str) -> list[Any]:
    return yamlio.load_plain((repo / rel).read_text())


FLUX_DIR = "manifests/cluster/flux-system"


def apply_folder(repo: Path, folder: str = "apps", name: str = "apps") -> None:
    """Make ``folder`` the cluster's: a Flux Kustomization ``name`` in the guide's Flux folder applies it
    (a file no Flux Kustomization applies is not the cluster's)."""
    (repo / FLUX_DIR / f"{name}.yaml").write_text(
        f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n"
        f"  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./{folder}\n  prune: true\n"
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
    listing = repo / FLUX_DIR / "kustomization.yaml"
    text = listing.read_text()
    if f"{name}.yaml" not in text:
        dash = "  - " if "\n  - " in text else "- "
        listing.write_text(text.rstrip("\n") + f"\n{dash}{name}.yaml\n")


def second_policy(repo: Path) -> None:
    """A second host firewall policy selecting the control-plane nodes: the firewall step cannot tell which
    one to extend, so it is blocked (with no policy at all it does not apply)."""
    folder = repo / "manifests/infrastructure/cluster-policies"
    text = (folder / "host-fw-control-plane.yaml").read_text()
    (folder / "host-fw-copy.yaml").write_text(text.replace("name: host-fw-control-plane", "name: host-fw-copy", 1))
    listing = folder / "kustomization.yaml"
    body = listing.read_text()
    dash = "  - " if "\n  - " in body else "- "
    listing.write_text(body.rstrip("\n") + f"\n{dash}host-fw-copy.yaml\n")
