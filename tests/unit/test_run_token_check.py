"""`run` checks the DNS token with the provider (fake API on 127.0.0.1) before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fakedns import FakeProviderAPI
from support.repos import snapshot

from wizard.cli import main
from wizard.engine import Engine

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


def test_provider_zone_becomes_the_domain_filter(guide_repo: Path, tmp_path: Path, fake: FakeProviderAPI) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domain: apps.k8s.example.com\ndns_provider: hetzner\n")
    engine = Engine(repo=guide_repo, answers_file=str(f))
    engine.load()
    assert engine.answers.resolved_zone == "example.com"
    events = engine.check_token(TOKEN)
    assert any("k8s.example.com" in getattr(e, "message", "") for e in events)
    plan = engine.plan(["external-dns"])
    release = next(c for c in plan.changes if c.path.endswith("external-dns/external-dns.yaml"))
    assert "- k8s.example.com" in release.new


def test_skip_token_check_warns(guide_repo: Path, answers_file: Path) -> None:
    engine = Engine(repo=guide_repo, answers_file=str(answers_file))
    events = engine.check_token("whatever-token", skip=True)
    assert "not checked" in events[0].message
