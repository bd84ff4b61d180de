"""wizard.fluxrepo: what Flux applies for one cluster, on the real repositories and on hand-made shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import fluxrepo, index, repo
from wizard.errors import UserError

from support.realrepos import CLUSTER_TEMPLATE, OFFICIAL_NEW, OFFICIAL_OLD, copy_real_repo, fixtures_dir
from support.repos import gotk_sync, make_guide_repo

needs_fixtures = pytest.mark.skipif(fixtures_dir() is None, reason="../shared/fixtures/real-repos is missing")


def _w(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _names(layout: repo.Layout) -> list[str]:
    assert layout.model is not None
    return [a.ks.name for a in layout.model.appliers]


@needs_fixtures
def test_official_example_needs_a_cluster_and_follows_it(tmp_path: Path) -> None:
    root = copy_real_repo(OFFICIAL_OLD, tmp_path / "r", remote=False)
    with pytest.raises(UserError, match=r"holds 2 clusters.*production.*staging.*--cluster NAME"):
        repo.discover(root)
    layout = repo.discover(root, cluster="staging")
    assert layout.clusters == ("production", "staging") and layout.cluster == "staging"
    assert layout.root_path == "clusters/staging"
    assert layout.flux_dir == "clusters/staging"  # where infrastructure.yaml and apps.yaml are declared
    assert _names(layout) == ["flux-system", "apps", "infra-controllers", "infra-configs"]
    assert layout.model is not None
    files = set(layout.model.files)
    assert "apps/base/podinfo/release.yaml" in files
    assert not any(f.startswith(("clusters/production/", "apps/production/")) for f in files)
    assert "infrastructure/controllers/cert-manager.yaml" in files
    # the bootstrap placeholder stands for what flux bootstrap writes
    assert layout.model.entry.placeholder and layout.git_repository == "flux-system"
    with pytest.raises(UserError, match="no cluster 'qa'.*production, staging"):
        repo.discover(root, cluster="qa")


@needs_fixtures
def test_external_artifacts_map_to_the_folders_they_copy(tmp_path: Path) -> None:
    root = copy_real_repo(OFFICIAL_NEW, tmp_path / "r", remote=False)
    layout = repo.discover(root, cluster="staging")
    assert layout.model is not None
    by_name = {a.ks.name: a for a in layout.model.appliers}
    assert by_name["infra-controllers"].source is not None
    assert by_name["infra-controllers"].source.kind == "ExternalArtifact"
    assert by_name["infra-controllers"].folder == "infrastructure/controllers"
    assert by_name["apps"].folder == "apps/staging"
    # apps/staging's kustomization pulls ../base/podinfo: followed inside the repository
    assert "apps/base/podinfo/release.yaml" in by_name["apps"].files
    assert layout.local(by_name["infra-configs"].ks)


@needs_fixtures
def test_flux_operator_instance_is_the_entry(tmp_path: Path) -> None:
    root = copy_real_repo(CLUSTER_TEMPLATE, tmp_path / "r", remote=False)
    layout = repo.discover(root)
    assert layout.model is not None
    assert layout.model.entry.how == "Flux Operator"
    assert layout.root_path == "kubernetes/flux/cluster"
    assert layout.git_repository == "flux-system"  # the operator names it after the namespace
    names = _names(layout)
    assert names[:2] == ["flux-system", "cluster-apps"]
    assert {"cert-manager", "cloudflare-dns", "envoy-gateway", "echo"} <= set(names)
    # Kustomizations declared without a namespace take the one of their folder's kustomization.yaml
    cf = next(a for a in layout.model.appliers if a.ks.name == "cloudflare-dns")
    assert cf.ks.namespace == "network" and cf.folder == "kubernetes/apps/network/cloudflare-dns/app"
    # what the source leaves out is not the cluster's: .github is excluded by default
    assert not any(f.startswith(".github/") for f in layout.model.files)
    assert not layout.model.syncs(".github/template-tests/e2e/cilium-network-policy.yaml")


def test_guide_layout_is_unchanged(tmp_path: Path) -> None:
    layout = repo.discover(make_guide_repo(tmp_path / "r"))
    assert layout.cluster is None and layout.flux_dir == "manifests/cluster/flux-system"
    assert sorted(_names(layout)) == ["cilium", "cluster-policies", "flux-system", "pull-secrets"]


def test_a_source_named_otherwise_with_ignore(tmp_path: Path) -> None:
    """A GitRepository not called flux-system, whose spec.ignore leaves out a folder: nothing there is the
    cluster's, and new Kustomizations read the real source."""
    root = tmp_path / "r"
    sync = gotk_sync("ssh://git@example.com/fleet", path="./clusters/home").replace(
        "name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s",
        "name: fleet\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ignore: |\n    /legacy/\n",
        1,
    )
    sync = sync.replace(
        "    kind: GitRepository\n    name: flux-system\n", "    kind: GitRepository\n    name: fleet\n"
    )
    _w(root, "clusters/home/flux-system/gotk-sync.yaml", sync)
    _w(root, "clusters/home/flux-system/kustomization.yaml", "resources:\n  - gotk-sync.yaml\n")
    ks = (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {n}\n"
        "  namespace: flux-system\nspec:\n  path: ./{p}\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n"
    )
    _w(root, "clusters/home/infra.yaml", ks.format(n="infra", p="infra"))
    _w(root, "clusters/home/legacy.yaml", ks.format(n="legacy", p="legacy"))
    _w(root, "infra/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n")
    _w(root, "legacy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: default\n")
    (root / ".git").mkdir()
    (root / ".git/HEAD").write_text("ref: refs/heads/main\n")
    layout = repo.discover(root)
    assert layout.git_repository == "fleet"
    assert layout.model is not None
    assert layout.model.applies("infra/cm.yaml")
    assert not layout.model.applies("legacy/cm.yaml") and not layout.model.syncs("legacy/cm.yaml")


