"""wizard.doctor without a wizard-written stage: the clean guide repository, the cluster checks skipped (no kubeconfig, an API server that does not answer), the registry of checks."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from wizard import doctor, repo
from wizard.doctor import Finding

from support.doctor import findings, only


# -- no false positives ----------------------------------------------------------------------------
def test_clean_guide_repo_has_no_findings(guide_repo: Path) -> None:
    assert findings(guide_repo) == []


def test_no_kubeconfig_skips_cluster_checks(guide_repo: Path) -> None:
    fs = findings(guide_repo, cluster=True)
    f = only(fs, "cluster-skipped")
    assert f.severity == "info" and "no kubeconfig was found" in f.seen
    assert doctor.exit_code(fs) == 0


def test_unreachable_api_server_skips_cluster_checks(guide_repo: Path, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port on 127.0.0.1 nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kc = tmp_path / "kubeconfig"
    kc.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "x",
                "clusters": [
                    {"name": "x", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "x", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
            }
        ),
        encoding="utf-8",
    )
    fs = doctor.diagnose(repo.discover(guide_repo), kubeconfig=str(kc), timeout=3)
    f = only(fs, "cluster-skipped")
    assert f"127.0.0.1:{port}" in f.seen and "did not answer" in f.seen
    fs = doctor.diagnose(repo.discover(guide_repo), kubeconfig=str(kc), context="nope")
    skipped = only(fs, "cluster-skipped").seen
    assert skipped.startswith("Cluster checks were skipped: The kubeconfig") and "no context 'nope'" in skipped


def test_every_finding_names_its_fix_and_registry_ids_are_unique() -> None:
    ids = [c.id for c in doctor.checks()]
    assert len(ids) == len(set(ids))
    assert {
        "sops-glob-regex",
        "decryption-missing",
        "sops-encrypted-metadata",
        "flux-api-version",
        "flux-too-old",
        "helm-source-mismatch",
        "component-not-listed",
        "external-dns-hetzner-in-tree",
        "cert-manager-installcrds",
        "firewall-no-http-rule",
        "firewall-second-policy",
        "ingress-nginx-retired",
        "ingress-class-unserved",
        "nginx-annotations-unsupported",
    } == {c.id for c in doctor.checks("repo")}
    with pytest.raises(ValueError):
        Finding("x", "fatal", "seen", "why", "fix")
