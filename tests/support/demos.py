"""`edge-wizard demo` as a child process, as a person or CI runs it (no standard input)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def run_demo(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m wizard demo ARGS`` from the repository root; its sandbox is made in ``tmp_path``."""
    return subprocess.run(
        [sys.executable, "-m", "wizard", "demo", *args],
        cwd=ROOT,
        env={**(os.environ if env is None else env), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
