"""Reading what the DNS provider holds for a host, shared by the provider classes' ``read_records``.

external-dns's TXT registry names its records ``<type>-<name>`` (the current format, e.g.
``a-podinfo.apps``) or, from older releases, ``<name>`` itself; both are read. Every failure is
:class:`~wizard.providers.base.RecordsUnavailable` with one sentence (the token is never in it).
"""

from __future__ import annotations

from typing import Any

import httpx

from wizard.providers import http as H
from wizard.providers.base import RecordsUnavailable

__all__ = ["get_json", "registry_names", "relative"]


def relative(host: str, zone: str) -> str:
    host, zone = host.lower().rstrip("."), zone.lower().rstrip(".")
    return "@" if host == zone else host[: -len(zone) - 1] if host.endswith("." + zone) else host


def registry_names(rel: str) -> set[str]:
    """The names external-dns gives the TXT record that owns ``rel`` (A and AAAA, both formats)."""
    if rel == "@":
        return {"@", "a", "aaaa"}
    return {rel, f"a-{rel}", f"aaaa-{rel}"}


def get_json(client: httpx.Client, url: str, params: Any, label: str, token: str) -> Any:
    """GET ``url`` and its JSON body, every failure a :class:`RecordsUnavailable` naming the provider."""
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
