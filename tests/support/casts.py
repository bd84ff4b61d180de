"""asciicast v2 files as the recorder (wizard.demo.record) writes them: read, checked, and searched for a token."""

from __future__ import annotations

import base64
import json
from pathlib import Path


def read_cast(path: Path) -> tuple[dict, list[list]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]
    return header, events


def markers(path: Path) -> list[str]:
    """The labels of the cast's markers ("m" events), in order."""
    return [e[2] for e in read_cast(path)[1] if e[1] == "m"]


def assert_valid_cast(path: Path, size: tuple[int, int]) -> str:
    """asciicast v2: a header object, then [time, "o"|"m", text] events in time order. Returns the
    output's text (markers left out)."""
    header, events = read_cast(path)
    assert header["version"] == 2
    assert (header["width"], header["height"]) == size
    assert isinstance(header["timestamp"], int) and "TERM" in header["env"]
    assert events, "nothing was recorded"
    last = 0.0
    for e in events:
        assert isinstance(e, list) and len(e) == 3 and e[1] in ("o", "m") and isinstance(e[2], str), e
        assert isinstance(e[0], float | int) and e[0] >= last
        last = e[0]
    return "".join(e[2] for e in events if e[1] == "o")


def assert_no_token(raw: str, token: str) -> None:
    """Not the token, nor its base64 (any alignment), nor its JSON-escaped form."""
    assert token not in raw
    assert json.dumps(token)[1:-1] not in raw
    for shift in range(3):
        b64 = base64.b64encode(token.encode()[shift:]).decode()[4:-4]
        assert b64 not in raw
