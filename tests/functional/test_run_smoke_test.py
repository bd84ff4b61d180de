"""The smoke-test step against guide-shaped repositories: what it writes, valid and idempotent."""

from __future__ import annotations

from pathlib import Path

from support.stepruns import docs, run_cli


def test_smoke_test_host_and_annotations(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "smoke-test") == 0
    rel = docs(guide_repo, "manifests/infrastructure/smoke-test/podinfo.yaml")[1]
    ing = rel["spec"]["values"]["ingress"]
    assert ing["className"] == "traefik"  # a new repository gets Traefik
    assert ing["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-production",
        "external-dns.alpha.kubernetes.io/hostname": "podinfo.apps.k8s.example.com",
    }
    assert ing["hosts"][0]["host"] == "podinfo.apps.k8s.example.com"
    assert ing["tls"] == [{"secretName": "podinfo-tls", "hosts": ["podinfo.apps.k8s.example.com"]}]
