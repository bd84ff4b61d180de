"""`edge-wizard plan`: --exit-code says whether there are changes."""

from __future__ import annotations

from pathlib import Path

from wizard.frontends.cli import main


def test_plan_exit_code_reports_changes(guide_repo: Path, answers_file: Path) -> None:
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers_file), "--exit-code"]) == 1
