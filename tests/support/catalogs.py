"""Catalog overlays for tests (EDGE_WIZARD_CATALOG)."""

from __future__ import annotations

from pathlib import Path

import pytest


def overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    p = tmp_path / "overlay.yaml"
    p.write_text(text, encoding="utf-8")
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(p))
    return p
