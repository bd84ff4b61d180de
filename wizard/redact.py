"""THE one scrubber: every text that may be shown, logged or raised goes through :func:`scrub`.

* :func:`remember` registers a secret (the DNS token, an age identity) the moment it is read; from
  then on :func:`scrub` replaces it (and its base64 forms) with ``***`` in any text.
* URL credentials (``https://user:token@host``) are redacted, and so are age identities
  (``AGE-SECRET-KEY-1...``) and PEM private key blocks, even when nobody registered them.
* :func:`printable` makes text safe for a terminal: control characters (escape sequences) and
  invisible format characters (bidi overrides) become visible ``\\x1b``-style escapes.
* :func:`clean` is for provider-supplied strings: scrubbed, whitespace collapsed, truncated.

The patterns that recognise private keys live here too, so the leak guard (wizard.gitops.guard)
refuses exactly what the scrubber hides.
"""

from __future__ import annotations

import base64
import re
import threading
import unicodedata
from collections.abc import Iterable

MIN_SECRET = 4  # shorter values would scrub ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()

# -- patterns ---------------------------------------------------------------------------------
AGE_IDENTITY_RE = re.compile(r"AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{20,}")
AGE_IDENTITY_BYTES = re.compile(rb"AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{20,}")
# the block up to its END line; without one, the base64 that follows (also inside a JSON string,
# where line breaks are written \n, so it stops at the closing quote)
PEM_PRIVATE_RE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\:#|-]*)",
    re.S,
)
PEM_PRIVATE_BYTES = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_URL_CRED_RE = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/@\s'\"]+)@")
# kubeconfig credentials: `client-key-data: <base64>`, `token: <value>` (and id-token/refresh-token)
# (also when commented out: a key in a comment is still a key)
KUBE_KEY_DATA_BYTES = re.compile(rb"^[ \t#-]*client-key-data:[ \t]*[\"']?(?!ENC\[)([A-Za-z0-9+/=]{16,})", re.M)
KUBE_TOKEN_BYTES = re.compile(
    rb"^[ \t#-]*(?:token|id-token|refresh-token|access-token):[ \t]*[\"']?(?!ENC\[)([A-Za-z0-9._~+/=:-]{16,})", re.M
)
KUBECONFIG_MARK_BYTES = re.compile(rb"^[ \t#]*(?:kind:[ \t]*[\"']?Config[\"']?|users:|contexts:)[ \t]*(?:#.*)?$", re.M)
_KUBE_SECRET_LINE = re.compile(
    r"^(?P<key>[ \t-]*(?:client-key-data|token|id-token|refresh-token|access-token):[ \t]*)[\"']?(?!ENC\[)[A-Za-z0-9._~+/=:-]{16,}[\"']?",
    re.M,
)


# -- secrets ----------------------------------------------------------------------------------
def remember(value: str | None) -> None:
    """Register a secret value: from now on every scrubbed text hides it."""
    if value and len(value.strip()) >= MIN_SECRET:
        with _lock:
            _secrets.add(value.strip())


def forget(value: str | None) -> None:
    if value:
        with _lock:
            _secrets.discard(value.strip())


def secrets() -> tuple[str, ...]:
    with _lock:
        return tuple(sorted(_secrets, key=len, reverse=True))


def _forms(value: str) -> list[str]:
    """The value and its base64 spellings (a Secret's data: field, an Authorization header)."""
    raw = value.encode("utf-8")
    out = [value]
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        b = enc(raw).decode("ascii").rstrip("=")
        if len(b) >= 8:
            out.append(b)
    return out


def redact_url(text: str) -> str:
    """Remove passwords/tokens embedded in URLs anywhere in ``text``."""
    return _URL_CRED_RE.sub(_redact_match, text)


def _redact_match(m: re.Match[str]) -> str:
    scheme, userinfo = m.group("scheme"), m.group("userinfo")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{scheme}{user}:***@"
    if scheme.lower().startswith(("http", "https")):
        return f"{scheme}***@"  # a bare userinfo on http(s) is often a token used as the user name
    return m.group(0)  # ssh://git@host - a user name, not a secret


def scrub(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` without any registered secret, ``extra`` value, URL credential or private key."""
    if not text:
        return text
    text = redact_url(str(text))
    values = {v.strip() for v in extra if v and len(v.strip()) >= MIN_SECRET} | set(secrets())
    for value in sorted(values, key=len, reverse=True):
        for form in _forms(value):
            if form in text:
                text = text.replace(form, "***")
    text = AGE_IDENTITY_RE.sub("AGE-SECRET-KEY-1***", text)
    text = PEM_PRIVATE_RE.sub("-----BEGIN PRIVATE KEY----- *** (redacted)", text)
    text = _KUBE_SECRET_LINE.sub(lambda m: m.group("key") + "***", text)
    return text


# -- terminal safety ----------------------------------------------------------------------------
def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with control and invisible format characters shown as escapes (``\\x1b``).

    Keeps newlines (when ``newlines``) and tabs, so multi-line messages and diffs stay readable,
    but an escape sequence in a file name can no longer move the cursor, recolour or retitle the
    terminal, and a bidi override cannot reorder what is shown.
    """
    if not text:
        return text
    # only what is not printable ASCII is looked at (every line the watch prints goes through here)
    return (_SUSPECT if newlines else _SUSPECT_OR_NEWLINE).sub(_escape_unprintable, str(text))


_SUSPECT = re.compile(r"[^\x20-\x7e\t\n]")
_SUSPECT_OR_NEWLINE = re.compile(r"[^\x20-\x7e\t]")
_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))


def _escape_unprintable(m: re.Match[str]) -> str:
    ch = m.group()
    if ch != "\u200d" and unicodedata.category(ch) in _UNPRINTABLE:  # keep ZWJ (emoji)
        return _escape(ch)
    return ch


def clean(text: object, extra: Iterable[str | None] = (), limit: int = 200) -> str:
    """Provider- or server-supplied text made safe to show: scrubbed, printable, one line, short."""
    s = " ".join(str(text if text is not None else "").split())
    s = printable(scrub(s, extra), newlines=False)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def show(text: str, extra: Iterable[str | None] = ()) -> str:
    """What every front end prints: scrubbed, then printable."""
    return printable(scrub(text, extra))


__all__ = [
    "AGE_IDENTITY_RE",
    "PEM_PRIVATE_RE",
    "clean",
    "forget",
    "printable",
    "redact_url",
    "remember",
    "scrub",
    "secrets",
    "show",
]
