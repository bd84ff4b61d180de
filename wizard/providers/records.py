"""What the DNS provider holds for a host (read-only): its A/AAAA records and external-dns's owner TXT
next to them, through the same APIs as the token check (Hetzner Cloud RRsets, Cloudflare DNS records).

    read_records("hetzner", "example.com", "podinfo.apps.example.com", token)  # -> Records

Used by the proof's "record" check. Every failure is :class:`RecordsUnavailable` with one sentence
(the token is never in it). external-dns's TXT registry names its records ``<type>-<name>`` (the
current format, e.g. ``a-podinfo.apps``) or, from older releases, ``<name>`` itself; both are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from wizard.providers import http as H

OWNER = re.compile(r"external-dns/owner=([^,\"\s]+)")


@dataclass(frozen=True)
class Records:
    provider: str  # the provider's label (Hetzner Cloud, Cloudflare)
    zone: str
    addresses: tuple[str, ...]  # the A/AAAA values for the host
    ttl: int | None
    txt: tuple[tuple[str, str], ...]  # (relative name, value) of the TXT records that can be the host's registry

    @property
    def owners(self) -> tuple[str, ...]:
        """The external-dns owner ids in the host's registry TXT records."""
        found = [
            m.group(1) for _name, value in self.txt if "heritage=external-dns" in value for m in OWNER.finditer(value)
        ]
        return tuple(dict.fromkeys(found))


class RecordsUnavailable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def relative(host: str, zone: str) -> str:
    host, zone = host.lower().rstrip("."), zone.lower().rstrip(".")
    return "@" if host == zone else host[: -len(zone) - 1] if host.endswith("." + zone) else host


def registry_names(rel: str) -> set[str]:
    """The names external-dns gives the TXT record that owns ``rel`` (A and AAAA, both formats)."""
    if rel == "@":
        return {"@", "a", "aaaa"}
    return {rel, f"a-{rel}", f"aaaa-{rel}"}


def read_records(provider: str, zone: str, host: str, token: str, *, timeout: float = 10.0) -> Records:
    if provider == "hetzner":
        return _hetzner(zone, host, token, timeout)
    if provider == "cloudflare":
        return _cloudflare(zone, host, token, timeout)
    raise RecordsUnavailable(f"edge-wizard cannot read the records of the DNS provider {provider!r}")


def _get(client: httpx.Client, url: str, params: Any, label: str, token: str) -> Any:
    try:
        resp = client.get(url, params=params)
    except httpx.HTTPError as exc:
        host = httpx.URL(url).host
        raise RecordsUnavailable(f"{label} ({host}) could not be reached ({type(exc).__name__})") from None
    if resp.status_code == 401:
        raise RecordsUnavailable(f"{label} rejected the DNS token (HTTP 401): it is wrong or revoked")
    if resp.status_code == 403:
        raise RecordsUnavailable(f"{label} refused the DNS token access to the zone's records (HTTP 403)")
    if resp.status_code == 404:
        raise RecordsUnavailable(f"{label} has no such zone for this token (HTTP 404)")
    if resp.status_code != 200:
        raise RecordsUnavailable(f"{label} answered HTTP {resp.status_code} {H.clean(resp.reason_phrase, token, 40)}")
    try:
        return resp.json()
    except ValueError:
        raise RecordsUnavailable(f"{label} answered with something other than JSON") from None


# -- Hetzner Cloud: GET /v1/zones/{zone}/rrsets ---------------------------------------------------------------
def _hetzner(zone: str, host: str, token: str, timeout: float) -> Records:
    from wizard.providers import hetzner

    label = hetzner.LABEL
    base = H.base_url(hetzner.ENV_VAR, hetzner.DEFAULT_URL, "/v1")
    url = f"{base}/v1/zones/{zone}/rrsets"
    rel = relative(host, zone)
    with H.make_client(token, timeout) as client:
        sets = _hetzner_sets(client, url, {"name": rel, "type": ["A", "AAAA"], "per_page": 50}, label, token)
        txt_sets = _hetzner_sets(client, url, {"type": "TXT", "per_page": 100}, label, token)
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


def _hetzner_sets(
    client: httpx.Client, url: str, params: dict[str, Any], label: str, token: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while page and page <= 20:  # a zone of 2,000 TXT records is far beyond the guide's
        body = _get(client, url, {**params, "page": page}, label, token)
        sets = body.get("rrsets") if isinstance(body, dict) else None
        if not isinstance(sets, list):
            raise RecordsUnavailable(f"{label} answered without an rrsets list (not the Hetzner Cloud API?)")
        out += [s for s in sets if isinstance(s, dict)]
        try:
            page = int(body["meta"]["pagination"]["next_page"] or 0)
        except (KeyError, TypeError, ValueError):
            page = 0
    return out


# -- Cloudflare: GET /client/v4/zones?name=, then /zones/{id}/dns_records ---------------------------------------
def _cloudflare(zone: str, host: str, token: str, timeout: float) -> Records:
    from wizard.providers import cloudflare

    label = cloudflare.LABEL
    api = H.base_url(cloudflare.ENV_VAR, cloudflare.DEFAULT_URL, "/client/v4") + "/client/v4"
    rel = relative(host, zone)
    fqdn = host.lower().rstrip(".")
    with H.make_client(token, timeout) as client:
        found = _cf_result(_get(client, f"{api}/zones", {"name": zone}, label, token), label)
        zid = next((z.get("id") for z in found if isinstance(z, dict) and z.get("name") == zone), None)
        if not zid:
            raise RecordsUnavailable(f"{label} has no zone {zone} for this token")
        recs: list[dict[str, Any]] = []
        for rtype in ("A", "AAAA"):
            body = _get(client, f"{api}/zones/{zid}/dns_records", {"type": rtype, "name": fqdn}, label, token)
            recs += _cf_result(body, label)
        body = _get(client, f"{api}/zones/{zid}/dns_records", {"type": "TXT", "per_page": 500}, label, token)
        txts = _cf_result(body, label)
    addresses = tuple(str(r.get("content")) for r in recs if r.get("content"))
    ttls = [int(r["ttl"]) for r in recs if isinstance(r.get("ttl"), int)]
    names = registry_names(rel)
    txt = tuple(
        (relative(str(r.get("name")), zone), str(r.get("content")))
        for r in txts
        if relative(str(r.get("name")), zone) in names
    )
    return Records(label, zone, addresses, min(ttls) if ttls else None, txt)


def _cf_result(body: Any, label: str) -> list[dict[str, Any]]:
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        raise RecordsUnavailable(f"{label} answered without a result list (not the Cloudflare API?)")
    return [r for r in result if isinstance(r, dict)]
