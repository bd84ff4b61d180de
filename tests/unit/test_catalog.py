"""The catalog is typed and validated at load: an overlay typo stops the run at once, with the
file and the key path named (exit 2), instead of a manifest with a missing value."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import catalog
from wizard.errors import UserError
from wizard.frontends.cli import main


@pytest.fixture(autouse=True)
def _fresh_cache():
    catalog._catalog.cache_clear()
    yield
    catalog._catalog.cache_clear()


def overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    p = tmp_path / "overlay.yaml"
    p.write_text(text, encoding="utf-8")
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(p))
    return p


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


def test_the_cli_says_it_in_one_paragraph_and_exits_2(
    guide_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay(tmp_path, monkeypatch, "charts:\n  cert-manager:\n    vresion: x\n")
    assert main(["plan", "cert-manager", "--repo", str(guide_repo)]) == 2
    err = capsys.readouterr().err
    assert "vresion" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
