"""Real age keys for tests, made with the real age-keygen into a temporary folder."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AgeKey:
    path: Path  # the key file (as age-keygen -o writes it: comments + AGE-SECRET-KEY-1... line)
    recipient: str  # age1...
    identity: str = ""  # the AGE-SECRET-KEY-1... line

    def __repr__(self) -> str:  # keep the private key out of pytest output
        return f"AgeKey(path={str(self.path)!r}, recipient={self.recipient!r})"


def make_age_key(folder: Path, name: str = "age.agekey", *, age_keygen: str | None = None) -> AgeKey:
    """Generate a key with age-keygen into ``folder/name`` (skips or fails like require_tool)."""
    if age_keygen is None:
        from support.tools import require_tool

        age_keygen = require_tool("age-keygen")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    subprocess.run([age_keygen, "-o", str(path)], check=True, capture_output=True, text=True)
    recipient = subprocess.run([age_keygen, "-y", str(path)], check=True, capture_output=True, text=True).stdout.strip()
    identity = next(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("AGE-SECRET-KEY-")
    )
    return AgeKey(path=path, recipient=recipient, identity=identity)


def default_key_path() -> Path:
    return Path(os.environ["HOME"]) / ".config" / "sops" / "age" / "keys.txt"
