"""Issue 16 items 4, 9, 10 and the git minors: the index is never left worse than before, an
interrupted rebase/merge is detected, other people's commits are never pushed, one run at a time,
a blocking credential helper ends in a message naming it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wizard
from wizard.frontends.cli import main

from support.clones import Clone, http_clone
from support.repos import git, snapshot
from support.steplists import PLAIN_STEPS

ROOT = Path(wizard.__file__).resolve().parents[1]  # the code under test (also when it is an older checkout)


@pytest.fixture
def clone(tmp_path: Path):
    with http_clone(tmp_path) as c:
        yield c


def _args(c: Clone, answers: Path, *extra: str, steps: list[str] | None = None) -> list[str]:
    return [
        "run",
        *(steps or PLAIN_STEPS),
        "--repo",
        str(c.repo),
        "--answers",
        str(answers),
        "--yes",
        "--no-watch",
        *extra,
    ]


def _staged_deletions(c: Clone) -> list[str]:
    return git(c.repo, "diff", "--cached", "--name-only", "--diff-filter=D").splitlines()


def _hook(c: Clone, name: str, body: str) -> Path:
    hooks = c.repo / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    p = hooks / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return p


def _wizard(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wizard", *argv], capture_output=True, text=True, env=full, timeout=timeout, check=False
    )


# -- item 4: git's index ----------------------------------------------------------------------------------
def test_index_lock_held_before_the_run_stops_it_before_writing(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clone.repo / ".git/index.lock").write_text("")  # an editor's git integration at work
    before, head = snapshot(clone.repo), clone.head()
    rc = main(_args(clone, answers_file))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "index.lock" in err and "before writing anything" in err
    assert snapshot(clone.repo) == before and clone.head() == head


def test_index_lock_taken_while_the_run_writes_commits_nothing_and_stages_nothing(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The editor grabs index.lock between the write and the commit: no commit, the index as before."""
    from wizard.gitops.ops import GitOps

    original = GitOps.commit

    def editor_then_commit(self, *a, **kw):
        (self.git_dir / "index.lock").write_text("")
        return original(self, *a, **kw)

    monkeypatch.setattr(GitOps, "commit", editor_then_commit)
    index_before = (clone.repo / ".git/index").read_bytes()
    head = clone.head()
    rc = main(_args(clone, answers_file))
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "index.lock" in err and "nothing was committed" in err
    assert clone.head() == head
    assert (clone.repo / ".git/index").read_bytes() == index_before
    (clone.repo / ".git/index.lock").unlink()
    assert _staged_deletions(clone) == []
    assert git(clone.repo, "diff", "--cached", "--name-only") == ""  # nothing staged at all
    assert clone.status()  # the files are on disk, uncommitted


def test_kill_between_commit_and_index_update_is_repaired_on_the_next_run(clone: Clone, answers_file: Path) -> None:
    """The reference-transaction hook kills the wizard the moment HEAD moved (a real SIGKILL)."""
    marker = clone.repo.parent / "killed"
    _hook(
        clone,
        "reference-transaction",
        f'if [ "$1" = committed ] && [ ! -e "{marker}" ] && grep -q " HEAD$" ; then\n'
        f'  touch "{marker}"; kill -9 "$(ps -o ppid= -p $PPID | tr -d " ")"\nfi\nexit 0\n',
    )
    res = _wizard(_args(clone, answers_file, "--no-push"))
    assert marker.exists(), res.stderr
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr[-2000:])
    assert git(clone.repo, "log", "-1", "--format=%s").startswith("edge-wizard:")  # the commit landed
    # the damage the issue describes: every wizard file staged as deleted
    assert _staged_deletions(clone)
    res = _wizard(_args(clone, answers_file, "--no-push"))
    assert res.returncode == 0, res.stderr[-3000:]
    said = res.stdout + res.stderr  # a warning (stderr in a line stream)
    assert "interrupted" in said and "index was repaired" in said
    assert _staged_deletions(clone) == []
    assert clone.status() == ""
    assert not (clone.repo / ".git/index.lock").exists()
    assert not list((clone.repo / ".git").glob("edge-wizard-*"))


# -- item 9: rebase / merge in progress ----------------------------------------------------------------------
def _conflicting_rebase(c: Clone) -> None:
    f = c.repo / "README.md"
    git(c.repo, "switch", "-q", "-c", "side")
    f.write_text("side\n")
    git(c.repo, "commit", "-qam", "side")
    git(c.repo, "switch", "-q", "main")
    f.write_text("main\n")
    git(c.repo, "commit", "-qam", "main change")
    git(c.repo, "switch", "-q", "side")
    subprocess.run(["git", "rebase", "main"], cwd=c.repo, capture_output=True, check=False)
    assert (c.repo / ".git/rebase-merge").is_dir()


