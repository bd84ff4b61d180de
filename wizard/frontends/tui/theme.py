"""Two themes with the same roles: one for dark terminals, one for light ones."""

from __future__ import annotations

import os

from textual.theme import Theme

EDGE_DARK = Theme(
    name="edge-dark",
    dark=True,
    primary="#4FA3E0",
    secondary="#7FB8A4",
    accent="#E0A84F",
    warning="#E0A84F",
    error="#E06C6C",
    success="#6CC48A",
    foreground="#DDE3EA",
    background="#151A21",
    surface="#1C232C",
    panel="#24303C",
)
EDGE_LIGHT = Theme(
    name="edge-light",
    dark=False,
    primary="#1F5F99",
    secondary="#2F6F5A",
    accent="#9A5B00",
    warning="#8A5300",
    error="#B3261E",
    success="#1E7A3C",
    foreground="#1B2430",
    background="#F7F8FA",
    surface="#ECEFF3",
    panel="#DDE3EA",
)
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
