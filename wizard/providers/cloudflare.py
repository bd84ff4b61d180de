"""Cloudflare API v4: token verify (/user/tokens/verify), zone lookup (/zones?name=) and the records
for the proof (/zones/{id}/dns_records). Its data (token shape, Secret, chart values) is the
``cloudflare`` entry of assets/providers.yaml."""

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

ENV_VAR = "EDGE_WIZARD_CLOUDFLARE_API"
DEFAULT_URL = "https://api.cloudflare.com"

_NEW_TOKEN = (
    "Create an API token in the Cloudflare dashboard → My Profile → API Tokens with the permissions "
    "Zone → Zone → Read and Zone → DNS → Edit for the zone, and run again."
)

# Cloudflare error codes meaning "this is not a usable token".
_INVALID_CODES = {1000, 1001, 6003, 6111, 6103, 10000, 9106, 9103}
_PERMISSION_CODES = {9109, 10001}


class Cloudflare(Provider):
    name = "cloudflare"

    def check(
        self, domain: str, credentials: Credentials, candidates: Sequence[str], *, explicit_zone: bool, timeout: float
    ) -> TokenCheck:
        label, token = self.spec.label, credentials[TOKEN]
        api = f"{H.base_url(ENV_VAR, DEFAULT_URL, '/client/v4')}/client/v4"
        kw: dict[str, Any] = dict(label=label, host_hint=DEFAULT_URL, env_var=ENV_VAR, timeout=timeout, token=token)
        with H.make_client(token, timeout) as client:
            # 1. Is the token active? Account-owned tokens fail /user/tokens/verify but work for /zones.
            verify_failure = _verify(H.get(client, f"{api}/user/tokens/verify", None, **kw), label, token)
            # 2. Which zone?
            for cand in candidates:
                resp = H.get(client, f"{api}/zones", {"name": cand, "per_page": 5}, **kw)
                result = _zone_result(resp, label, token, verify_failure)
                found = next(
                    (z for z in result if isinstance(z, dict) and str(z.get("name", "")).lower().rstrip(".") == cand),
                    None,
                )
                if found is not None:
                    return _found(label, domain, cand, found, verify_failure is not None)
            names, total = _visible_zones(client, api, label, kw)
        wanted = candidates[0] if explicit_zone else derive_zone(domain)
        tried = [c for c in candidates if c != wanted]
        also = f" (also looked for {', '.join(tried)})" if tried else ""
        seen = H.zone_list_text(names, total) if total is not None else ""
        raise UserError(
            f"The Cloudflare token is valid but the zone {wanted} is not in its account or not among the zones it may "
            f"access{also}. external-dns could not manage records for {domain}, so nothing was written. "
            f"{seen + ' ' if seen else ''}"
            f"Add {wanted} to Cloudflare, or edit the token's Zone Resources to include it, and run again."
        )

    def read_records(self, zone: str, host: str, credentials: Credentials, *, timeout: float) -> Records:
        """GET /client/v4/zones?name=, then the zone's A/AAAA records for the host and its TXT records."""
        label, token = self.spec.label, credentials[TOKEN]
        api = H.base_url(ENV_VAR, DEFAULT_URL, "/client/v4") + "/client/v4"
        rel = relative(host, zone)
        fqdn = host.lower().rstrip(".")
        with H.make_client(token, timeout) as client:
            found = _result(get_json(client, f"{api}/zones", {"name": zone}, label, token), label)
            zid = next((z.get("id") for z in found if isinstance(z, dict) and z.get("name") == zone), None)
            if not zid:
                raise RecordsUnavailable(f"{label} has no zone {zone} for this token")
            recs: list[dict[str, Any]] = []
            for rtype in ("A", "AAAA"):
                body = get_json(client, f"{api}/zones/{zid}/dns_records", {"type": rtype, "name": fqdn}, label, token)
                recs += _result(body, label)
            body = get_json(client, f"{api}/zones/{zid}/dns_records", {"type": "TXT", "per_page": 500}, label, token)
            txts = _result(body, label)
        addresses = tuple(str(r.get("content")) for r in recs if r.get("content"))
        ttls = [int(r["ttl"]) for r in recs if isinstance(r.get("ttl"), int)]
        names = registry_names(rel)
        txt = tuple(
            (relative(str(r.get("name")), zone), str(r.get("content")))
            for r in txts
            if relative(str(r.get("name")), zone) in names
        )
        return Records(label, zone, addresses, min(ttls) if ttls else None, txt)


def _errors(body: Any) -> tuple[set[int], str]:
    codes: set[int] = set()
    texts: list[str] = []
    if isinstance(body, dict):
        for err in body.get("errors") or []:
            if not isinstance(err, dict):
                continue
            try:
                codes.add(int(err.get("code")))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                pass
            if err.get("message"):
                texts.append(str(err["message"]))
            for sub in err.get("error_chain") or []:
                if isinstance(sub, dict):
                    try:
                        codes.add(int(sub.get("code")))  # type: ignore[arg-type]
                    except (TypeError, ValueError):
                        pass
    return codes, "; ".join(texts)


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _said(resp: httpx.Response, token: str) -> str:
    codes, text = _errors(_body(resp))
    code = f"code {min(codes)}" if codes else ""
    detail = H.clean(", ".join(x for x in (code, text) if x), token, 120)
    return f" (HTTP {resp.status_code}{', ' + detail if detail else ''})"


