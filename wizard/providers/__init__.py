"""DNS provider checks: token validation, zone lookup and nameserver delegation.

``check_token`` is called before anything is written. It raises ``UserError`` (exit 2) when the
provider *answers* that the token or zone is wrong, and returns a ``TokenCheck`` with
``warning=True`` when the check could not be made (network, timeout, TLS, 5xx, rate limit), so
the caller can offer ``--skip-token-check``.

The token is sent only in the ``Authorization: Bearer`` header. It never goes into a URL, a
message, a log line or an exception text; httpx exceptions are caught and replaced by our own
messages (never chained).
"""

from __future__ import annotations

import email.utils
import os
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from wizard import __version__
from wizard.errors import UserError

__all__ = [
    "PROVIDERS",
    "TokenCheck",
    "candidate_zones",
    "check_nameservers",
    "check_token",
    "derive_zone",
    "normalize_domain",
]

PROVIDERS = ("hetzner", "cloudflare")

SKIP_HINT = "Pass --skip-token-check to continue without the check (the wizard then cannot tell you about a wrong token or zone)."


@dataclass(frozen=True)
class TokenCheck:
    ok: bool  # token valid and zone found
    zone: str | None  # the zone found
    message: str  # one human sentence (or short paragraph)
    warning: bool = False  # True when the check could not be made
    nameservers: tuple[str, ...] = ()  # the provider's nameservers for the zone, if the API returns them


