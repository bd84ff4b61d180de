"""The keys a repository's sops rule names, as this machine has them (for preflight; read-only).

* PGP recipients (``pgp:`` in ``.sops.yaml``, the guide's Part III key): sops needs each public key in
  the gpg keyring to encrypt, and a secret key to decrypt. Looked up with ``gpg --list-keys`` /
  ``--list-secret-keys``; a public key that is missing but sits in the repository as an armored
  export (the guide's ``.sops.pub.asc``) is named with the exact ``gpg --import`` command. Nothing is
  imported here.
* age recipients: whether the age key sops would use (:func:`wizard.agekey.locate`) holds the
  private key of one of them, i.e. whether this machine can decrypt the repository's files.
* :func:`holding`: which of a rule's recipients this machine holds a private key of (every age key
  sops loads, the repository's own git-ignored key, gpg's secret keys); :func:`foreign_items` turns
  "none" into the plan's items that need their own confirmation (``--accept-foreign-recipients``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import agekey, childenv

if TYPE_CHECKING:
    from wizard.sops.rules import Rule

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


def age_report(recipients: list[str], config: str = ".sops.yaml", root: Path | None = None) -> KeyReport:
    """Whether this machine holds the private key of one of the rule's age recipients: in any key sops
    loads (:func:`wizard.agekey.sources`) or, with ``root``, the repository's own git-ignored key file."""
    key = agekey.locate()
    report = KeyReport("age")
    if key.problem:
        report.notes.append(f"{_where(key)} could not be read: {key.problem}")
        return report
    held = [k for k in agekey.sources() if set(k.recipients) & set(recipients)]
    own = agekey.repo_key(root, recipients) if root is not None and not held else None
    if own is not None:
        held.append(own)
        report.notes.append(
            f"{_where(own)} holds a recipient's key; sops does not look there by itself (set SOPS_AGE_KEY_FILE to it "
            "for your own sops commands; edge-wizard hands it to sops decrypt)"
        )
    report.can_decrypt = bool(held)
    if held:
        return report
    if not key.exists:
        report.notes.append(
            f"there is no local age key ({_where(key)} does not exist), so this machine can encrypt for the "
            f"{config} rule but not decrypt the repository's files"
        )
        return report
    report.notes.append(
        f"{_where(key)} holds none of the {config} rule's age recipients ({', '.join(recipients)}), so this "
        "machine cannot decrypt the repository's files (encrypting needs only the public keys)"
    )
    return report


# -- does this machine hold a key of the rule? ----------------------------------------------------
ACCEPT_FLAG = "--accept-foreign-recipients"
FOREIGN_HEADING = "The DNS token would be encrypted only for keys this machine does not hold"


@dataclass
class Holding:
    """The rule's recipients whose private key this machine holds, and what it has instead."""

    age: list[agekey.AgeKey] = field(default_factory=list)  # local age keys holding a rule recipient
    pgp: list[str] = field(default_factory=list)  # the rule's fingerprints with a secret key in gpg
    seen: list[str] = field(default_factory=list)  # the keys found here (described), when none fits

    @property
    def any(self) -> bool:
        return bool(self.age or self.pgp)

    @property
    def repo_key(self) -> agekey.AgeKey | None:
        """The repository's own key, when it is the one that holds a recipient (sops does not find it alone)."""
        return next((k for k in self.age if k.origin == agekey.REPO_KEY), None)


def holding(root: Path, rule: Rule) -> Holding:
    out = Holding()
    want = set(rule.age)
    if want:
        keys = agekey.sources()
        out.age = [k for k in keys if want & set(k.recipients)]
        if not out.age:
            own = agekey.repo_key(root, want)
            if own is not None:
                out.age.append(own)
        if not out.age:
            out.seen += [f"{_where(k)} (public key {', '.join(k.recipients) or 'unreadable'})" for k in keys]
            out.seen += [] if keys else ["no age key in SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt"]
    if rule.pgp:
        gpg = shutil.which("gpg", path=childenv.environ().get("PATH"))
        wanted = [f.replace(" ", "").upper() for f in rule.pgp]
        out.pgp = [f for f in wanted if gpg is not None and _has(gpg, f, secret=True)]
        if not out.pgp:
            out.seen.append("no gpg secret key of them" if gpg else "no gpg on PATH")
    return out


def repo_key_file(root: Path, rule: Rule) -> Path | None:
    """The repository's own age key file, when it is the only local key of the rule's age recipients
    (sops does not look there by itself: ``sops decrypt`` gets it as SOPS_AGE_KEY_FILE)."""
    want = set(rule.age)
    if not want or any(want & set(k.recipients) for k in agekey.sources()):
        return None
    own = agekey.repo_key(root, want)
    return own.path if own is not None else None


def foreign_items(root: Path, rule: Rule, rel: str, config: str = ".sops.yaml") -> list[str]:
    """The plan's items when this machine holds no private key of any recipient of ``rule`` (the rule
    sops picks for ``rel``); [] when it holds one."""
    held = holding(root, rule)
    if held.any or not (rule.age or rule.pgp):
        return []
    recipients = [f"age {r}" for r in rule.age] + [f"pgp {f}" for f in rule.pgp]
    missing = pgp_report(root, rule.pgp, config) if rule.pgp else None
    public = [f"{missing.problem}. {missing.fix}".rstrip()] if missing is not None and missing.problem else []
    return [
        f"{rel}: {rule.describe()} of {config} encrypts it for {', '.join(recipients)}",
        f"this machine holds the private key of none of them ({'; '.join(held.seen)})",
        *public,
        f"after writing, edge-wizard cannot decrypt {rel} here (a re-run cannot tell whether the token changed, "
        "doctor cannot read it) nor put a decryption key in the cluster: the cluster must already hold one of "
        "those keys. Accept only if it does (or point SOPS_AGE_KEY_FILE at the key, or import the gpg secret key, "
        "and run again)",
    ]


__all__ = [
    "ACCEPT_FLAG",
    "FOREIGN_HEADING",
    "Holding",
    "KeyReport",
    "age_report",
    "foreign_items",
    "holding",
    "pgp_report",
]
