"""The sops SecretWriter: a thin wrapper over the ``sops`` binary (sops is never re-implemented).

* The plaintext goes to sops through stdin only: never a temp file, never argv, never the
  environment of the child (variables holding the value are dropped from it), never a log line.
  Everything sops prints is captured; the value is scrubbed from any text shown to the user.
* sops >= 3.10: ``sops --config <.sops.yaml> encrypt --filename-override <path>`` run from the
  repository root, so sops picks the same creation rule edge-wizard checked. Older sops: the
  legacy ``--encrypt /dev/stdin`` with the rule's recipients and encrypted_regex passed explicitly.
* The rule is checked before anything is written (:meth:`SopsSecretWriter.check`): a
  ``.sops.yaml`` exists, a rule matches the file (first match wins, path relative to the config's
  folder, Python ``re.search`` like Go's ``MatchString``), it has age/pgp recipients and an
  encrypted_regex that covers data/stringData and nothing Flux must read.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from wizard import yamlio
from wizard.errors import StepFailed, UserError
from wizard.plan import SecretChange

if TYPE_CHECKING:  # subprocess and tempfile are imported where sops runs: every command pays for an import
    import subprocess

CONFIG_NAME = ".sops.yaml"
STDIN_MIN_VERSION = (3, 10, 0)
RECOMMENDED_REGEX = r"^(data|stringData)$"
MUST_ENCRYPT = ("data", "stringData")
# keys Flux/kustomize must be able to read (top level and inside metadata)
MUST_NOT_ENCRYPT = ("apiVersion", "kind", "metadata", "type", "name", "namespace", "labels", "annotations")
OTHER_KEY_TYPES = ("kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms")
KNOWN_RULE_FIELDS = {
    "path_regex",
    "age",
    "pgp",
    "key_groups",
    "encrypted_regex",
    "unencrypted_regex",
    "encrypted_suffix",
    "unencrypted_suffix",
    "encrypted_comment_regex",
    "unencrypted_comment_regex",
    "mac_only_encrypted",
    "shamir_threshold",
    "aws_profile",
    *OTHER_KEY_TYPES,
}
INSTALL_HINT = (
    "Install sops 3.10 or newer (a release binary from https://github.com/getsops/sops/releases, "
    "or your package manager), put it on PATH or point the SOPS environment variable at it. "
    "Developers: `bash tests/tools/build.sh basic` builds the pinned one."
)
TIMEOUT = 120.0

_AGE_RE = re.compile(r"^age1[02-9ac-hj-np-z]+$")  # bech32 charset, incl. plugin/post-quantum recipients
_SSH_RE = re.compile(r"^(ssh-ed25519|ssh-rsa) \S+( \S+)?$")
_PGP_RE = re.compile(r"^[0-9A-Fa-f]{16,40}$")
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


# -- .sops.yaml -----------------------------------------------------------------------------
@dataclass
class Rule:
    index: int  # 1-based position in creation_rules
    raw: dict[str, Any]
    path_regex: str | None
    age: list[str] = field(default_factory=list)
    pgp: list[str] = field(default_factory=list)
    encrypted_regex: str | None = None

    def describe(self) -> str:
        where = f"path_regex {self.path_regex!r}" if self.path_regex is not None else "no path_regex"
        return f"creation rule #{self.index} ({where})"


@dataclass
class Resolved:
    config: Path  # absolute path of the .sops.yaml
    rel: str  # the target path relative to the config's folder (what path_regex is matched against)
    rule: Rule


def find_config(root: Path) -> Path | None:
    """The config sops would use when run from ``root``: $SOPS_CONFIG, else .sops.yaml upward."""
    env = os.environ.get("SOPS_CONFIG")
    if env:
        p = Path(env) if Path(env).is_absolute() else root.absolute() / env  # sops runs with cwd=root
        return p if p.is_file() else None
    here = root.absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return None


def _split_list(value: Any) -> list[str]:
    """age/pgp values: a comma-separated string (YAML folded or plain) or a list of such strings."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        for part in str(item).split(","):
            part = part.strip()
            if part:
                out.append(part)
    return out


def _missing_comma(entries: list[str], kind: str, config_rel: str, rule_desc: str) -> None:
    for e in entries:
        words = e.split()
        if len(words) > 1 and sum(w.startswith("age1") for w in words) > 1:
            fixed = ",".join(words)
            raise UserError(
                f"In {config_rel}, {rule_desc} lists the {kind} recipients {' '.join(words)} separated by "
                "spaces or a line break but without a comma, so sops reads them as one broken recipient "
                '("failed to parse input as age key"). Separate them with commas, e.g. '
                f"`age: {fixed}` (in a folded `age: >-` block put a comma at the end of every line but "
                "the last)."
            )


