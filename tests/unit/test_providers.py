"""Token / zone / nameserver checks against a fake provider API on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from tests.support.fakedns import CLOUDFLARE_NS, HETZNER_NS, FakeDNSServer, FakeProviderAPI
from wizard.errors import UserError
from wizard.providers import check_nameservers, check_token
from wizard.providers.base import TokenCheck
from wizard.providers.zones import candidate_zones, derive_zone

TOKEN = "good-token"
SECRET = "s3cr3t-T0ken-value-xyz"
ENV = {"hetzner": "EDGE_WIZARD_HETZNER_API", "cloudflare": "EDGE_WIZARD_CLOUDFLARE_API"}
PROVIDERS = ("hetzner", "cloudflare")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def api(monkeypatch):
    with FakeProviderAPI(tokens=(TOKEN, SECRET), zones=("example.com", "other.org")) as fake:
        for var in ENV.values():
            monkeypatch.setenv(var, fake.url)
        yield fake


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------- valid token


def test_hetzner_valid_token_finds_zone(api):
    res = check_token("hetzner", "example.com", TOKEN)
    assert isinstance(res, TokenCheck)
    assert res.ok and not res.warning
    assert res.zone == "example.com"
    assert res.message == "Hetzner Cloud token is valid; zone example.com (id 1000) found in its project."
    assert res.nameservers == tuple(n.rstrip(".") for n in HETZNER_NS)
    req = api.requests[0]
    assert req.path == "/v1/zones" and req.query == {"name": ["example.com"]}
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"


def test_cloudflare_valid_token_finds_zone(api):
    res = check_token("cloudflare", "example.com", TOKEN)
    assert res.ok and not res.warning and res.zone == "example.com"
    assert res.message.startswith("Cloudflare token is valid; zone example.com (id ")
    assert res.nameservers == CLOUDFLARE_NS
    assert [r.path for r in api.requests] == ["/client/v4/user/tokens/verify", "/client/v4/zones"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_explicit_zone_is_looked_up_exactly(api, provider):
    res = check_token(provider, "www.example.com", TOKEN, zone="example.com")
    assert res.ok and res.zone == "example.com"
    assert "Records for www.example.com go into zone example.com" in res.message
    names = [r.query.get("name") for r in api.requests if r.path.endswith("/zones")]
    assert names == [["example.com"]]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_explicit_zone_not_containing_domain_is_user_error(api, provider):
    with pytest.raises(UserError, match="does not contain the domain www.example.com"):
        check_token(provider, "www.example.com", TOKEN, zone="other.org")
    assert api.requests == []


# ----------------------------------------------------------------------------- zone derivation


@pytest.mark.parametrize("provider", PROVIDERS)
def test_longest_provider_zone_wins(api, provider):
    api.zones = ("example.com", "k8s.example.com")
    res = check_token(provider, "apps.k8s.example.com", TOKEN)
    assert res.ok and res.zone == "k8s.example.com"
    assert (
        "Records for apps.k8s.example.com go into zone k8s.example.com (domainFilters: k8s.example.com)" in res.message
    )
    looked = [r.query["name"][0] for r in api.requests if "name" in r.query]
    assert looked == ["apps.k8s.example.com", "k8s.example.com"]  # longest first, stops at first hit


@pytest.mark.parametrize("provider", PROVIDERS)
def test_parent_zone_found_for_subdomain(api, provider):
    res = check_token(provider, "apps.k8s.example.com", TOKEN)
    assert res.ok and res.zone == "example.com"


def test_derive_zone():
    assert derive_zone("apps.k8s.example.com") == "example.com"
    assert derive_zone("example.com") == "example.com"
    assert derive_zone("*.apps.Example.COM.") == "example.com"
    assert derive_zone("a.b.example.co.uk") == "example.co.uk"
    assert derive_zone("shop.example.com.au") == "example.com.au"
    assert derive_zone("x.example.co.jp") == "example.co.jp"
    assert derive_zone("x.example.com.br") == "example.com.br"
    assert derive_zone("x.example.com.tr") == "example.com.tr"
    assert derive_zone("x.example.de") == "example.de"
    assert derive_zone("bücher.example.de") == "example.de"
    assert candidate_zones("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com"]


@pytest.mark.parametrize("bad", ["", "localhost", "https://example.com", "exa mple.com", "co.uk", "-x.example.com"])
def test_bad_domains_are_user_errors(bad):
    with pytest.raises(UserError):
        derive_zone(bad)


# ----------------------------------------------------------------------------- wrong zone


def test_hetzner_wrong_zone(api):
    with pytest.raises(UserError) as ei:
        check_token("hetzner", "apps.example.net", TOKEN)
    msg = str(ei.value)
    assert "the zone example.net is not in its project" in msg
    assert "also looked for apps.example.net" in msg
    assert "Zones it can see: example.com, other.org." in msg
    assert ei.value.exit_code == 2


def test_cloudflare_wrong_zone(api):
    with pytest.raises(UserError) as ei:
        check_token("cloudflare", "example.net", TOKEN)
    msg = str(ei.value)
    assert "token is valid but the zone example.net is not in its account" in msg
    assert "Zones it can see: example.com, other.org." in msg


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_zone_lists_at_most_five(api, provider):
    api.zones = tuple(f"z{i}.com" for i in range(8))
    with pytest.raises(UserError) as ei:
        check_token(provider, "example.com", TOKEN)
    assert "Zones it can see: z0.com, z1.com, z2.com, z3.com, z4.com and 3 more." in str(ei.value)


# ----------------------------------------------------------------------------- revoked / expired / forbidden


def test_hetzner_revoked_token(api):
    api.mode = "revoked"
    with pytest.raises(UserError) as ei:
        check_token("hetzner", "example.com", TOKEN)
    msg = str(ei.value)
    assert "Hetzner Cloud rejected the API token (HTTP 401, unauthorized: unable to authenticate)" in msg
    assert "revoked" in msg
    assert len(api.requests) == 1  # stops at the first 401


def test_hetzner_unknown_token(api):
    with pytest.raises(UserError, match="Hetzner Cloud rejected the API token"):
        check_token("hetzner", "example.com", "not-a-real-token")


def test_cloudflare_revoked_token(api):
    api.mode = "revoked"
    with pytest.raises(UserError) as ei:
        check_token("cloudflare", "example.com", TOKEN)
    assert "Cloudflare rejected the API token (HTTP 401, code 1000, Invalid API Token)" in str(ei.value)


def test_cloudflare_expired_token(api):
    api.mode = "expired"
    with pytest.raises(UserError) as ei:
        check_token("cloudflare", "example.com", TOKEN)
    assert "token expired on 2026-01-01T00:00:00Z" in str(ei.value)
    assert [r.path for r in api.requests] == ["/client/v4/user/tokens/verify"]


def test_cloudflare_disabled_token(api):
    api.mode = "disabled"
    with pytest.raises(UserError, match=r"not active \(token status: disabled\)"):
        check_token("cloudflare", "example.com", TOKEN)


def test_hetzner_forbidden(api):
    api.mode = "forbidden"
    with pytest.raises(UserError, match="lacks permission"):
        check_token("hetzner", "example.com", TOKEN)


def test_cloudflare_token_without_zone_read(api):
    api.mode = "forbidden"
    with pytest.raises(UserError, match="lacks the Zone Read permission"):
        check_token("cloudflare", "example.com", TOKEN)


def test_cloudflare_account_owned_token(api):
    api.account_tokens = ("acct-token",)
    res = check_token("cloudflare", "example.com", "acct-token")
    assert res.ok and res.zone == "example.com"
    assert "account-owned" in res.message


def test_cloudflare_pending_zone_is_mentioned(api):
    api.zones = ({"name": "example.com", "status": "pending"},)
    res = check_token("cloudflare", "example.com", TOKEN)
    assert res.ok and "pending" in res.message


# ----------------------------------------------------------------------------- rate limit / 5xx / odd answers


def test_hetzner_rate_limit(api):
    api.mode = "ratelimit"
    api.retry_after = 42
    res = check_token("hetzner", "example.com", TOKEN)
    assert not res.ok and res.warning and res.zone is None
    assert "rate limited by Hetzner; try again in 42 s (Retry-After)" in res.message
    assert "--skip-token-check" in res.message


def test_cloudflare_rate_limit(api):
    api.mode = "ratelimit"
    res = check_token("cloudflare", "example.com", TOKEN)
    assert res.warning and not res.ok
    assert "rate limited by Cloudflare; try again in 7 s (Retry-After)" in res.message
    assert "--skip-token-check" in res.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_error_is_warning(api, provider):
    api.mode = "error500"
    res = check_token(provider, "example.com", TOKEN)
    assert res.warning and not res.ok
    assert "HTTP 500" in res.message and "--skip-token-check" in res.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_redirect_is_warning_and_not_followed(api, provider):
    api.mode = "redirect"
    res = check_token(provider, "example.com", TOKEN)
    assert res.warning and "redirected to https://console.hetzner.com/" in res.message
    assert ENV[provider] in res.message
    assert len(api.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_html_answer_is_warning(api, provider):
    api.mode = "html"
    res = check_token(provider, "example.com", TOKEN)
    assert res.warning and "instead of JSON" in res.message


# ----------------------------------------------------------------------------- unreachable / timeout / TLS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unreachable(monkeypatch, provider):
    monkeypatch.setenv(ENV[provider], f"http://127.0.0.1:{closed_port()}")
    res = check_token(provider, "example.com", TOKEN, timeout=2)
    assert res.warning and not res.ok and res.zone is None
    assert "connection to 127.0.0.1:" in res.message and "was refused" in res.message
    assert "--skip-token-check" in res.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout(api, provider):
    api.mode = "slow"
    api.delay = 3
    res = check_token(provider, "example.com", TOKEN, timeout=0.3)
    assert res.warning and not res.ok
    assert "did not answer within 0.3 s" in res.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tls_error(api, monkeypatch, provider):
    # https:// against a plain-HTTP server: the TLS handshake fails.
    monkeypatch.setenv(ENV[provider], api.url.replace("http://", "https://"))
    res = check_token(provider, "example.com", TOKEN, timeout=3)
    assert res.warning and "TLS connection to 127.0.0.1:" in res.message


def test_bad_env_url_is_user_error(monkeypatch):
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", "ftp://nope")
    with pytest.raises(UserError, match="EDGE_WIZARD_HETZNER_API"):
        check_token("hetzner", "example.com", TOKEN)


def test_env_read_at_call_time_and_v1_suffix_tolerated(api, monkeypatch):
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url + "/v1/")
    assert check_token("hetzner", "example.com", TOKEN).ok
    assert api.requests[-1].path == "/v1/zones"


# ----------------------------------------------------------------------------- token hygiene


@pytest.mark.parametrize("mode", ["ok", "revoked", "ratelimit", "error500", "forbidden", "expired", "redirect"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_token_never_in_urls_or_messages(api, provider, mode):
    api.mode = mode
    try:
        res = check_token(provider, "apps.example.net", SECRET)
        text = res.message + repr(res)
    except UserError as exc:
        text = str(exc) + repr(exc) + exc.message + str(exc.hint)
        assert exc.__cause__ is None
    assert SECRET not in text
    assert api.requests, "the fake saw no request"
    assert api.token_outside_auth(SECRET) == []
    assert all(r.headers.get("Authorization") == f"Bearer {SECRET}" for r in api.requests)


def test_token_not_in_message_when_unreachable(monkeypatch):
    monkeypatch.setenv("EDGE_WIZARD_CLOUDFLARE_API", f"http://127.0.0.1:{closed_port()}")
    res = check_token("cloudflare", "example.com", SECRET, timeout=2)
    assert SECRET not in res.message


@pytest.mark.parametrize("bad", ["", "   ", "abc def", "tok\nen", "tökén"])
def test_malformed_token_is_user_error_without_echo(api, bad):
    with pytest.raises(UserError) as ei:
        check_token("hetzner", "example.com", bad)
    if bad.strip():
        assert bad not in str(ei.value)
    assert api.requests == []


def test_token_is_stripped(api):
    assert check_token("hetzner", "example.com", f"  {TOKEN}\n").ok


def test_unknown_provider():
    with pytest.raises(UserError, match="Unknown DNS provider 'route53'"):
        check_token("route53", "example.com", TOKEN)


# ----------------------------------------------------------------------------- nameserver check (dnspython)


@pytest.fixture
def dnsserver():
    pytest.importorskip("dns.resolver")
    with FakeDNSServer(
        ns={
            "good.com": ["hydrogen.ns.hetzner.com", "oxygen.ns.hetzner.com", "helium.ns.hetzner.de"],
            "elsewhere.com": ["a.iana-servers.net", "b.iana-servers.net"],
            "partial.com": ["hydrogen.ns.hetzner.com", "ns1.old-host.example"],
        },
        nodata=("sub.good.com",),
    ) as srv:
        yield srv


def _ns(zone, srv, expected=HETZNER_NS):
    return check_nameservers(zone, expected, resolver_ip="127.0.0.1", resolver_port=srv.port, timeout=2)


def test_nameservers_match(dnsserver):
    assert _ns("good.com", dnsserver) is None
    assert _ns("GOOD.com.", dnsserver) is None


def test_nameservers_elsewhere(dnsserver):
    msg = _ns("elsewhere.com", dnsserver)
    assert msg and "delegated to a.iana-servers.net, b.iana-servers.net, not to the provider's nameservers" in msg
    assert "certificates never issue" in msg


def test_nameservers_partial(dnsserver):
    assert "only partly delegated" in _ns("partial.com", dnsserver)


def test_nameservers_not_delegated_and_nxdomain(dnsserver):
    assert "has no NS records" in _ns("sub.good.com", dnsserver)
    assert "does not exist in public DNS" in _ns("missing.com", dnsserver)


def test_nameservers_lookup_failure_is_none():
    pytest.importorskip("dns.resolver")
    port = closed_port()  # nothing listens: timeout -> None, not a crash
    assert check_nameservers("good.com", HETZNER_NS, resolver_ip="127.0.0.1", resolver_port=port, timeout=0.5) is None


def test_nameservers_nothing_expected():
    assert check_nameservers("good.com", ()) is None
