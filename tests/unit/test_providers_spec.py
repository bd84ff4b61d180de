"""wizard.providers.spec: assets/providers.yaml as typed structs; a broken entry is a UserError (exit 2)
naming the entry and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.errors import UserError
from wizard.providers import spec
from wizard.providers.base import Provider
from wizard.providers.tokens import credential_problem

from support.providers import SHIPPED, assets_copy


@pytest.fixture
def assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of assets/ in use (its providers.yaml is the test's to break)."""
    return assets_copy(tmp_path, monkeypatch)


def broken(assets: Path, old: str, new: str) -> UserError:
    assert SHIPPED.count(old) >= 1, old
    (assets / "providers.yaml").write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(UserError) as ei:
        spec.specs()
    return ei.value


# -- the shipped file ------------------------------------------------------------------------------------------
def test_the_shipped_providers_in_file_order() -> None:
    assert spec.names() == ("hetzner", "cloudflare")
    assert spec.default_name() == "hetzner"
    h, c = spec.get("hetzner"), spec.get("cloudflare")
    assert (h.label, h.external_dns, h.chart_provider) == ("Hetzner Cloud", "webhook", "webhook")
    assert (c.label, c.external_dns, c.chart_provider) == ("Cloudflare", "in-tree", "cloudflare")
    assert (h.secret.name, h.token.key) == ("hetzner-token", "HETZNER_API_KEY")
    assert (c.secret.name, c.token.key) == ("cloudflare-api-token", "CF_API_TOKEN")
    assert list(h.credentials) == list(c.credentials) == ["token"]  # the front ends ask for one token
    assert h.legacy is not None and h.legacy.provider == "hetzner" and h.legacy.secret_keys == ["HETZNER_TOKEN"]
    assert c.legacy is None


def test_chart_values_are_a_fresh_copy() -> None:
    values = spec.get("hetzner").chart_values()
    values["provider"]["webhook"]["env"].clear()
    assert spec.get("hetzner").chart_values()["provider"]["webhook"]["env"]


def test_an_unknown_provider_names_the_accepted_ones() -> None:
    with pytest.raises(UserError, match=r"Unknown DNS provider 'route53': .* for hetzner, cloudflare\. Set dns_pro"):
        spec.get("route53")


# -- a broken file: the entry and the key named ----------------------------------------------------------------
@pytest.mark.parametrize(
    "old, new, said",
    [
        (
            "min_length: 8\n",
            "min_length: '8'\n",
            "the entry 'hetzner', key credentials.token.min_length is wrong: expected `int`, got `str`",
        ),
        (
            "  label: Cloudflare\n",
            "  lable: Cloudflare\n",
            "the entry 'cloudflare' has an unknown key 'lable' (did you mean 'label'?)",
        ),
        (
            "    name: hetzner-token\n",
            "    nmae: hetzner-token\n",
            "the entry 'hetzner', key secret has an unknown key 'nmae' (did you mean 'name'?)",
        ),
        (
            "      key: CF_API_TOKEN\n",
            "      keys: CF_API_TOKEN\n",
            "the entry 'cloudflare', key credentials.token has an unknown key 'keys'",
        ),
        ("  label: Hetzner Cloud\n", "", "the entry 'hetzner' is missing the key 'label'"),
        ("external_dns: webhook", "external_dns: sidecar", "key external_dns is wrong: invalid enum value 'sidecar'"),
        (
            "pattern: '^[A-Za-z0-9_-]+$'",
            "pattern: '^[A-Za-z0-9_-+$'",
            "the entry 'hetzner', key credentials.token is wrong: pattern '^[A-Za-z0-9_-+$' is not a regular expression",
        ),
        (
            "max_length: 128",
            "max_length: 4",
            "key credentials.token is wrong: min_length 8 is greater than max_length 4",
        ),
        ("max_length: 128", "max_length: 4096", "key credentials.token.max_length is wrong: expected `int` <= 512"),
        ("key: HETZNER_API_KEY", "key: HETZNER API KEY", "key credentials.token.key is wrong: expected `str` matching"),
        ("    name: hetzner-token\n", "    name: Hetzner_Token\n", "key secret.name is wrong: expected `str` matching"),
        (
            "  external_dns: in-tree\n",
            "  external_dns: webhook\n",
            "the entry 'cloudflare' is wrong: external_dns is webhook but values.provider.name is 'cloudflare'",
        ),
        (
            "            key: CF_API_TOKEN\n",
            "            key: CF_TOKEN\n",
            "values never read the Secret cloudflare-api-token's key CF_API_TOKEN (a secretKeyRef with that name",
        ),
        (
            "                key: HETZNER_API_KEY\n",
            "                key: HETZNER_API_KEY\n          - name: EXTRA\n            valueFrom:\n"
            "              secretKeyRef:\n                name: hetzner-token\n                key: HETZNER_EXTRA\n",
            "the entry 'hetzner' is wrong: values read the Secret hetzner-token's key HETZNER_EXTRA, which no credential",
        ),
        (
            "      name: cloudflare\n",
            "      nmae: cloudflare\n",
            "is wrong: values.provider.name must name external-dns's",
        ),
        ("cloudflare:\n", "Cloud Flare:\n", "the entry 'Cloud Flare' has a name that cannot be a provider's"),
    ],
)
def test_a_broken_entry_names_the_entry_and_the_key(assets: Path, old: str, new: str, said: str) -> None:
    err = broken(assets, old, new)
    assert said in err.message, err.message
    assert err.message.startswith(f"{assets / 'providers.yaml'}: ")
    assert "unset EDGE_WIZARD_ASSETS to use the built-in file" in err.message
    assert err.exit_code == 2 and err.__cause__ is None