def _check_recipients(rule: Rule, config_rel: str) -> None:
    desc = rule.describe()
    _missing_comma(rule.age, "age", config_rel, desc)
    for r in rule.age:
        if not (_AGE_RE.match(r) or _SSH_RE.match(r)):
            raise UserError(
                f"In {config_rel}, {desc} lists the age recipient {r!r}, which is not an age public key "
                "(unknown key type). age recipients start with age1 (the line `# public key: age1...` "
                "that age-keygen prints; never the AGE-SECRET-KEY line) or are ssh-ed25519/ssh-rsa "
                "public keys. Fix the rule, then run again."
            )
    for fp in rule.pgp:
        if not _PGP_RE.match(fp.replace(" ", "")):
            raise UserError(
                f"In {config_rel}, {desc} lists the pgp key {fp!r}, which is not a PGP fingerprint "
                "(unknown key type): pgp expects the hexadecimal fingerprints (40 characters, as "
                "`gpg --list-keys --fingerprint` shows them), separated by commas. Fix the rule, then "
                "run again."
            )


def _rule_from(raw: dict[str, Any], index: int) -> Rule:
    age: list[str] = []
    pgp: list[str] = []
    age += _split_list(raw.get("age"))
    pgp += _split_list(raw.get("pgp"))
    for group in raw.get("key_groups") or []:
        if isinstance(group, dict):
            age += _split_list(group.get("age"))
            pgp += _split_list(group.get("pgp"))
    pr = raw.get("path_regex")
    er = raw.get("encrypted_regex")
    return Rule(
        index=index,
        raw=raw,
        path_regex=None if pr is None else str(pr),
        age=age,
        pgp=pgp,
        encrypted_regex=None if er is None else str(er),
    )


def load_rules(config: Path, config_rel: str) -> list[Rule]:
    try:
        docs = yamlio.load_plain(config.read_text(encoding="utf-8"))
    except Exception as exc:
        raise UserError(
            f"{config_rel} is not valid YAML ({str(exc).splitlines()[0]}), so sops cannot use it "
            "either. Fix it, then run again."
        ) from None
    top = docs[0] if docs else None
    rules = top.get("creation_rules") if isinstance(top, dict) else None
    if not isinstance(rules, list) or not rules:
        raise UserError(
            f"{config_rel} has no creation_rules, so sops does not know whom to encrypt the DNS "
            "token for. Add a rule, e.g. `creation_rules: [{path_regex: 'manifests/.*\\.yaml$', "
            "encrypted_regex: '^(data|stringData)$', age: 'age1...'}]` with the public key of the "
            "age key the cluster's sops secret holds."
        )
    return [_rule_from(r if isinstance(r, dict) else {}, i) for i, r in enumerate(rules, 1)]


def glob_to_regex(glob: str) -> str:
    out = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            while i + 1 < len(glob) and glob[i + 1] == "*":
                i += 1
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c in ".+()|^$[]{}\\":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out) + "$"


def looks_like_glob(regex: str) -> bool:
    return bool(re.search(r"(^|/)\*", regex))


def glob_matches(pattern: str, rel: str) -> bool:
    if fnmatch.fnmatchcase(rel, pattern):
        return True
    if "**" in pattern:
        return bool(re.search(glob_to_regex(pattern), rel))
    return False


def _regex_covers(rx: re.Pattern[str], key: str) -> bool:
    return rx.search(key) is not None


