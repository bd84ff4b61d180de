"""doctor's findings on a repository, and the one finding a test expects."""

from __future__ import annotations

from pathlib import Path

from wizard import doctor, repo
from wizard.doctor import Finding


def findings(root: Path, *, cluster: bool = False) -> list[Finding]:
    return doctor.diagnose(repo.discover(root), cluster=cluster)


def only(fs: list[Finding], check_id: str) -> Finding:
    assert [f.id for f in fs] == [check_id], [doctor.render_text(f) for f in fs]
    f = fs[0]
    assert f.seen and f.why and f.fix, f
    return f