class CheckUnavailable(Exception):
    """Internal: the check could not be made (network, timeout, TLS, 5xx, 429...).

    Carries a clean message (no token); ``check_token`` turns it into a warning ``TokenCheck``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- domains and zones

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")

# Common second levels under which registrations happen (heuristic, not the full Public Suffix List).
_PUBLIC_SECOND_LEVELS = frozenset(
    """
    co.uk org.uk ac.uk gov.uk me.uk ltd.uk plc.uk net.uk sch.uk nhs.uk police.uk
    com.au net.au org.au edu.au gov.au asn.au id.au
    co.nz net.nz org.nz ac.nz govt.nz geek.nz school.nz
    co.za org.za net.za web.za gov.za ac.za
    co.jp ne.jp or.jp ac.jp go.jp ad.jp ed.jp gr.jp lg.jp
    com.br net.br org.br gov.br edu.br art.br
    com.tr net.tr org.tr gen.tr biz.tr web.tr av.tr edu.tr gov.tr
    com.cn net.cn org.cn gov.cn edu.cn ac.cn
    com.mx org.mx gob.mx net.mx edu.mx
    com.ar net.ar org.ar gob.ar
    com.sg net.sg org.sg edu.sg gov.sg
    com.hk net.hk org.hk edu.hk gov.hk
    co.in net.in org.in firm.in gen.in ind.in ac.in gov.in
    co.kr or.kr ne.kr ac.kr go.kr re.kr
    co.il org.il net.il ac.il gov.il muni.il
    com.tw net.tw org.tw edu.tw gov.tw idv.tw
    co.th in.th ac.th go.th or.th
    com.my net.my org.my edu.my gov.my
    com.ua net.ua org.ua in.ua kiev.ua
    com.pl net.pl org.pl
    co.at or.at ac.at gv.at
    com.es org.es nom.es edu.es gob.es
    co.id or.id web.id ac.id go.id
    com.vn net.vn org.vn edu.vn gov.vn
    com.ph net.ph org.ph
    com.pk net.pk org.pk
    com.ng org.ng
    com.eg org.eg
    com.sa net.sa org.sa
    co.ke or.ke
    com.co net.co org.co
    com.pe org.pe
    com.ve
    com.uy
    com.ec
    com.gt
    com.pa
    com.do
    com.cy
    com.mt
    com.gr
    com.ru net.ru org.ru
    co.ua
    co.hu
    co.cr
    co.ve
    co.tz
    co.ug
    co.zw
    co.bw
    com.np
    com.bd
    com.lk
    com.qa
    com.kw
    com.bh
    com.om
    com.lb
    com.jo
    com.pt
    """.split()
)

# Generic rule for two-letter country TLDs: these second levels are almost always public suffixes.
_GENERIC_SECOND_LEVELS = frozenset("co com net org ac edu gov govt ne or go gob ltd plc".split())


def normalize_domain(domain: str, *, what: str = "domain") -> str:
    """Lower-case, strip a trailing dot and a leading ``*.``, IDNA-encode and validate.

    Raises ``UserError`` for something that cannot be a DNS name.
    """
    raw = domain
    d = (domain or "").strip().lower()
    if d.startswith("*."):
        d = d[2:]
    d = d.rstrip(".")
    if not d:
        raise UserError(
            f"The {what} is empty. The wizard needs the DNS name the cluster's hosts live under, "
            "for example apps.example.com. Enter a domain and run again."
        )
    if "://" in d or "/" in d or " " in d or "@" in d or ":" in d:
        raise UserError(
            f"The {what} {raw!r} is not a DNS name (it looks like a URL or contains spaces). "
            "external-dns and cert-manager need a bare name such as apps.example.com. Enter just the name and run again."
        )
    try:
        d = d.encode("idna").decode("ascii")
    except UnicodeError:
        raise UserError(
            f"The {what} {raw!r} is not a valid DNS name (it cannot be encoded as IDNA). "
            "Use a name such as apps.example.com and run again."
        ) from None
    labels = d.split(".")
    if len(d) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise UserError(
            f"The {what} {raw!r} is not a valid DNS name: each dot-separated part must be 1-63 letters, digits "
            "or hyphens, not starting or ending with a hyphen. Fix the name and run again."
        )
    if len(labels) < 2 or not _TLD_RE.match(labels[-1]):
        raise UserError(
            f"The {what} {raw!r} is not a public DNS name (it needs at least a name and a top-level domain, "
            "e.g. example.com). Public certificates and DNS providers need one. Enter the full name and run again."
        )
    return d


def _public_suffix_len(labels: list[str]) -> int:
    """Number of labels of the (heuristic) public suffix: 1 or 2."""
    if len(labels) >= 2:
        last2 = ".".join(labels[-2:])
        if last2 in _PUBLIC_SECOND_LEVELS:
            return 2
        if len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVELS and len(labels) >= 3:
            return 2
    return 1


def derive_zone(domain: str) -> str:
    """The registrable domain of ``domain`` (no network): last two labels, or three under co.uk & co."""
    d = normalize_domain(domain)
    labels = d.split(".")
    n = _public_suffix_len(labels) + 1
    if len(labels) < n:
        raise UserError(
            f"The domain {d} is a public suffix (like co.uk), not a domain anyone can own. "
            "Enter your own domain, e.g. example.co.uk or apps.example.co.uk, and run again."
        )
    return ".".join(labels[-n:])


def candidate_zones(domain: str) -> list[str]:
    """All suffixes of the domain with at least two labels, longest first (each could be a zone)."""
    labels = normalize_domain(domain).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _check_zone_covers(domain: str, zone: str) -> None:
    if domain != zone and not domain.endswith("." + zone):
        raise UserError(
            f"The zone {zone} does not contain the domain {domain}. external-dns only writes records inside the zones "
            f"in domainFilters, so records for {domain} would never be created. Use a zone that {domain} ends with "
            f"(for example {derive_zone(domain)}) or leave the zone empty to let the wizard find it."
        )


# --------------------------------------------------------------------------- HTTP helpers


def base_url(env_var: str, default: str, strip_suffix: str) -> str:
    """The API base URL from the environment at call time, validated, without trailing slash."""
    value = (os.environ.get(env_var) or "").strip() or default
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise UserError(
            f"{env_var} is set to {value!r}, which is not an http(s) base URL. The wizard uses it to reach the DNS "
            f"provider's API. Set it to a URL like {default} or unset it to use the default."
        )
    value = value.rstrip("/")
    if value.endswith(strip_suffix):
        value = value[: -len(strip_suffix)]
    return value


def validate_token(token: str, label: str) -> str:
    t = (token or "").strip()
    if not t:
        raise UserError(
            f"No {label} API token was given. external-dns needs it to write DNS records. "
            "Create a token in the provider's console and enter it (it is stored encrypted with sops)."
        )
    if not re.fullmatch(r"[\x21-\x7e]+", t):
        raise UserError(
            f"The {label} API token contains spaces, line breaks or non-ASCII characters, so it cannot be a valid token "
            "and cannot be sent in an HTTP header. Copy the token again without surrounding text and run again."
        )
    return t


def clean(text: Any, token: str, limit: int = 200) -> str:
    """Provider-supplied text made safe to show: token removed, whitespace collapsed, truncated."""
    s = " ".join(str(text or "").split())
    if token:
        s = s.replace(token, "***")
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def make_client(token: str, timeout: float) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,  # never send the token to another host
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": f"edge-wizard/{__version__}",
        },
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _fmt_seconds(timeout: float) -> str:
    return f"{timeout:g} s"


def get(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | None,
    *,
    label: str,
    host_hint: str,
    env_var: str,
    timeout: float,
    token: str,
) -> httpx.Response:
    """GET with every transport failure turned into ``CheckUnavailable`` (clean message, no chaining)."""
    host = urlsplit(url).netloc
    try:
        return client.get(url, params=params)
    except httpx.TimeoutException:
        msg = (
            f"Could not check the {label} token: {host} did not answer within {_fmt_seconds(timeout)} "
            "(network slow or blocked)."
        )
    except (
        httpx.ConnectError,
        httpx.ProxyError,
        httpx.NetworkError,
        httpx.RemoteProtocolError,
        httpx.LocalProtocolError,
    ) as exc:
        chain = _chain(exc)
        text = " ".join(str(e) for e in chain)
        ssl_err = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
        if ssl_err is not None or "SSL" in text or "CERTIFICATE" in text.upper():
            reason = getattr(ssl_err, "reason", None) or getattr(ssl_err, "verify_message", None) or "handshake failed"
            msg = (
                f"Could not check the {label} token: the TLS connection to {host} failed ({clean(reason, token, 80)}). "
                "Usually a proxy that intercepts HTTPS, a wrong system clock or a missing CA bundle "
                "(set SSL_CERT_FILE to your CA file)."
            )
        elif (
            any(isinstance(e, socket.gaierror) for e in chain)
            or "Name or service not known" in text
            or "nodename nor servname" in text
            or "getaddrinfo" in text
        ):
            msg = f"Could not check the {label} token: the name {host} could not be resolved (no DNS or no network)."
        elif any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text.lower():
            msg = f"Could not check the {label} token: the connection to {host} was refused."
        elif isinstance(exc, httpx.ProxyError):
            msg = f"Could not check the {label} token: the HTTP proxy refused or failed the connection to {host}."
        else:
            msg = f"Could not check the {label} token: the connection to {host} failed ({type(exc).__name__})."
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise UserError(
            f"{env_var} does not hold a usable URL, so the {label} API cannot be reached. "
            f"Set it to an http(s) base URL such as {host_hint} or unset it."
        ) from None
    except httpx.HTTPError as exc:
        msg = f"Could not check the {label} token: the request to {host} failed ({type(exc).__name__})."
    raise CheckUnavailable(f"{msg} {SKIP_HINT}")


def retry_after_seconds(resp: httpx.Response) -> int | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or Hetzner's RateLimit-Reset (epoch)."""
    ra = resp.headers.get("Retry-After")
    if ra:
        ra = ra.strip()
        if ra.isdigit():
            return int(ra)
        try:
            dt = email.utils.parsedate_to_datetime(ra)
            return max(0, int(dt.timestamp() - time.time()))
        except (TypeError, ValueError, IndexError):
            pass
    reset = resp.headers.get("RateLimit-Reset")
    if reset and reset.strip().isdigit():
        val = int(reset.strip())
        # Hetzner sends a Unix timestamp; tolerate a delta as well.
        return max(0, val - int(time.time())) if val > 10**9 else val
    return None


