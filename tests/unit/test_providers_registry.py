"""wizard.providers.registry and .base: provider names -> classes, found in the package's modules.

The claim under test: a new DNS provider is one module in the package and one entry in
providers.yaml. The throwaway providers below are added exactly that way (a module on the
package's path, an entry in a copy of assets/: support.providers) and nothing else is edited;
tests/functional/test_providers.py runs one through the external-dns step's plan.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard import answers, questions
from wizard.errors import UserError
from wizard.providers import check_token, read_records, registry, spec
from wizard.providers.base import Provider, RecordsUnavailable, TokenCheck
from wizard.providers.cloudflare import Cloudflare
from wizard.providers.hetzner import Hetzner
from wizard.providers.tokens import token_problem

from support.providers import ACME_ENTRY, ACME_MODULE, ACME_TOKEN, Extra, extra_providers

TOKEN = ACME_TOKEN


@pytest.fixture
def extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Extra]:
    with extra_providers(tmp_path, monkeypatch) as where:
        yield where


# -- the shipped providers -------------------------------------------------------------------------------------
def test_the_shipped_classes_pair_with_the_entries() -> None:
    assert dict(registry.classes()) == {"cloudflare": Cloudflare, "hetzner": Hetzner}
    every = registry.providers()
    assert list(every) == ["hetzner", "cloudflare"]  # the file's order
    for name, p in every.items():
        assert isinstance(p, Provider) and p.name == name and p.spec is spec.get(name)


def test_an_unknown_name_is_a_user_error() -> None:
    with pytest.raises(UserError, match="Unknown DNS provider 'route53'"):
        registry.provider("route53")
    with pytest.raises(RecordsUnavailable, match="cannot read the records of the DNS provider 'route53'"):
        read_records("route53", "example.com", "www.example.com", "tok-12345678")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_package_and_its_data_loads_no_network_code() -> None:
    light = _modules_after(
        "import wizard.providers, wizard.providers.spec, wizard.providers.tokens\n"
        "from wizard.providers import spec\nspec.specs()"
    )
    assert not {m for m in light if m.split(".")[0] in ("httpx", "httpcore", "dns")}
    assert not {"wizard.providers.hetzner", "wizard.providers.cloudflare", "wizard.providers.http"} & light
    # the same probe sees them once a provider's code is asked for
    heavy = _modules_after("from wizard.providers import registry\nregistry.provider('hetzner')")
    assert {"httpx", "wizard.providers.hetzner", "wizard.providers.cloudflare"} <= heavy


# -- a new provider: its module and its entry, nothing else ----------------------------------------------------
def test_a_new_provider_is_one_module_and_one_entry(extra: Extra) -> None:
    extra.add("acme_dns", ACME_MODULE, ACME_ENTRY)
    seen = importlib.import_module("wizard.providers.acme_dns").SEEN

    # the data: every place that lists or describes providers knows it
    assert answers.providers() == ("hetzner", "cloudflare", "acme-dns")
    assert ("acme-dns", "Acme DNS (a throwaway provider of the tests)") in questions._provider_choices()
    assert questions.token_help({"dns_provider": "acme-dns"}) == "An Acme DNS token, from nowhere."
    assert token_problem("acme-12", "acme-dns") == (
        "The Acme DNS API token is 7 characters long, but Acme DNS tokens have 10 to 40 (they are usually acme- and "
        "16 letters), so it was probably pasted wrong. Copy it again from the provider's console."
    )
    assert answers.build({"dns_provider": "acme-dns", "domain": "apps.example.com"}).dns_provider == "acme-dns"

    # the code: the registry found the class, and the two entry points run it
    assert registry.classes()["acme-dns"].__name__ == "AcmeDns"
    res = check_token("acme-dns", "apps.example.com", f" {TOKEN}\n")
    assert res == TokenCheck(ok=True, zone="example.com", message="Acme DNS knows example.com.")
    assert seen == [("check", "apps.example.com", {"token": TOKEN}, ["apps.example.com", "example.com"], False)]
    with pytest.raises(UserError, match="has characters Acme DNS tokens never contain .* Nothing was written"):
        check_token("acme-dns", "apps.example.com", "ACME-0123456789")
    assert len(seen) == 1  # a token of the wrong shape never reaches the provider's code
    recs = read_records("acme-dns", "example.com", "podinfo.apps.example.com", TOKEN)
    assert (recs.provider, recs.addresses, seen[-1]) == (
        "Acme DNS",
        ("203.0.113.7",),
        ("read", "example.com", "podinfo.apps.example.com", TOKEN),
    )


def test_an_entry_without_a_class_is_named(extra: Extra) -> None:
    extra.add("unrelated", "X = 1\n", ACME_ENTRY)
    with pytest.raises(UserError, match=r"'acme-dns' is in assets/providers.yaml but edge-wizard has no code for it"):
        check_token("acme-dns", "example.com", TOKEN)
    with pytest.raises(UserError, match="no class with name = 'acme-dns' in wizard/providers/"):
        registry.providers()


def test_a_class_without_an_entry_is_named(extra: Extra) -> None:
    extra.add("orphan_dns", ACME_MODULE.replace('"acme-dns"', '"orphan-dns"'))
    assert "orphan-dns" in registry.classes()
    with pytest.raises(UserError, match="The DNS provider classes orphan-dns have no entry in assets/providers.yaml"):
        registry.providers()
    with pytest.raises(UserError, match="Unknown DNS provider 'orphan-dns'"):
        registry.provider("orphan-dns")


def test_two_classes_of_one_name(extra: Extra) -> None:
    extra.add("twin_dns", ACME_MODULE.replace('"acme-dns"', '"hetzner"'))
    with pytest.raises(TypeError, match="two provider classes are named 'hetzner'"):
        registry.classes()


def test_a_class_without_a_name(extra: Extra) -> None:
    extra.add("nameless_dns", ACME_MODULE.replace('    name = "acme-dns"\n', ""))
    with pytest.raises(TypeError, match="AcmeDns is a Provider without a name"):
        registry.classes()


def test_an_abstract_helper_class_is_no_provider(extra: Extra) -> None:
    extra.add("helper_dns", "from wizard.providers.base import Provider\n\n\nclass Half(Provider):\n    pass\n")
    assert set(registry.classes()) == {"hetzner", "cloudflare"}
