"""The ingress step against guide-shaped repositories: Traefik by default, ingress-nginx kept where it
is, the switch from one to the other; what it writes, valid and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.repos import git
from support.steplists import PLAIN_STEPS
from support.stepruns import FW, apply_folder, docs, run_cli, written

INFRA = "manifests/infrastructure"
FLUX = "manifests/cluster/flux-system"


def _answers(tmp_path: Path, base: Path, extra: str) -> Path:
    """``base`` with the keys of ``extra`` set (replaced when ``base`` has them)."""
    keys = {line.split(":", 1)[0] for line in extra.splitlines()}
    kept = "".join(line for line in base.read_text().splitlines(True) if line.split(":", 1)[0] not in keys)
    p = tmp_path / "answers-extra.yaml"
    p.write_text(kept + extra)
    return p


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "test: as written")


def test_new_repository_gets_traefik(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "ingress") == 0
    ns = docs(guide_repo, f"{INFRA}/traefik/namespace.yaml")[0]
    assert ns["metadata"]["name"] == "traefik"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    repo_doc, rel = docs(guide_repo, f"{INFRA}/traefik/traefik.yaml")
    assert repo_doc["spec"]["url"] == "https://traefik.github.io/charts"
    assert rel["spec"]["chart"]["spec"]["version"] == ">=41.0.0 <42.0.0"
    v = rel["spec"]["values"]
    assert (v["deployment"]["kind"], v["hostNetwork"], v["service"]["enabled"]) == ("DaemonSet", True, False)
    assert v["ingressClass"]["name"] == "traefik"
    assert "kubernetesIngressNGINX" not in v["providers"]
    ks = docs(guide_repo, f"{FLUX}/traefik.yaml")[0]
    assert ks["metadata"]["name"] == "traefik"
    assert ks["spec"]["healthChecks"] == [
        {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "traefik", "namespace": "traefik"}
    ]
    assert docs(guide_repo, f"{FLUX}/kustomization.yaml")[0]["resources"][-1] == "traefik.yaml"
    assert not (guide_repo / INFRA / "ingress-nginx").exists()
    assert docs(guide_repo, ".edge-wizard.yaml")[0]["ingress_controller"] == "traefik"


def test_traefik_follows_into_issuers_smoke_test_and_firewall(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, *PLAIN_STEPS) == 0
    for issuer in docs(guide_repo, f"{INFRA}/cluster-issuers/cluster-issuers.yaml"):
        assert issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClassName"] == "traefik"
    podinfo = docs(guide_repo, f"{INFRA}/smoke-test/podinfo.yaml")[1]
    assert podinfo["spec"]["values"]["ingress"]["className"] == "traefik"
    smoke_ks = docs(guide_repo, f"{FLUX}/smoke-test.yaml")[0]
    assert {"name": "traefik"} in smoke_ks["spec"]["dependsOn"]
    policy = (guide_repo / FW).read_text()
    assert '"80"' in policy and '"443"' in policy
    assert "8443" not in policy  # no admission webhook in the host network for Traefik


def test_ingress_address_fills_the_ingress_endpoint(guide_repo: Path, answers_file: Path, tmp_path: Path) -> None:
    answers = _answers(tmp_path, answers_file, "ingress_address: 203.0.113.10\n")
    assert run_cli(guide_repo, answers, "ingress") == 0
    rel = docs(guide_repo, f"{INFRA}/traefik/traefik.yaml")[1]
    assert rel["spec"]["values"]["providers"]["kubernetesIngress"]["ingressEndpoint"] == {"ip": "203.0.113.10"}


def test_plan_without_ingress_address_says_no_record_is_published(
    guide_repo: Path, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_address = tmp_path / "no-address.yaml"
    no_address.write_text(
        "".join(ln for ln in answers_file.read_text().splitlines(True) if "ingress_address" not in ln)
    )
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(no_address)]) == 0
    err = capsys.readouterr().err
    assert "No ingress_address is set" in err
    assert "retired upstream" not in err


def test_bad_ingress_address_is_refused(guide_repo: Path, answers_file: Path, tmp_path: Path, capsys) -> None:
    answers = _answers(tmp_path, answers_file, "ingress_address: 'http://x'\n")
    assert run_cli(guide_repo, answers, "ingress") == 2
    assert "neither an IP address nor a DNS name" in capsys.readouterr().err
    assert written(guide_repo) == {}


def test_ingress_nginx_when_chosen(guide_repo: Path, answers_file: Path, tmp_path: Path) -> None:
    answers = _answers(tmp_path, answers_file, "ingress_controller: ingress-nginx\n")
    assert run_cli(guide_repo, answers, "ingress") == 0
    ns = docs(guide_repo, f"{INFRA}/ingress-nginx/namespace.yaml")[0]
    assert ns["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    repo_doc, rel = docs(guide_repo, f"{INFRA}/ingress-nginx/ingress-nginx.yaml")
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
    assert docs(guide_repo, f"{FLUX}/kustomization.yaml")[0]["resources"][-1] == "ingress.yaml"
    # smoke-test's dependsOn waits for the controller (and its admission webhook) through this check
    checks = docs(guide_repo, f"{FLUX}/ingress.yaml")[0]["spec"]["healthChecks"]
    assert [(c["kind"], c["namespace"], c["name"]) for c in checks] == [
        ("HelmRelease", "ingress-nginx", "ingress-nginx")
    ]


def _nginx_repo(repo: Path, answers_file: Path, tmp_path: Path) -> None:
    """A repository set up with ingress-nginx (by an earlier edge-wizard), plus a user's nginx Ingress."""
    answers = _answers(tmp_path, answers_file, "ingress_controller: ingress-nginx\n")
    assert run_cli(repo, answers, *PLAIN_STEPS) == 0
    app = repo / "apps" / "blog.yaml"
    app.parent.mkdir()
    app.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: blog\n  namespace: web\n"
        "  annotations:\n    nginx.ingress.kubernetes.io/ssl-redirect: 'true'\n"
        "    nginx.ingress.kubernetes.io/configuration-snippet: 'more_set_headers X: y;'\n"
        "spec:\n  ingressClassName: nginx\n  rules: []\n"
    )
    apply_folder(repo)  # the app is the cluster's: a Flux Kustomization applies its folder
    _commit(repo)


