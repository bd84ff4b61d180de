"""edge-wizard on the repositories people really have (../shared/fixtures/real-repos), as a new user runs it.

Each fixture is copied into a temporary git repository with a bare remote. With a plain answers file,
`steps`, `plan`, `doctor --offline` and `run --no-watch --no-cluster --skip-token-check` exit 0; no
object is declared by two Flux Kustomizations of the cluster that was not before (every Flux
Kustomization rendered with the real kustomize, or as Flux generates one); every folder still builds;
the `.sops.yaml` rules keep their order and options; files that existed change only in keys the wizard
manages; the token is decryptable with the fixture's own key where its rule names it; a re-run changes
nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wizard import index, yamlio

from support import render
from support.realrepos import CLUSTER, CLUSTER_TEMPLATE, OFFICIAL_NEW, OFFICIAL_OLD, copy_real_repo, fixtures_dir
from support.repos import git
from support.tools import require_tool

pytestmark = pytest.mark.skipif(fixtures_dir() is None, reason="../shared/fixtures/real-repos is missing")

TOKEN = "t0k3n-0123456789abcdefghij0123456789ABCDEF"  # shaped like a Cloudflare/Hetzner token, fake
ANSWERS = {
    OFFICIAL_OLD: "domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n",
    OFFICIAL_NEW: "domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n",
    CLUSTER_TEMPLATE: "domain: k8s.example.com\nemail: ops@example.com\ndns_provider: cloudflare\n",
}
# what each fixture cannot have yet (Gateway API routes for the smoke test: its own issue)
SKIP = {OFFICIAL_OLD: [], OFFICIAL_NEW: ["--skip", "smoke-test"], CLUSTER_TEMPLATE: ["--skip", "smoke-test"]}
# keys of files that existed which edge-wizard may change: (file suffix, dotted-path prefix)
MANAGED = (
    "spec.values.controller.",  # the adopted controller on the host network
    "spec.values.crds.enabled",
    "spec.values.domainFilters",
    "spec.values.sources",
    "metadata.labels.pod-security.kubernetes.io/enforce",
)


def _cli(root: Path, *args: str, cluster: str | None) -> tuple[int, str]:
    extra = ["--cluster", cluster] if cluster else []
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            *args,
            "--repo",
            str(root),
            "--answers",
            str(root.parent / "answers.yaml"),
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "EW_TOKEN": TOKEN},
        timeout=300,
    )
    return r.returncode, r.stdout + r.stderr


def _docs(root: Path, rel: str) -> list[Any]:
    return [d for d in yamlio.load_plain((root / rel).read_text(encoding="utf-8")) if isinstance(d, dict)]


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _changed_keys(before: list[Any], after: list[Any]) -> set[str]:
    """Dotted paths that differ in documents present before (matched by kind and name)."""

    def key(d: dict[str, Any]) -> tuple[str, str]:
        return (str(d.get("kind")), str((d.get("metadata") or {}).get("name")))

    old = {key(d): _leaves(d) for d in before}
    changed: set[str] = set()
    for d in after:
        if key(d) not in old:
            continue  # a document added (beside the user's): not a change of theirs
        a, b = old[key(d)], _leaves(d)
        changed |= {p for p in a.keys() | b.keys() if a.get(p) != b.get(p)}
    return changed


@pytest.fixture(params=[OFFICIAL_OLD, OFFICIAL_NEW, CLUSTER_TEMPLATE])
def fixture(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    require_tool("sops")
    name = request.param
    root = copy_real_repo(name, tmp_path / "repo")
    (tmp_path / "answers.yaml").write_text(ANSWERS[name], encoding="utf-8")
    return name, root


def test_every_command_works_and_writes_no_second_copy(
    fixture: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, root = fixture
    cluster = CLUSTER[name]
    if (root / "age.key").is_file():  # cluster-template: its tooling points sops at the repository's key
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(root / "age.key"))
    rendered_before = render.objects(root, cluster)
    twice_before = render.declared_twice(rendered_before)
    sops_before = (root / ".sops.yaml").read_text(encoding="utf-8") if (root / ".sops.yaml").is_file() else None
    tracked = set(git(root, "ls-files").splitlines())
    originals = {rel: (root / rel).read_text(encoding="utf-8") for rel in tracked if rel.endswith((".yaml", ".yml"))}

    for cmd in (["steps"], ["plan", *SKIP[name]], ["doctor", "--offline"]):
        rc, out = _cli(root, *cmd, cluster=cluster)
        assert rc == 0, f"{cmd}: {out}"
    rc, out = _cli(
        root,
        "run",
        "--yes",
        "--no-watch",
        "--no-cluster",
        "--skip-token-check",
        "--token-env",
        "EW_TOKEN",
        "--accept-controller-changes",
        *SKIP[name],
        cluster=cluster,
    )
    assert rc == 0, out
    assert TOKEN not in out

    index.forget(root)
    rendered_after = render.objects(root, cluster)
    assert render.declared_twice(rendered_after) <= twice_before, "an object is now declared twice"

    if sops_before is not None:
        after = (root / ".sops.yaml").read_text(encoding="utf-8")
        rules_before = yamlio.load_plain(sops_before)[0]["creation_rules"]
        rules_after = yamlio.load_plain(after)[0]["creation_rules"]
        assert rules_after[: len(rules_before)] == rules_before  # order and options kept; at most appended

    for rel, text in originals.items():
        now = (root / rel).read_text(encoding="utf-8") if (root / rel).is_file() else None
        if now is None or now == text or rel.endswith(".sops.yaml") or rel == ".sops.yaml":
            continue
        changed = _changed_keys(yamlio.load_plain(text), yamlio.load_plain(now))
        unexpected = {k for k in changed if not k.startswith(MANAGED)}
        assert not unexpected, f"{rel}: changed keys edge-wizard does not manage: {sorted(unexpected)}"

    # the token: encrypted, readable with the key its rule names
    secret = next(
        (rel for rel in git(root, "diff", "--name-only", "HEAD~1").splitlines() if "token" in rel or "secret" in rel),
        None,
    )
    if secret is not None:
        sops = require_tool("sops")
        dec = subprocess.run(
            [sops, "--config", str(root / ".sops.yaml"), "decrypt", str(root / secret)],
            capture_output=True,
            text=True,
            cwd=root,
        )
        assert dec.returncode == 0, dec.stderr
        assert TOKEN in dec.stdout
        assert TOKEN not in (root / secret).read_text(encoding="utf-8")

    head = git(root, "rev-parse", "HEAD")
    rc, out = _cli(
        root,
        "run",
        "--yes",
        "--no-watch",
        "--no-cluster",
        "--skip-token-check",
        "--accept-controller-changes",
        *SKIP[name],
        cluster=cluster,
    )
    assert rc == 0, out
    assert git(root, "rev-parse", "HEAD") == head and git(root, "status", "--porcelain") == ""


def test_a_new_component_follows_the_app_folders_convention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cluster-template without its external-dns: the wizard's external-dns goes where that repository puts
    apps (kubernetes/apps/<namespace>/<app>/ks.yaml + app/, listed by the namespace folder), builds as
    Flux builds it, and a re-run changes nothing."""
    require_tool("sops")
    root = copy_real_repo(CLUSTER_TEMPLATE, tmp_path / "repo")
    app = root / "kubernetes/apps/network/cloudflare-dns"
    for f in sorted(app.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    app.rmdir()
    listing = root / "kubernetes/apps/network/kustomization.yaml"
    listing.write_text(listing.read_text(encoding="utf-8").replace("  - ./cloudflare-dns/ks.yaml\n", ""))
    git(root, "commit", "-qam", "no external-dns")
    git(root, "push", "-q", "origin", "main")
    (tmp_path / "answers.yaml").write_text(ANSWERS[CLUSTER_TEMPLATE], encoding="utf-8")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(root / "age.key"))  # as cluster-template's mise environment sets it
    rc, out = _cli(root, "plan", "external-dns", cluster=None)
    assert rc == 0, out
    assert "by this repository's convention (app folders" in out
    args = ("run", "external-dns", "--yes", "--no-watch", "--no-cluster", "--skip-token-check")
    rc, out = _cli(root, *args, "--token-env", "EW_TOKEN", cluster=None)
    assert rc == 0, out
    base = "kubernetes/apps/external-dns"
    assert (root / f"{base}/external-dns/ks.yaml").is_file()
    assert (root / f"{base}/external-dns/app/external-dns.yaml").is_file()
    ns_k = yamlio.load_plain((root / f"{base}/kustomization.yaml").read_text(encoding="utf-8"))[0]
    assert ns_k["namespace"] == "external-dns" and ns_k["resources"] == ["./external-dns/ks.yaml"]
    assert ns_k["components"] == ["../../components/sops"]  # shaped like its sibling namespace folders
    index.forget(root)
    rendered = render.objects(root, None)
    assert ("HelmRelease", "external-dns", "external-dns") in rendered["external-dns/external-dns"]
    assert not render.declared_twice(rendered)
    head = git(root, "rev-parse", "HEAD")
    rc, out = _cli(root, *args, cluster=None)
    assert rc == 0, out
    assert git(root, "rev-parse", "HEAD") == head and git(root, "status", "--porcelain") == ""