@pytest.mark.parametrize(
    "text, said",
    [
        ("", "the file must be a mapping of provider names to their entries"),
        ("- hetzner\n", "the file must be a mapping of provider names to their entries"),
        ("hetzner: [\n", "the file is not valid YAML"),
    ],
)
def test_a_file_that_is_no_table(assets: Path, text: str, said: str) -> None:
    (assets / "providers.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match="providers.yaml: " + said):
        spec.specs()


# -- more than one credential (Route53's access key id and secret, later) ---------------------------------------
TWO = """
keyed:
  title: Keyed DNS
  label: Keyed
  external_dns: in-tree
  credentials:
    access_key_id:
      key: KEYED_ACCESS_KEY_ID
      label: access key id
      help: The access key's id.
      pattern: '^AK[A-Z0-9]+$'
      min_length: 16
      max_length: 32
    secret_access_key:
      key: KEYED_SECRET_ACCESS_KEY
      label: secret access key
      help: The access key's secret.
      min_length: 40
      max_length: 40
  secret:
    name: keyed-credentials
  values:
    provider:
      name: keyed
    env:
      - name: KEYED_ACCESS_KEY_ID
        valueFrom: {secretKeyRef: {name: keyed-credentials, key: KEYED_ACCESS_KEY_ID}}
      - name: KEYED_SECRET_ACCESS_KEY
        valueFrom: {secretKeyRef: {name: keyed-credentials, key: KEYED_SECRET_ACCESS_KEY}}
"""


class _Keyed(Provider):  # defined outside the package: the registry never sees it
    name = "keyed"

    def check(self, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def read_records(self, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_a_provider_declares_several_credentials_each_checked(assets: Path) -> None:
    (assets / "providers.yaml").write_text(SHIPPED + TWO, encoding="utf-8")
    keyed = spec.get("keyed")
    assert [(f, c.key) for f, c in keyed.credentials.items()] == [
        ("access_key_id", "KEYED_ACCESS_KEY_ID"),
        ("secret_access_key", "KEYED_SECRET_ACCESS_KEY"),
    ]
    p = _Keyed(keyed)
    good = {"access_key_id": "AKIAEXAMPLE12345", "secret_access_key": "s" * 40}
    assert p.credentials_problem(good) is None
    assert p.credentials_problem({**good, "access_key_id": "akiaexample12345"}) == credential_problem(
        "akiaexample12345", keyed.credentials["access_key_id"], "Keyed"
    )
    assert "The Keyed access key id has characters" in (
        p.credentials_problem({**good, "access_key_id": "XX" * 8}) or ""
    )
    assert p.credentials_problem({"access_key_id": good["access_key_id"]}) == (
        "No Keyed secret access key was given; external-dns needs it to write DNS records."
    )
    with pytest.raises(UserError, match="needs access_key_id, secret_access_key; edge-wizard asks for one token"):
        keyed.token  # noqa: B018  (the front ends ask for one token today)


def test_values_must_read_every_credential(assets: Path) -> None:
    text = TWO.replace("      - name: KEYED_SECRET_ACCESS_KEY\n", "      - name: UNUSED\n").replace(
        "key: KEYED_SECRET_ACCESS_KEY}}", "key: KEYED_OTHER}}"
    )
    (assets / "providers.yaml").write_text(SHIPPED + text, encoding="utf-8")
    with pytest.raises(UserError) as ei:
        spec.specs()
    assert (
        "the entry 'keyed' is wrong: values never read the Secret keyed-credentials's key KEYED_SECRET_ACCESS_KEY"
        in str(ei.value)
    )


def test_a_provider_needs_a_credential(assets: Path) -> None:
    entry = "empty:\n  title: E\n  label: E\n  external_dns: in-tree\n  credentials: {}\n  secret: {name: e}\n"
    (assets / "providers.yaml").write_text(SHIPPED + entry + "  values: {provider: {name: e}}\n", encoding="utf-8")
    with pytest.raises(UserError, match="the entry 'empty' is wrong: credentials is empty: external-dns needs"):
        spec.specs()
