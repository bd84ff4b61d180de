"""Hetzner Cloud DNS (api.hetzner.cloud/v1/zones): token and zone check, the records for the proof.

The legacy DNS API (dns.hetzner.com, header Auth-API-Token) was shut down in May 2026; only the
Cloud API with ``Authorization: Bearer`` is used here. Its data (token shape, Secret, the
external-dns webhook's chart values) is the ``hetzner`` entry of assets/providers.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from wizard.errors import UserError
from wizard.providers import http as H
from wizard.providers.base import (
    SKIP_HINT,
    CheckUnavailable,
    Credentials,
    Provider,
    Records,
    RecordsUnavailable,
    TokenCheck,
)
from wizard.providers.records import get_json, registry_names, relative
from wizard.providers.spec import TOKEN
from wizard.providers.zones import derive_zone

ENV_VAR = "EDGE_WIZARD_HETZNER_API"
DEFAULT_URL = "https://api.hetzner.cloud"

_NEW_TOKEN = (
    "Create a new API token with Read & Write permission in Hetzner Console → your project → "
    "Security → API tokens (the project that holds the DNS zone) and run again."
)


class Hetzner(Provider):
    name = "hetzner"

    def check(
        self, domain: str, credentials: Credentials, candidates: Sequence[str], *, explicit_zone: bool, timeout: float
    ) -> TokenCheck:
        label, token = self.spec.label, credentials[TOKEN]
        url = f"{H.base_url(ENV_VAR, DEFAULT_URL, '/v1')}/v1/zones"
        kw: dict[str, Any] = dict(label=label, host_hint=DEFAULT_URL, env_var=ENV_VAR, timeout=timeout, token=token)
        with H.make_client(token, timeout) as client:
            for cand in candidates:
                resp = H.get(client, url, {"name": cand}, **kw)
                if resp.status_code != 200:
                    _raise_for(resp, label, token)
                zones, _ = _zones(resp, label)
                found = next((z for z in zones if str(z.get("name", "")).lower().rstrip(".") == cand), None)
                if found is not None:
                    return _found(label, domain, cand, found)
            # Not found: list what the token can see (first page of 5) to help the user.
            names: list[str] = []
            total: int | None = None
            try:
                resp = H.get(client, url, {"per_page": 5}, **kw)
                if resp.status_code == 200:
                    zones, total = _zones(resp, label)
                    names = [str(z.get("name")) for z in zones if z.get("name")][:5]
                    if total is None:
                        total = len(names)
            except CheckUnavailable:
                total = None
        wanted = candidates[0] if explicit_zone else derive_zone(domain)
        tried = [c for c in candidates if c != wanted]
        also = f" (also looked for {', '.join(tried)})" if tried else ""
        seen = H.zone_list_text(names, total) if total is not None else ""
        raise UserError(
            f"The Hetzner Cloud token is valid but the zone {wanted} is not in its project{also}. "
            f"external-dns can only manage zones in the token's project, so records for {domain} would never be "
            f"created and nothing was written. {seen + ' ' if seen else ''}"
            f"Create the zone {wanted} in Hetzner Console → DNS in the same project (or use a token from the project "
            f"that holds it) and run again."
        )

    def read_records(self, zone: str, host: str, credentials: Credentials, *, timeout: float) -> Records:
        """GET /v1/zones/{zone}/rrsets: the host's A/AAAA RRsets and the zone's TXT RRsets."""
        label, token = self.spec.label, credentials[TOKEN]
        url = f"{H.base_url(ENV_VAR, DEFAULT_URL, '/v1')}/v1/zones/{zone}/rrsets"
        rel = relative(host, zone)
        with H.make_client(token, timeout) as client:
            sets = _rrsets(client, url, {"name": rel, "type": ["A", "AAAA"], "per_page": 50}, label, token)
            txt_sets = _rrsets(client, url, {"type": "TXT", "per_page": 100}, label, token)
        addresses = tuple(str(r.get("value")) for s in sets for r in s.get("records") or [] if r.get("value"))
        ttls = [int(s["ttl"]) for s in sets if isinstance(s.get("ttl"), int)]
        names = registry_names(rel)
        txt = tuple(
            (str(s.get("name")), str(r.get("value")))
            for s in txt_sets
            if str(s.get("name")) in names
            for r in s.get("records") or []
        )
        return Records(label, zone, addresses, min(ttls) if ttls else None, txt)


def _error(body: Any) -> tuple[str, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return str(err.get("code") or ""), str(err.get("message") or "")
    return "", ""


def _raise_for(resp: httpx.Response, label: str, token: str) -> None:
    """Map a non-200 answer to UserError (the provider said no) or CheckUnavailable (could not check)."""
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
        raise H.rate_limited(resp, "Hetzner", label)
    if status >= 500:
        raise H.server_error(resp, label, detail)
    raise H.unexpected(resp, label, ENV_VAR, token)


def _zones(resp: httpx.Response, label: str) -> tuple[list[dict[str, Any]], int | None]:
    body = H.json_body(resp, label)
    zones = body.get("zones") if isinstance(body, dict) else None
    if not isinstance(zones, list):
        raise CheckUnavailable(
            f"Could not check the {label} token: the API answered without a zones list (not the Hetzner Cloud API? "
            f"Check {ENV_VAR}). {SKIP_HINT}"
        )
    total = None
    try:
        total = int(body["meta"]["pagination"]["total_entries"])
    except (KeyError, TypeError, ValueError):
        pass
    return [z for z in zones if isinstance(z, dict)], total


def _found(label: str, domain: str, zone: str, z: dict[str, Any]) -> TokenCheck:
    ans = z.get("authoritative_nameservers")
    assigned: list[str] = []
    status = None
    if isinstance(ans, dict):
        if isinstance(ans.get("assigned"), list):
            assigned = [H.clean(n, "", 80).rstrip(".").lower() for n in ans["assigned"] if n]
        status = ans.get("delegation_status")
    msg = H.describe_found(label, domain, zone, z.get("id"), "project")
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
    return TokenCheck(ok=True, zone=zone, message=msg, warning=False, nameservers=tuple(assigned))


def _rrsets(client: httpx.Client, url: str, params: dict[str, Any], label: str, token: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while page and page <= 20:  # a zone of 2,000 TXT records is far beyond the guide's
        body = get_json(client, url, {**params, "page": page}, label, token)
        sets = body.get("rrsets") if isinstance(body, dict) else None
        if not isinstance(sets, list):
            raise RecordsUnavailable(f"{label} answered without an rrsets list (not the Hetzner Cloud API?)")
        out += [s for s in sets if isinstance(s, dict)]
        try:
            page = int(body["meta"]["pagination"]["next_page"] or 0)
        except (KeyError, TypeError, ValueError):
            page = 0
    return out
