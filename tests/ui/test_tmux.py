"""As a person would: a real terminal (tmux), real keys, the screen read back with capture-pane.

Starts edge-wizard on a fixture repository, completes the answers (typing the token) and reaches
the review screen; then quits with q and checks nothing was written.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from support.repos import snapshot
from ui.helpers import TOKEN


def _command(env) -> list[str]:
    """`edge-wizard` as installed in the venv (the console script)."""
    exe = Path(sys.executable).parent / "edge-wizard"
    assert exe.is_file(), "pip install -e . makes the edge-wizard console script"
    return [str(exe), "--repo", str(env.repo), "--answers", str(env.answers)]


def test_person_completes_answers_and_reaches_review(ui_env, tmux, tmp_path) -> None:
    before = snapshot(ui_env.repo)
    done = tmp_path / "exit-code"
    env = {**ui_env.env, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    cmd = shlex.join(_command(ui_env))
    shell = f"cd {shlex.quote(str(Path(__file__).parents[2]))} && env {exports} {cmd}; echo $? > {done}; sleep 30"
    tmux.run("new-session", "-d", "-s", tmux.name, "-x", "100", "-y", "30", shell)

    screen = tmux.wait_for("What edge-wizard found", "Repository layout", "sops")
    assert "✔ Repository layout" in screen
    tmux.keys("Enter")
    screen = tmux.wait_for("Answers", "k8s.example.com")
    assert "ops@example.com" in screen  # prefilled from --answers
    tmux.keys("C-s")
    screen = tmux.wait_for("Run all", "external-dns", "smoke-test", "new")
    tmux.keys("a")
    tmux.wait_for("DNS provider token", "sops")
    tmux.keys(TOKEN, literal=True)  # the token field has the focus
    screen = tmux.wait_for("•" * len(TOKEN))
    assert TOKEN not in screen
    tmux.keys("C-s")
    screen = tmux.wait_for("Review:", "Write, commit and push", "files to write")
    assert "Review: prerequisites, ingress, firewa" in screen and TOKEN not in screen

    tmux.keys("q")
    tmux.wait_for("Quit edge-wizard?")
    tmux.keys("y")
    deadline = time.monotonic() + 20
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert done.read_text().strip() == "130"
    assert snapshot(ui_env.repo) == before
