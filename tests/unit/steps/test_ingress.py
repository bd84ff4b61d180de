"""The ingress step against guide-shaped repositories: what it writes, valid and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.stepruns import docs, run_cli


def test_ingress_manifests(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "ingress") == 0
    ns = docs(guide_repo, "manifests/infrastructure/ingress-nginx/namespace.yaml")[0]
    assert ns["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    repo_doc, rel = docs(guide_repo, "manifests/infrastructure/ingress-nginx/ingress-nginx.yaml")
    assert repo_doc["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert rel["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert rel["spec"]["chart"]["spec"]["version"] == ">=4.15.0 <4.16.0"
    c = rel["spec"]["values"]["controller"]
    assert (c["kind"], c["hostNetwork"], c["hostPort"]["enabled"], c["service"]["enabled"]) == (
        "DaemonSet",
        True,
        True,
        False,
    )
    assert c["ingressClassResource"]["name"] == "nginx"
    k = docs(guide_repo, "manifests/cluster/flux-system/kustomization.yaml")[0]
    assert k["resources"][-1] == "ingress.yaml"


def test_ingress_plan_warns_that_ingress_nginx_is_retired(
    guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers_file)]) == 0
    assert "retired upstream" in capsys.readouterr().err
