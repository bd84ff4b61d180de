"""What the commands print: provider echoes of the token are scrubbed, an unreachable provider API has
one behaviour per mode whose text matches it, escape sequences in file names never reach the
terminal, a closed output pipe ends the process quietly (from issue 16's minor items; the unit parts
are in tests/unit/test_redact.py, test_events.py, test_frontends_lines.py, test_frontends_cli_output.py
and test_flux.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard import events as ev
from wizard.engine import Engine
from wizard.frontends.cli import main

from support.fakedns import FakeProviderAPI
from support.repos import git, snapshot

TOKEN = "hcloud-EchoedTokenValue-0123456789abcdef"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch", "--token-env", "T"]


# -- the token echoed back by the provider ---------------------------------------------------------------
def test_token_echoed_by_the_provider_never_reaches_the_output(
    guide_repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = {"name": "example.com", "id": TOKEN, "nameservers": [], "delegation_status": f"invalid ({TOKEN})"}
    with FakeProviderAPI(tokens=(TOKEN,), zones=(zone,)) as api:
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
        monkeypatch.setenv("T", TOKEN)
        for extra in ([], ["--json"]):
            rc = main(["run", "ingress", "external-dns", "--repo", str(guide_repo), "--answers", str(answers_file),
                       *RUN, *extra])  # fmt: skip
            out = capsys.readouterr()
            assert TOKEN not in out.out + out.err
            assert "zone example.com (id ***)" in out.out + out.err, out.out + out.err
            assert rc == 2  # the repository has no .sops.yaml: it stops after the check, which is what is tested


# -- provider API unreachable: one behaviour per mode, the text matches it --------------------------------------
def test_unreachable_provider_stops_a_non_interactive_run_before_writing(
    guide_repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", "http://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("T", TOKEN)
    before = snapshot(guide_repo)
    rc = main(["run", "external-dns", "--repo", str(guide_repo), "--answers", str(answers_file), *RUN])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Pass --skip-token-check to continue without the check" in err
    assert snapshot(guide_repo) == before


def test_unreachable_provider_in_interactive_modes_warns_that_the_run_continues(
    guide_repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", "http://127.0.0.1:1")
    from wizard.flow import check_token_with_provider

    engine = Engine(repo=guide_repo, answers_file=str(answers_file))
    _, answers = engine.load()
    events = check_token_with_provider(answers, TOKEN, strict=False).events  # what plain and the TUI get
    assert len(events) == 1 and isinstance(events[0], ev.Warning)
    assert "continues without the check" in events[0].message
    assert "--skip-token-check" not in events[0].message


# -- escape sequences in file names -------------------------------------------------------------------------
def test_escape_sequences_in_a_file_name_are_shown_not_run(
    guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = guide_repo / "manifests/infrastructure/cluster-policies"
    evil = "host-fw\x1b]0;pwned\x07\x1b[2J.yaml"
    (folder / "host-fw-control-plane.yaml").rename(folder / evil)
    listing = folder / "kustomization.yaml"  # still applied by the cluster under its new name
    listing.write_text(listing.read_text().replace("host-fw-control-plane.yaml", json.dumps(evil)))
    git(guide_repo, "add", "-A")
    git(guide_repo, "commit", "-qm", "rename")
    for argv in (["plan", "firewall"], ["run", "firewall", "--yes", "--no-commit", "--no-watch"]):
        rc = main([*argv, "--repo", str(guide_repo), "--answers", str(answers_file)])
        out = capsys.readouterr()
        assert rc == 0, out.err
        assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err
        assert "host-fw\\x1b]0;pwned\\x07\\x1b[2J.yaml" in out.out


# -- the reader of our output goes away ----------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_closed_output_pipe_exits_141_without_a_traceback(
    guide_repo: Path, answers_file: Path, extra: list[str]
) -> None:
    """`edge-wizard steps | head -1`: the process ends like git when its reader is gone (exit 141,
    nothing on stderr), through the console script's own exit (os._exit after the flush)."""
    import os
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first line
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "steps", "--repo", str(guide_repo), "--answers", str(answers_file), *extra],
        stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    os.close(w)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""
