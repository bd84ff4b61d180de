"""Fixtures for the Textual tests: a guide-shaped repo with a real age recipient, a local bare
remote reached through the Flux URL (git insteadOf), a fake DNS provider API on 127.0.0.1, and
fixed git dates so commit SHAs (and snapshots) are stable."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.fakedns import FakeProviderAPI
from support.repos import ANSWERS, git, make_guide_repo
from support.tmux import Tmux
from support.tools import CI
from ui.helpers import TOKEN

FLUX_URL = "ssh://git@github.com/example/cluster"
FIXED_DATE = "2026-01-02T03:04:05+00:00"
# this machine's sops key, fixed so the recipient in .sops.yaml (and so commit SHAs and snapshots) is
# stable: a throwaway key made for these tests, never used anywhere else. Without it the review would
# (rightly) ask to encrypt the token for a key this machine does not hold.
UI_AGE_RECIPIENT = "age1rhyz7ywdjml9yt0nkqwh6elgezgklpdapvlt4yz9vmmp8pqde4ksts98g0"
UI_AGE_IDENTITY = "AGE-SECRET-KEY-1XZR7MAJVQXANU7HP32TL7ATZRUVHLY3ZAC5U2PS5W0MG7GDU9GAQMXRHY6"


@dataclass
class UiEnv:
    repo: Path
    remote: Path
    answers: Path
    api: FakeProviderAPI
    env: dict[str, str]  # what a child process (tmux) needs


@pytest.fixture(autouse=True)
def _ui_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_DATE", FIXED_DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", FIXED_DATE)
    for key in ("COLORFGBG", "EDGE_WIZARD_THEME", "SOPS_CONFIG"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def ui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UiEnv:
    # a fixed recipient whose key this machine holds: commits and snapshots stay stable
    key = tmp_path / "keys.txt"
    key.write_text(f"# public key: {UI_AGE_RECIPIENT}\n{UI_AGE_IDENTITY}\n", encoding="utf-8")
    key.chmod(0o600)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    repo = make_guide_repo(
        tmp_path / "cluster",
        style="2024",
        url=FLUX_URL,
        sops_rule=r"manifests/.*\.yaml",
        age_recipient=UI_AGE_RECIPIENT,
    )
    remote = tmp_path / "remote.git"
    remote.mkdir()
    git(remote, "init", "-q", "--bare", "-b", "main")
    git(repo, "remote", "add", "origin", FLUX_URL)
    git(repo, "config", f"url.file://{remote}.insteadOf", FLUX_URL)
    git(repo, "push", "-q", "origin", "main")
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS, encoding="utf-8")
    api = FakeProviderAPI(tokens=(TOKEN,), zones=({"name": "example.com", "nameservers": []},)).start()
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
    monkeypatch.setenv("EDGE_WIZARD_CLOUDFLARE_API", api.url)
    env = {
        k: os.environ[k]
        for k in (
            "HOME",
            "PATH",
            "GIT_CONFIG_NOSYSTEM",
            "GIT_CONFIG_GLOBAL",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
            "EDGE_WIZARD_HETZNER_API",
            "SOPS_AGE_KEY_FILE",
        )
        if k in os.environ
    }
    yield UiEnv(repo=repo, remote=remote, answers=answers, api=api, env=env)
    api.stop()


@pytest.fixture
def tmux():
    if not shutil.which("tmux"):
        if CI:
            pytest.fail("tmux is required on CI")
        pytest.skip("tmux not installed")
    t = Tmux(f"edge-wizard-test-{uuid.uuid4().hex[:8]}")
    yield t
    subprocess.run(["tmux", "kill-session", "-t", t.name], capture_output=True)
