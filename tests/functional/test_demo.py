"""`edge-wizard demo --script --record`: the real TUI recorded in a pty; the typed token never in the recording."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from wizard.demo.record import strip_ansi

from support.casts import assert_no_token, assert_valid_cast

ROOT = Path(__file__).parents[2]


def test_demo_script_recording_of_the_tui_never_contains_the_typed_token(tmp_path: Path) -> None:
    """`edge-wizard demo --script --record`: the real TUI in a pty, the demo token typed into the
    password field key by key. The token reaches the repository (encrypted), never the .cast."""
    from wizard.demo import DEMO_TOKEN, find_tool

    cast = tmp_path / "demo.cast"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "wizard", "demo", "--script", "--pace", "0", "--record", str(cast), "--size", "100x30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    text = strip_ansi(assert_valid_cast(cast, (100, 30)))
    assert "Exit (enter)" in text and "Replayed" in text and "replayed, not checked" in text
    assert "•" * 8 in text  # the password field showed bullets while it was typed
    raw = cast.read_text(encoding="utf-8")
    assert_no_token(raw, DEMO_TOKEN)
    assert_no_token(res.stdout + res.stderr, DEMO_TOKEN)

    # the token was really typed: it is in the pushed Secret, encrypted (decrypts with the sandbox key)
    box = Path(re.search(r"demo sandbox (\S+)", res.stdout).group(1))
    sops = find_tool("sops")
    if sops is None:
        assert "skips encryption" in res.stdout
        return
    remote = box / "remote.git"
    rel = "manifests/infrastructure/external-dns/hetzner-token.yaml"
    secret = subprocess.run(
        ["git", "-C", str(remote), "show", f"main:{rel}"], capture_output=True, text=True, check=True
    ).stdout
    assert "ENC[" in secret and DEMO_TOKEN not in secret
    dec = subprocess.run(
        [sops, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"],
        input=secret,
        capture_output=True,
        text=True,
        env={**os.environ, "SOPS_AGE_KEY_FILE": str(box / "age" / "keys.txt")},
    )
    assert dec.returncode == 0, dec.stderr
    assert DEMO_TOKEN in dec.stdout
