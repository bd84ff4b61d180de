"""Repository discovery on guide-shaped repositories and its errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wizard import repo
from wizard.errors import UserError

from support.repos import make_guide_repo


def test_discovers_the_guide_layout(guide_repo: Path) -> None:
    layout = repo.discover(guide_repo)
    assert layout.flux_dir == "manifests/cluster/flux-system"
    assert layout.root_path == "manifests/cluster"
    assert layout.components_dir == "manifests/infrastructure"
    assert layout.git_repository == "flux-system"
    assert layout.git_branch == "main"
    assert layout.git_url == "ssh://git@github.com/example/cluster"
    assert layout.firewall_policy == "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
    assert layout.flux_version == "2.9.4"
    assert set(layout.kustomizations) == {"flux-system", "cilium", "cluster-policies", "pull-secrets"}
    assert layout.sops_secret == ("sops-gpg" if "2023" in guide_repo.name else "sops-age")


def test_default_root_is_the_git_top_level(guide_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(guide_repo / "manifests" / "infrastructure")
    assert repo.discover(None).root == guide_repo


def test_not_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="is not inside a git repository.*--repo PATH"):
        repo.discover(None)


def test_no_flux_folder_names_what_was_looked_for(tmp_path: Path) -> None:
    make_guide_repo(tmp_path / "r")
    (tmp_path / "r/manifests/cluster/flux-system/gotk-sync.yaml").unlink()
    shutil.rmtree(tmp_path / "r/manifests/cluster")
    with pytest.raises(UserError, match="gotk-sync.yaml.*clusters/\\*/flux-system.*FluxInstance.*paths.flux"):
        repo.discover(tmp_path / "r")


def test_two_flux_folders_are_ambiguous(tmp_path: Path) -> None:
    r = make_guide_repo(tmp_path / "r")
    shutil.copytree(r / "manifests/cluster", r / "clusters/staging")
    with pytest.raises(UserError, match="holds 2 clusters .*staging: .*cluster: .*--cluster NAME"):
        repo.discover(r)
    layout = repo.discover(r, {"flux": "clusters/staging/flux-system"})
    assert layout.flux_dir == "clusters/staging/flux-system"
    assert repo.discover(r, cluster="staging").model.entry.file == "clusters/staging/flux-system/gotk-sync.yaml"


def test_clusters_layout_without_gotk_sync(tmp_path: Path) -> None:
    r = tmp_path / "r"
    (r / "clusters/prod/flux-system").mkdir(parents=True)
    (r / "clusters/prod/flux-system/kustomization.yaml").write_text("resources: []\n")
    (r / "infrastructure").mkdir()
    make_guide_repo(r, commit=True)  # adds the guide tree too; remove its gotk-sync to force the fallback
    shutil.rmtree(r / "manifests/cluster")
    layout = repo.discover(r)
    assert layout.flux_dir == "clusters/prod/flux-system"


def test_missing_firewall_policy_is_reported_lazily(tmp_path: Path) -> None:
    r = make_guide_repo(tmp_path / "r")
    (r / "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    )
    layout = repo.discover(r)
    assert layout.firewall_policy is None
    with pytest.raises(UserError, match="never creates a second policy.*paths.firewall_policy"):
        layout.require_firewall_policy()


def test_two_decryption_secrets_are_ambiguous(tmp_path: Path) -> None:
    r = make_guide_repo(tmp_path / "r", style="2024")
    f = r / "manifests/cluster/flux-system/cilium.yaml"
    f.write_text(
        f.read_text().replace(
            "  prune: true\n",
            "  prune: true\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-gpg\n",
            1,
        )
    )
    layout = repo.discover(r)
    with pytest.raises(UserError, match="sops-age, sops-gpg.*sops_secret"):
        layout.require_sops_secret()
    assert repo.discover(r, sops_secret="sops-age").sops_secret == "sops-age"
