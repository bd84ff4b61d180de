"""`run` commits exactly its files and pushes them to a remote served over smart HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.githttp import GitHTTPServer
from support.repos import git, make_guide_repo
from support.steplists import PLAIN_STEPS

STEPS = list(PLAIN_STEPS)


@pytest.fixture
def clone(tmp_path: Path):
    """A guide repo pushed to an HTTP remote, and a fresh clone of it (as a user would have)."""
    with GitHTTPServer(tmp_path / "srv") as srv:
        srv.create_bare("cluster")
        url = srv.url + "cluster.git"
        seed = make_guide_repo(tmp_path / "seed", url=url)
        git(seed, "push", "-q", url, "main")
        git(tmp_path, "clone", "-q", url, "clone")
        yield tmp_path / "clone", url, srv


def test_run_pushes_one_commit_with_only_the_wizard_files(clone, answers_file: Path, tmp_path: Path) -> None:
    repo, url, _ = clone
    (repo / "notes.txt").write_text("my own unrelated work\n")
    before = git(repo, "rev-parse", "HEAD")
    assert main(["run", *STEPS, "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch"]) == 0
    remote_head = git(repo, "ls-remote", url, "refs/heads/main").split()[0]
    assert remote_head == git(repo, "rev-parse", "HEAD") != before
    assert git(repo, "rev-list", "--count", f"{before}..HEAD") == "1"
    subject = git(repo, "log", "-1", "--format=%s")
    assert subject.startswith("edge-wizard: ingress, firewall, cert-manager")
    files = set(git(repo, "show", "--name-only", "--format=", "HEAD").splitlines())
    assert "notes.txt" not in files
    assert ".edge-wizard.yaml" in files
    assert "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml" in files
    assert git(repo, "status", "--porcelain") == "?? notes.txt"


def test_rerun_makes_no_commit(clone, answers_file: Path) -> None:
    repo, _url, _ = clone
    args = ["run", *STEPS, "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch"]
    assert main(args) == 0
    head = git(repo, "rev-parse", "HEAD")
    assert main(args) == 0
    assert git(repo, "rev-parse", "HEAD") == head


def test_no_commit_then_commit_commits_the_files_left_on_disk(clone, answers_file: Path) -> None:
    repo, url, _ = clone
    base = ["run", "ingress", "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch"]
    assert main(base + ["--no-commit"]) == 0
    assert git(repo, "status", "--porcelain")
    assert main(base) == 0
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "ls-remote", url, "refs/heads/main").split()[0] == git(repo, "rev-parse", "HEAD")


def test_failed_push_keeps_commit_and_rerun_pushes(
    clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, url, srv = clone
    args = ["run", "ingress", "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch"]
    srv.fail_next_push(403)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "kept" in err
    local = git(repo, "rev-parse", "HEAD")
    assert git(repo, "ls-remote", url, "refs/heads/main").split()[0] != local
    assert main(args) == 0
    assert git(repo, "ls-remote", url, "refs/heads/main").split()[0] == local


def test_dirty_managed_file_is_refused_before_writing(
    clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _url, _ = clone
    k = repo / "manifests/cluster/flux-system/kustomization.yaml"
    k.write_text(k.read_text() + "- extra.yaml\n")
    args = ["run", "ingress", "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch"]
    assert main(args) == 2
    assert "manifests/cluster/flux-system/kustomization.yaml" in capsys.readouterr().err
    assert not (repo / "manifests/infrastructure/ingress-nginx").exists()
    assert "extra.yaml" in k.read_text()


def test_full_run_with_token_pushes_no_plaintext(
    clone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 'git' done-when: all steps, token from env, one commit of only our files, no plaintext."""
    from support.agekeys import make_age_key
    from support.tools import require_tool

    require_tool("sops")
    repo, url, _ = clone
    key = make_age_key(tmp_path / "keys")
    (repo / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
        f"    encrypted_regex: ^(data|stringData)$\n    age: {key.recipient}\n"
    )
    git(repo, "add", ".sops.yaml")
    git(repo, "commit", "-qm", "sops rules")
    git(repo, "push", "-q", "origin", "main")
    token = "hcloud-SuperSecretTokenValue-1234567890"
    monkeypatch.setenv("T", token)
    answers = tmp_path / "a.yaml"
    answers.write_text("domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n")
    before = git(repo, "rev-parse", "HEAD")
    rc = main(
        [
            "run",
            "--repo",
            str(repo),
            "--answers",
            str(answers),
            "--token-env",
            "T",
            "--yes",
            "--no-watch",
            "--skip-token-check",
            "--accept-foreign-recipients",  # the cluster holds the key, this machine does not
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert git(repo, "rev-list", "--count", f"{before}..HEAD") == "1"
    files = set(git(repo, "show", "--name-only", "--format=", "HEAD").splitlines())
    assert "manifests/infrastructure/external-dns/hetzner-token.yaml" in files
    assert all(f.startswith(("manifests/", ".edge-wizard.yaml")) for f in files)
    # the remote's whole history, every blob: no token
    mirror = tmp_path / "mirror"
    git(tmp_path, "clone", "-q", "--mirror", url, str(mirror))
    blobs = git(mirror, "rev-list", "--all", "--objects").splitlines()
    for line in blobs:
        sha = line.split()[0]
        if git(mirror, "cat-file", "-t", sha) == "blob":
            assert token not in git(mirror, "cat-file", "-p", sha)
    assert token not in out.out + out.err + answers.read_text()
