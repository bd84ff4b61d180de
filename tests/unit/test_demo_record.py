"""The asciicast v2 recorder: valid files, fixed size, and a typed token never in the recording."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from wizard.demo.record import parse_size, record, strip_ansi
from wizard.errors import UserError

from support.casts import assert_no_token, assert_valid_cast

TOKEN = "rec-Token-Q29mZmVlQmVhbnM4Mg-9f1c"


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


def test_the_programs_marker_pipe_becomes_markers_in_time_and_end_recording_stops_the_output(tmp_path: Path) -> None:
    """marks=True: each line the program writes to EDGE_WIZARD_MARKS_FD is an "m" event at that
    moment, between the outputs around it; after the feeder's end_recording nothing more is recorded."""
    from support.casts import markers, read_cast

    prog = tmp_path / "marks.py"
    prog.write_text(
        textwrap.dedent("""
        import os, sys
        fd = int(os.environ["EDGE_WIZARD_MARKS_FD"])
        print("first screen", flush=True)
        os.write(fd, b"preflight: why one\\n")
        sys.stdin.readline()
        print("second screen", flush=True)
        os.write(fd, b"steps: why two\\n")
        sys.stdin.readline()
        print("the terminal left behind", flush=True)
    """),
        encoding="utf-8",
    )
    cast = tmp_path / "m.cast"

    def feeder(term) -> None:
        term.wait_for("first screen")
        term(b"\r")
        term.wait_for("second screen")
        term.end_recording()
        term(b"\r")

    assert record([sys.executable, str(prog)], cast, size=(80, 24), feeder=feeder, passthrough=False, marks=True) == 0
    text = assert_valid_cast(cast, (80, 24))
    assert markers(cast) == ["preflight: why one", "steps: why two"]
    events = read_cast(cast)[1]
    first = next(e[0] for e in events if e[1] == "o" and "first screen" in e[2])
    second = next(e[0] for e in events if e[1] == "o" and "second screen" in e[2])
    one, two = (e[0] for e in events if e[1] == "m")
    # in time with the output: each marker read within the loop's tick of when it was written (the
    # pipe and the pty are two channels, so output printed just before a marker may come just after it)
    assert first - 0.25 <= one <= second + 0.25 and second - 0.25 <= two
    assert "second screen" in text and "left behind" not in text
