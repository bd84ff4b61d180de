"""The steps together, through the CLI: the whole stage, idempotence, kustomize build, refusals."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.frontends.cli import main

from support.repos import make_guide_repo, snapshot
from support.steplists import PLAIN_STEPS
from support.stepruns import FW, run_cli, written
from support.tools import require_tool


def test_done_when_scenario(guide_repo: Path, answers_file: Path) -> None:
    original_fw = (guide_repo / FW).read_text()
    assert run_cli(guide_repo, answers_file, *PLAIN_STEPS) == 0
    assert main(["plan", "--repo", str(guide_repo), "--exit-code"]) == 0
    files = written(guide_repo)
    for f in (
        "manifests/cluster/flux-system/traefik.yaml",
        "manifests/cluster/flux-system/cert-manager.yaml",
        "manifests/cluster/flux-system/cluster-issuers.yaml",
        "manifests/cluster/flux-system/smoke-test.yaml",
        "manifests/infrastructure/traefik/namespace.yaml",
        "manifests/infrastructure/traefik/traefik.yaml",
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
    assert run_cli(guide_repo, answers_file, *PLAIN_STEPS) == 0
    first = snapshot(guide_repo)
    capsys.readouterr()
    assert run_cli(guide_repo, answers_file, *PLAIN_STEPS) == 0
    assert snapshot(guide_repo) == first
    assert "✚ wrote" not in capsys.readouterr().out


def test_written_yaml_parses_and_kustomize_builds(guide_repo: Path, answers_file: Path) -> None:
    kustomize = require_tool("kustomize")
    assert run_cli(guide_repo, answers_file, *PLAIN_STEPS) == 0
    for rel in written(guide_repo):
        if rel.endswith(".yaml"):
            assert yamlio.load_plain((guide_repo / rel).read_text()), rel
    folders = ["manifests/cluster/flux-system"] + [
        f"manifests/infrastructure/{c}"
        for c in ("traefik", "cert-manager", "cluster-issuers", "smoke-test", "cluster-policies")
    ]
    for folder in folders:
        res = subprocess.run([kustomize, "build", folder], cwd=guide_repo, capture_output=True, text=True)
        assert res.returncode == 0, f"{folder}: {res.stderr}"
        assert "kind:" in res.stdout


def test_changed_answer_changes_only_that_value_and_keeps_user_edits(guide_repo: Path, answers_file: Path) -> None:
    assert run_cli(guide_repo, answers_file, "cluster-issuers") == 0
    f = guide_repo / "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml"
    f.write_text(f.read_text().replace("      - http01:", "      # keep me\n      - http01:", 1))
    answers_file.write_text(answers_file.read_text().replace("ops@example.com", "certs@example.com"))
    assert run_cli(guide_repo, answers_file, "cluster-issuers") == 0
    text = f.read_text()
    assert "# keep me" in text and text.count("certs@example.com") == 2 and "ops@" not in text


def test_kustomization_of_no_source_in_another_file_is_refused_naming_it(
    tmp_path: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = make_guide_repo(tmp_path / "r")
    f = r / "manifests/cluster/flux-system/cilium.yaml"
    f.write_text(
        f.read_text() + "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata:\n  name: cert-manager\n  namespace: flux-system\nspec:\n  path: ./x\n"
    )
    before = snapshot(r)
    assert run_cli(r, answers_file, *PLAIN_STEPS) == 2
    err = capsys.readouterr().err
    # adopted where it is (issue 19), but it applies no folder of this repository: refused, naming the file
    assert "flux-system/cert-manager in manifests/cluster/flux-system/cilium.yaml applies ./x of no sourceRef" in err
    assert "Remove the old declaration" not in err
    assert snapshot(r) == before


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
