"""The leak guard: what a staged blob must not contain before the wizard commits it."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

# --------------------------------------------------------------------------------------------
# Leak guard
# --------------------------------------------------------------------------------------------


def _secret_needles(values: Iterable[str]) -> list[bytes]:
    """Byte strings whose presence means a plaintext secret leaked: raw, and base64 encodings
    (standard and URL-safe, at every byte alignment, so a value embedded in a larger base64
    blob such as a dockerconfigjson is found too)."""
    needles: set[bytes] = set()
    for value in values:
        if not value or len(value) < 4:
            continue
        raw = value.encode("utf-8")
        needles.add(raw)
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            needles.add(enc(raw).rstrip(b"="))
            for shift in (1, 2):
                encoded = enc(b"\0" * shift + raw)
                first = -(-(8 * shift) // 6)  # first char made only of secret bits
                last = (8 * (shift + len(raw))) // 6  # one past the last such char
                core = encoded[first:last]
                if len(core) >= 8:
                    needles.add(core)
            aligned = enc(raw)
            core = aligned[: (8 * len(raw)) // 6]
            if len(core) >= 8:
                needles.add(core)
    return sorted(needles, key=len, reverse=True)


_KIND_SECRET_RE = re.compile(rb"^\s*kind:\s*[\"']?Secret[\"']?\s*(#.*)?$", re.M)
_SOPS_RE = re.compile(rb"^sops:\s*$", re.M)


def _secret_problem(path: str, data: bytes) -> str | None:
    """Why a staged file holding a ``kind: Secret`` is unsafe, or None."""
    if not _KIND_SECRET_RE.search(data):
        return None
    try:
        from ruamel.yaml import YAML

        docs = list(YAML(typ="safe", pure=True).load_all(data.decode("utf-8")))
    except Exception:
        if not _SOPS_RE.search(data):
            return "has kind: Secret but no sops metadata"
        return None
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "Secret":
            continue
        sops = doc.get("sops")
        if not isinstance(sops, dict) or not sops.get("mac"):
            return "has a kind: Secret without sops metadata (it is not encrypted)"
        for key in ("data", "stringData"):
            fields = doc.get(key)
            if isinstance(fields, dict):
                for v in fields.values():
                    if v is not None and not (isinstance(v, str) and v.startswith("ENC[")):
                        return f"has sops metadata but a {key} value that is not encrypted"
    return None
