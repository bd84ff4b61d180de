"""THE one token validator: length and characters per provider (assets/providers.yaml).

Used by the CLI (``--token-env``/``--token-stdin``), the interactive questions and the engine, so
a token is judged the same way everywhere, before it is sent to any API or handed to sops.
Messages never contain the token.
"""

from __future__ import annotations

import re

from wizard.errors import UserError
from wizard.providers import registry

__all__ = ["GENERIC_MAX", "token_problem", "validate_token"]

GENERIC_MAX = 512  # no provider's token is longer; anything beyond is a paste gone wrong
_GENERIC = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces: what an HTTP header can carry


def token_problem(token: str | None, provider: str | None = None) -> str | None:
    """Why ``token`` cannot be a token of ``provider`` (any provider when None), or None."""
    t = (token or "").strip()
    label = registry.label(provider) if provider else "DNS provider"
    if not t:
        return f"No {label} API token was given; external-dns needs it to write DNS records."
    rule = registry.token_rule(provider)
    if not _GENERIC.match(t):
        return (
            f"The {label} API token contains spaces, line breaks, control or non-ASCII characters, so it cannot be a "
            "valid token (and cannot be sent in an HTTP header). Copy it again without surrounding text."
        )
    if rule is None:
        if len(t) > GENERIC_MAX:
            return f"The {label} API token is {len(t)} characters long, more than any provider's ({GENERIC_MAX})."
        return None
    lo, hi = int(rule.get("min_length") or 1), int(rule.get("max_length") or GENERIC_MAX)
    typical = rule.get("typical")
    like = f" (they are usually {typical})" if typical else ""
    if not lo <= len(t) <= hi:
        return (
            f"The {label} API token is {len(t)} characters long, but {label} tokens have {lo} to {hi}{like}, so it "
            "was probably pasted wrong. Copy it again from the provider's console."
        )
    pattern = rule.get("pattern")
    if pattern and not re.fullmatch(str(pattern), t):
        chars = rule.get("characters") or "the provider's token characters"
        return (
            f"The {label} API token has characters {label} tokens never contain (only {chars}{like}), so it was "
            "probably pasted wrong. Copy it again from the provider's console."
        )
    return None


def validate_token(token: str | None, provider: str | None = None) -> str:
    """The stripped token, or UserError (exit 2) saying why it cannot be one."""
    problem = token_problem(token, provider)
    if problem:
        raise UserError(problem + " Nothing was written.")
    return (token or "").strip()
