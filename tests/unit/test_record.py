"""The asciicast v2 recorder: valid files, fixed size, and a typed token never in the recording."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wizard.demo.record import parse_size, record, strip_ansi
from wizard.errors import UserError

ROOT = Path(__file__).parents[2]
TOKEN = "rec-Token-Q29mZmVlQmVhbnM4Mg-9f1c"


def read_cast(path: Path) -> tuple[dict, list[list]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]
    return header, events


def assert_valid_cast(path: Path, size: tuple[int, int]) -> str:
    """asciicast v2: a header object, then [time, "o", text] events in time order. Returns the text."""
    header, events = read_cast(path)
    assert header["version"] == 2
    assert (header["width"], header["height"]) == size
    assert isinstance(header["timestamp"], int) and "TERM" in header["env"]
    assert events, "nothing was recorded"
    last = 0.0
    for e in events:
        assert isinstance(e, list) and len(e) == 3 and e[1] == "o" and isinstance(e[2], str), e
        assert isinstance(e[0], float | int) and e[0] >= last
        last = e[0]
    return "".join(e[2] for e in events)


def assert_no_token(raw: str, token: str) -> None:
    """Not the token, nor its base64 (any alignment), nor its JSON-escaped form."""
    assert token not in raw
    assert json.dumps(token)[1:-1] not in raw
    for shift in range(3):
        b64 = base64.b64encode(token.encode()[shift:]).decode()[4:-4]
        assert b64 not in raw


def test_parse_size() -> None:
    assert parse_size("100x30") == (100, 30)
    assert parse_size("80X24") == (80, 24)
    for bad in ("100", "ax30", "10x5", "1000x30"):
        with pytest.raises(UserError):
            parse_size(bad)


def test_strip_ansi_leaves_the_text() -> None:
    raw = "\x1b[?1049h\x1b[1;1H\x1b[38;2;1;2;3mWhat \x1b[1medge\x1b[0m\x1b]0;title\x07 found\x1b(B"
    assert strip_ansi(raw) == "What edge found"


def test_password_prompt_session_records_output_but_never_the_typed_token(tmp_path: Path) -> None:
    """A real interactive program in the pty: a hidden prompt, a typed token, then output. What the
    program prints is recorded; what was typed is not (it is never echoed)."""
    prog = tmp_path / "prompt.py"
    prog.write_text(
        textwrap.dedent("""
        import getpass, os
        print(f"size {os.get_terminal_size().columns}x{os.get_terminal_size().lines}", flush=True)
        token = getpass.getpass("DNS provider token (input hidden): ")
        print(f"got a token of {len(token)} characters", flush=True)
    """),
        encoding="utf-8",
    )
    cast = tmp_path / "s.cast"

    def feeder(term) -> None:
        term.wait_for("input hidden")
        for ch in TOKEN:
            term(ch.encode())
        term(b"\r")

    code = record([sys.executable, str(prog)], cast, size=(90, 25), feeder=feeder, passthrough=False)
    assert code == 0
    text = assert_valid_cast(cast, (90, 25))
    assert "size 90x25" in text  # the fixed --size reaches the program
    assert f"got a token of {len(TOKEN)} characters" in text  # the token was typed and read
    assert_no_token(cast.read_text(encoding="utf-8"), TOKEN)


def test_a_feeder_that_waits_in_vain_stops_the_program(tmp_path: Path, capfd) -> None:
    cast = tmp_path / "s.cast"

    def feeder(term) -> None:
        term.wait_for("a text that never comes", timeout=0.5)

    code = record(
        [sys.executable, "-c", "import time; print('hello', flush=True); time.sleep(30)"],
        cast,
        feeder=feeder,
        passthrough=False,
    )
    assert code != 0
    assert "a text that never comes" in capfd.readouterr().err
    assert "hello" in assert_valid_cast(cast, (100, 30))


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
    assert "Done" in text and "replay" in text
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