def resolve(root: Path, rel_path: str) -> Resolved:
    """Find and check the creation rule sops will use for ``rel_path`` (UserError on problems)."""
    root = root.absolute()
    config = find_config(root)
    if config is None:
        yml = next((f / ".sops.yml" for f in (root, *root.parents) if (f / ".sops.yml").is_file()), None)
        extra = (
            f" There is a {yml}, but sops only reads the exact name .sops.yaml and ignores .sops.yml: rename it."
            if yml
            else ""
        )
        raise UserError(
            f"No .sops.yaml was found in {root} or the folders above it, so sops does not know whom to "
            f"encrypt {rel_path} for and edge-wizard wrote nothing.{extra} Create .sops.yaml at the "
            "repository root with a rule like `creation_rules: [{path_regex: 'manifests/.*\\.yaml$', "
            "encrypted_regex: '^(data|stringData)$', age: 'age1...'}]`, using the public key of the age key "
            "in the cluster's sops secret."
        )
    try:
        config_rel = config.relative_to(root).as_posix()
    except ValueError:
        config_rel = str(config)
    target = PurePosixPath((root / rel_path).as_posix())
    try:
        rel = target.relative_to(config.parent.as_posix()).as_posix()
    except ValueError:
        rel = target.as_posix()
    rules = load_rules(config, config_rel)

    chosen: Rule | None = None
    for rule in rules:
        if rule.path_regex is None:
            chosen = rule
            break
        try:
            rx = re.compile(rule.path_regex)
        except re.error as exc:
            hint = ""
            if looks_like_glob(rule.path_regex):
                hint = (
                    f" It looks like a shell glob; as a regex write it as "
                    f"`path_regex: {glob_to_regex(rule.path_regex)}`."
                )
            raise UserError(
                f"In {config_rel}, {rule.describe()} is not a valid regular expression ({exc}); "
                f"sops fails on it too.{hint}"
            ) from None
        if rx.search(rel):
            chosen = rule
            break

    if chosen is None:
        for rule in rules:
            pr = rule.path_regex or ""
            if looks_like_glob(pr) and glob_matches(pr, rel):
                raise UserError(
                    f"In {config_rel}, path_regex '{pr}' is a shell glob written as a regex: as a regex it "
                    f"means {explain_glob_regex(pr)}, so it never matches nested paths like {rel}, and sops "
                    f'would stop with "no matching creation rules found". Write it as a regex: '
                    f"`path_regex: {glob_to_regex(pr)}`. Nothing was written."
                )
        listed = ", ".join(repr(r.path_regex) for r in rules if r.path_regex is not None)
        raise UserError(
            f"No creation rule in {config_rel} matches {rel} (path_regex is matched against the path relative "
            f"to the folder of {config_rel}; the rules have {listed or 'no path_regex'}), so sops would stop "
            'with "no matching creation rules found". Add a rule that covers the manifests, e.g. '
            "`path_regex: manifests/.*\\.yaml$`, or move the rule that should match first. Nothing was written."
        )

    _check_rule(chosen, config_rel, rel)
    return Resolved(config=config, rel=rel, rule=chosen)


def explain_glob_regex(pr: str) -> str:
    m = re.match(r"^(.*?)/\*(.)(.*)$", pr)
    if m:
        head, nxt, tail = m.groups()
        if nxt == ".":
            return f"'{head}' followed by any number of '/' then any character then '{tail}'"
        return f"'{head}' followed by any number of '/' then '{nxt}{tail}'"
    return "a '*' that repeats the character before it (or nothing), not 'any file name'"


def _check_rule(rule: Rule, config_rel: str, rel: str) -> None:
    desc = rule.describe()
    if not rule.age and not rule.pgp:
        others = [k for k in OTHER_KEY_TYPES if rule.raw.get(k)]
        for g in rule.raw.get("key_groups") or []:
            if isinstance(g, dict):
                others += [k for k in OTHER_KEY_TYPES if g.get(k)]
        unknown = sorted(k for k in rule.raw if k not in KNOWN_RULE_FIELDS)
        if others:
            raise UserError(
                f"In {config_rel}, {desc} (the rule for {rel}) only has {', '.join(sorted(set(others)))} keys, "
                "a key type edge-wizard does not set up: the guide's Flux decrypts with an age or gpg key "
                "held in the sops-age/sops-gpg secret. Add the age public key (`age: age1...`) of that "
                "secret to the rule, then run again."
            )
        extra = f" It has fields sops does not know ({', '.join(unknown)}): a typo of age/pgp?" if unknown else ""
        raise UserError(
            f"In {config_rel}, {desc} is the rule for {rel} but lists no recipients (no age or pgp key), so "
            f"sops cannot encrypt for anyone.{extra} Add the public key of the age key the cluster's sops "
            "secret holds, e.g. `age: age1...` (age-keygen -y age.agekey prints it), then run again."
        )
    _check_recipients(rule, config_rel)
    fix = f"`encrypted_regex: {RECOMMENDED_REGEX}`"
    if rule.encrypted_regex is None:
        other = [k for k in ("unencrypted_regex", "encrypted_suffix", "unencrypted_suffix") if k in rule.raw]
        what = (
            f"it uses {', '.join(other)} instead"
            if other
            else "so sops would encrypt every value, including apiVersion, kind and metadata"
        )
        raise UserError(
            f"In {config_rel}, {desc} (the rule for {rel}) has no encrypted_regex; {what}. Flux must read "
            f"kind and metadata of the Secret before it decrypts it, so encrypt only data/stringData: add {fix} "
            "to the rule, then run again."
        )
    try:
        rx = re.compile(rule.encrypted_regex)
    except re.error as exc:
        raise UserError(
            f"In {config_rel}, the encrypted_regex {rule.encrypted_regex!r} of {desc} is not a "
            f"valid regular expression ({exc}). Use {fix}."
        ) from None
    missing = [k for k in MUST_ENCRYPT if not _regex_covers(rx, k)]
    if missing:
        raise UserError(
            f"In {config_rel}, the encrypted_regex {rule.encrypted_regex!r} of {desc} does not cover "
            f"{' and '.join(missing)}, so the DNS token would stay readable in the file. Use {fix}."
        )
    leaked = [k for k in MUST_NOT_ENCRYPT if _regex_covers(rx, k)]
    if leaked:
        raise UserError(
            f"In {config_rel}, the encrypted_regex {rule.encrypted_regex!r} of {desc} also matches "
            f"{', '.join(leaked)}, so sops would encrypt fields Flux and kustomize must read (the Secret would "
            f"not apply). Use {fix}."
        )


