"""The README's screenshots are the snapshot tests' own SVGs (regenerate: tests/ui/make_screenshots.py)."""

from __future__ import annotations

import pytest

from ui.make_screenshots import ROOT, SHOTS, SNAPS


@pytest.mark.parametrize("name", sorted(SHOTS))
def test_readme_screenshot_is_the_current_snapshot(name: str) -> None:
    shot = ROOT / "docs/screenshots" / name
    assert shot.is_file(), "run .venv/bin/python tests/ui/make_screenshots.py"
    assert shot.read_bytes() == (SNAPS / SHOTS[name]).read_bytes(), "screenshots drifted: run make_screenshots.py"
    assert shot.read_text(encoding="utf-8").lstrip().startswith("<svg")
