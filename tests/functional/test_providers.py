"""DNS providers through whole commands: a provider added as one module and one providers.yaml entry
(support.providers) is planned by the external-dns step, its class checks the token and its Secret
is written (real sops); a broken providers.yaml stops a command with exit 2 and writes nothing."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import pytest

from wizard import yamlio
from wizard.frontends.cli import main

from support.agekeys import make_age_key
from support.providers import ACME_ENTRY, ACME_MODULE, ACME_TOKEN, SHIPPED, assets_copy, extra_providers
from support.repos import ANSWERS, make_guide_repo, snapshot
from support.tools import require_tool

RUN = ["--yes", "--no-commit", "--no-push", "--no-watch", "--token-env", "T"]
SECRET = "manifests/infrastructure/external-dns/acme-dns-token.yaml"


def test_a_new_provider_is_planned_checked_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sops = require_tool("sops")
    key = make_age_key(tmp_path / "keys")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)
    ans = tmp_path / "answers.yaml"
    ans.write_text("domain: k8s.example.com\nzone: example.com\nemail: ops@example.com\ndns_provider: acme-dns\n")
    before = snapshot(repo)
    with extra_providers(tmp_path, monkeypatch) as extra:
        extra.add("acme_dns", ACME_MODULE, ACME_ENTRY)
        seen = importlib.import_module("wizard.providers.acme_dns").SEEN

        # plan: the external-dns step takes the new provider's Secret and chart values
        assert main(["plan", "external-dns", "--repo", str(repo), "--answers", str(ans)]) == 0
        out = capsys.readouterr().out
        assert "Secret external-dns/acme-dns-token (new; written at run time" in out
        assert "+          repository: registry.example.invalid/acme-dns-webhook" in out
        assert "+                key: ACME_DNS_TOKEN" in out
        assert "hetzner" not in out.lower()
        assert snapshot(repo) == before

        # run: a token of the wrong shape stops it before the provider's code is asked
        monkeypatch.setenv("T", "ACME-0123456789")
        assert main(["run", "external-dns", "--repo", str(repo), "--answers", str(ans), *RUN]) == 2
        err = capsys.readouterr().err
        assert "has characters Acme DNS tokens never contain" in err and "ACME-0123456789" not in err
        assert seen == [] and snapshot(repo) == before

        # run: the new class checks the token, and its Secret is written under its key, encrypted
        monkeypatch.setenv("T", ACME_TOKEN)
        rc = main(["run", "external-dns", "--repo", str(repo), "--answers", str(ans), *RUN])
        out = capsys.readouterr()
        assert rc == 0, out.err
    assert seen == [("check", "k8s.example.com", {"token": ACME_TOKEN}, ["example.com"], True)]
    assert "Acme DNS knows example.com." in out.out
    assert ACME_TOKEN not in (repo / SECRET).read_text(encoding="utf-8")
    plain = subprocess.run([sops, "decrypt", SECRET], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert yamlio.load_plain(plain)[0]["stringData"] == {"ACME_DNS_TOKEN": ACME_TOKEN}


def test_a_broken_providers_file_stops_the_command_with_exit_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assets = assets_copy(tmp_path, monkeypatch)
    (assets / "providers.yaml").write_text(SHIPPED.replace("min_length: 8\n", "min_length: eight\n", 1))
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS, encoding="utf-8")
    before = snapshot(repo)
    assert main(["plan", "--repo", str(repo), "--answers", str(answers)]) == 2
    err = capsys.readouterr().err
    assert "the entry 'hetzner', key credentials.token.min_length is wrong: expected `int`, got `str`" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert snapshot(repo) == before
