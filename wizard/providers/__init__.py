"""DNS providers: one class each (:mod:`.base`), their data in assets/providers.yaml (:mod:`.spec`).

:func:`check_token` is called before anything is written. It raises ``UserError`` (exit 2) when the
token cannot be one (:mod:`.tokens`) or the provider *answers* that the token or zone is wrong, and
returns a ``TokenCheck`` with ``warning=True`` when the check could not be made (network, timeout,
TLS, 5xx, rate limit). :func:`read_records` reads the host's record for the proof.

The token is sent only in the ``Authorization: Bearer`` header. It never goes into a URL, a
message, a log line or an exception text; httpx exceptions are caught and replaced by our own
messages (never chained), and every string the provider returns is scrubbed (wizard.redact).

The package by job: :mod:`.base` (the protocol and what it returns), :mod:`.spec` (the typed data,
no network), :mod:`.registry` (names -> classes, found in the package's modules), :mod:`.tokens`
(the one credential validator), :mod:`.zones` (names and zones, no network), :mod:`.http` (client
and error mapping), :mod:`.records` (external-dns's registry names), :mod:`.nameservers`
(delegation check), one module per provider (:mod:`.hetzner`, :mod:`.cloudflare`). Importing the
package loads no network library: the provider modules are imported when a check or a read runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wizard.errors import UserError
from wizard.providers.nameservers import check_nameservers

if TYPE_CHECKING:
    from wizard.providers.base import Records, TokenCheck

__all__ = ["check_nameservers", "check_token", "read_records"]


def check_token(
    provider: str, domain: str, token: str, *, zone: str | None = None, timeout: float = 10.0
) -> TokenCheck:
    """Validate ``token`` with the provider's API and find the zone for ``domain``.

    Raises ``UserError`` when the token cannot be one or the provider says the token or zone is
    wrong; returns a warning ``TokenCheck`` when the check could not be made.
    """
    from wizard import redact
    from wizard.providers import registry
    from wizard.providers.base import CheckUnavailable, TokenCheck
    from wizard.providers.spec import TOKEN
    from wizard.providers.zones import candidate_zones, check_zone_covers, normalize_domain

    p = registry.provider((provider or "").strip().lower())  # UserError naming the accepted names
    d = normalize_domain(domain)
    explicit = zone is not None and bool(zone.strip())
    if explicit:
        z = normalize_domain(zone or "", what="zone")
        check_zone_covers(d, z)
        candidates = [z]
    else:
        candidates = candidate_zones(d)
    credentials = {TOKEN: (token or "").strip()}
    problem = p.credentials_problem(credentials)
    if problem:
        raise UserError(problem + " Nothing was written.")
    for value in credentials.values():
        redact.remember(value)  # from here on no text shown anywhere can carry it, even one the API echoes
    try:
        return p.check(d, credentials, candidates, explicit_zone=explicit, timeout=timeout)
    except CheckUnavailable as exc:
        return TokenCheck(ok=False, zone=None, message=exc.message, warning=True)


def read_records(provider: str, zone: str, host: str, token: str, *, timeout: float = 10.0) -> Records:
    """What the provider holds for ``host`` (read-only): its A/AAAA records and external-dns's owner TXT
    next to them; :class:`~wizard.providers.base.RecordsUnavailable` (one sentence, never the token)
    when they cannot be read."""
    from wizard.providers import registry
    from wizard.providers.base import RecordsUnavailable
    from wizard.providers.spec import TOKEN

    try:
        p = registry.provider(provider)
    except UserError:
        raise RecordsUnavailable(f"edge-wizard cannot read the records of the DNS provider {provider!r}") from None
    return p.read_records(zone, host, {TOKEN: token}, timeout=timeout)
