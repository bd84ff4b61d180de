"""`edge-wizard demo --script --record`: the real TUI recorded in a pty; the typed token never in the recording."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from wizard.demo.record import strip_ansi

from support.casts import assert_no_token, assert_valid_cast, markers, read_cast
from support.demos import run_demo

ROOT = Path(__file__).parents[2]
# every stage of the demo's flow, in order: staging first, then the promotion to production
STAGES = ["preflight", "answers", "steps", "token", "review", "write", "watch", "prove"]
PROMOTION = ["review", "write", "watch", "prove", "done"]


def assert_teaches(cast: Path, *, all_on_screen: bool = True) -> None:
    """A marker per stage, in order, each with its caption; the captions on screen too (at --pace 0
    a stage that waits for nobody may pass between two repaints: then only those of the screens
    that wait for a key, and the done screen's)."""
    from wizard.demo import CAPTIONS
    from wizard.demo.captions import AGAIN

    labels = markers(cast)
    assert [label.split(":")[0] for label in labels] == STAGES + PROMOTION, labels
    expected = [CAPTIONS[s] for s in STAGES] + [AGAIN.get(s, CAPTIONS[s]) for s in PROMOTION]
    assert [label.split(": ", 1)[1] for label in labels] == expected
    screen = " ".join(strip_ansi("".join(e[2] for e in read_cast(cast)[1] if e[1] == "o")).split())
    waited = ("preflight", "answers", "steps", "token", "review", "done")
    for stage, caption in zip(STAGES + PROMOTION, expected, strict=True):
        if all_on_screen or stage in waited:
            assert caption[:50] in screen, caption  # shown under the stage bar (wrapped further on)


def assert_no_secret(raw: str, token: str) -> None:
    assert_no_token(raw, token)
    assert "AGE-SECRET-KEY-" not in raw.upper()  # the sandbox's age identity never reaches the screen


def test_demo_script_recording_of_the_tui_never_contains_the_typed_token(tmp_path: Path) -> None:
    """`edge-wizard demo --script --record`: the real TUI in a pty, the demo token typed into the
    password field key by key. The token reaches the repository (encrypted), never the .cast."""
    from wizard.demo import DEMO_TOKEN, find_tool

    cast = tmp_path / "demo.cast"
    res = run_demo(tmp_path, "--script", "--pace", "0", "--record", str(cast), "--size", "100x30", timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    text = strip_ansi(assert_valid_cast(cast, (100, 30)))
    assert "Exit (enter)" in text and "Replayed" in text and "replayed, not checked" in text
    assert "•" * 8 in text  # the password field showed bullets while it was typed
    assert_teaches(cast, all_on_screen=False)
    assert "Exit (enter)" in text.rsplit("»", 1)[-1]  # it ends on the done screen, not the terminal left behind
    raw = cast.read_text(encoding="utf-8")
    assert_no_secret(raw, DEMO_TOKEN)
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


def test_the_readme_screencast_is_the_demo_recording_with_every_stage_and_no_secret() -> None:
    """docs/screencast.gif (README) is rendered by `make screencast` from docs/screencast.cast: the
    scripted demo, a marker and a caption per stage, and no token."""
    from wizard.demo import DEMO_TOKEN

    cast, gif = ROOT / "docs/screencast.cast", ROOT / "docs/screencast.gif"
    assert cast.is_file() and gif.is_file(), "run `make screencast`"
    assert gif.read_bytes()[:6] == b"GIF89a"
    text = strip_ansi(assert_valid_cast(cast, (100, 30)))
    assert_teaches(cast)
    assert "Replayed" in text and "Exit (enter)" in text
    assert_no_secret(cast.read_text(encoding="utf-8"), DEMO_TOKEN)
    assert "docs/screencast.gif" in (ROOT / "README.md").read_text(encoding="utf-8")
