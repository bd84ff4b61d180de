"""The real public Flux repositories of ../shared/fixtures/real-repos, copied into temporary git repositories.

They are the users' repositories: tests copy one (tracked files only, as published), give it a git
history and a bare remote, and never edit the originals.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

OFFICIAL_OLD = "flux2-kustomize-helm-example-a484a05"
OFFICIAL_NEW = "flux2-kustomize-helm-example-4f1a5b1"
CLUSTER_TEMPLATE = "cluster-template-ae73246-rendered"
ALL = (OFFICIAL_OLD, OFFICIAL_NEW, CLUSTER_TEMPLATE)
# the cluster each fixture is set up for (the official example holds two)
CLUSTER = {OFFICIAL_OLD: "staging", OFFICIAL_NEW: "staging", CLUSTER_TEMPLATE: None}
# cluster-template's age key (git-ignored upstream as age.key at the root; a throwaway made for the fixture)
CLUSTER_TEMPLATE_KEY = f"{CLUSTER_TEMPLATE}.age.key"
CLUSTER_TEMPLATE_RECIPIENT = "age12utyuugre2dyegycexl4z6tu0729ue62tk0xd08z8rrrfz7vwf0q8d4jyc"


def fixtures_dir() -> Path | None:
    """../shared/fixtures/real-repos beside the repository, or under $EDGE_WIZARD_UPSTREAM/../fixtures."""
    here = Path(__file__).resolve().parents[2]
    candidates = [here.parent / "shared/fixtures/real-repos", Path("/work/shared/fixtures/real-repos")]
    up = os.environ.get("EDGE_WIZARD_UPSTREAM")
    if up:
        candidates.insert(0, Path(up).parent / "fixtures/real-repos")
    return next((c for c in candidates if (c / OFFICIAL_OLD).is_dir()), None)


def _git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
    }
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, text=True, capture_output=True).stdout


def copy_real_repo(name: str, dest: Path, *, remote: bool = True) -> Path:
    """A git repository (branch main, one commit, with a bare ``origin`` when ``remote``) holding the fixture."""
    src = fixtures_dir()
    if src is None:
        raise FileNotFoundError("the real-repos fixtures are missing (../shared/fixtures/real-repos)")
    shutil.copytree(src / name, dest, symlinks=True)
    for folder, dirs, files in os.walk(dest):  # the fixtures are read-only; the copy is the user's
        for n in [*dirs, *files]:
            p = Path(folder, n)
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
    dest.chmod(dest.stat().st_mode | stat.S_IWUSR)
    key = src / f"{name}.age.key"
    if key.is_file():  # cluster-template keeps its (git-ignored) age key at the root as age.key
        shutil.copy(key, dest / "age.key")
        (dest / "age.key").chmod(0o600)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "fixture")
    if remote:
        bare = dest.parent / f"{dest.name}.git"
        _git(dest.parent, "init", "-q", "--bare", "-b", "main", str(bare))
        _git(dest, "remote", "add", "origin", str(bare))
        _git(dest, "push", "-q", "origin", "main")
    return dest


def fixture(name: str) -> Path:
    """The fixture file or folder ``name`` (skipped when the fixtures are missing; a failure under CI)."""
    src = fixtures_dir()
    if src is None or not (src / name).exists():
        msg = "the real-repos fixtures are missing (../shared/fixtures/real-repos)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return src / name
