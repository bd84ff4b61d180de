"""`make demo` as a person runs it: a real terminal (tmux), real keys, the screen read back.

Runs `make demo` when the venv is already installed for this pyproject (`make -q` says so), so make
does not try to reinstall it; otherwise the very command `make demo` runs (`.venv/bin/edge-wizard
demo`, or this interpreter's). Skipped without tmux unless CI=true.
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


def _demo_command() -> str:
    make_ok = (
        shutil.which("make")
        and subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT, capture_output=True).returncode == 0
    )
    if make_ok and Path(sys.executable).parent == ROOT / ".venv" / "bin":
        return "make demo"
    exe = Path(sys.executable).parent / "edge-wizard"
    return shlex.join([str(exe), "demo"] if exe.is_file() else [sys.executable, "-m", "wizard", "demo"])


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

    tmux.wait_for("demo sandbox", "Press Enter to start", timeout=120)
    (sandbox,) = tmp_path.glob("edge-wizard-demo-*")  # TMPDIR: the sandbox is made in tmp_path
    tmux.keys("Enter")
    screen = tmux.wait_for("What edge-wizard found", "Repository layout", "Git remote", timeout=60)
    assert "✔ Repository layout" in screen
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
    tmux.keys("w")
    screen = tmux.wait_for("replay", "not a live cluster")
    screen = tmux.wait_for("Done", "podinfo.apps.k8s.example.com", timeout=60)
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
    assert len(log) == 2 and log[0].startswith("edge-wizard:")
