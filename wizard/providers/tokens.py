"""THE one credential validator: length and characters per provider (assets/providers.yaml).

Used by the CLI (``--token-env``/``--token-stdin``), the interactive questions and the engine, so
a token is judged the same way everywhere, before it is sent to any API or handed to sops.
Messages never contain the value.
"""

from __future__ import annotations

import re

from wizard.errors import UserError
from wizard.providers import spec as S

__all__ = ["credential_problem", "token_problem", "validate_token"]

_GENERIC = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces: what an HTTP header can carry


def credential_problem(value: str | None, shape: S.Credential | None, label: str = "DNS provider") -> str | None:
    """Why ``value`` cannot be this credential of the provider labelled ``label`` (any provider's
    when ``shape`` is None), or None."""
    t = (value or "").strip()
    what = f"{label} {shape.label if shape else 'API token'}"
    if not t:
        return f"No {what} was given; external-dns needs it to write DNS records."
    if not _GENERIC.match(t):
        return (
            f"The {what} contains spaces, line breaks, control or non-ASCII characters, so it cannot be a "
            "valid token (and cannot be sent in an HTTP header). Copy it again without surrounding text."
        )
    if shape is None:
        if len(t) > S.GENERIC_MAX:
            return f"The {what} is {len(t)} characters long, more than any provider's ({S.GENERIC_MAX})."
        return None
    like = f" (they are usually {shape.typical})" if shape.typical else ""
    if not shape.min_length <= len(t) <= shape.max_length:
        return (
            f"The {what} is {len(t)} characters long, but {label} tokens have {shape.min_length} to "
            f"{shape.max_length}{like}, so it was probably pasted wrong. Copy it again from the provider's console."
        )
    if shape.pattern and not re.fullmatch(shape.pattern, t):
        chars = shape.characters or "the provider's token characters"
        return (
            f"The {what} has characters {label} tokens never contain (only {chars}{like}), so it was "
            "probably pasted wrong. Copy it again from the provider's console."
        )
    return None


def token_problem(token: str | None, provider: str | None = None) -> str | None:
    """Why ``token`` cannot be the token of ``provider`` (any provider's when None), or None."""
    spec = S.specs().get(provider or "")
    if spec is None:  # not (yet) a known provider: what any provider's token must be
        return credential_problem(token, None, provider or "DNS provider")
    return credential_problem(token, spec.token, spec.label)


def validate_token(token: str | None, provider: str | None = None) -> str:
    """The stripped token, or UserError (exit 2) saying why it cannot be one."""
    problem = token_problem(token, provider)
    if problem:
        raise UserError(problem + " Nothing was written.")
    return (token or "").strip()
