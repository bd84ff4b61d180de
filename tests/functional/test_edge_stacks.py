"""Repositories whose edge is already there under another stack: nothing else goes on 80/443."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import yamlio
from wizard.frontends.cli import main

from support.repos import git
from support.stepruns import apply_folder, run_cli, written

F5_NGINX = """apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: nginx-stable
  namespace: nginx-ingress
spec:
  interval: 12h
  url: https://helm.nginx.com/stable
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: edge
  namespace: nginx-ingress
spec:
  interval: 30m
  chart:
    spec:
      chart: nginx-ingress
      sourceRef:
        kind: HelmRepository
        name: nginx-stable
  values:
    controller:
      kind: daemonset
      hostNetwork: true
      ingressClass:
        name: nginx
"""

CILIUM_GATEWAY = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cilium
  namespace: kube-system
spec:
  interval: 30m
  chart:
    spec:
      chart: cilium
      sourceRef:
        kind: HelmRepository
        name: cilium
  values:
    gatewayAPI:
      enabled: true
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: cilium
spec:
  controllerName: io.cilium/gateway-controller
"""


def _with_app(repo: Path, text: str) -> None:
    (repo / "apps").mkdir()
    (repo / "apps" / "edge.yaml").write_text(text, encoding="utf-8")
    apply_folder(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "an edge stack")


def _rows(repo: Path, answers: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert main(["steps", "--repo", str(repo), "--answers", str(answers), "--json"]) == 0
    import json

    rows = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    return {r["step"]: r["state"] for r in rows if r.get("event") == "StepRow"}


def test_f5_nginx_on_the_host_network_is_the_edge(
    guide_repo: Path, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_app(guide_repo, F5_NGINX)
    assert _rows(guide_repo, answers_file, capsys)["ingress"] == "in place"
    assert run_cli(guide_repo, answers_file, "ingress", "cluster-issuers", "smoke-test") == 0
    changes = written(guide_repo)
    assert not any("traefik" in p or "ingress-nginx" in p for p in changes), changes  # nothing else on 80/443
    issuers = yamlio.load_plain(
        (guide_repo / "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml").read_text()
    )
    assert {i["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClassName"] for i in issuers} == {"nginx"}
    podinfo = yamlio.load_plain((guide_repo / "manifests/infrastructure/smoke-test/podinfo.yaml").read_text())
    assert podinfo[1]["spec"]["values"]["ingress"]["className"] == "nginx"


def test_asking_for_traefik_beside_another_edge_is_refused(
    guide_repo: Path, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_app(guide_repo, F5_NGINX)
    traefik = tmp_path / "traefik.yaml"
    traefik.write_text(answers_file.read_text() + "ingress_controller: traefik\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli(guide_repo, traefik, "ingress") == 2
    err = capsys.readouterr().err
    assert "F5 NGINX Ingress Controller" in err and "apps/edge.yaml" in err and "ingress_controller" in err
    assert written(guide_repo) == {}


def test_cilium_gateway_is_the_edge(guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_app(guide_repo, CILIUM_GATEWAY)
    rows = _rows(guide_repo, answers_file, capsys)
    assert rows["ingress"] == "in place"
    assert run_cli(guide_repo, answers_file, "ingress") == 0
    assert written(guide_repo) == {".edge-wizard.yaml": "??"}  # nothing on 80/443: only the state file
