"""The repository's ``.sops.yaml``: find it, pick the creation rule for a file, check that rule.

Only the repository's own ``.sops.yaml`` counts (:func:`find_config`). The rule is checked before
anything is written (:func:`resolve`): it matches the file (first match wins, path relative to the
config's folder, Python ``re.search`` like Go's ``MatchString``), it has age/pgp recipients and an
encrypted_regex that covers data/stringData and nothing Flux must read.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from wizard import redact, yamlio
from wizard.errors import UserError

CONFIG_NAME = ".sops.yaml"
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
_AGE_RE = re.compile(r"^age1[02-9ac-hj-np-z]+$")  # bech32 charset, incl. plugin/post-quantum recipients
_SSH_RE = re.compile(r"^(ssh-ed25519|ssh-rsa) \S+( \S+)?$")
_PGP_RE = re.compile(r"^[0-9A-Fa-f]{16,40}$")


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
    """The repository's own ``.sops.yaml`` (at its root), or None.

    Only that file: never one in a folder above the repository (sops would pick it up and encrypt the
    token for someone else's keys) and never ``$SOPS_CONFIG`` (sops is always run with ``--config``
    pointing here). A symlinked .sops.yaml is refused (UserError) like every managed path.
    """
    from wizard.plan import safe_path

    p = safe_path(root.absolute(), CONFIG_NAME)
    return p if p.is_file() else None


def outside_configs(root: Path) -> list[Path]:
    """Config files sops alone would have used instead: $SOPS_CONFIG and .sops.yaml files above the repository."""
    found: list[Path] = []
    env = os.environ.get("SOPS_CONFIG")
    if env:
        p = Path(env) if Path(env).is_absolute() else root.absolute() / env
        if p.is_file() and p.resolve() != (root.absolute() / CONFIG_NAME).resolve():
            found.append(p)
    for folder in root.absolute().parents:
        if (folder / CONFIG_NAME).is_file():
            found.append(folder / CONFIG_NAME)
    return found


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
                f"In {config_rel}, {desc} lists the age recipient {redact.scrub(repr(r))}, which is not an age public key "
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
        from wizard.plan import read_managed

        text = read_managed(config.parent, config.name) if config.parent.is_dir() else None
        docs = yamlio.load_plain(text or "", config_rel)
    except UserError:
        raise
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
        yml = root / ".sops.yml"
        extra = (
            " There is a .sops.yml, but sops only reads the exact name .sops.yaml and ignores .sops.yml: rename it."
            if yml.is_file()
            else ""
        )
        others = outside_configs(root)
        if others:
            extra += (
                f" ({', '.join(str(o) for o in others)} exists, but edge-wizard uses only the repository's own "
                ".sops.yaml: a file outside the repository would encrypt the token for keys the repository does "
                "not name, which the cluster may not be able to decrypt.)"
            )
        raise UserError(
            f"The repository has no .sops.yaml at its root ({root}), so sops does not know whom to "
            f"encrypt {rel_path} for and edge-wizard wrote nothing.{extra} Create .sops.yaml at the "
            "repository root with a rule like `creation_rules: [{path_regex: 'manifests/.*\\.yaml$', "
            "encrypted_regex: '^(data|stringData)$', age: 'age1...'}]`, using the public key of the age key "
            "in the cluster's sops secret (or run the prerequisites step: edge-wizard run prerequisites)."
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