def test_interrupted_rebase_is_detected_with_the_way_back(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _conflicting_rebase(clone)
    before = snapshot(clone.repo)
    rc = main(_args(clone, answers_file))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "rebase is in progress" in err and "git rebase --abort" in err
    assert "stash" not in err
    assert snapshot(clone.repo) == before
    assert main(["plan", "ingress", "--repo", str(clone.repo), "--answers", str(answers_file)]) == 2


def test_merge_in_progress_is_detected(clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = clone.repo / "README.md"
    git(clone.repo, "switch", "-q", "-c", "side")
    f.write_text("side\n")
    git(clone.repo, "commit", "-qam", "side")
    git(clone.repo, "switch", "-q", "main")
    f.write_text("main\n")
    git(clone.repo, "commit", "-qam", "main change")
    subprocess.run(["git", "merge", "side"], cwd=clone.repo, capture_output=True, check=False)
    assert (clone.repo / ".git/MERGE_HEAD").exists()
    assert main(_args(clone, answers_file)) == 2
    assert "git merge --abort" in capsys.readouterr().err


# -- item 10: only the wizard's commits are pushed -----------------------------------------------------------
def test_other_unpushed_commits_stop_the_run_before_writing(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clone.repo / "notes.md").write_text("my own work in progress\n")
    git(clone.repo, "add", "notes.md")
    git(clone.repo, "commit", "-qm", "WIP: my notes")
    before, head, remote = snapshot(clone.repo), clone.head(), clone.remote_head()
    rc = main(_args(clone, answers_file))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "WIP: my notes" in err and head[:10] in err and "not on origin" in err
    assert snapshot(clone.repo) == before and clone.head() == head and clone.remote_head() == remote
    # without a push the wizard may commit on top of them
    assert main(_args(clone, answers_file, "--no-push")) == 0
    assert clone.remote_head() == remote


def test_the_wizards_own_unpushed_commit_is_pushed_on_the_next_run(clone: Clone, answers_file: Path) -> None:
    assert main(_args(clone, answers_file, "--no-push")) == 0
    ours = clone.head()
    assert main(_args(clone, answers_file)) == 0
    assert clone.remote_head() == ours


# -- minor: one run at a time, stale leftovers ----------------------------------------------------------------
def test_a_second_run_at_once_is_refused_with_the_holders_pid(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from wizard.lock import hold\n"
         f"with hold(Path({str(clone.repo)!r})):\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = snapshot(clone.repo)
        rc = main(_args(clone, answers_file))
        err = capsys.readouterr().err
        assert rc == 2, err
        assert f"pid {holder.pid}" in err and "Another edge-wizard run" in err
        assert snapshot(clone.repo) == before
    finally:
        holder.communicate("", timeout=30)
    assert main(_args(clone, answers_file)) == 0


def test_stale_lock_and_leftovers_of_a_killed_run_are_cleaned(
    clone: Clone, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gdir = clone.repo / ".git"
    (gdir / "edge-wizard.lock").write_text(json.dumps({"pid": 999999, "started": time.time()}))
    (gdir / "edge-wizard-index.k3j2h1g0").write_bytes(b"DIRC")
    leftover = clone.repo / "manifests/infrastructure/cilium/.namespace.yaml.ab12cd34.tmp"
    leftover.write_text("half")
    rc = main(_args(clone, answers_file))
    out = capsys.readouterr().out
    assert rc == 0
    assert "pid 999999" in out and "interrupted" in out
    assert not leftover.exists() and not (gdir / "edge-wizard-index.k3j2h1g0").exists()
    assert not (gdir / "edge-wizard.lock").exists()


# -- minor: credential helper, rejected push ---------------------------------------------------------------
def test_blocking_credential_helper_times_out_naming_it(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_clone(tmp_path, username="fluxbot", password="s3cret-pass") as c:
        helper = tmp_path / "stuck-helper"
        helper.write_text("#!/bin/sh\nexec sleep 600\n")
        helper.chmod(0o755)
        git(c.repo, "config", "credential.helper", str(helper))
        monkeypatch.setenv("EDGE_WIZARD_GIT_TIMEOUT", "3")
        start = time.monotonic()
        res = _wizard(_args(c, answers_file, "--json"), env={"EDGE_WIZARD_GIT_TIMEOUT": "3"})
        assert time.monotonic() - start < 60
        assert res.returncode == 1, res.stderr[-2000:]
        failed = json.loads(res.stdout.splitlines()[-1])
        assert failed["event"] == "Failed"
        assert str(helper) in failed["message"] and "did not finish within 3 s" in failed["message"]
        assert "kept locally" in failed["message"]
        assert "s3cret-pass" not in res.stdout + res.stderr


def test_rejected_push_is_reported_in_the_wizards_words(clone: Clone, answers_file: Path) -> None:
    """In a real process (no pytest log capture): GitPython's own log line must not reach stderr."""
    hook = clone.bare / "hooks/pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch: use a pull request' >&2\nexit 1\n")
    hook.chmod(0o755)
    res = _wizard(_args(clone, answers_file))
    assert res.returncode == 1, res.stderr[-2000:]
    assert "refused the update" in res.stderr
    assert "Error lines received" not in res.stderr and "Cmd(" not in res.stderr
