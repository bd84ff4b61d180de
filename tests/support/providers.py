"""DNS providers added the way a new one is: a module on wizard.providers' path and an entry in
providers.yaml (in a copy of assets/ that EDGE_WIZARD_ASSETS points at), and nothing else."""

from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import wizard.providers
from wizard import catalog

SHIPPED = (Path(catalog.__file__).resolve().parents[1] / "assets/providers.yaml").read_text(encoding="utf-8")

# A throwaway provider: it answers from memory and notes what it was asked (SEEN).
ACME_MODULE = '''
"""A throwaway DNS provider of the tests: it answers from memory."""

from wizard.providers.base import Provider, Records, TokenCheck
from wizard.providers.spec import TOKEN

SEEN = []


class AcmeDns(Provider):
    name = "acme-dns"

    def check(self, domain, credentials, candidates, *, explicit_zone, timeout):
        SEEN.append(("check", domain, dict(credentials), list(candidates), explicit_zone))
        return TokenCheck(ok=True, zone=candidates[-1], message=f"{self.spec.label} knows {candidates[-1]}.")

    def read_records(self, zone, host, credentials, *, timeout):
        SEEN.append(("read", zone, host, credentials[TOKEN]))
        return Records(self.spec.label, zone, ("203.0.113.7",), 60, ((host, "heritage=external-dns"),))
'''

ACME_ENTRY = """
acme-dns:
  title: Acme DNS (a throwaway provider of the tests)
  label: Acme DNS
  external_dns: webhook
  credentials:
    token:
      key: ACME_DNS_TOKEN
      label: API token
      help: An Acme DNS token, from nowhere.
      pattern: '^acme-[a-z0-9]+$'
      characters: "'acme-' and lower-case letters and digits"
      min_length: 10
      max_length: 40
      typical: acme- and 16 letters
  secret:
    name: acme-dns-token
  values:
    provider:
      name: webhook
      webhook:
        image:
          repository: registry.example.invalid/acme-dns-webhook
          tag: v0.1.0
        env:
          - name: ACME_DNS_TOKEN
            valueFrom:
              secretKeyRef:
                name: acme-dns-token
                key: ACME_DNS_TOKEN
"""
ACME_TOKEN = "acme-0123456789abcdef"


@dataclass(frozen=True)
class Extra:
    folder: Path  # on wizard.providers' module path
    assets: Path  # a copy of assets/ in use (EDGE_WIZARD_ASSETS)

    def add(self, module: str, code: str, entry: str = "") -> None:
        """The new provider's two files: ``<module>.py`` and its entry appended to providers.yaml."""
        (self.folder / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")
        if entry:
            with (self.assets / "providers.yaml").open("a", encoding="utf-8") as f:
                f.write(entry)
        importlib.invalidate_caches()


def assets_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of assets/ that EDGE_WIZARD_ASSETS points at (its providers.yaml is the test's)."""
    copy = tmp_path / "assets"
    shutil.copytree(catalog.assets_dir(), copy)
    monkeypatch.setenv("EDGE_WIZARD_ASSETS", str(copy))
    return copy


@contextmanager
def extra_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Extra]:
    """Where a new provider's module and entry go; the modules written there are forgotten afterwards."""
    folder = tmp_path / "providers"
    folder.mkdir()
    monkeypatch.setattr(wizard.providers, "__path__", [*wizard.providers.__path__, str(folder)])
    try:
        yield Extra(folder, assets_copy(tmp_path, monkeypatch))
    finally:
        for mod in [m for m in sys.modules if m.startswith("wizard.providers.")]:
            if (getattr(sys.modules[mod], "__file__", None) or "").startswith(str(folder)):
                del sys.modules[mod]
