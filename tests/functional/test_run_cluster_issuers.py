"""cluster-issuers: an ACME server with a private CA is trusted through the ClusterIssuer's caBundle
(from the catalog's acme_ca_bundle), never by skipping verification; Let's Encrypt gets none."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.frontends.cli import main

from support.repos import make_guide_repo

ISSUERS = "manifests/infrastructure/cluster-issuers/cluster-issuers.yaml"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch"]
PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"


def _issuers(repo: Path) -> dict[str, dict]:
    docs = yamlio.load_plain((repo / ISSUERS).read_text())
    return {d["metadata"]["name"]: d["spec"]["acme"] for d in docs if d}


def _run(repo: Path, answers: Path) -> int:
    return main(["run", "cluster-issuers", "--repo", str(repo), "--answers", str(answers), *RUN])


def test_no_bundle_for_lets_encrypt(tmp_path: Path, answers_file: Path) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    assert _run(repo, answers_file) == 0
    for acme in _issuers(repo).values():
        assert "caBundle" not in acme
        assert acme["server"].startswith("https://acme-")


def test_bundle_from_the_catalog(tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = tmp_path / "catalog.yaml"
    overlay.write_text(
        "acme:\n  letsencrypt-staging: https://127.0.0.1:14000/dir\n  letsencrypt-production: https://127.0.0.1:14001/dir\n"
        "acme_ca_bundle:\n  letsencrypt-staging: |\n" + "".join(f"    {ln}\n" for ln in PEM.splitlines())
    )
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(overlay))
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    assert _run(repo, answers_file) == 0
    issuers = _issuers(repo)
    staging, production = issuers["letsencrypt-staging"], issuers["letsencrypt-production"]
    assert base64.b64decode(staging["caBundle"]).decode() == PEM
    assert list(staging)[:2] == ["server", "caBundle"]
    assert "caBundle" not in production
    assert "skipTLSVerify" not in staging and "skipTLSVerify" not in production
    # the same answers again: nothing changes
    before = (repo / ISSUERS).read_text()
    assert _run(repo, answers_file) == 0
    assert (repo / ISSUERS).read_text() == before


def test_a_bundle_that_is_not_pem_is_refused(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = tmp_path / "catalog.yaml"
    overlay.write_text("acme_ca_bundle:\n  letsencrypt-staging: /etc/ssl/pebble.pem\n")
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(overlay))
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    before = sorted(p for p in repo.rglob("*") if ".git" not in p.parts)
    assert _run(repo, answers_file) == 2
    err = capsys.readouterr().err
    assert "acme_ca_bundle.letsencrypt-staging" in err and "BEGIN CERTIFICATE" in err
    assert sorted(p for p in repo.rglob("*") if ".git" not in p.parts) == before
