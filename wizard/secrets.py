"""The SecretWriter interface: how a Secret's plaintext becomes an encrypted file.

The plaintext lives in memory only. Implementations must never write it to disk, to argv, to
the environment of a child process or to a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from wizard.errors import UserError
from wizard.plan import SecretChange


class SecretWriter(Protocol):
    def check(self, root: Path, secret: SecretChange) -> None:
        """Raise UserError if the secret could not be encrypted (called before anything is written)."""

    def unchanged(self, root: Path, secret: SecretChange, value: str) -> bool | None:
        """True when the file on disk already decrypts to ``value``; None when it cannot tell."""

    def encrypt(self, root: Path, secret: SecretChange, value: str) -> str:
        """Return the encrypted file text for ``secret`` holding ``value``."""


class RefusingSecretWriter:
    """Used when no encryption is available: refuses, so no plaintext Secret is ever written."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def check(self, root: Path, secret: SecretChange) -> None:
        raise UserError(
            f"{secret.path} must hold the DNS token, but it cannot be encrypted: {self.reason} "
            "edge-wizard never writes a plaintext Secret. Fix that, or leave the external-dns step out."
        )

    def unchanged(self, root: Path, secret: SecretChange, value: str) -> bool | None:
        return None

    def encrypt(self, root: Path, secret: SecretChange, value: str) -> str:
        self.check(root, secret)
        raise AssertionError("unreachable")
