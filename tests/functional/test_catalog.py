"""A catalog overlay with a typo stops a command at once: one paragraph naming the file and the key, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.catalogs import overlay

pytestmark = pytest.mark.usefixtures("_fresh_cache")  # the catalog read afresh (tests/conftest.py)


def test_the_cli_says_it_in_one_paragraph_and_exits_2(
    guide_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay(tmp_path, monkeypatch, "charts:\n  cert-manager:\n    vresion: x\n")
    assert main(["plan", "cert-manager", "--repo", str(guide_repo)]) == 2
    err = capsys.readouterr().err
    assert "vresion" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
