"""The keys a repository's sops rule names, as this machine has them (for preflight; read-only).

* PGP recipients (``pgp:`` in ``.sops.yaml``, the guide's Part III key): sops needs each public key in
  the gpg keyring to encrypt, and a secret key to decrypt. Looked up with ``gpg --list-keys`` /
  ``--list-secret-keys``; a public key that is missing but sits in the repository as an armored
  export (the guide's ``.sops.pub.asc``) is named with the exact ``gpg --import`` command. Nothing is
  imported here.
* age recipients: whether the age key sops would use (:func:`wizard.agekey.locate`) holds the
  private key of one of them, i.e. whether this machine can decrypt the repository's files.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from wizard import agekey, childenv

TIMEOUT = 20.0
ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


@dataclass
class KeyReport:
    """What this machine can do with the rule's keys. ``problem``: why encrypting fails (None: it works)."""

    kind: str  # "pgp" | "age"
    problem: str | None = None
    fix: str = ""
    can_decrypt: bool = False
    notes: list[str] = field(default_factory=list)


def _gpg(gpg: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [gpg, "--batch", "--with-colons", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=childenv.env(),
        stdin=subprocess.DEVNULL,
    )


def _has(gpg: str, fpr: str, *, secret: bool) -> bool:
    return _gpg(gpg, "--list-secret-keys" if secret else "--list-keys", fpr).returncode == 0


def _exports(root: Path, gpg: str) -> dict[str, str]:
    """Fingerprint -> repository file holding its armored public key (top level and .sops-like names)."""
    out: dict[str, str] = {}
    for p in sorted(root.glob("*.asc")) + sorted(root.glob(".*.asc")):
        if p.is_symlink() or not p.is_file() or p.stat().st_size > 256 * 1024:
            continue
        try:
            if ARMOR not in p.read_text(encoding="utf-8", errors="replace"):
                continue
        except OSError:
            continue
        shown = _gpg(gpg, "--import-options", "show-only", "--import", str(p))
        for line in shown.stdout.splitlines():
            parts = line.split(":")
            if parts[0] == "fpr" and len(parts) > 9:
                out.setdefault(parts[9].upper(), p.name)
    return out


def pgp_report(root: Path, fingerprints: list[str], config: str = ".sops.yaml") -> KeyReport:
    wanted = [f.replace(" ", "").upper() for f in fingerprints if f.strip()]
    gpg = shutil.which("gpg", path=childenv.environ().get("PATH"))
    if gpg is None:
        return KeyReport(
            "pgp",
            f"{config} encrypts for PGP keys ({', '.join(wanted)}), but gpg is not on PATH, so sops can neither "
            "encrypt nor decrypt with them",
            "Install GnuPG (apt install gnupg) and import the public key (gpg --import .sops.pub.asc), or switch "
            "the rule to age.",
        )
    missing = [f for f in wanted if not _has(gpg, f, secret=False)]
    report = KeyReport("pgp", can_decrypt=any(_has(gpg, f, secret=True) for f in wanted))
    if missing:
        exports = _exports(root, gpg)
        found = {f: exports[f] for f in missing if f in exports}
        cmds = " && ".join(f"gpg --import {name}" for name in dict.fromkeys(found.values()))
        rest = [f for f in missing if f not in found]
        report.problem = (
            f"the public PGP key{'s' if len(missing) > 1 else ''} {', '.join(missing)} of the {config} rule "
            f"{'are' if len(missing) > 1 else 'is'} not in this machine's gpg keyring, so sops cannot encrypt the "
            "DNS token for it (it would try a key server and fail)"
        )
        report.fix = (
            (f"Import it from the repository: `{cmds}`" + (", and " if rest else ", then run again.")) if found else ""
        ) + (
            f"import {', '.join(rest)} (`gpg --import KEYFILE`, the public key exported with "
            f"`gpg --export --armor {rest[0]}` where it was made), then run again."
            if rest
            else ""
        )
    if not report.can_decrypt:
        report.notes.append(
            "no secret key of the rule's PGP keys is in this machine's keyring, so edge-wizard cannot compare the "
            "existing token with a new one (--replace-token writes it anyway) and doctor cannot decrypt"
        )
    return report


def _where(key: agekey.AgeKey) -> str:
    """``key.describe()`` with the home folder shown as ``~`` (short, and the same on every machine)."""
    text = key.describe()
    home = childenv.environ().get("HOME", "")
    if key.path is not None and home and len(home) > 1:
        try:
            rel = key.path.relative_to(home)
        except ValueError:
            return text
        text = text.replace(str(key.path), f"~/{rel.as_posix()}")
    return text


def age_report(recipients: list[str], config: str = ".sops.yaml") -> KeyReport:
    key = agekey.locate()
    report = KeyReport("age")
    if key.problem:
        report.notes.append(f"{_where(key)} could not be read: {key.problem}")
        return report
    if not key.exists:
        report.notes.append(
            f"there is no local age key ({_where(key)} does not exist), so this machine can encrypt for the "
            f"{config} rule but not decrypt the repository's files"
        )
        return report
    match = [r for r in key.recipients if r in recipients]
    report.can_decrypt = bool(match)
    if not match:
        report.notes.append(
            f"{_where(key)} holds none of the {config} rule's age recipients ({', '.join(recipients)}), so this "
            "machine cannot decrypt the repository's files (encrypting needs only the public keys)"
        )
    return report


__all__ = ["KeyReport", "age_report", "pgp_report"]
