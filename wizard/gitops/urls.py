"""Git remote URL helpers: normalise for comparison; credentials are redacted by wizard.redact."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from wizard.redact import redact_url

__all__ = ["flux_source_from_sync", "normalize_url", "redact_url"]

# --------------------------------------------------------------------------------------------
# URL helpers
# --------------------------------------------------------------------------------------------

_SCP_RE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>.*)$")


def normalize_url(url: str) -> str:
    """Reduce the usual spellings of one repository URL to one key.

    ``ssh://git@host:22/org/repo.git``, ``git@host:org/repo``, ``https://user:tok@host/org/repo/``
    all become ``host/org/repo``; local paths and ``file://`` become ``file:/abs/path``.
    """
    url = url.strip()
    if not url:
        return ""
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return "file:" + _norm_local(parts.path)
        host = (parts.hostname or "").lower()
        path = parts.path
    else:
        m = _SCP_RE.match(url)
        if m and "/" not in m.group("host") and not (len(m.group("host")) == 1 and os.name == "nt"):
            host, path = m.group("host").lower(), m.group("path")
        else:
            return "file:" + _norm_local(url)
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    path = path.strip("/").lower()
    return f"{host}/{path}"


def _norm_local(path: str) -> str:
    p = os.path.abspath(path)
    p = p.rstrip("/")
    if p.endswith(".git"):
        p = p[:-4]
    return p.rstrip("/")


def flux_source_from_sync(path: Path) -> tuple[str | None, str | None]:
    """(branch, url) of the first GitRepository in a ``gotk-sync.yaml``; (None, None) if none."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    try:
        docs = list(yaml.load_all(Path(path).read_text(encoding="utf-8")))
    except Exception:
        return None, None
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "GitRepository":
            spec = doc.get("spec") or {}
            ref = spec.get("ref") or {}
            branch = ref.get("branch") if isinstance(ref, dict) else None
            return (str(branch) if branch else None), (str(spec["url"]) if spec.get("url") else None)
    return None, None
