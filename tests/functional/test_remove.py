"""`run smoke-test --remove`: the smoke test's files go in one commit, the state file records it, a
re-run changes nothing, a plain `run` leaves it out and `run smoke-test` adds it back; the watch
follows what the removal prunes until it is gone. Over a smart-HTTP remote, with the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.engine import Engine
from wizard.flux.targets import objects_for, removed_objects
from wizard.frontends.cli import main

from support.clones import http_clone
from support.repos import git
from support.steplists import PLAIN_STEPS

FOLDER = "manifests/infrastructure/smoke-test"


@pytest.fixture
def repo(tmp_path: Path, answers_file: Path):
    """A guide repository with the edge (no external-dns: no token) set up and pushed."""
    with http_clone(tmp_path) as c:
        args = ["run", *PLAIN_STEPS, "--repo", str(c.repo), "--answers", str(answers_file), "--yes", "--no-watch"]
        assert main(args) == 0
        yield c.repo, c.url


def _remove(repo: Path, answers: Path, *extra: str) -> int:
    return main(
        ["run", "smoke-test", "--remove", "--repo", str(repo), "--answers", str(answers), "--yes", "--no-watch", *extra]
    )


def _state(repo: Path) -> dict:
    return yamlio.load_plain((repo / ".edge-wizard.yaml").read_text())[0]


def _flux_file(repo: Path) -> str:
    found = [
        str(p.relative_to(repo))
        for p in (repo / "manifests").rglob("*.yaml")
        if "name: smoke-test" in p.read_text() and "kind: Kustomization" in p.read_text()
    ]
    assert len(found) == 1, found
    return found[0]


def test_remove_deletes_the_files_in_one_pushed_commit_and_records_it(repo, answers_file: Path) -> None:
    clone, url = repo
    flux_rel = _flux_file(clone)
    listing = Path(flux_rel).parent / "kustomization.yaml"
    assert Path(flux_rel).name in (clone / listing).read_text()
    before = git(clone, "rev-parse", "HEAD")

    assert _remove(clone, answers_file) == 0

    assert git(clone, "rev-list", "--count", f"{before}..HEAD") == "1"
    assert git(clone, "log", "-1", "--format=%s") == "edge-wizard: remove smoke-test"
    assert git(clone, "ls-remote", url, "refs/heads/main").split()[0] == git(clone, "rev-parse", "HEAD")
    assert not (clone / FOLDER).exists()
    assert not (clone / flux_rel).exists()
    assert Path(flux_rel).name not in (clone / listing).read_text()  # unlisted, so kustomize still builds
    state = _state(clone)
    assert state["removed"] == ["smoke-test"]
    assert "smoke-test" not in state["steps"]
    assert git(clone, "status", "--porcelain") == ""


def test_removing_again_changes_nothing(repo, answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clone, _ = repo
    assert _remove(clone, answers_file) == 0
    head = git(clone, "rev-parse", "HEAD")
    capsys.readouterr()
    assert _remove(clone, answers_file) == 0
    assert git(clone, "rev-parse", "HEAD") == head
    assert "Nothing to remove" in capsys.readouterr().out


def test_a_plain_run_leaves_the_removed_step_out_and_run_step_adds_it_back(
    repo, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone, _ = repo
    assert _remove(clone, answers_file) == 0
    capsys.readouterr()
    assert main(["steps", "--repo", str(clone), "--answers", str(answers_file), "--json"]) == 0
    rows = {r["step"]: r for r in map(json.loads, capsys.readouterr().out.splitlines()) if r.get("event") == "StepRow"}
    assert rows["smoke-test"]["state"] == "removed"
    assert "edge-wizard run smoke-test" in rows["smoke-test"]["problem"]
    # the default plan (the state file's steps) does not bring it back
    assert main(["plan", "--repo", str(clone), "--answers", str(answers_file)]) == 0
    assert "smoke-test/podinfo.yaml" not in capsys.readouterr().out

    args = ["run", "smoke-test", "--repo", str(clone), "--answers", str(answers_file), "--yes", "--no-watch"]
    assert main(args) == 0
    assert (clone / FOLDER / "podinfo.yaml").is_file()
    state = _state(clone)
    assert "removed" not in state and "smoke-test" in state["steps"]


def test_a_foreign_file_in_the_folder_is_refused_with_nothing_written(
    repo, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone, _ = repo
    (clone / FOLDER / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n")
    git(clone, "add", ".")
    git(clone, "commit", "-qm", "my own file")
    head = git(clone, "rev-parse", "HEAD")
    capsys.readouterr()
    assert _remove(clone, answers_file) == 2
    err = capsys.readouterr().err
    assert "extra.yaml" in err and "Move those files" in err and "Traceback" not in err
    assert git(clone, "rev-parse", "HEAD") == head and git(clone, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("args", "said"),
    [(["run", "ingress", "--remove"], "cannot be removed"), (["run", "--remove"], "needs the step to remove")],
)
def test_remove_of_another_step_or_none_is_exit_2(
    repo, answers_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    clone, _ = repo
    head = git(clone, "rev-parse", "HEAD")
    capsys.readouterr()
    assert main([*args, "--repo", str(clone), "--answers", str(answers_file), "--yes", "--no-watch"]) == 2
    assert said in capsys.readouterr().err
    assert git(clone, "rev-parse", "HEAD") == head and git(clone, "status", "--porcelain") == ""


def test_the_watch_follows_what_the_removal_prunes_until_it_is_gone(repo, answers_file: Path) -> None:
    clone, _ = repo
    engine = Engine(repo=str(clone), answers_file=str(answers_file))
    layout, _ = engine.load()
    plan = engine.plan_removal(["smoke-test"])
    gone = {t.key for t in removed_objects(plan)}
    assert gone == {("Kustomization", "flux-system", "smoke-test"), ("HelmRelease", "podinfo", "podinfo")}
    targets = objects_for(layout, plan)
    followed = {t.key: t for t in targets}
    assert all(followed[k].gone for k in gone)  # followed as "gone", never as "ready"
    assert not any(t.kind == "Certificate" for t in targets)  # nothing of the smoke test is waited for
    # a plan that writes the smoke test removes nothing
    assert removed_objects(engine.plan(["smoke-test"])) == []
