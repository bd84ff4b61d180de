"""Two themes with the same roles: one for dark terminals, one for light ones."""

from __future__ import annotations

import os
from typing import Any

from textual.theme import Theme

# role: (dark terminal, light terminal) - the same roles side by side, so they stay paired
PALETTE = {
    "primary": ("#4FA3E0", "#1F5F99"),
    "secondary": ("#7FB8A4", "#2F6F5A"),
    "accent": ("#E0A84F", "#9A5B00"),
    "warning": ("#E0A84F", "#8A5300"),
    "error": ("#E06C6C", "#B3261E"),
    "success": ("#6CC48A", "#1E7A3C"),
    "foreground": ("#DDE3EA", "#1B2430"),
    "background": ("#151A21", "#F7F8FA"),
    "surface": ("#1C232C", "#ECEFF3"),
    "panel": ("#24303C", "#DDE3EA"),
}


def _theme(mode: str, i: int) -> Theme:
    roles: dict[str, Any] = {role: pair[i] for role, pair in PALETTE.items()}
    return Theme(name=f"edge-{mode}", dark=mode == "dark", **roles)


EDGE_DARK, EDGE_LIGHT = _theme("dark", 0), _theme("light", 1)
THEMES = (EDGE_DARK, EDGE_LIGHT)


def pick_theme(env: dict[str, str] | None = None) -> str:
    """edge-light when the terminal says its background is light (COLORFGBG / EDGE_WIZARD_THEME)."""
    env = dict(os.environ) if env is None else env
    wanted = env.get("EDGE_WIZARD_THEME", "")
    if wanted in ("light", "dark"):
        return f"edge-{wanted}"
    fgbg = env.get("COLORFGBG", "")
    bg = fgbg.rsplit(";", 1)[-1] if fgbg else ""
    if bg.isdigit() and int(bg) in (7, 15):
        return "edge-light"
    return "edge-dark"
