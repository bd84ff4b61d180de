"""wizard.events: the JSON form of the events."""

from __future__ import annotations

import json

from wizard import events as ev


def test_json_output_escapes_control_characters() -> None:
    line = json.dumps(ev.FileWritten("a\x1b[2Jb.yaml").to_json())
    assert "\x1b" not in line
