"""Reading git's output: name-status lists, error texts, and what a failed push means."""

from __future__ import annotations

STATUS_WORD = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed"}


def parse_name_status(out: str) -> list[tuple[str, str]]:
    parts = [p for p in out.split("\0") if p != ""]
    res: list[tuple[str, str]] = []
    i = 0
    while i + 1 < len(parts):
        status, path = parts[i].strip(), parts[i + 1]
        res.append((status[:1], path))
        i += 2
    return res


def names(out: str) -> list[str]:
    return [p for p in out.split("\0") if p]


def error_text(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    text = (stderr or str(exc)).strip()
    # GitPython wraps it as "stderr: '<text>'".
    if text.startswith("stderr: '") and text.endswith("'"):
        text = text[len("stderr: '") : -1]
    return text.strip()


def last_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in error_text(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def summary(text: str) -> str:
    lines: list[str] = []
    for ln in text.splitlines():
        ln = ln.strip()
        if not ln or ln.lower().startswith(("stderr:", "cmdline:")) or "error lines received" in ln.lower():
            continue
        if ln.startswith("Cmd(") and "failed due to" in ln:
            continue  # GitPython's wrapper line, not git's words
        if ln.startswith(("fatal:", "error:", "remote:", "ERROR", "!")) or not lines:
            lines.append(ln)
    seen: list[str] = []
    for ln in lines:
        if ln not in seen:
            seen.append(ln)
    return " ".join(seen[-2:])


_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "returned error: 401",
    "returned error: 403",
    "permission denied",
    "access denied",
    "invalid username or password",
    "not authorized",
    "unauthorized",
    "forbidden",
    "write access",
)
_UNREACHABLE_MARKERS = (
    "could not resolve host",
    "could not resolve hostname",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "network is unreachable",
    "no route to host",
    "unable to access",
    "could not read from remote repository",
    "does not appear to be a git repository",
    "repository not found",
    "returned error: 404",
    "connection reset",
    "empty reply from server",
)
_REJECT_MARKERS = ("[rejected]", "non-fast-forward", "fetch first", "updates were rejected")


def classify(text: str) -> str:
    low = text.lower()
    if "process killed because it timed out" in low:
        return "timeout"
    if any(m in low for m in _REJECT_MARKERS):
        return "rejected"
    if any(m in low for m in _AUTH_MARKERS):
        return "auth"
    if any(m in low for m in _UNREACHABLE_MARKERS):
        return "unreachable"
    return "failed"
