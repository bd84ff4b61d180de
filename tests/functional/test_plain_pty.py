"""Plain mode in a real pseudo-terminal (pexpect): the real questionary prompts, answered with keys.

Two terminal setups: stdin and stdout both the pty (``edge-wizard --plain`` in a terminal), and
stdin the pty with stdout piped (what ``ssh -T`` or ``edge-wizard | tee log`` gives), where
edge-wizard picks plain mode by itself. pexpect does not answer cursor-position requests, so
prompt_toolkit is told not to send them (PROMPT_TOOLKIT_NO_CPR=1); nothing else is faked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from wizard import steps as steps_mod
from wizard.engine import Engine
from wizard.flow import step_rows

from support.repos import git, make_guide_repo, snapshot
from support.steplists import PLAIN_STEPS

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[2]
WANTED = list(PLAIN_STEPS)
DOWN, SPACE, ENTER, CTRL_C = "\x1b[B", " ", "\r", "\x03"
# run_plain through a tiny script: the CLI wiring (edge-wizard --plain) is the lead's cli.py
SCRIPT = (
    "import sys; from wizard.flow import Options; from wizard.frontends.plain import run_plain; "
    "sys.exit(run_plain(Options(repo=sys.argv[1], watch=False)))"
)
TYPED = {"domain": "k8s.example.com", "email": "ops@example.com", "dns_provider": "hetzner"}


def spawn(repo: Path, *, piped_stdout: bool) -> pexpect.spawn:
    cmd = f"exec {sys.executable} -c '{SCRIPT}' '{repo}'"
    if piped_stdout:
        cmd = f"{sys.executable} -c '{SCRIPT}' '{repo}' | cat; exit ${{PIPESTATUS[0]}}"
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "PYTHONPATH": str(ROOT)}
    child = pexpect.spawn(
        "bash", ["-c", cmd], cwd=str(ROOT), env=env, encoding="utf-8", timeout=30, dimensions=(50, 160)
    )
    return child


def checkbox_keys(repo: Path) -> str:
    """Keys that leave exactly WANTED checked, from the preselection plain mode makes (every step
    that is neither up to date nor blocked, as the flow computes the table after the answers)."""
    keys = ""
    for row in step_rows(Engine(repo, overrides=dict(TYPED)), {}):
        checked = row.state not in ("up to date", "blocked")
        if checked != (row.step in WANTED):
            keys += SPACE
        keys += DOWN
    return keys + ENTER


def title(name: str) -> str:
    return next(s.title for s in steps_mod.select([name]))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_guide_repo(tmp_path / "repo", style="2024")


@pytest.mark.parametrize("piped_stdout", [False, True], ids=["tty", "stdout-piped"])
def test_full_flow_in_a_terminal(repo: Path, piped_stdout: bool) -> None:
    keys = checkbox_keys(repo)
    child = spawn(repo, piped_stdout=piped_stdout)
    try:
        child.expect("Domain")
        child.send("k8s.example.com" + ENTER)
        child.expect("DNS zone")
        child.send(ENTER)  # the derived default, example.com
        child.expect("ACME e-mail")
        child.send("ops@example.com" + ENTER)
        child.expect("DNS provider")
        child.send(ENTER)  # the default, Hetzner
        child.expect("Smoke-test host")
        child.send(ENTER)  # default podinfo.apps.k8s.example.com
        child.expect("Ingress controller")
        child.send(ENTER)  # the default for a new repository, Traefik
        child.expect("Ingress address")
        child.send(ENTER)  # empty: set later
        child.expect("Steps to run")
        child.expect_exact(title("smoke-test"))
        child.send(keys)
        child.expect_exact("+++ b/manifests/infrastructure/traefik/traefik.yaml")
        child.expect("Write these changes")
        child.send("y")
        child.expect("Commit and push")
        child.send("n")
        child.expect_exact("✚ wrote manifests/infrastructure/smoke-test/podinfo.yaml")
        child.expect("Files written, not committed")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert (repo / "manifests/infrastructure/cert-manager/cert-manager.yaml").is_file()
    assert not (repo / "manifests/infrastructure/external-dns").exists()
    state = (repo / ".edge-wizard.yaml").read_text()
    assert "zone: example.com" in state and "smoke_test_host: podinfo.apps.k8s.example.com" in state
    assert "initial" in git(repo, "log", "-1", "--format=%s")  # not committed, as answered


@pytest.mark.parametrize("piped_stdout", [False, True], ids=["tty", "stdout-piped"])
def test_ctrl_c_in_a_terminal(repo: Path, piped_stdout: bool) -> None:
    before = snapshot(repo)
    child = spawn(repo, piped_stdout=piped_stdout)
    try:
        child.expect("Domain")
        child.send("k8s.exa")
        child.send(CTRL_C)
        child.expect("No changes were made.")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    assert snapshot(repo) == before


def test_invalid_answer_is_refused_in_place(repo: Path) -> None:
    child = spawn(repo, piped_stdout=False)
    try:
        child.expect("Domain")
        child.send("K8s.Example.com" + ENTER)
        child.expect("upper-case")  # the declared validator's message, shown under the prompt
        child.send(CTRL_C)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
