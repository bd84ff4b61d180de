"""The leak guard: what a staged blob must not contain before the wizard commits it.

* any registered secret (the DNS token), raw or base64-encoded at any alignment;
* a private key, whoever's it is: an age identity (``AGE-SECRET-KEY-1...``), a PEM private key
  block (``-----BEGIN ... PRIVATE KEY-----``), kubeconfig credentials (``client-key-data:``, a
  ``token:`` in a kubeconfig) - the patterns are :mod:`wizard.redact`'s;
* a ``kind: Secret`` without sops metadata, or with values sops did not encrypt.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

from wizard import redact

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


def private_key_problem(data: bytes) -> str | None:
    """Why ``data`` looks like it holds a private key or cluster credentials, or None."""
    if redact.AGE_IDENTITY_BYTES.search(data):
        return "holds an age private key (AGE-SECRET-KEY-1...)"
    if redact.PEM_PRIVATE_BYTES.search(data):
        return "holds a PEM private key (-----BEGIN ... PRIVATE KEY-----)"
    if redact.KUBE_KEY_DATA_BYTES.search(data):
        return "holds kubeconfig credentials (client-key-data)"
    if redact.KUBECONFIG_MARK_BYTES.search(data) and redact.KUBE_TOKEN_BYTES.search(data):
        return "holds kubeconfig credentials (a token: of a user)"
    return None
