"""The step table (wizard.steptable): the same states as planning each step through the engine,
the reason for a blocked step, nothing written, and assets parsed once per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import catalog, yamlio
from wizard.engine import Engine
from wizard.errors import WizardError
from wizard.frontends.cli import main
from wizard.steps import NAMES
from wizard.steptable import StepRow, step_table

from support.repos import snapshot

NO_SECRET_STEPS = ["ingress", "firewall", "cert-manager", "cluster-issuers", "smoke-test"]
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch"]


def engine_states(repo: Path, answers: Path | None) -> dict[str, str]:
    """What front ends computed before: one full engine plan per step."""
    engine = Engine(repo=repo, answers_file=str(answers) if answers else None)
    engine.load()
    out = {}
    for name in NAMES:
        try:
            out[name] = engine.plan([name]).step_state(name)
        except WizardError:
            out[name] = "blocked"
    return out


def table(repo: Path, answers: Path | None) -> list[StepRow]:
    layout, ans = Engine(repo=repo, answers_file=str(answers) if answers else None).load()
    return step_table(layout, ans)


@pytest.mark.parametrize("done", [(), ("ingress",), tuple(NO_SECRET_STEPS)])
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


def test_blocked_rows_say_why(guide_repo: Path) -> None:
    rows = {r.step: r for r in table(guide_repo, None)}
    assert rows["external-dns"].state == "blocked"
    assert "domain" in rows["external-dns"].problem and "--answers FILE" in rows["external-dns"].problem
    assert rows["ingress"].state == "new" and rows["ingress"].problem == ""
    assert {r.step: r.state for r in rows.values()} == engine_states(guide_repo, None)


def test_unavailable_steps_are_blocked_without_planning(guide_repo: Path, answers_file: Path) -> None:
    layout, ans = Engine(repo=guide_repo, answers_file=str(answers_file)).load()
    rows = step_table(layout, ans, ["ingress", "firewall"], unavailable={"firewall": "no cluster policy API"})
    assert [(r.step, r.state, r.problem) for r in rows] == [
        ("ingress", "new", ""),
        ("firewall", "blocked", "no cluster policy API"),
    ]


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


def test_assets_are_parsed_once_and_handed_out_as_copies() -> None:
    catalog._parsed_asset.cache_clear()
    a = catalog.load_asset("manifests/ingress/ingress-nginx.yaml")
    b = catalog.load_asset("manifests/ingress/ingress-nginx.yaml")
    assert catalog._parsed_asset.cache_info().misses == 1
    assert a is not b and a.docs[0] is not b.docs[0]
    fresh = yamlio.parse(catalog.asset_text("manifests/ingress/ingress-nginx.yaml"))
    assert yamlio.render(a) == yamlio.render(fresh)  # comments and layout come along
    a.docs[0]["metadata"]["name"] = "changed"
    assert b.docs[0]["metadata"]["name"] != "changed"
    assert yamlio.render(catalog.load_asset("manifests/ingress/ingress-nginx.yaml")) == yamlio.render(fresh)


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
    assert main(["run", *NO_SECRET_STEPS, "--repo", str(guide_repo), "--answers", str(answers_file), *RUN]) == 0
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
