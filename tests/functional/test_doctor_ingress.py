"""doctor's ingress-controller checks on wizard-written repositories: the class in use, the nginx
annotations Traefik does not support, the firewall with Traefik."""

from __future__ import annotations

from pathlib import Path

from wizard import doctor, repo
from wizard.doctor import Finding

from support.repos import git
from support.steplists import PLAIN_STEPS
from support.stepruns import FW, apply_folder, run_cli

INFRA = "manifests/infrastructure"
STEPS = tuple(PLAIN_STEPS)
BLOG = (
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: blog\n  namespace: web\n"
    "  annotations:\n    nginx.ingress.kubernetes.io/rewrite-target: /\n"
    "    nginx.ingress.kubernetes.io/server-snippet: 'return 403;'\n"
    "spec:\n  ingressClassName: {cls}\n  rules: []\n"
)


def findings(root: Path) -> list[Finding]:
    return doctor.diagnose(repo.discover(root), cluster=False)


def _stage(root: Path, answers: Path, extra: str = "") -> None:
    if extra:
        answers.write_text(answers.read_text() + extra)
    assert run_cli(root, answers, *STEPS) == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "stage")


def _blog(root: Path, cls: str) -> None:
    (root / "apps").mkdir(exist_ok=True)
    (root / "apps" / "blog.yaml").write_text(BLOG.format(cls=cls))
    apply_folder(root)  # the cluster applies it


def test_clean_traefik_stage_has_no_problem(guide_repo: Path, answers_file: Path) -> None:
    _stage(guide_repo, answers_file)  # ANSWERS give ingress_address
    assert [f for f in findings(guide_repo) if f.severity != "info"] == []


def test_an_ingress_of_a_class_nobody_serves_is_an_error(guide_repo: Path, answers_file: Path) -> None:
    _stage(guide_repo, answers_file)
    _blog(guide_repo, "nginx")  # ingress-nginx is not there: Traefik serves class traefik only
    fs = [f for f in findings(guide_repo) if f.id == "ingress-class-unserved"]
    assert len(fs) == 1 and fs[0].severity == "error" and fs[0].path == "apps/blog.yaml"
    assert "'nginx'" in fs[0].seen and "traefik" in fs[0].seen and "traefik" in fs[0].fix


def test_issuer_with_the_old_class_is_an_error(guide_repo: Path, answers_file: Path) -> None:
    _stage(guide_repo, answers_file)
    p = guide_repo / INFRA / "cluster-issuers" / "cluster-issuers.yaml"
    p.write_text(p.read_text().replace("ingressClassName: traefik", "ingressClassName: nginx"))
    fs = [f for f in findings(guide_repo) if f.id == "ingress-class-unserved"]
    assert len(fs) == 2 and {f.step for f in fs} == {"cluster-issuers"}


def test_unsupported_nginx_annotations_before_and_after_the_switch(
    guide_repo: Path, answers_file: Path, tmp_path: Path
) -> None:
    nginx_answers = tmp_path / "nginx.yaml"
    nginx_answers.write_text(answers_file.read_text() + "ingress_controller: ingress-nginx\n")
    _stage(guide_repo, nginx_answers)
    _blog(guide_repo, "nginx")
    fs = [f for f in findings(guide_repo) if f.id == "nginx-annotations-unsupported"]
    assert [(f.severity, f.path) for f in fs] == [("info", "apps/blog.yaml")]
    assert "server-snippet" in fs[0].seen and "rewrite-target" not in fs[0].seen  # supported by Traefik

    switch = tmp_path / "switch.yaml"
    switch.write_text(answers_file.read_text() + "ingress_controller: traefik\n")
    assert run_cli(guide_repo, switch, "ingress", "cluster-issuers", "smoke-test") == 0
    fs = findings(guide_repo)
    unsupported = [f for f in fs if f.id == "nginx-annotations-unsupported"]
    assert [f.severity for f in unsupported] == ["warning"]
    assert [f for f in fs if f.id == "ingress-class-unserved"] == []  # Traefik serves class nginx now
    assert [f for f in fs if f.id == "ingress-nginx-retired"] == []


def test_firewall_without_80_443_is_reported_for_traefik(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "ingress") == 0
    fs = [f for f in findings(guide_repo) if f.id == "firewall-no-http-rule"]
    assert len(fs) == 1 and fs[0].path == FW and "'traefik'" in fs[0].seen
