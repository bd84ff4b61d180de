"""The catalog is typed and validated at load: an overlay typo stops the run at once, with the
file and the key path named (exit 2), instead of a manifest with a missing value."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import catalog
from wizard.errors import UserError

from support.catalogs import overlay

pytestmark = pytest.mark.usefixtures("_fresh_cache")  # the catalog read afresh (tests/conftest.py)


def test_the_built_in_catalog_is_valid_and_typed() -> None:
    cat = catalog.catalog()
    assert cat["api_versions"]["helm_release"] == "helm.toolkit.fluxcd.io/v2"
    assert set(cat["charts"]["cert-manager"]) == {"repository", "chart", "version"}


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            "charts:\n  ingress-nginx:\n    versoin: '1.0'\n",
            "charts.ingress-nginx has an unknown key 'versoin' (did you mean 'version'?)",
        ),
        ("api_version:\n  kustomization: x\n", "has an unknown key 'api_version' (did you mean 'api_versions'?)"),
        ("charts:\n  podinfo:\n    version: 6\n", "charts.podinfo.version must be a string"),
        ("charts:\n  mine:\n    chart: x\n", "charts.mine is missing the key 'repository'"),
        ("acme: [a, b]\n", "acme must be a mapping"),
    ],
)
def test_an_overlay_typo_is_named_with_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    path = overlay(tmp_path, monkeypatch, text)
    with pytest.raises(UserError) as info:
        catalog.catalog()
    assert fragment in info.value.message and str(path) in info.value.message
