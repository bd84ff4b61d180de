"""wizard.plan: writing a plan is one transaction (write_all puts renamed files back when a rename fails)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def test_write_all_rolls_back_when_a_rename_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commit phase itself failing (after some renames): the renamed files are put back."""
    from wizard import plan
    from wizard.errors import StepFailed

    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    (root / "a/one.yaml").write_text("old one\n")
    (root / "a/two.yaml").write_text("old two\n")
    real = os.replace
    calls: list[str] = []

    def flaky(src, dst):
        calls.append(str(dst))
        if str(dst).endswith("two.yaml"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(plan.os, "replace", flaky)
    with pytest.raises(StepFailed, match="put back as they were"):
        plan.write_all(root, [("a/one.yaml", "new one\n"), ("a/two.yaml", "new two\n"), ("b/three.yaml", "new\n")])
    monkeypatch.setattr(plan.os, "replace", real)
    assert (root / "a/one.yaml").read_text() == "old one\n" and (root / "a/two.yaml").read_text() == "old two\n"
    assert sorted(p.name for p in root.rglob("*")) == ["a", "one.yaml", "two.yaml"]
    assert any(c.endswith("one.yaml") for c in calls)
    shutil.rmtree(root)
