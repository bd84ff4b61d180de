"""Hetzner Cloud DNS API (api.hetzner.cloud/v1/zones): token and zone check.

The legacy DNS API (dns.hetzner.com, header Auth-API-Token) was shut down in May 2026; only the
Cloud API with ``Authorization: Bearer`` is used here.
"""

from __future__ import annotations

from typing import Any

import httpx

from wizard.errors import UserError
from wizard.providers import http as H
from wizard.providers.zones import derive_zone

LABEL = "Hetzner Cloud"
ENV_VAR = "EDGE_WIZARD_HETZNER_API"
DEFAULT_URL = "https://api.hetzner.cloud"

_NEW_TOKEN = (
    "Create a new API token with Read & Write permission in Hetzner Console → your project → "
    "Security → API tokens (the project that holds the DNS zone) and run again."
)


def _error(body: Any) -> tuple[str, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return str(err.get("code") or ""), str(err.get("message") or "")
    return "", ""


def _raise_for(resp: httpx.Response, token: str) -> None:
    """Map a non-200 answer to UserError (the provider said no) or H.CheckUnavailable (could not check)."""
    status = resp.status_code
    try:
        code, text = _error(resp.json())
    except ValueError:
        code, text = "", ""
    detail = H.clean(f"{code}: {text}" if code else text, token, 120)
    said = f" (HTTP {status}{', ' + detail if detail else ''})"
    if status == 401:
        raise UserError(
            f"Hetzner Cloud rejected the API token{said}: it is wrong, revoked or was deleted with its project. "
            f"external-dns would be rejected the same way and never create records, so nothing was written. {_NEW_TOKEN}"
        )
    if status == 403:
        raise UserError(
            f"Hetzner Cloud accepted the API token but refused access to DNS zones{said}: the token lacks permission. "
            f"external-dns needs to read and write the zone's records, so nothing was written. {_NEW_TOKEN}"
        )
    if status == 429:
        raise H.rate_limited(resp, "Hetzner", LABEL)
    if status >= 500:
        raise H.server_error(resp, LABEL, detail)
    raise H.unexpected(resp, LABEL, ENV_VAR, token)


def _zones(resp: httpx.Response) -> tuple[list[dict[str, Any]], int | None]:
    body = H.json_body(resp, LABEL)
    zones = body.get("zones") if isinstance(body, dict) else None
    if not isinstance(zones, list):
        raise H.CheckUnavailable(
            f"Could not check the {LABEL} token: the API answered without a zones list (not the Hetzner Cloud API? "
            f"Check {ENV_VAR}). {H.SKIP_HINT}"
        )
    total = None
    try:
        total = int(body["meta"]["pagination"]["total_entries"])
    except (KeyError, TypeError, ValueError):
        pass
    return [z for z in zones if isinstance(z, dict)], total


def check(domain: str, token: str, candidates: list[str], *, explicit_zone: bool, timeout: float) -> H.TokenCheck:
    base = H.base_url(ENV_VAR, DEFAULT_URL, "/v1")
    url = f"{base}/v1/zones"
    kw: dict[str, Any] = dict(label=LABEL, host_hint=DEFAULT_URL, env_var=ENV_VAR, timeout=timeout, token=token)
    with H.make_client(token, timeout) as client:
        for cand in candidates:
            resp = H.get(client, url, {"name": cand}, **kw)
            if resp.status_code != 200:
                _raise_for(resp, token)
            zones, _ = _zones(resp)
            found = next((z for z in zones if str(z.get("name", "")).lower().rstrip(".") == cand), None)
            if found is None:
                continue
            return _found(domain, cand, found)

        # Not found: list what the token can see (first page of 5) to help the user.
        names: list[str] = []
        total: int | None = None
        try:
            resp = H.get(client, url, {"per_page": 5}, **kw)
            if resp.status_code == 200:
                zones, total = _zones(resp)
                names = [str(z.get("name")) for z in zones if z.get("name")][:5]
                if total is None:
                    total = len(names)
        except H.CheckUnavailable:
            total = None
    wanted = candidates[0] if explicit_zone else derive_zone(domain)
    tried = [c for c in candidates if c != wanted]
    also = f" (also looked for {', '.join(tried)})" if tried else ""
    seen = H.zone_list_text(names, total) if total is not None else ""
    raise UserError(
        f"The Hetzner Cloud token is valid but the zone {wanted} is not in its project{also}. "
        f"external-dns can only manage zones in the token's project, so records for {domain} would never be created "
        f"and nothing was written. {seen + ' ' if seen else ''}"
        f"Create the zone {wanted} in Hetzner Console → DNS in the same project (or use a token from the project that "
        f"holds it) and run again."
    )


def _found(domain: str, zone: str, z: dict[str, Any]) -> H.TokenCheck:
    ans = z.get("authoritative_nameservers")
    assigned: list[str] = []
    status = None
    if isinstance(ans, dict):
        if isinstance(ans.get("assigned"), list):
            assigned = [H.clean(n, "", 80).rstrip(".").lower() for n in ans["assigned"] if n]
        status = ans.get("delegation_status")
    msg = H.describe_found(LABEL, domain, zone, z.get("id"), "project")
    if str(z.get("mode", "primary")).lower() == "secondary":
        msg += (
            f" Note: {zone} is a secondary zone at Hetzner (records come from another primary), so external-dns "
            "cannot change it."
        )
    if status and str(status).lower() not in ("valid", "unknown"):
        msg += (
            f" Hetzner reports the delegation of {zone} as {H.clean(status, '', 40)}: the registrar's nameservers are "
            f"not (all) {', '.join(assigned) or 'the Hetzner ones'}, so certificates will not issue until that is fixed."
        )
    return H.TokenCheck(ok=True, zone=zone, message=msg, warning=False, nameservers=tuple(assigned))
