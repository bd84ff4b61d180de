"""`edge-wizard steps`: the step table through the CLI, its states after runs and hand edits, and what the command imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.cli import main
from wizard.steps import NAMES

from support.repos import snapshot
from support.steplists import PLAIN_STEPS
from support.stepruns import run_cli
from support.steptables import engine_states, table


def test_steps_command_reports_states(guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert run_cli(guide_repo, answers_file, "ingress") == 0
    capsys.readouterr()
    assert main(["steps", "--repo", str(guide_repo), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[-1]["event"] == "Done"
    rows = {r["step"]: r["state"] for r in records if r["event"] == "StepRow"}
    assert rows["ingress"] == "up to date"
    assert rows["firewall"] == "changes"
    assert rows["cert-manager"] == "new"


RUN = ["--yes", "--no-commit", "--no-push", "--no-watch"]


@pytest.mark.parametrize("done", [(), ("ingress",), tuple(PLAIN_STEPS)])
def test_states_match_planning_each_step(guide_repo: Path, answers_file: Path, done: tuple[str, ...]) -> None:
    if done:
        assert main(["run", *done, "--repo", str(guide_repo), "--answers", str(answers_file), *RUN]) == 0
    before = snapshot(guide_repo)
    rows = table(guide_repo, answers_file)
    assert snapshot(guide_repo) == before  # the table writes nothing
    assert [r.step for r in rows] == list(NAMES)
    assert {r.step: r.state for r in rows} == engine_states(guide_repo, answers_file)
    states = {r.step: r.state for r in rows}
    for name in done:
        assert states[name] == "up to date", rows
    if not done:
        assert states["ingress"] == "new" and states["firewall"] == "changes"


def test_steps_command_prints_the_table(
    guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert main(["steps", "--repo", str(guide_repo), "--answers", str(answers_file), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in records] == ["StepRow"] * len(NAMES) + ["Done"]
    rows = records[:-1]
    assert {r["step"]: r["state"] for r in rows} == engine_states(guide_repo, answers_file)
    assert set(rows[0]) == {"event", "step", "title", "state", "summary", "problem"}


def test_steps_command_imports_no_git_cluster_or_ui_library(guide_repo: Path, answers_file: Path) -> None:
    import json
    import subprocess
    import sys

    code = (
        "import contextlib, io, json, sys\n"
        "from wizard.frontends.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['steps', '--repo', {str(guide_repo)!r}, '--answers', {str(answers_file)!r}])\n"
        "print(json.dumps([rc, sorted(sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    rc, modules = json.loads(out.splitlines()[-1])
    heavy = sorted(
        {m.split(".")[0] for m in modules} & {"git", "lightkube", "httpx", "httpx2", "textual", "questionary"}
    )
    assert rc == 0 and heavy == []


def test_states_match_after_hand_edits(guide_repo: Path, answers_file: Path) -> None:
    """Merges into existing files: a managed key edited by hand is a change, an added key is not."""
    assert main(["run", *PLAIN_STEPS, "--repo", str(guide_repo), "--answers", str(answers_file), *RUN]) == 0
    infra = guide_repo / "manifests/infrastructure"
    hr = infra / "traefik/traefik.yaml"
    hr.write_text(hr.read_text().replace('version: ">=41.0.0 <42.0.0"', 'version: "40.0.0"'))
    ns = infra / "cert-manager/namespace.yaml"
    ns.write_text(ns.read_text() + "  labels:\n    team: platform  # ours\n")
    kfile = guide_repo / "manifests/cluster/flux-system/kustomization.yaml"
    kfile.write_text(kfile.read_text().replace("  - smoke-test.yaml\n", "").replace("- smoke-test.yaml\n", ""))
    states = {r.step: r.state for r in table(guide_repo, answers_file)}
    assert states == engine_states(guide_repo, answers_file)
    assert states["ingress"] == "changes" and states["smoke-test"] == "changes", states
    assert states["cert-manager"] == "up to date" and states["cluster-issuers"] == "up to date", states
