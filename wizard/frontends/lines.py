"""Plain-text rendering of the flow's events (flux-style glyph lines), shared by the CLI, plain mode
and the TUI's log panes. One function per concern; ``plain_line`` returns "" for events a line
stream does not show (push progress, stage changes)."""

from __future__ import annotations

from collections.abc import Sequence

from wizard import events as ev
from wizard.redact import printable

GLYPH = {"waiting": "◎", "progressing": "►", "ready": "✔", "failed": "✗"}
CHECK_GLYPH = {"ok": "✔", "warn": "⚠", "fail": "✗", "skip": "–"}
# a replay (the demo) never reads as a live result: its own glyph and the word, never "✔ proven"
REPLAYED_GLYPH = "▷"
REPLAYED = "replayed, not checked"
FINDING_MARK = {"error": "✗", "warning": "⚠", "info": "•"}
SECRET_STATE = {
    "new": "new",
    "replace": "exists; re-encrypted with the new token if it changed",
    "exists": "exists; kept as is",
    "rekey": "exists under another key; written anew with the token you give",
}


def finding_text(f: ev.Finding) -> str:
    where = f.path or f.object
    lines = [f"{FINDING_MARK.get(f.severity, '•')} [{f.id}] " + (f"{where}: " if where else "") + f.seen]
    lines += [f"    why: {f.why}", f"    fix: {f.fix}"]
    if f.command:
        lines.append(f"    run: {f.command}")
    return "\n".join(lines)


def check_line(c: ev.Check) -> str:
    text = f"{CHECK_GLYPH.get(c.status, '•')} {c.name}: {c.detail}"
    if c.fix and c.status != "ok":
        text += f"\n    → {c.fix}"
    return text


def proof_check_line(c: ev.ProofCheck) -> str:
    if c.replayed:
        return f"{REPLAYED_GLYPH} {c.check} ({REPLAYED}): {c.seen}"
    text = f"{CHECK_GLYPH.get(c.status, '•')} {c.check}: {c.seen}"
    if c.fix and c.status in ("fail", "warn"):
        text += f"\n    → {c.fix}"
    return text


def proof_line(p: ev.Proof) -> str:
    """The proof in one line: the addresses, the certificate and the HTTPS answer."""
    if p.replayed:
        head = f"{REPLAYED_GLYPH} {REPLAYED}: {p.host}"
    else:
        head = f"{'✔ proven' if p.proven else '✗ not proven'}: {p.host}"
    parts = []
    if p.addresses:
        parts.append(f"at {', '.join(p.addresses)}")
    if p.cert_issuer:
        chain = "chain verified" if p.verified else "chain NOT verified"
        parts.append(f"certificate from {p.cert_issuer} until {p.not_after} ({chain})")
    if p.status is not None:
        parts.append(f"HTTPS {p.status}" + (f" in {p.seconds * 1000:.0f} ms" if p.seconds is not None else ""))
    stage = f" [{p.issuer}]" if p.issuer else ""
    return head + stage + (": " + "; ".join(parts) if parts else "")


def step_row_line(r: ev.StepRow) -> str:
    line = f"{r.step:<16} {r.state:<11} {r.summary}"
    if r.problem:
        line += f"\n{'':<16} {r.problem}"
    return line


def secret_line(s: ev.SecretChange) -> str:
    state = SECRET_STATE.get(s.status, s.status)
    return (
        f"# {s.path}: sops-encrypted Secret {s.namespace}/{s.name} ({state}; written at run time, its value is "
        "never shown)"
    )


def attention_question(attention: Sequence[ev.Attention]) -> str:
    """The question that accepts the attention items (their own confirmation)."""
    flags = {a.flag for a in attention}
    if flags == {"--accept-controller-changes"}:
        return "Apply these changes to the controller other apps use?"
    if flags == {"--accept-foreign-recipients"}:
        return "Encrypt the DNS token for those keys anyway?"
    return "Accept these too?"


def attention_text(a: ev.Attention) -> str:
    lines = [f"‼ {a.heading}:"] + [f"    • {item}" for item in a.items]
    lines.append(f"    These need their own confirmation (run: {a.flag}; or leave the {a.step} step out).")
    return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def plain_line(e: ev.Event) -> str:
    text = _line(e)
    return printable(text) if text else ""


def _write_line(e: ev.FileWritten | ev.SecretEncrypted | ev.Committed | ev.Pushed) -> str:
    if isinstance(e, ev.FileWritten):
        return f"✖ removed {e.path}" if e.removed else f"✚ wrote {e.path}"
    if isinstance(e, ev.SecretEncrypted):
        return f"✔ {e.path} encrypted with sops" if e.changed else f"✔ {e.path} already holds this token (unchanged)"
    if isinstance(e, ev.Committed):
        return f"✔ committed {e.sha[:10]} {e.subject}"
    return f"✔ pushed {e.sha[:10]} to {e.remote}/{e.branch}"


def _message_line(e: ev.Warning | ev.Info | ev.Hint | ev.Caption | ev.Failed) -> str:
    if isinstance(e, ev.Caption):  # the demo: why this stage is there
        return f"» {e.text}"
    mark = "⚠" if isinstance(e, ev.Warning) else "✗" if isinstance(e, ev.Failed) else " "
    return f"{mark} {e.message}"


def _line(e: ev.Event) -> str:
    if isinstance(e, ev.Check):
        # a blocking failure is said once, by the Failed event that follows it in a line stream
        return "" if e.status == "fail" and e.blocking else check_line(e)
    if isinstance(e, ev.StepRow):
        return step_row_line(e)
    if isinstance(e, ev.FileChange):
        return e.diff.rstrip("\n")
    if isinstance(e, ev.SecretChange):
        return secret_line(e)
    if isinstance(e, ev.OutsideAction):
        return f"► will {e.description}"
    if isinstance(e, ev.Migration):
        return f"↻ {e.step}: {e.message}"
    if isinstance(e, ev.Attention):
        return attention_text(e)
    if isinstance(e, ev.PlanReady):
        parts = []
        if e.files:
            parts.append(f"{_plural(len(e.files), 'file')} to write")
        if e.secrets:
            parts.append(f"{_plural(len(e.secrets), 'sops Secret')} to encrypt if new or changed")
        return f"► plan: {', '.join(e.steps)} ({', '.join(parts) or 'nothing to write'})"
    if isinstance(e, ev.FileWritten | ev.SecretEncrypted | ev.Committed | ev.Pushed):
        return _write_line(e)
    if isinstance(e, ev.ObjectState):
        where = f"{e.namespace}/" if e.namespace else ""
        msg = f": {e.message}" if e.message else ""
        return f"{GLYPH.get(e.phase, '•')} {e.kind} {where}{e.name} {e.phase}{msg}"
    if isinstance(e, ev.Finding):
        return finding_text(e)
    if isinstance(e, ev.ProofCheck):
        return proof_check_line(e)
    if isinstance(e, ev.Proof):
        return proof_line(e)
    if isinstance(e, ev.Warning | ev.Info | ev.Hint | ev.Caption | ev.Failed):
        return _message_line(e)
    if isinstance(e, ev.Done):
        if e.outcome == "declined":
            return e.message
        glyph = REPLAYED_GLYPH if e.replayed else "✔"
        return f"{glyph} {e.message}" + (f" {e.url}" if e.url else "")
    return ""  # Stage, PushProgress
