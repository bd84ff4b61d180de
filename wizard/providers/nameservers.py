"""Is the zone delegated to the provider's nameservers? (dnspython, optional; silent when unsure)."""

from __future__ import annotations

from wizard.errors import UserError
from wizard.providers.zones import normalize_domain

__all__ = ["check_nameservers"]


def _norm_ns(name: str) -> str:
    return str(name).strip().lower().rstrip(".")


def check_nameservers(
    zone: str,
    expected: tuple[str, ...],
    *,
    resolver_ip: str | None = None,
    timeout: float = 3.0,
    resolver_port: int = 53,
) -> str | None:
    """Compare the zone's public NS records with the provider's nameservers.

    Returns a warning sentence if they differ (or the zone is not delegated at all), ``None`` if they
    match, if there is nothing to compare, if dnspython is missing or if the lookup fails.
    """
    exp = sorted({_norm_ns(n) for n in expected if str(n).strip()})
    if not exp:
        return None
    try:
        import dns.exception
        import dns.resolver
    except ImportError:
        return None
    try:
        z = normalize_domain(zone, what="zone")
    except UserError:
        return None
    try:
        if resolver_ip:
            res = dns.resolver.Resolver(configure=False)
            res.nameservers = [resolver_ip]
            res.port = resolver_port
        else:
            res = dns.resolver.Resolver()
        res.timeout = timeout
        res.lifetime = timeout
    except Exception:  # no resolv.conf etc.
        return None

    why = (
        "external-dns then writes records nobody sees, and cert-manager's certificates never issue "
        "(the most common reason). "
    )
    try:
        answer = res.resolve(z, "NS")
        actual = sorted({_norm_ns(r.target.to_text()) for r in answer})
    except dns.resolver.NXDOMAIN:
        return (
            f"The zone {z} does not exist in public DNS (NXDOMAIN): it is not registered or its registration lapsed. "
            f"{why}Register it and set its nameservers to {', '.join(exp)}."
        )
    except dns.resolver.NoAnswer:
        return (
            f"The zone {z} has no NS records in public DNS, so it is not delegated to the provider's nameservers "
            f"({', '.join(exp)}). {why}Add NS records for {z} pointing to them at the registrar or parent zone."
        )
    except Exception:  # timeout, no network, SERVFAIL...: cannot tell
        return None

    if set(actual) == set(exp):
        return None
    if set(actual) & set(exp):
        return (
            f"The zone {z} is only partly delegated to the provider: its NS records are {', '.join(actual)}, "
            f"expected {', '.join(exp)}. Some resolvers will ask the wrong servers; {why}"
            "Set exactly the provider's nameservers at the registrar."
        ).rstrip()
    return (
        f"The zone {z} is delegated to {', '.join(actual)}, not to the provider's nameservers {', '.join(exp)}. "
        f"{why}Change the nameservers at the registrar to {', '.join(exp)}."
    ).rstrip()