def _invalid(resp: httpx.Response, token: str) -> UserError:
    return UserError(
        f"Cloudflare rejected the API token{_said(resp, token)}: it is wrong, was revoked or rolled. external-dns would "
        f"be rejected the same way and never create records, so nothing was written. Note: use an API token, not the "
        f"Global API Key. {_NEW_TOKEN}"
    )


def _no_permission(resp: httpx.Response, token: str) -> UserError:
    return UserError(
        f"Cloudflare accepted the API token but refused access to zones{_said(resp, token)}: the token lacks the "
        f"Zone Read permission. external-dns needs Zone Read and DNS Edit, so nothing was written. {_NEW_TOKEN}"
    )


def _transport_or_other(resp: httpx.Response, label: str, token: str) -> CheckUnavailable:
    if resp.status_code == 429:
        return H.rate_limited(resp, "Cloudflare", label)
    if resp.status_code >= 500:
        _, text = _errors(_body(resp))
        return H.server_error(resp, label, H.clean(text, token, 120))
    return H.unexpected(resp, label, ENV_VAR, token)


def _is_auth_failure(resp: httpx.Response) -> bool:
    if resp.status_code == 401:
        return True
    codes, _ = _errors(_body(resp))
    return resp.status_code in (400, 403) and bool(codes & _INVALID_CODES)


def _verify(resp: httpx.Response, label: str, token: str) -> httpx.Response | None:
    """The verify endpoint's answer: None for an active token, the failed answer for what may be an
    account-owned token (the zone lookup decides); UserError for an expired or disabled one."""
    if resp.status_code != 200:
        if _is_auth_failure(resp):
            return resp
        raise _transport_or_other(resp, label, token)
    body = H.json_body(resp, label)
    result = body.get("result") if isinstance(body, dict) else None
    status = str(result.get("status", "")).lower() if isinstance(result, dict) else ""
    if not (isinstance(body, dict) and body.get("success") is True) or not status:
        raise CheckUnavailable(
            f"Could not check the {label} token: the verify endpoint answered without a token status "
            f"(not the Cloudflare API? Check {ENV_VAR}). {SKIP_HINT}"
        )
    if status == "expired":
        exp = H.clean(result.get("expires_on", "") if isinstance(result, dict) else "", token, 40)
        raise UserError(
            f"The Cloudflare API token expired{' on ' + exp if exp else ''} (token status: expired). "
            f"external-dns would be rejected and never create records, so nothing was written. "
            f"Extend the token's TTL or create a new one. {_NEW_TOKEN}"
        )
    if status != "active":
        raise UserError(
            f"The Cloudflare API token is not active (token status: {H.clean(status, token, 20)}). "
            f"A disabled token is rejected by the API, so external-dns could not create records and nothing "
            f"was written. Enable it again under My Profile → API Tokens or create a new one. {_NEW_TOKEN}"
        )
    return None


def _zone_result(
    resp: httpx.Response, label: str, token: str, verify_failure: httpx.Response | None
) -> list[dict[str, Any]]:
    """The zone lookup's result list, or the error it means."""
    if resp.status_code != 200:
        if _is_auth_failure(resp):
            raise _invalid(verify_failure or resp, token)
        if resp.status_code == 403:
            raise _no_permission(resp, token)
        raise _transport_or_other(resp, label, token)
    body = H.json_body(resp, label)
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        raise CheckUnavailable(
            f"Could not check the {label} token: the zones endpoint answered without a result list "
            f"(check {ENV_VAR}). {SKIP_HINT}"
        )
    return result


def _visible_zones(client: httpx.Client, api: str, label: str, kw: dict[str, Any]) -> tuple[list[str], int | None]:
    """The first zones the token can see (for the not-found message); total None when unknown."""
    names: list[str] = []
    total: int | None = None
    try:
        resp = H.get(client, f"{api}/zones", {"per_page": 5}, **kw)
        if resp.status_code == 200:
            body = H.json_body(resp, label)
            result = body.get("result") if isinstance(body, dict) else None
            if isinstance(result, list):
                names = [str(z.get("name")) for z in result if isinstance(z, dict) and z.get("name")][:5]
                try:
                    total = int(body["result_info"]["total_count"])
                except (KeyError, TypeError, ValueError):
                    total = len(names)
    except CheckUnavailable:
        total = None
    return names, total


def _found(label: str, domain: str, zone: str, z: dict[str, Any], account_token: bool) -> TokenCheck:
    ns = tuple(H.clean(n, "", 80).rstrip(".").lower() for n in (z.get("name_servers") or []) if n)
    msg = H.describe_found(label, domain, zone, z.get("id"), "account")
    if account_token:
        msg += " (The token is an account-owned token: /user/tokens/verify does not know it, the zone lookup worked.)"
    status = str(z.get("status", "active")).lower()
    if status == "pending":
        msg += (
            f" Cloudflare still lists {zone} as pending: the registrar's nameservers are not yet "
            f"{', '.join(ns) or 'the Cloudflare ones'}, so records and certificates will not work until they are."
        )
    elif status not in ("active", ""):
        msg += f" Cloudflare lists {zone} with status {H.clean(status, '', 20)}."
    return TokenCheck(ok=True, zone=zone, message=msg, warning=False, nameservers=ns)


def _result(body: Any, label: str) -> list[dict[str, Any]]:
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        raise RecordsUnavailable(f"{label} answered without a result list (not the Cloudflare API?)")
    return [r for r in result if isinstance(r, dict)]
