"""The wizard's Helm values against the real upstream charts: ``helm template`` renders each chart
(from ../shared/upstream/charts, the versions assets/catalog.yaml pins) with the values the wizard
writes, and the tests assert on the rendered objects. Skipped when helm is not in
EDGE_WIZARD_TOOLS_BIN (``bash tests/tools/build.sh basic`` builds it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from wizard import yamlio
from wizard.engine import Engine

from support.repos import make_guide_repo

CHARTS = (
    Path(os.environ.get("EDGE_WIZARD_UPSTREAM") or Path(__file__).resolve().parents[2].parent / "shared" / "upstream")
    / "charts"
)
KUBE_VERSION = "1.35.0"
BASE = "domain: k8s.example.com\nzone: example.com\nemail: ops@example.com\ndns_provider: hetzner\n"  # no address


def _helm() -> str:
    from support.tools import tools_bin

    b = tools_bin()
    if b is None or not (b / "helm").is_file():
        pytest.skip("helm is not in EDGE_WIZARD_TOOLS_BIN: build the test tools with `bash tests/tools/build.sh basic`")
    return str(b / "helm")


def _chart(name: str) -> Path:
    hits = sorted(CHARTS.glob(f"{name}-*"))
    if not hits:
        why = (
            f"the upstream chart {name} is not in {CHARTS} (set EDGE_WIZARD_UPSTREAM; see ../shared/upstream/README.md)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return hits[-1]


def _values(tmp_path: Path, step: str, rel: str, extra: str = "") -> dict[str, Any]:
    """The HelmRelease values ``step`` writes into ``rel`` on a new guide-shaped repository."""
    repo = make_guide_repo(tmp_path / "repo")
    answers = tmp_path / "answers.yaml"
    answers.write_text(BASE + extra)
    plan = Engine(repo=repo, answers_file=str(answers)).plan([step])
    change = next(c for c in plan.changes if c.path == rel)
    release = next(d for d in yamlio.load_plain(change.new) if d.get("kind") == "HelmRelease")
    values: dict[str, Any] = release["spec"]["values"]
    return values


def render(tmp_path: Path, chart: str, namespace: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    vfile = tmp_path / f"{chart}-values.yaml"
    with vfile.open("w") as fh:
        YAML(typ="safe").dump(values, fh)
    out = subprocess.run(
        [
            _helm(),
            "template",
            chart,
            str(_chart(chart)),
            "-n",
            namespace,
            "--kube-version",
            KUBE_VERSION,
            "-f",
            str(vfile),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in YAML(typ="safe").load_all(out.stdout) if isinstance(d, dict)]


def _one(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} rendered"
    return found[0]


def _no_load_balancer(objs: list[dict[str, Any]]) -> None:
    assert [
        o["metadata"]["name"] for o in objs if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer"
    ] == []


def _container_ports(pod: dict[str, Any]) -> dict[str, tuple[int, int | None]]:
    c = pod["containers"][0]
    return {p["name"]: (p["containerPort"], p.get("hostPort")) for p in c.get("ports") or []}


def test_traefik_renders_a_host_network_daemonset_on_80_443(tmp_path: Path) -> None:
    values = _values(
        tmp_path, "ingress", "manifests/infrastructure/traefik/traefik.yaml", "ingress_address: 203.0.113.10\n"
    )
    objs = render(tmp_path, "traefik", "traefik", values)
    ds = _one(objs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    ports = _container_ports(pod)
    assert ports["web"] == (80, 80) and ports["websecure"] == (443, 443)
    assert ports["metrics"][0] != 9100  # node-exporter's port on the node
    args = pod["containers"][0]["args"]
    assert "--entryPoints.web.address=:80/tcp" in args and "--entryPoints.websecure.address=:443/tcp" in args
    assert "--api.dashboard=false" in args and not any(a.startswith("--api.insecure") for a in args)
    assert "--providers.kubernetesingress.ingressendpoint.ip=203.0.113.10" in args
    assert not any("publishedservice" in a for a in args)
    assert not any("kubernetesingressnginx" in a for a in args)
    # ports below 1024: uid 0 with every capability dropped but NET_BIND_SERVICE
    sc, psc = pod["containers"][0]["securityContext"], pod["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert (psc["runAsUser"], psc["runAsNonRoot"]) == (0, False)
    # one pod per node holds the ports: the rollout must not surge
    assert ds["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}
    cls = _one(objs, "IngressClass")
    assert cls["metadata"]["name"] == "traefik" and cls["spec"]["controller"] == "traefik.io/ingress-controller"
    assert [o for o in objs if o["kind"] == "Service"] == []
    assert [o for o in objs if o["kind"] == "IngressRoute"] == []  # no dashboard route


def test_traefik_switched_from_ingress_nginx_serves_the_nginx_class(tmp_path: Path) -> None:
    values = _values(tmp_path, "ingress", "manifests/infrastructure/traefik/traefik.yaml")
    values["providers"]["kubernetesIngressNGINX"] = {"enabled": True, "publishStatusAddress": "203.0.113.10"}
    objs = render(tmp_path, "traefik", "traefik", values)
    args = _one(objs, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--providers.kubernetesingressnginx" in args
    assert "--providers.kubernetesingressnginx.publishStatusAddress=203.0.113.10" in args
    assert not any(a.startswith("--providers.kubernetesingressnginx.watchnamespace") for a in args)  # all namespaces
    rules = _one(objs, "ClusterRole")["rules"]
    assert any("ingresses/status" in r.get("resources", []) for r in rules)


def test_ingress_nginx_renders_a_host_network_daemonset(tmp_path: Path) -> None:
    values = _values(
        tmp_path,
        "ingress",
        "manifests/infrastructure/ingress-nginx/ingress-nginx.yaml",
        "ingress_controller: ingress-nginx\n",
    )
    objs = render(tmp_path, "ingress-nginx", "ingress-nginx", values)
    ds = _one(objs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    ports = _container_ports(pod)
    assert ports["http"] == (80, 80) and ports["https"] == (443, 443)
    # not reportNodeInternalIp: on nodes with a private InternalIP and a public ExternalIP it would
    # publish the private addresses
    assert not [a for a in pod["containers"][0]["args"] if a.startswith("--report-node-internal-ip-address")]
    assert _one(objs, "IngressClass")["metadata"]["name"] == "nginx"
    _no_load_balancer(objs)
    assert [o for o in objs if o["kind"] == "Service" and "admission" not in o["metadata"]["name"]] == []


def test_external_dns_renders_with_the_ingress_source(tmp_path: Path) -> None:
    values = _values(tmp_path, "external-dns", "manifests/infrastructure/external-dns/external-dns.yaml")
    objs = render(tmp_path, "external-dns", "external-dns", values)
    pod = _one(objs, "Deployment")["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert "--source=ingress" in args and "--domain-filter=example.com" in args
    assert "--policy=upsert-only" in args and "--txt-owner-id=k8s.example.com" in args
    _no_load_balancer(objs)


def test_cert_manager_renders_with_its_crds(tmp_path: Path) -> None:
    values = _values(tmp_path, "cert-manager", "manifests/infrastructure/cert-manager/cert-manager.yaml")
    objs = render(tmp_path, "cert-manager", "cert-manager", values)
    crds = {o["metadata"]["name"] for o in objs if o["kind"] == "CustomResourceDefinition"}
    assert "clusterissuers.cert-manager.io" in crds and "certificates.cert-manager.io" in crds
    assert {o["metadata"]["name"] for o in objs if o["kind"] == "Deployment"} >= {
        "cert-manager",
        "cert-manager-webhook",
    }
    _no_load_balancer(objs)


def test_podinfo_renders_its_ingress_for_the_controller(tmp_path: Path) -> None:
    values = _values(tmp_path, "smoke-test", "manifests/infrastructure/smoke-test/podinfo.yaml")
    objs = render(tmp_path, "podinfo", "podinfo", values)
    ing = _one(objs, "Ingress")
    assert ing["spec"]["ingressClassName"] == "traefik"
    assert ing["spec"]["tls"] == [{"secretName": "podinfo-tls", "hosts": ["podinfo.apps.k8s.example.com"]}]
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    _no_load_balancer(objs)
