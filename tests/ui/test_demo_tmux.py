"""`make demo` as a person runs it: a real terminal (tmux), real keys, the screen read back.

Runs `make demo` when the venv is already installed for this pyproject (`make -q` says so), so make
does not try to reinstall it; otherwise the very commands `make demo` runs (tests/tools/demo-tools.sh,
then `.venv/bin/edge-wizard demo`, or this interpreter's). The tools cache is warm here (CI builds it
first): demo-tools.sh finds sops and age there, so the run shows every step, the DNS token encrypted
by sops included. Skipped without tmux unless CI=true.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from wizard.demo import DEMO_TOKEN

from support.tmux import Tmux

ROOT = Path(__file__).parents[2]
SECRET = "manifests/infrastructure/external-dns/hetzner-token.yaml"


def _demo_command() -> str:
    make_ok = (
        shutil.which("make")
        and subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT, capture_output=True).returncode == 0
    )
    if make_ok and Path(sys.executable).parent == ROOT / ".venv" / "bin":
        return "make demo"
    exe = Path(sys.executable).parent / "edge-wizard"
    demo = shlex.join([str(exe), "demo"] if exe.is_file() else [sys.executable, "-m", "wizard", "demo"])
    return f"EDGE_WIZARD_TOOLS_BIN=$(bash tests/tools/demo-tools.sh) {demo}"


def test_person_runs_make_demo_to_the_done_screen(tmux: Tmux, tmp_path: Path) -> None:
    rc = tmp_path / "exit-code"
    env = {
        k: os.environ[k]
        for k in (
            "HOME",
            "PATH",
            "GIT_CONFIG_NOSYSTEM",
            "GIT_CONFIG_GLOBAL",
            "EDGE_WIZARD_TOOLS_BIN",
            "EDGE_WIZARD_TOOLS_CACHE",
        )
        if k in os.environ
    }
    env.update(
        TERM="xterm-256color", COLORTERM="truecolor", TMPDIR=str(tmp_path), EDGE_WIZARD_DEMO_PACE="0.2"
    )  # the replayed reconcile at 5x speed
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    shell = f"cd {shlex.quote(str(ROOT))} && env {exports} {_demo_command()}; echo $? > {rc}; sleep 60"
    tmux.run("new-session", "-d", "-s", tmux.name, "-x", "100", "-y", "30", "bash", "-c", shell)

    screen = tmux.wait_for("demo sandbox", "Press Enter to start", timeout=120)
    assert "fresh age key" in screen and "skips encryption" not in screen  # sops and age were found
    (sandbox,) = tmp_path.glob("edge-wizard-demo-*")  # TMPDIR: the sandbox is made in tmp_path
    tmux.keys("Enter")
    screen = tmux.wait_for("What edge-wizard found", "Repository layout", timeout=60)
    assert "✔ Repository layout" in screen
    assert "» Preflight only reads" in screen  # the demo's caption: why this stage is there
    tmux.keys("Enter")
    screen = tmux.wait_for("Answers", "k8s.example.com")
    assert "ops@example.com" in screen  # example answers, prefilled
    tmux.keys("C-s")
    tmux.wait_for("Run all", "smoke-test")
    tmux.keys("a")
    tmux.wait_for("DNS provider token", "sops")
    tmux.keys(DEMO_TOKEN, literal=True)
    screen = tmux.wait_for("•" * 10)
    assert DEMO_TOKEN not in screen
    tmux.keys("C-s")
    screen = tmux.wait_for("Review:", "files to write")
    assert "not checked" in screen  # the demo says the token is not checked with the provider
    assert "sops-encrypted Secret)" in screen, screen  # the external-dns token, encrypted by sops on write
    tmux.keys("w")
    screen = tmux.wait_for("replayed", "not a live cluster")
    # the DNS token's Secret is pushed encrypted by sops (with the sandbox's age key), never in plaintext
    secret = subprocess.run(
        ["git", "-C", str(sandbox / "remote.git"), "show", f"main:{SECRET}"], capture_output=True, text=True
    )
    assert secret.returncode == 0, secret.stderr
    assert "ENC[AES256_GCM," in secret.stdout and "sops:" in secret.stdout and DEMO_TOKEN not in secret.stdout
    # staging is proven (replayed): the promotion to production, on a review of its own
    tmux.wait_for("Review:", "smoke-test", "Write, commit and push", timeout=60)
    tmux.keys("w")
    screen = tmux.wait_for("Replayed", "Exit (enter)", "podinfo.apps.k8s.example.com", timeout=60)
    assert "nothing was checked" in screen and "✔ Done" not in screen
    assert DEMO_TOKEN not in screen
    tmux.keys("Enter")
    deadline = time.monotonic() + 30
    while not rc.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rc.read_text().strip() == "0"
    screen = tmux.wait_for("✔ demo done")
    log = subprocess.run(
        ["git", "-C", str(sandbox / "remote.git"), "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(log) == 3 and log[0].startswith("edge-wizard:") and log[1].startswith("edge-wizard:")