def test_ingress_nginx_repository_keeps_it(guide_repo: Path, answers_file: Path, tmp_path: Path) -> None:
    _nginx_repo(guide_repo, answers_file, tmp_path)
    state = guide_repo / ".edge-wizard.yaml"
    state.write_text(state.read_text().replace("ingress_controller: ingress-nginx\n", ""))
    _commit(guide_repo)
    assert run_cli(guide_repo, answers_file, "ingress", "cluster-issuers", "smoke-test") == 0
    assert written(guide_repo) == {".edge-wizard.yaml": "M"}  # the controller in use is recorded again
    assert "ingress_controller: ingress-nginx" in state.read_text()


def test_switch_to_traefik(guide_repo: Path, answers_file: Path, tmp_path: Path, capsys) -> None:
    _nginx_repo(guide_repo, answers_file, tmp_path)
    answers = _answers(tmp_path, answers_file, "ingress_controller: traefik\ningress_address: 203.0.113.10\n")
    capsys.readouterr()
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers)]) == 0
    err = capsys.readouterr().err
    assert "short gap" in err and "web/blog in apps/blog.yaml: nginx.ingress.kubernetes.io/configuration-snippet" in err
    assert "ssl-redirect" not in err.split("do not support")[-1]

    assert run_cli(guide_repo, answers, "ingress", "cluster-issuers", "smoke-test") == 0
    changes = written(guide_repo)
    for gone in ("namespace.yaml", "ingress-nginx.yaml", "kustomization.yaml"):
        assert changes[f"{INFRA}/ingress-nginx/{gone}"] == "D"
    assert changes[f"{FLUX}/ingress.yaml"] == "D"
    assert not (guide_repo / INFRA / "ingress-nginx").exists()
    resources = docs(guide_repo, f"{FLUX}/kustomization.yaml")[0]["resources"]
    assert "ingress.yaml" not in resources and "traefik.yaml" in resources
    rel = docs(guide_repo, f"{INFRA}/traefik/traefik.yaml")[1]
    assert rel["spec"]["values"]["providers"]["kubernetesIngressNGINX"] == {
        "enabled": True,
        "publishStatusAddress": "203.0.113.10",
    }
    cls = docs(guide_repo, f"{INFRA}/traefik/nginx-ingressclass.yaml")[0]
    assert (cls["metadata"]["name"], cls["spec"]["controller"]) == ("nginx", "k8s.io/ingress-nginx")
    smoke_ks = docs(guide_repo, f"{FLUX}/smoke-test.yaml")[0]
    assert smoke_ks["spec"]["dependsOn"] == [{"name": "traefik"}, {"name": "cluster-issuers"}]
    for issuer in docs(guide_repo, f"{INFRA}/cluster-issuers/cluster-issuers.yaml"):
        assert issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClassName"] == "traefik"

    _commit(guide_repo)
    assert run_cli(guide_repo, answers, "ingress", "cluster-issuers", "smoke-test") == 0
    assert written(guide_repo) == {}  # a re-run is a no-op
    assert run_cli(guide_repo, answers_file, "ingress") == 0  # the state file keeps traefik
    assert written(guide_repo) == {}


def test_switch_refuses_an_ingress_nginx_it_did_not_write(
    guide_repo: Path, answers_file: Path, tmp_path: Path, capsys
) -> None:
    (guide_repo / "apps").mkdir()
    (guide_repo / "apps" / "nginx.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: my-nginx\n  namespace: x\n"
        "spec:\n  chart:\n    spec:\n      chart: ingress-nginx\n"
    )
    apply_folder(guide_repo)
    _commit(guide_repo)
    answers = _answers(tmp_path, answers_file, "ingress_controller: traefik\n")
    assert run_cli(guide_repo, answers, "ingress") == 2
    err = capsys.readouterr().err
    assert "apps/nginx.yaml" in err and "edge-wizard run ingress" in err
    assert written(guide_repo) == {}


def test_switch_with_run_ingress_alone(guide_repo: Path, answers_file: Path, tmp_path: Path) -> None:
    _nginx_repo(guide_repo, answers_file, tmp_path)
    answers = _answers(tmp_path, answers_file, "ingress_controller: traefik\n")
    assert run_cli(guide_repo, answers, "ingress") == 0
    assert not (guide_repo / INFRA / "ingress-nginx").exists()
    assert not (guide_repo / FLUX / "ingress.yaml").exists()
    # the Ingresses written for nginx keep class nginx, which Traefik's nginx provider serves
    podinfo = docs(guide_repo, f"{INFRA}/smoke-test/podinfo.yaml")[1]
    assert podinfo["spec"]["values"]["ingress"]["className"] == "nginx"
    rel = docs(guide_repo, f"{INFRA}/traefik/traefik.yaml")[1]
    assert rel["spec"]["values"]["providers"]["kubernetesIngressNGINX"]["enabled"] is True
    _commit(guide_repo)
    assert run_cli(guide_repo, answers, "ingress") == 0
    assert written(guide_repo) == {}  # a re-run is a no-op