def rate_limited(resp: httpx.Response, provider_name: str, label: str) -> CheckUnavailable:
    secs = retry_after_seconds(resp)
    when = f"try again in {secs} s (Retry-After)" if secs is not None else "try again in a minute"
    return CheckUnavailable(
        f"Could not check the {label} token: rate limited by {provider_name}; {when}. "
        f"Too many API calls were made with this token recently. {SKIP_HINT}"
    )


def server_error(resp: httpx.Response, label: str, detail: str = "") -> CheckUnavailable:
    extra = f": {detail}" if detail else ""
    return CheckUnavailable(
        f"Could not check the {label} token: the API answered HTTP {resp.status_code}{extra} "
        f"(a problem on the provider's side; see its status page). {SKIP_HINT}"
    )


def unexpected(resp: httpx.Response, label: str, env_var: str, token: str) -> CheckUnavailable:
    if 300 <= resp.status_code < 400:
        loc = clean(resp.headers.get("Location", ""), token, 120)
        return CheckUnavailable(
            f"Could not check the {label} token: {resp.request.url.host} redirected to {loc or 'another address'} "
            f"instead of answering (an old API address, or a captive portal). Check {env_var} (unset it for the default). "
            f"{SKIP_HINT}"
        )
    if resp.status_code == 404:
        return CheckUnavailable(
            f"Could not check the {label} token: the API endpoint {resp.request.url.path} was not found (HTTP 404) at "
            f"{resp.request.url.scheme}://{resp.request.url.netloc.decode()}. Check {env_var} (unset it for the default). "
            f"{SKIP_HINT}"
        )
    return CheckUnavailable(
        f"Could not check the {label} token: unexpected answer HTTP {resp.status_code} from "
        f"{resp.request.url.host}. {SKIP_HINT}"
    )


