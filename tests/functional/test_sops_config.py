"""Issue 16 items 5 and 11: a repaired .sops.yaml is committed with the stage; only the
repository's own .sops.yaml is ever used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import wizard
from wizard.frontends.cli import main

from support.agekeys import make_age_key
from support.clones import http_clone
from support.repos import git, make_guide_repo, snapshot
from support.tools import require_tool

TOKEN = "hcloud-SopsHardeningToken-0123456789"
GLOB_RULE = (
    "creation_rules:\n  - path_regex: manifests/*.yaml\n    encrypted_regex: ^(data|stringData)$\n    age: {r}\n"
)


@pytest.fixture
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    require_tool("sops")
    key = make_age_key(tmp_path / "keys")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    monkeypatch.setenv("T", TOKEN)
    return key


def _broken_sops(repo: Path, recipient: str) -> None:
    (repo / ".sops.yaml").write_text(GLOB_RULE.format(r=recipient))
    git(repo, "add", ".sops.yaml")
    git(repo, "commit", "-qm", "sops rules (a glob, the guide's mistake)")
    git(repo, "push", "-q", "origin", "main")


@pytest.mark.parametrize("first", ["--no-commit", "killed during sops"])
def test_a_repaired_sops_yaml_is_committed_with_the_stage(
    tmp_path: Path, answers_file: Path, keyed, first: str
) -> None:
    with http_clone(tmp_path) as c:
        _broken_sops(c.repo, keyed.recipient)
        base = ["run", "--repo", str(c.repo), "--answers", str(answers_file), "--yes", "--no-watch",
                "--token-env", "T", "--skip-token-check"]  # fmt: skip
        if first == "--no-commit":
            assert main([*base, "--no-commit"]) == 0
        else:
            # a real SIGKILL of the wizard while sops encrypts (sops is a wrapper that kills its parent)
            real = require_tool("sops")
            killer = tmp_path / "sops-killer"
            killer.write_text(f'#!/bin/sh\ncase "$*" in *encrypt*) kill -9 $PPID; sleep 5;; esac\nexec "{real}" "$@"\n')
            killer.chmod(0o755)
            env = {**os.environ, "SOPS": str(killer), "PYTHONPATH": str(Path(wizard.__file__).parents[1])}
            res = subprocess.run([sys.executable, "-m", "wizard", *base], env=env, capture_output=True, text=True,
                                 timeout=120, check=False)  # fmt: skip
            assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
        assert "manifests/*.yaml" not in (c.repo / ".sops.yaml").read_text()
        assert git(c.repo, "status", "--porcelain", "--", ".sops.yaml")  # repaired, not committed yet
        assert main(base) == 0
        assert git(c.repo, "status", "--porcelain", "--", ".sops.yaml") == ""
        remote = git(c.bare, "show", "main:.sops.yaml")
        assert "manifests/*.yaml" not in remote and "manifests/" in remote


def test_a_parent_folders_sops_yaml_is_never_used(
    tmp_path: Path, answers_file: Path, keyed, capsys: pytest.CaptureFixture[str]
) -> None:
    someone_else = make_age_key(tmp_path / "other-keys")
    parent = tmp_path / "work"
    parent.mkdir()
    (parent / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: .*\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {someone_else.recipient}\n"
    )
    repo = make_guide_repo(parent / "repo", style="2024")  # no .sops.yaml of its own
    before = snapshot(repo)
    rc = main(["run", "external-dns", "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch",
               "--no-commit", "--token-env", "T", "--skip-token-check"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "has no .sops.yaml at its root" in err
    assert str(parent / ".sops.yaml") in err and "uses only the repository's own" in err
    assert snapshot(repo) == before


def test_sops_config_env_is_ignored_for_the_repositorys_own(
    tmp_path: Path, answers_file: Path, keyed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    someone_else = make_age_key(tmp_path / "other-keys")
    elsewhere = tmp_path / "elsewhere.sops.yaml"
    elsewhere.write_text(
        f"creation_rules:\n  - path_regex: .*\n    encrypted_regex: ^(data|stringData)$\n    age: {someone_else.recipient}\n"
    )
    monkeypatch.setenv("SOPS_CONFIG", str(elsewhere))
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=keyed.recipient)
    rc = main(["run", "external-dns", "--repo", str(repo), "--answers", str(answers_file), "--yes", "--no-watch",
               "--no-commit", "--token-env", "T", "--skip-token-check"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    secret = (repo / "manifests/infrastructure/external-dns/hetzner-token.yaml").read_text()
    assert keyed.recipient in secret and someone_else.recipient not in secret
