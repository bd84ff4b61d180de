"""Each step against guide-shaped repositories: what it writes, that it is valid and idempotent."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.engine import Engine, RunOptions
from wizard.errors import UserError
from wizard.frontends.cli import main

from conftest import require_tool
from support.repos import git, make_guide_repo, snapshot

NO_SECRET_STEPS = ["ingress", "firewall", "cert-manager", "cluster-issuers", "smoke-test"]
FW = "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch"]


def run_cli(repo: Path, answers: Path, *steps: str) -> int:
    return main(["run", *steps, "--repo", str(repo), "--answers", str(answers), *RUN])


def written(repo: Path) -> dict[str, str]:
    out = git(repo, "status", "--porcelain", "--untracked-files=all")
    return {path: status for status, path in (line.split(maxsplit=1) for line in out.splitlines())}


def test_done_when_scenario(guide_repo: Path, answers_file: Path) -> None:
    original_fw = (guide_repo / FW).read_text()
    assert run_cli(guide_repo, answers_file, *NO_SECRET_STEPS) == 0
    assert main(["plan", "--repo", str(guide_repo), "--exit-code"]) == 0
    files = written(guide_repo)
    for f in (
        "manifests/cluster/flux-system/ingress.yaml",
        "manifests/cluster/flux-system/cert-manager.yaml",
        "manifests/cluster/flux-system/cluster-issuers.yaml",
        "manifests/cluster/flux-system/smoke-test.yaml",
        "manifests/infrastructure/ingress-nginx/namespace.yaml",
        "manifests/infrastructure/ingress-nginx/ingress-nginx.yaml",
        "manifests/infrastructure/cert-manager/cert-manager.yaml",
        "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml",
        "manifests/infrastructure/smoke-test/podinfo.yaml",
        ".edge-wizard.yaml",
    ):
        assert files.get(f) == "??", f
    assert files[FW] == "M"
    # the firewall file differs from the original only by appended lines
    new_fw = (guide_repo / FW).read_text()
    ops = [op for op in difflib.ndiff(original_fw.splitlines(), new_fw.splitlines()) if op[:1] in "+-"]
    assert ops and all(op.startswith("+ ") for op in ops)
    assert new_fw.startswith(original_fw)


def test_second_run_is_a_no_op(guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(guide_repo, answers_file, *NO_SECRET_STEPS) == 0
    first = snapshot(guide_repo)
    capsys.readouterr()
    assert run_cli(guide_repo, answers_file, *NO_SECRET_STEPS) == 0
    assert snapshot(guide_repo) == first
    assert "✚ wrote" not in capsys.readouterr().out


def test_written_yaml_parses_and_kustomize_builds(guide_repo: Path, answers_file: Path) -> None:
    kustomize = require_tool("kustomize")
    assert run_cli(guide_repo, answers_file, *NO_SECRET_STEPS) == 0
    for rel in written(guide_repo):
        if rel.endswith(".yaml"):
            assert yamlio.load_plain((guide_repo / rel).read_text()), rel
    folders = ["manifests/cluster/flux-system"] + [
        f"manifests/infrastructure/{c}"
        for c in ("ingress-nginx", "cert-manager", "cluster-issuers", "smoke-test", "cluster-policies")
    ]
    for folder in folders:
        res = subprocess.run([kustomize, "build", folder], cwd=guide_repo, capture_output=True, text=True)
        assert res.returncode == 0, f"{folder}: {res.stderr}"
        assert "kind:" in res.stdout


def _docs(repo: Path, rel: str) -> list:
    return yamlio.load_plain((repo / rel).read_text())


def test_ingress_manifests(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "ingress") == 0
    ns = _docs(guide_repo, "manifests/infrastructure/ingress-nginx/namespace.yaml")[0]
    assert ns["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    repo_doc, rel = _docs(guide_repo, "manifests/infrastructure/ingress-nginx/ingress-nginx.yaml")
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
    k = _docs(guide_repo, "manifests/cluster/flux-system/kustomization.yaml")[0]
    assert k["resources"][-1] == "ingress.yaml"


def test_ingress_plan_warns_that_ingress_nginx_is_retired(
    guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers_file)]) == 0
    assert "retired upstream" in capsys.readouterr().err


def test_cert_manager_and_issuers(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "cert-manager", "cluster-issuers") == 0
    repo_doc, rel = _docs(guide_repo, "manifests/infrastructure/cert-manager/cert-manager.yaml")
    assert repo_doc["metadata"]["name"] == "jetstack"
    assert rel["spec"]["chart"]["spec"]["sourceRef"]["name"] == "jetstack"
    assert rel["spec"]["values"]["crds"] == {"enabled": True, "keep": True}
    assert "installCRDs" not in rel["spec"]["values"]
    cm = _docs(guide_repo, "manifests/cluster/flux-system/cert-manager.yaml")[0]
    assert cm["spec"]["healthChecks"][0]["kind"] == "HelmRelease"
    ci = _docs(guide_repo, "manifests/cluster/flux-system/cluster-issuers.yaml")[0]
    assert ci["spec"]["dependsOn"] == [{"name": "cert-manager"}]
    assert ci["spec"]["healthChecks"][0]["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    issuers = _docs(guide_repo, "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml")
    assert [i["metadata"]["name"] for i in issuers] == ["letsencrypt-staging", "letsencrypt-production"]
    for i in issuers:
        acme = i["spec"]["acme"]
        assert acme["email"] == "ops@example.com"
        assert acme["privateKeySecretRef"]["name"] == i["metadata"]["name"]
        assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    assert "staging" in issuers[0]["spec"]["acme"]["server"]


def test_smoke_test_host_and_annotations(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "smoke-test") == 0
    rel = _docs(guide_repo, "manifests/infrastructure/smoke-test/podinfo.yaml")[1]
    ing = rel["spec"]["values"]["ingress"]
    assert ing["className"] == "nginx"
    assert ing["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-production",
        "external-dns.alpha.kubernetes.io/hostname": "podinfo.apps.k8s.example.com",
    }
    assert ing["hosts"][0]["host"] == "podinfo.apps.k8s.example.com"
    assert ing["tls"] == [{"secretName": "podinfo-tls", "hosts": ["podinfo.apps.k8s.example.com"]}]


def test_changed_answer_changes_only_that_value_and_keeps_user_edits(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "cluster-issuers") == 0
    f = guide_repo / "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml"
    f.write_text(f.read_text().replace("      - http01:", "      # keep me\n      - http01:", 1))
    answers_file.write_text(answers_file.read_text().replace("ops@example.com", "certs@example.com"))
    assert run_cli(guide_repo, answers_file, "cluster-issuers") == 0
    text = f.read_text()
    assert "# keep me" in text and text.count("certs@example.com") == 2 and "ops@" not in text


def test_firewall_rule_is_appended_with_quoted_ports(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "firewall") == 0
    text = (guide_repo / FW).read_text()
    assert '"80"' in text and '"443"' in text and '"8443"' in text
    assert "# Allow HTTP and HTTPS access from anywhere" in text
    rules = _docs(guide_repo, FW)[0]["spec"]["ingress"]
    assert {
        "fromEntities": ["world", "cluster"],
        "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}, {"port": "443", "protocol": "TCP"}]}],
    } in rules
    assert rules[-1] == {"fromEntities": ["cluster"], "toPorts": [{"ports": [{"port": "8443", "protocol": "TCP"}]}]}
    if "2024" in guide_repo.name:
        assert "    # - fromEntities:\n    #     - all" in text  # the commented-out rule survives
        assert "\n    # Allow HTTP and HTTPS access from anywhere\n    - fromEntities:\n        - world" in text
    else:
        assert "\n   # Allow metrics-server to scrape" in text  # mis-indented comment kept
        assert "\n  # Allow HTTP and HTTPS access from anywhere\n  - fromEntities:\n    - world" in text


def test_firewall_without_webhook_rule(guide_repo: Path, answers_file: Path) -> None:
    answers_file.write_text(answers_file.read_text() + "firewall:\n  webhook_rule: false\n")
    assert run_cli(guide_repo, answers_file, "firewall") == 0
    assert '"8443"' not in (guide_repo / FW).read_text()


def test_firewall_rule_already_present_is_no_change(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "firewall") == 0
    git(guide_repo, "commit", "-qam", "fw")
    layout_before = snapshot(guide_repo)
    engine = Engine(repo=guide_repo, answers_file=str(answers_file))
    plan = engine.plan(["firewall"])
    assert [c.path for c in plan.pending] == []
    assert plan.step_state("firewall") == "up to date"
    assert snapshot(guide_repo) == layout_before


def test_firewall_never_creates_a_second_policy(
    tmp_path: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = make_guide_repo(tmp_path / "r")
    (r / FW).unlink()
    (r / "manifests/infrastructure/cluster-policies/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
    )
    before = snapshot(r)
    assert run_cli(r, answers_file, "firewall") == 2
    err = capsys.readouterr().err
    assert "never creates a second policy" in err and "lock the node down" in err
    assert snapshot(r) == before


def test_duplicate_kustomization_is_refused(
    tmp_path: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = make_guide_repo(tmp_path / "r")
    f = r / "manifests/cluster/flux-system/cilium.yaml"
    f.write_text(
        f.read_text() + "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata:\n  name: cert-manager\n  namespace: flux-system\nspec:\n  path: ./x\n"
    )
    before = snapshot(r)
    assert run_cli(r, answers_file, *NO_SECRET_STEPS) == 2
    assert "already declared in manifests/cluster/flux-system/cilium.yaml" in capsys.readouterr().err
    assert snapshot(r) == before


def test_external_dns_refuses_plaintext_without_a_secret_writer(guide_repo: Path, answers_file: Path) -> None:
    from wizard.secrets import RefusingSecretWriter

    engine = Engine(
        repo=guide_repo, answers_file=str(answers_file), secret_writer=RefusingSecretWriter("no sops here.")
    )
    plan = engine.plan(["external-dns"])
    before = snapshot(guide_repo)
    with pytest.raises(UserError, match="never writes a plaintext Secret"):
        list(engine.run(plan, RunOptions(token="s3cr3t-token-value")))
    assert snapshot(guide_repo) == before


def test_steps_command_reports_states(guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert run_cli(guide_repo, answers_file, "ingress") == 0
    capsys.readouterr()
    assert main(["steps", "--repo", str(guide_repo), "--json"]) == 0
    rows = {r["step"]: r["state"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["ingress"] == "up to date"
    assert rows["firewall"] == "changes"
    assert rows["cert-manager"] == "new"


def test_plan_exit_code_reports_changes(guide_repo: Path, answers_file: Path) -> None:
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers_file), "--exit-code"]) == 1


def test_run_without_yes_and_without_tty_refuses(guide_repo: Path, answers_file: Path) -> None:
    before = snapshot(guide_repo)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "run",
            "ingress",
            "--repo",
            str(guide_repo),
            "--answers",
            str(answers_file),
            "--no-commit",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 2
    assert "needs --yes" in res.stderr
    assert snapshot(guide_repo) == before