def test_an_archive_folder_is_not_the_clusters(tmp_path: Path) -> None:
    root = make_guide_repo(tmp_path / "r", commit=False)
    _w(
        root,
        ".archive/ingress-nginx/release.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ingress-nginx\n"
        "  namespace: ingress-nginx\nspec:\n  chart:\n    spec:\n      chart: ingress-nginx\n",
    )
    (root / ".git").mkdir()
    (root / ".git/HEAD").write_text("ref: refs/heads/main\n")
    layout = repo.discover(root)
    assert layout.model is not None
    assert not layout.model.applies(".archive/ingress-nginx/release.yaml")
    assert not list(layout.model.objects(layout.index, {"HelmRelease"}))
    assert layout.index.find({"HelmRelease"})  # it is in the repository, only not applied


def test_generated_kustomization_takes_a_subfolder_with_its_own_as_one_unit(tmp_path: Path) -> None:
    root = tmp_path / "r"
    _w(root, "apps/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    _w(root, "apps/sub/kustomization.yaml", "resources:\n  - listed.yaml\n")
    _w(root, "apps/sub/listed.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l\n")
    _w(root, "apps/sub/unlisted.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: u\n")
    from wizard.applied import applied_files

    files = applied_files(index.RepoIndex(root), "apps")
    assert set(files) == {"apps/a.yaml", "apps/sub/listed.yaml"}


def test_artifact_paths_map_both_ways() -> None:
    s = fluxrepo.Source(
        "ExternalArtifact",
        "apps",
        "flux-system",
        repo=True,
        copies=(("base", "apps/base"), ("staging", "apps/staging")),
    )
    assert s.repo_path("./staging") == "apps/staging"
    assert s.repo_path("base/podinfo") == "apps/base/podinfo"
    assert s.repo_path("./other") is None
    assert s.artifact_path("apps/staging/x") == "staging/x"
    whole = fluxrepo.Source("ExternalArtifact", "infra", "flux-system", repo=True, copies=(("", "infrastructure"),))
    assert whole.repo_path("./controllers") == "infrastructure/controllers"
    assert whole.artifact_path("infrastructure/configs") == "configs"
