"""Plain-text rendering of engine events (flux-style glyph lines), shared by CLI and plain mode."""

from __future__ import annotations

from wizard import events as ev
from wizard.redact import printable

GLYPH = {"waiting": "◎", "progressing": "►", "ready": "✔", "failed": "✗"}


def plain_line(e: ev.Event) -> str:
    """One line for an event, safe for a terminal (escape sequences in names are shown, not run)."""
    return printable(_line(e))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _line(e: ev.Event) -> str:
    if isinstance(e, ev.PlanReady):
        parts = []
        if e.files:
            parts.append(f"{_plural(len(e.files), 'file')} to write")
        if e.secrets:
            parts.append(f"{_plural(len(e.secrets), 'sops Secret')} to encrypt if new or changed")
        return f"► plan: {', '.join(e.steps)} ({', '.join(parts) or 'nothing to write'})"
    if isinstance(e, ev.FileWritten):
        return f"✚ wrote {e.path}"
    if isinstance(e, ev.SecretEncrypted):
        return f"✔ {e.path} encrypted with sops" if e.changed else f"✔ {e.path} already holds this token (unchanged)"
    if isinstance(e, ev.Committed):
        return f"✔ committed {e.sha[:10]} {e.subject}"
    if isinstance(e, ev.PushProgress):
        return ""
    if isinstance(e, ev.Pushed):
        return f"✔ pushed {e.sha[:10]} to {e.remote}/{e.branch}"
    if isinstance(e, ev.ObjectState):
        where = f"{e.namespace}/" if e.namespace else ""
        msg = f": {e.message}" if e.message else ""
        return f"{GLYPH.get(e.phase, '•')} {e.kind} {where}{e.name} {e.phase}{msg}"
    if isinstance(e, ev.Warning):
        return f"⚠ {e.message}"
    if isinstance(e, (ev.Info, ev.Hint)):
        return f"  {e.message}"
    if isinstance(e, ev.Failed):
        return f"✗ {e.message}"
    if isinstance(e, ev.Done):
        return f"✔ {e.message}" + (f" {e.url}" if e.url else "")
    return ""
