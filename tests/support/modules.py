"""What importing some code loads: the modules a fresh interpreter holds afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

UI_LIBS = ("textual", "questionary", "prompt_toolkit")


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))
