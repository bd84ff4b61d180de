"""``edge-wizard demo``: the main job on a throwaway sandbox (a guide-shaped repo with a bare remote)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from wizard import sandbox


@dataclass
class Sandbox:
    root: Path
    repo: Path
    remote: Path
    answers: Path


def make_sandbox(base: Path | None = None) -> Sandbox:
    root = Path(tempfile.mkdtemp(prefix="edge-wizard-demo-", dir=base))
    remote = root / "remote.git"
    remote.mkdir()
    sandbox.git(remote, "init", "-q", "--bare", "-b", "main")
    repo = sandbox.make_guide_repo(root / "cluster", url=f"file://{remote}")
    sandbox.git(repo, "remote", "add", "origin", str(remote))
    sandbox.git(repo, "push", "-q", "origin", "main")
    answers = root / "answers.yaml"
    answers.write_text(sandbox.ANSWERS, encoding="utf-8")
    return Sandbox(root=root, repo=repo, remote=remote, answers=answers)
