"""`run prerequisites` through the CLI without a cluster: the age key and .sops.yaml are made, and the kubectl command that puts the key into the cluster is printed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from wizard import agekey
from wizard.engine import RunOptions

from support.agekeys import default_key_path
from support.repos import make_guide_repo
from support.tools import require_tool

pytestmark = pytest.mark.usefixtures("_default_sops_locations")  # tests/conftest.py


def test_cli_run_yes_no_cluster_creates_key_and_config_and_prints_the_command(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    require_tool("sops")
    if "cluster" not in RunOptions.__dataclass_fields__:
        pytest.skip("needs the engine/cli patch from the prerequisites report (--no-cluster)")
    from wizard.frontends.cli import main

    repo = make_guide_repo(tmp_path / "repo", style="2024")
    monkeypatch.setenv("T", "tok3n-prereq-cli-0123456789")
    rc = main(
        [
            "run",
            "prerequisites",
            "external-dns",
            "--repo",
            str(repo),
            "--answers",
            str(answers_file),
            "--yes",
            "--no-commit",
            "--no-watch",
            "--no-cluster",
            "--token-env",
            "T",
            "--skip-token-check",
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    key_file = default_key_path()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    recipient = agekey.recipients_of(key_file)[0]
    assert f"age: {recipient}\n" in (repo / ".sops.yaml").read_text()
    assert (
        f"kubectl -n flux-system create secret generic sops-age --from-file=age.agekey={key_file}" in out.out + out.err
    )
    assert "AGE-SECRET-KEY" not in out.out + out.err
