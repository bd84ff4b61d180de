"""The firewall step against guide-shaped repositories: what it writes, valid and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.engine import Engine

from support.repos import git, make_guide_repo, snapshot
from support.stepruns import FW, docs, run_cli


def test_firewall_rule_is_appended_with_quoted_ports(guide_repo: Path, answers_file: Path) -> None:
    answers_file.write_text(answers_file.read_text() + "ingress_controller: ingress-nginx\n")  # its 8443 webhook
    assert run_cli(guide_repo, answers_file, "firewall") == 0
    text = (guide_repo / FW).read_text()
    assert '"80"' in text and '"443"' in text and '"8443"' in text
    assert "# Allow HTTP and HTTPS access from anywhere" in text
    rules = docs(guide_repo, FW)[0]["spec"]["ingress"]
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
