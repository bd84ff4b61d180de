"""DNS provider checks: token validation, zone lookup and nameserver delegation.

``check_token`` is called before anything is written. It raises ``UserError`` (exit 2) when the
token cannot be one (:mod:`.tokens`) or the provider *answers* that the token or zone is wrong, and
returns a ``TokenCheck`` with ``warning=True`` when the check could not be made (network, timeout,
TLS, 5xx, rate limit).

The token is sent only in the ``Authorization: Bearer`` header. It never goes into a URL, a
message, a log line or an exception text; httpx exceptions are caught and replaced by our own
messages (never chained), and every string the provider returns is scrubbed (wizard.redact).

The package is split by job: :mod:`.registry` (the providers, from assets/providers.yaml),
:mod:`.tokens` (the one token validator), :mod:`.zones` (names and zones, no network),
:mod:`.http` (client and error mapping), :mod:`.nameservers` (delegation check), one module per
provider API. Names are re-exported here lazily, so importing the registry does not load httpx.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "PROVIDERS",
    "SKIP_HINT",
    "TokenCheck",
    "candidate_zones",
    "check_nameservers",
    "check_token",
    "derive_zone",
    "normalize_domain",
    "token_problem",
    "validate_token",
]

_LAZY = {
    "TokenCheck": "http",
    "CheckUnavailable": "http",
    "SKIP_HINT": "http",
    "CONTINUE_NOTE": "http",
    "base_url": "http",
    "clean": "http",
    "make_client": "http",
    "get": "http",
    "json_body": "http",
    "describe_found": "http",
    "zone_list_text": "http",
    "rate_limited": "http",
    "server_error": "http",
    "unexpected": "http",
    "retry_after_seconds": "http",
    "candidate_zones": "zones",
    "derive_zone": "zones",
    "normalize_domain": "zones",
    "check_zone_covers": "zones",
    "check_nameservers": "nameservers",
    "token_problem": "tokens",
    "validate_token": "tokens",
}


def __getattr__(name: str) -> Any:
    if name == "PROVIDERS":
        from wizard.providers import registry

        return registry.names()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wizard.providers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wizard.providers.{module}"), name)


def check_token(provider: str, domain: str, token: str, *, zone: str | None = None, timeout: float = 10.0) -> Any:
    """Validate ``token`` with the provider's API and find the zone for ``domain`` (a TokenCheck).

    Raises ``UserError`` when the token cannot be one or the provider says the token or zone is
    wrong; returns a warning ``TokenCheck`` when the check could not be made.
    """
    from wizard import redact
    from wizard.errors import UserError
    from wizard.providers import registry
    from wizard.providers.http import CheckUnavailable, TokenCheck
    from wizard.providers.tokens import validate_token
    from wizard.providers.zones import candidate_zones, check_zone_covers, normalize_domain

    p = (provider or "").strip().lower()
    if p not in registry.names():
        raise UserError(
            f"Unknown DNS provider {provider!r}. The wizard can set up external-dns for: {', '.join(registry.names())}. "
            "Choose one of them."
        )
    d = normalize_domain(domain)
    if zone is not None and zone.strip():
        z = normalize_domain(zone, what="zone")
        check_zone_covers(d, z)
        candidates = [z]
    else:
        candidates = candidate_zones(d)
    mod = registry.check_module(p)
    tok = validate_token(token, p)
    redact.remember(tok)  # from here on no text shown anywhere can carry it, even one the API echoes
    try:
        result: TokenCheck = mod.check(
            d, tok, candidates, explicit_zone=zone is not None and bool(zone.strip()), timeout=timeout
        )
    except CheckUnavailable as exc:
        return TokenCheck(ok=False, zone=None, message=exc.message, warning=True)
    return result
