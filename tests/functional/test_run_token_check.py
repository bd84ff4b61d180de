"""`run` checks the DNS token with the provider (fake API on 127.0.0.1) before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.fakedns import FakeProviderAPI
from support.repos import snapshot

TOKEN = "hcloud-Zm9vYmFyYmF6cXV4cXV1eA"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch", "--token-env", "T"]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    # no nameservers in the fake zones, so the delegation check makes no DNS lookup
    zones = ({"name": "example.com", "nameservers": []}, {"name": "k8s.example.com", "nameservers": []})
    with FakeProviderAPI(tokens=(TOKEN,), zones=zones) as api:
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
        monkeypatch.setenv("EDGE_WIZARD_CLOUDFLARE_API", api.url)
        yield api


@pytest.mark.parametrize(
    "mode, token, fragment",
    [
        ("ok", "wrong-token-value-123", "token"),
        ("revoked", TOKEN, "token"),
    ],
)
def test_bad_token_exits_2_before_writing(
    guide_repo: Path,
    answers_file: Path,
    fake: FakeProviderAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    token: str,
    fragment: str,
) -> None:
    fake.mode = mode
    monkeypatch.setenv("T", token)
    before = snapshot(guide_repo)
    rc = main(["run", "--repo", str(guide_repo), "--answers", str(answers_file), *RUN])
    err = capsys.readouterr().err
    assert rc == 2
    assert fragment in err.lower() and token not in err
    assert snapshot(guide_repo) == before


def test_zone_not_in_project_exits_2(
    guide_repo: Path,
    tmp_path: Path,
    fake: FakeProviderAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domain: k8s.example.net\nemail: ops@example.net\ndns_provider: hetzner\n")
    monkeypatch.setenv("T", TOKEN)
    before = snapshot(guide_repo)
    assert main(["run", "--repo", str(guide_repo), "--answers", str(f), *RUN]) == 2
    assert "example.net" in capsys.readouterr().err
    assert snapshot(guide_repo) == before


@pytest.fixture
def dns_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A guide repository whose .sops.yaml encrypts to a local age key (real sops)."""
    from support.agekeys import make_age_key
    from support.repos import make_guide_repo
    from support.tools import require_tool

    require_tool("sops")
    key = make_age_key(tmp_path / "keys")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    return make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)


def test_provider_zone_becomes_the_domain_filter(
    dns_repo: Path, tmp_path: Path, fake: FakeProviderAPI, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domain: apps.k8s.example.com\ndns_provider: hetzner\n")
    monkeypatch.setenv("T", TOKEN)
    assert main(["run", "external-dns", "--repo", str(dns_repo), "--answers", str(f), *RUN]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "zone k8s.example.com" in out  # the provider named the longer zone, and the flow said so
    release = (dns_repo / "manifests/infrastructure/external-dns/external-dns.yaml").read_text()
    assert "- k8s.example.com" in release and "- example.com" not in release
    assert "zone: k8s.example.com" in (dns_repo / ".edge-wizard.yaml").read_text()


def test_skip_token_check_warns_and_asks_the_provider_nothing(
    dns_repo: Path, answers_file: Path, fake: FakeProviderAPI, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("T", "whatever-token-0123456789")
    args = ["run", "external-dns", "--repo", str(dns_repo), "--answers", str(answers_file), *RUN, "--skip-token-check"]
    assert main(args) == 0
    assert "not checked (--skip-token-check)" in capsys.readouterr().err
    assert fake.requests == []