# -- the sops metadata of an encrypted file -------------------------------------------------
def _meta_recipients(doc: Any) -> tuple[set[str], set[str]]:
    meta = doc.get("sops") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        return set(), set()
    groups = [meta] + [g for g in meta.get("key_groups") or [] if isinstance(g, dict)]
    age = {str(e.get("recipient", "")).strip() for g in groups for e in g.get("age") or [] if isinstance(e, dict)}
    pgp = {str(e.get("fp", "")).strip().upper() for g in groups for e in g.get("pgp") or [] if isinstance(e, dict)}
    return age - {""}, pgp - {""}


def _rule_recipients(rule: Rule) -> tuple[set[str], set[str]]:
    return set(rule.age), {p.replace(" ", "").upper() for p in rule.pgp}


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _find_secret(docs: list[Any]) -> dict[str, Any] | None:
    return next((d for d in docs if isinstance(d, dict) and d.get("kind") == "Secret"), None)


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
        import subprocess

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
        path = root / secret.path
        if not path.is_file():
            return False
        res = resolve(root, secret.path)
        argv = [self.binary, "decrypt"] if self._version_ok(value) else [self.binary, "--decrypt"]
        argv += ["--input-type", "yaml", "--output-type", "yaml", secret.path]
        out = self._spawn(argv, env=_child_env([value]), cwd=root)
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
            on_disk = _find_secret(yamlio.load_plain(path.read_text(encoding="utf-8")))
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

        if value and value in text:
            raise fail("the token appears in plaintext")
        try:
            docs = yamlio.load_plain(text)
        except Exception as exc:
            raise fail(f"it is not valid YAML ({_one_line(str(exc))})") from None
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
        if secret.key not in (doc.get("stringData") or {}) or not values:
            raise fail(f"stringData.{secret.key} is missing")
        if not all(isinstance(v, str) and v.startswith("ENC[") for v in values):
            raise fail("not every value under data/stringData is encrypted (ENC[...])")
        age, pgp = _meta_recipients(doc)
        want_age, want_pgp = _rule_recipients(rule)
        if not want_age <= age or not want_pgp <= {p.upper() for p in pgp}:
            raise fail("its sops metadata does not list every recipient of the rule")


def _child_env(secrets: Iterable[str]) -> dict[str, str]:
    """os.environ without any variable whose value holds a secret (e.g. the --token-env variable)."""
    vals = [s for s in secrets if s]
    return {k: v for k, v in os.environ.items() if not any(s in v for s in vals)}


def _scrub(text: str, value: str) -> str:
    return text.replace(value, "<token>") if value else text


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


# -- for doctor: can the cluster's key decrypt this file? -----------------------------------
def can_cluster_key_decrypt(
    repo_root: str | os.PathLike[str], rel_path: str, age_private_key: str, *, sops: str | None = None
) -> bool:
    """True when ``age_private_key`` (the cluster's AGE-SECRET-KEY-1... lines) decrypts the file.

    The key reaches sops through a pipe (SOPS_AGE_KEY_FILE=/dev/fd/N), not argv and not an env
    value; HOME, XDG_CONFIG_HOME and GNUPGHOME point at an empty folder so no local key helps.
    """
    binary = sops or find_sops()
    root = Path(repo_root)
    drop = (
        "SOPS_AGE_KEY",
        "SOPS_AGE_KEY_FILE",
        "SOPS_AGE_KEY_CMD",
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
        "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
        "SOPS_PGP_FP",
        "SOPS_KMS_ARN",
        "SOPS_KEYSERVICE",
    )
    import subprocess
    import tempfile

    data = (age_private_key.strip() + "\n").encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="edge-wizard-empty-") as empty:
        env = {k: v for k, v in _child_env([age_private_key.strip()]).items() if k not in drop}
        env.update(HOME=empty, XDG_CONFIG_HOME=empty, GNUPGHOME=empty)
        r, w = os.pipe()
        try:
            if len(data) > 60000:
                return False
            os.write(w, data)
            os.close(w)
            w = -1
            env["SOPS_AGE_KEY_FILE"] = f"/dev/fd/{r}"
            try:
                res = subprocess.run(
                    [binary, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", rel_path],
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(r,),
                    timeout=TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return False
            return res.returncode == 0
        finally:
            os.close(r)
            if w != -1:
                os.close(w)


__all__ = [
    "Resolved",
    "Rule",
    "SopsSecretWriter",
    "can_cluster_key_decrypt",
    "find_config",
    "find_sops",
    "glob_to_regex",
    "resolve",
]
