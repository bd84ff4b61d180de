"""Issue 16 item 1: never follow a symlink at a managed path; the leak guard refuses private keys.

Each test plants what an attacker (or an unlucky clone) would: a tracked symlink where the wizard
writes, pointing at a private key or a kubeconfig outside the repository. The wizard must refuse
before reading anything into a plan (exit 2), name the link and its target, leave the link and the
target as they were, and commit and push nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.clones import Clone, http_clone
from support.repos import git, snapshot
from support.steplists import PLAIN_STEPS

AGE_KEY = (
    "# created: 2026-01-01T00:00:00Z\n# public key: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n"
    "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP9XR4A3\n"
)
KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://10.0.0.1:6443
  name: prod
users:
- name: admin
  user:
    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdGVzdAo=
    token: eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.payload-not-real
contexts:
- context: {cluster: prod, user: admin}
  name: prod
current-context: prod
"""
INGRESS_NS = "manifests/infrastructure/traefik/namespace.yaml"
FLUX_KUSTOMIZATION = "manifests/cluster/flux-system/kustomization.yaml"


@pytest.fixture
def clone(tmp_path: Path):
    with http_clone(tmp_path) as c:
        yield c


def _run(c: Clone, answers: Path, *extra: str) -> list[str]:
    return ["run", *PLAIN_STEPS, "--repo", str(c.repo), "--answers", str(answers), "--yes", "--no-watch", *extra]


def _link(c: Clone, rel: str, target: Path, *, commit: bool = True) -> Path:
    p = c.repo / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists() or p.is_symlink():
        p.unlink()
    os.symlink(os.path.relpath(target, p.parent), p)
    if commit:
        git(c.repo, "add", "-A")
        git(c.repo, "commit", "-qm", "a link")
        git(c.repo, "push", "-q", "origin", "main")
    return p


def _secret_home(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "home-u/.config/sops/age/keys.txt"
    key.parent.mkdir(parents=True)
    key.write_text(AGE_KEY)
    kube = tmp_path / "home-u/.kube/config"
    kube.parent.mkdir(parents=True)
    kube.write_text(KUBECONFIG)
    return key, kube


def _assert_untouched(c: Clone, before_head: str, before_remote: str, link: Path, target: Path, text: str) -> None:
    assert c.head() == before_head
    assert c.remote_head() == before_remote
    assert link.is_symlink(), "the link was replaced by a regular file"
    assert target.read_text() == text


@pytest.mark.parametrize("managed", [INGRESS_NS, FLUX_KUSTOMIZATION])
def test_tracked_symlink_at_a_managed_path_is_refused_before_reading(
    clone: Clone, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], managed: str
) -> None:
    key, kube = _secret_home(tmp_path)
    target = key if managed == INGRESS_NS else kube
    link = _link(clone, managed, target)
    head, remote = clone.head(), clone.remote_head()
    files = snapshot(clone.repo)
    rc = main(_run(clone, answers_file))
    out = capsys.readouterr()
    assert rc == 2, out.err
    assert managed in out.err and "symbolic link" in out.err
    assert os.readlink(link) in out.err  # names the target
    assert "AGE-SECRET-KEY" not in out.out + out.err and "client-key-data" not in out.out + out.err
    _assert_untouched(clone, head, remote, link, target, target.read_text())
    assert snapshot(clone.repo) == files


def test_plan_never_shows_the_link_target_in_its_diff(
    clone: Clone, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = _secret_home(tmp_path)
    _link(clone, INGRESS_NS, key)
    rc = main(["plan", *PLAIN_STEPS, "--repo", str(clone.repo), "--answers", str(answers_file)])
    out = capsys.readouterr()
    assert rc == 2
    assert "AGE-SECRET-KEY" not in out.out + out.err
    assert INGRESS_NS in out.err


def test_plan_json_reports_failed_for_a_link(
    clone: Clone, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = _secret_home(tmp_path)
    _link(clone, INGRESS_NS, key)
    rc = main(["plan", *PLAIN_STEPS, "--repo", str(clone.repo), "--answers", str(answers_file), "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 2
    assert lines[-1]["event"] == "Failed" and lines[-1]["exit_code"] == 2
    assert "AGE-SECRET-KEY" not in json.dumps(lines)


def test_symlinked_component_folder_gets_nothing_written_through_it(
    clone: Clone, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the repository\n")
    link = _link(clone, "manifests/infrastructure/smoke-test", elsewhere)
    head = clone.head()
    rc = main(_run(clone, answers_file, "--no-commit"))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "manifests/infrastructure/smoke-test" in err and "symbolic link" in err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert link.is_symlink() and clone.head() == head
    assert not (clone.repo / "manifests/infrastructure/traefik").exists(), "a partial write happened"


def test_untracked_symlinked_state_file_is_refused(
    clone: Clone, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, kube = _secret_home(tmp_path)
    _link(clone, ".edge-wizard.yaml", kube, commit=False)
    rc = main(_run(clone, answers_file))
    out = capsys.readouterr()
    assert rc == 2
    assert ".edge-wizard.yaml" in out.err and "symbolic link" in out.err
    assert "client-key-data" not in out.out + out.err and "eyJhbGciOi" not in out.out + out.err


# -- the leak guard: private keys, whoever's --------------------------------------------------------
@pytest.mark.parametrize(
    "secret, fragment",
    [
        (AGE_KEY, "age private key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "PEM"),
        (KUBECONFIG, "kubeconfig credentials"),
    ],
)
def test_leak_guard_refuses_a_private_key_in_a_managed_file(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str], secret: str, fragment: str
) -> None:
    """A key pasted (as comments) into the firewall policy the wizard extends and commits."""
    policy = clone.repo / "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
    policy.write_text(policy.read_text() + "".join(f"# {line}\n" for line in secret.splitlines()))
    git(clone.repo, "commit", "-qam", "notes")
    git(clone.repo, "push", "-q", "origin", "main")
    head, remote = clone.head(), clone.remote_head()
    rc = main(_run(clone, answers_file))
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Refusing to commit" in err and fragment in err
    assert "host-fw-control-plane.yaml" in err
    assert clone.head() == head and clone.remote_head() == remote
    assert "AGE-SECRET-KEY-1QYQ" not in err and "b3BlbnNzaC1rZXkt" not in err