def json_body(resp: httpx.Response, label: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        ctype = resp.headers.get("Content-Type", "?")
        raise CheckUnavailable(
            f"Could not check the {label} token: the API answered HTTP {resp.status_code} with {ctype} instead of "
            f"JSON (a proxy or captive portal in between?). {SKIP_HINT}"
        ) from None


def describe_found(label: str, domain: str, zone: str, zone_id: Any, where: str) -> str:
    msg = f"{label} token is valid; zone {zone} (id {zone_id}) found in its {where}."
    if domain != zone:
        msg += f" Records for {domain} go into zone {zone} (domainFilters: {zone})."
    return msg


def zone_list_text(names: list[str], total: int | None) -> str:
    if not names:
        return "It can see no zones at all."
    shown = ", ".join(names[:5])
    more = ""
    if total is not None and total > len(names[:5]):
        more = f" and {total - len(names[:5])} more"
    return f"Zones it can see: {shown}{more}."


# --------------------------------------------------------------------------- public entry points


def check_token(
    provider: str, domain: str, token: str, *, zone: str | None = None, timeout: float = 10.0
) -> TokenCheck:
    """Validate ``token`` with the provider's API and find the zone for ``domain``.

    Raises ``UserError`` when the provider says the token or zone is wrong; returns a warning
    ``TokenCheck`` when the check could not be made.
    """
    p = (provider or "").strip().lower()
    if p not in PROVIDERS:
        raise UserError(
            f"Unknown DNS provider {provider!r}. The wizard can set up external-dns for: {', '.join(PROVIDERS)}. "
            "Choose one of them."
        )
    d = normalize_domain(domain)
    if zone is not None and zone.strip():
        z = normalize_domain(zone, what="zone")
        _check_zone_covers(d, z)
        candidates = [z]
    else:
        candidates = candidate_zones(d)

    if p == "hetzner":
        from wizard.providers import hetzner as mod
    else:
        from wizard.providers import cloudflare as mod

    tok = validate_token(token, mod.LABEL)
    try:
        return mod.check(d, tok, candidates, explicit_zone=zone is not None and bool(zone.strip()), timeout=timeout)
    except CheckUnavailable as exc:
        return TokenCheck(ok=False, zone=None, message=exc.message, warning=True)


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
