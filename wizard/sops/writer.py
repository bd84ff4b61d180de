"""The sops SecretWriter: a thin wrapper over the ``sops`` binary (sops is never re-implemented).

* The plaintext goes to sops through stdin only: never a temp file, never argv, never the
  environment of the child (wizard.childenv builds it: no token, and ``SOPS_AGE_KEY*`` only for
  ``sops decrypt``), never a log line. Everything sops prints is captured and scrubbed.
* sops >= 3.10: ``sops --config <repo>/.sops.yaml encrypt --filename-override <path>`` run from the
  repository root, so sops picks the same creation rule edge-wizard checked. Older sops: the
  legacy ``--encrypt /dev/stdin`` with the rule's recipients and encrypted_regex passed explicitly.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from wizard import childenv, redact, yamlio
from wizard.agekey import ENV_KEY_FILE
from wizard.errors import StepFailed, UserError
from wizard.plan import SecretChange
from wizard.sops.keys import repo_key_file
from wizard.sops.rules import (
    MUST_ENCRYPT,
    RECOMMENDED_REGEX,
    Rule,
    _find_secret,
    _leaves,
    _meta_recipients,
    _rule_recipients,
    resolve,
)

STDIN_MIN_VERSION = (3, 10, 0)
INSTALL_HINT = (
    "Install sops 3.10 or newer (a release binary from https://github.com/getsops/sops/releases, "
    "or your package manager), put it on PATH or point the SOPS environment variable at it. "
    "Developers: `bash tests/tools/build.sh basic` builds the pinned one."
)
TIMEOUT = 120.0

_NO_KEY_MARKERS = (
    "failed to get the data key",
    "could not decrypt",
    "no identity matched",
    "did not find keys",
    "failed to load age identities",
    "no master key was able",
)


# -- finding sops ---------------------------------------------------------------------------
def find_sops() -> str:
    """The sops binary: the SOPS environment variable, else ``sops`` on PATH (UserError if missing)."""
    env = os.environ.get("SOPS")
    if env:
        found = shutil.which(env)
        if found:
            return found
        raise UserError(
            f"The SOPS environment variable points at {env!r}, which is not an executable "
            f"file, so the DNS token cannot be encrypted. {INSTALL_HINT}"
        )
    found = shutil.which("sops")
    if found:
        return found
    raise UserError(
        "sops was not found on PATH. edge-wizard encrypts the DNS token with sops before it "
        "writes the Secret, and never writes it in plaintext, so nothing was written. " + INSTALL_HINT
    )


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


# -- the writer -----------------------------------------------------------------------------
class SopsSecretWriter:
    """SecretWriter over the sops binary. ``spawned`` records every argv it runs (for tests/audits)."""

    def __init__(self, sops: str | None = None) -> None:
        self._sops = sops
        self._version: tuple[int, int, int] | None = None
        self.spawned: list[list[str]] = []

    # the binary ----------------------------------------------------------------------------
    @property
    def binary(self) -> str:
        if self._sops is None:
            self._sops = find_sops()
        return self._sops

    def version(self, secrets: Iterable[str] = ()) -> tuple[int, int, int]:
        if self._version is None:
            argv = [self.binary, "--disable-version-check", "--version"]
            env = _child_env(secrets)
            env["SOPS_DISABLE_VERSION_CHECK"] = "1"  # sops --version would otherwise ask GitHub
            res = self._spawn(argv, env=env)
            if res.returncode != 0:  # sops older than the flag
                res = self._spawn([self.binary, "--version"], env=env)
            v = parse_version(res.stdout.decode("utf-8", "replace"))
            if v is None:
                raise UserError(
                    f"{self.binary} --version printed no version number, so it does not look like sops. {INSTALL_HINT}"
                )
            self._version = v
        return self._version

    def _spawn(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path | None = None,
        stdin: bytes | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> subprocess.CompletedProcess[bytes]:
        self.spawned.append(list(argv))
        try:
            return subprocess.run(
                argv,
                input=stdin if stdin is not None else b"",
                capture_output=True,
                cwd=cwd,
                env=env,
                timeout=TIMEOUT,
                pass_fds=pass_fds,
                check=False,
            )
        except FileNotFoundError:
            raise UserError(f"sops could not be started ({argv[0]} is gone?). {INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            raise StepFailed(
                f"sops did not finish within {TIMEOUT:.0f}s (waiting for a gpg passphrase or "
                "pinentry?). Nothing was written."
            ) from None

    # SecretWriter ----------------------------------------------------------------------------
    def check(self, root: Path, secret: SecretChange) -> None:
        """No child process here: find sops and check the creation rule."""
        self.binary  # noqa: B018 - raises UserError with the install hint when missing
        resolve(root, secret.path)

    def unchanged(self, root: Path, secret: SecretChange, value: str) -> bool | None:
        from wizard.plan import read_managed

        on_disk_text = read_managed(root, secret.path)  # never through a symlink
        if on_disk_text is None:
            return False
        res = resolve(root, secret.path)
        if self._version_ok(value):
            argv = [self.binary, "--config", str(res.config), "decrypt"]
        else:
            argv = [self.binary, "--decrypt"]
        argv += ["--input-type", "yaml", "--output-type", "yaml", secret.path]
        # the one child that needs the local age key: SOPS_AGE_KEY* are handed to it, and only to it (with
        # the repository's own git-ignored key file when only that one holds a recipient of the rule)
        env = _child_env([value], sops_keys=True)
        own = repo_key_file(root, res.rule)
        if own is not None:
            env[ENV_KEY_FILE] = str(own)
        out = self._spawn(argv, env=env, cwd=root)
        if out.returncode != 0:
            err = _scrub(out.stderr.decode("utf-8", "replace"), value)
            low = err.lower()
            if "sops metadata not found" in low:
                return False  # a plaintext Secret: it gets encrypted now
            if any(m in low for m in _NO_KEY_MARKERS):
                return None
            raise UserError(
                f"sops could not decrypt the existing {secret.path}: {_one_line(err)}. The file may be damaged or "
                "edited by hand (a MAC mismatch means the encrypted values were changed). Delete it and run "
                "again to write it anew with the token."
            )
        try:
            docs = yamlio.load_plain(out.stdout.decode("utf-8"))
        except Exception:
            return False
        doc = _find_secret(docs)
        if doc is None:
            return False
        meta = doc.get("metadata") or {}
        if meta.get("name") != secret.name or meta.get("namespace") != secret.namespace:
            return False
        current = (doc.get("stringData") or {}).get(secret.key)
        if current is None and secret.key in (doc.get("data") or {}):
            try:
                current = base64.b64decode(str(doc["data"][secret.key]), validate=True).decode("utf-8")
            except Exception:
                return False
        if current is None or str(current) != value:
            return False
        # same value: keep the file unless the rule now names other recipients
        try:
            on_disk = _find_secret(yamlio.load_plain(on_disk_text, secret.path))
        except Exception:
            return False
        return _meta_recipients(on_disk) == _rule_recipients(res.rule)

    def encrypt(self, root: Path, secret: SecretChange, value: str) -> str:
        res = resolve(root, secret.path)
        plaintext = self.plaintext(secret, value).encode("utf-8")
        rule = res.rule
        if self._version_ok(value):
            argv = [
                self.binary,
                "--config",
                str(res.config),
                "encrypt",
                "--input-type",
                "yaml",
                "--output-type",
                "yaml",
                "--filename-override",
                secret.path,
            ]
        else:  # sops < 3.10: no stdin + filename override; pass the rule explicitly
            argv = [
                self.binary,
                "--config",
                os.devnull,
                "--encrypt",
                "--input-type",
                "yaml",
                "--output-type",
                "yaml",
                "--encrypted-regex",
                rule.encrypted_regex or RECOMMENDED_REGEX,
            ]
            if rule.age:
                argv += ["--age", ",".join(rule.age)]
            if rule.pgp:
                argv += ["--pgp", ",".join(rule.pgp)]
            argv.append("/dev/stdin")
        out = self._spawn(argv, env=_child_env([value]), cwd=root, stdin=plaintext)
        del plaintext
        if out.returncode != 0:
            err = _scrub(out.stderr.decode("utf-8", "replace"), value)
            raise StepFailed(
                f"sops could not encrypt {secret.path} with {rule.describe()} of {res.config.name}: "
                f"{_one_line(err)}.{_encrypt_hint(err)} Nothing was written."
            )
        text = out.stdout.decode("utf-8")
        self.verify(text, secret, rule, value)
        return text

    # helpers -------------------------------------------------------------------------------
    def _version_ok(self, value: str) -> bool:
        return self.version([value]) >= STDIN_MIN_VERSION

    @staticmethod
    def plaintext(secret: SecretChange, value: str) -> str:
        """The plaintext Secret (in memory only): the template with ``stringData[key] = value``."""
        doc = copy.deepcopy(secret.template)
        body = doc.docs[0]
        string_data = yamlio.CommentedMap()
        string_data[secret.key] = value
        body["stringData"] = string_data  # block style (the template has a flow-style {})
        return yamlio.render(doc)

    @staticmethod
    def verify(text: str, secret: SecretChange, rule: Rule, value: str) -> None:
        """The encrypted text: a Secret with readable kind/metadata, ENC[ values, the rule's recipients."""

        def fail(why: str) -> StepFailed:
            return StepFailed(
                f"sops' output for {secret.path} failed edge-wizard's check: {why}. Nothing was "
                "written; this is a bug or an unusual sops setup, please report it."
            )

        try:
            docs = yamlio.load_plain(text)
        except Exception as exc:
            raise fail(f"it is not valid YAML ({_one_line(_scrub(str(exc), value))})") from None
        doc = _find_secret(docs)
        if doc is None or len(docs) != 1:
            raise fail("it is not exactly one Secret document")
        meta = doc.get("metadata") or {}
        if doc.get("apiVersion") != "v1" or meta.get("name") != secret.name:
            raise fail("apiVersion or metadata.name is not readable")
        for k in ("apiVersion", "kind", "metadata", "type"):
            if any(isinstance(v, str) and v.startswith("ENC[") for v in _leaves(doc.get(k))):
                raise fail(f"{k} is encrypted")
        payload = [doc.get(k) for k in MUST_ENCRYPT if doc.get(k) is not None]
        values = [v for p in payload for v in _leaves(p)]
        # only the values of the encrypted fields: the Secret's name (hetzner-token) or a key may
        # well contain a short token, and that is no leak
        if value and any(isinstance(v, str) and value in v for v in values):
            raise fail("the token appears in plaintext")
        if secret.key not in (doc.get("stringData") or {}) or not values:
            raise fail(f"stringData.{secret.key} is missing")
        if not all(isinstance(v, str) and v.startswith("ENC[") for v in values):
            raise fail("not every value under data/stringData is encrypted (ENC[...])")
        age, pgp = _meta_recipients(doc)
        want_age, want_pgp = _rule_recipients(rule)
        if not want_age <= age or not want_pgp <= {p.upper() for p in pgp}:
            raise fail("its sops metadata does not list every recipient of the rule")


def _child_env(secrets: Iterable[str], *, sops_keys: bool = False) -> dict[str, str]:
    """The child's environment (wizard.childenv): no token, SOPS_AGE_KEY* only when decrypting."""
    for s in secrets:
        redact.remember(s)
    return childenv.env(sops_keys=sops_keys)


def _scrub(text: str, value: str) -> str:
    return redact.scrub(text, [value])


def _one_line(text: str) -> str:
    lines = [ln.strip(" |-") for ln in text.strip().splitlines()]
    return " ".join(ln for ln in lines if ln).rstrip(".") or "no error message"


def _encrypt_hint(err: str) -> str:
    low = err.lower()
    if "gpg" in low or "pgp" in low or "openpgp" in low:
        return (
            " sops needs gpg on PATH and the public keys of the rule imported "
            "(gpg --import); check `gpg --list-keys <fingerprint>`."
        )
    if "age" in low and "parse" in low:
        return " Check the age recipients of the rule (comma-separated age1... public keys)."
    return ""
