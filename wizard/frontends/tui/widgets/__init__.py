"""Reusable widgets of the wizard (each keeps its own small DEFAULT_CSS)."""
