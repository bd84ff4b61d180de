"""The cert-manager and cluster-issuers step against guide-shaped repositories: what it writes, valid and idempotent."""

from __future__ import annotations

from pathlib import Path

from support.stepruns import docs, run_cli


def test_cert_manager_and_issuers(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "cert-manager", "cluster-issuers") == 0
    repo_doc, rel = docs(guide_repo, "manifests/infrastructure/cert-manager/cert-manager.yaml")
    assert repo_doc["metadata"]["name"] == "jetstack"
    assert rel["spec"]["chart"]["spec"]["sourceRef"]["name"] == "jetstack"
    assert rel["spec"]["values"]["crds"] == {"enabled": True, "keep": True}
    assert "installCRDs" not in rel["spec"]["values"]
    cm = docs(guide_repo, "manifests/cluster/flux-system/cert-manager.yaml")[0]
    assert cm["spec"]["healthChecks"][0]["kind"] == "HelmRelease"
    ci = docs(guide_repo, "manifests/cluster/flux-system/cluster-issuers.yaml")[0]
    assert ci["spec"]["dependsOn"] == [{"name": "cert-manager"}]
    assert ci["spec"]["healthChecks"][0]["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    issuers = docs(guide_repo, "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml")
    assert [i["metadata"]["name"] for i in issuers] == ["letsencrypt-staging", "letsencrypt-production"]
    for i in issuers:
        acme = i["spec"]["acme"]
        assert acme["email"] == "ops@example.com"
        assert acme["privateKeySecretRef"]["name"] == i["metadata"]["name"]
        assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
    assert "staging" in issuers[0]["spec"]["acme"]["server"]
