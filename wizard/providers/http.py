"""Talking to a DNS provider's API: the client, transport errors, answers that are not answers.

Shared by the provider classes. Every failure to *make* the check becomes
:class:`~wizard.providers.base.CheckUnavailable` with a clean message (no token,
never chained to the httpx exception); every string the provider sends back goes through
:func:`clean` (wizard.redact) before it is shown, since some APIs echo the token.
"""

from __future__ import annotations

import email.utils
import os
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from wizard import __version__, redact
from wizard.errors import UserError
from wizard.providers.base import SKIP_HINT, CheckUnavailable


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


def clean(text: Any, token: str, limit: int = 200) -> str:
    """Provider-supplied text made safe to show: every secret removed (wizard.redact), one line, short."""
    return redact.clean(text, [token], limit)


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
    msg = f"{label} token is valid; zone {zone} (id {redact.clean(zone_id, limit=64)}) found in its {where}."
    if domain != zone:
        msg += f" Records for {domain} go into zone {zone} (domainFilters: {zone})."
    return msg


def zone_list_text(names: list[str], total: int | None) -> str:
    if not names:
        return "It can see no zones at all."
    shown = ", ".join(redact.clean(n, limit=80) for n in names[:5])
    more = ""
    if total is not None and total > len(names[:5]):
        more = f" and {total - len(names[:5])} more"
    return f"Zones it can see: {shown}{more}."
