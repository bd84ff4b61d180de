"""The name of a new sops-encrypted file, by the repository's own creation rules.

sops encrypts a file with the first creation rule whose ``path_regex`` matches the file's path
relative to the config's folder (Go's ``MatchString``: a search, not a full match; a rule without
``path_regex`` matches everything). A repository that encrypts only ``*.sops.yaml`` (cluster-template)
or ``*.secret.yaml`` has no rule for ``hetzner-token.yaml``; rather than adding one, the new file is
named the way the repository names its secrets, and that name is checked with the same matcher.

:func:`name_new_file` picks, for a folder and a stem (the Secret's name):

1. ``<stem>.yaml`` when a usable rule is the first to match it;
2. else a name following the rules' own pattern (``<stem>.sops.yaml``, ``<stem>.secret.yaml``,
   ``<stem>.enc.yaml``, ...: infixes taken from the rules' regexes) that a usable rule is the first
   to match;
3. else, when a rule matches a candidate first but cannot encrypt the token for Flux (no
   encrypted_regex, one covering metadata, ...), that rule and why (never changed: refused);
4. else (no rule matches any candidate) ``<stem>.yaml`` and no rule: the prerequisites step appends
   a rule for it AFTER the existing ones (nothing earlier matches it, so the new rule is the one
   sops picks).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from wizard import yamlio
from wizard.errors import UserError
from wizard.sops.rules import CONFIG_NAME, Rule, _check_rule, _rule_from

# infixes that name secrets in the wild, tried before other words found in the rules' regexes
KNOWN_INFIXES = ("sops", "secret", "secrets", "enc", "encrypted")
# words of a path_regex that are not infixes (extensions and their optional parts)
_NOT_INFIX = frozenset({"ya", "ml", "yaml", "yml", "json", "env", "ini", "txt", "md"})
# a word of the regex that is not the letter of an escape (\d, \w, \.) nor a group's flag or name
_WORD = re.compile(r"(?<![\\A-Za-z0-9<?])([A-Za-z][A-Za-z0-9]+)")
# what precedes a word that is an infix of a file name: an escaped dot (\. or [.]), - or _
_INFIX_BEFORE = ("\\.", "[.]", "-", "_")


@dataclass(frozen=True)
class Naming:
    """Where a new encrypted file goes and which rule encrypts it.

    ``rule``: the existing rule sops picks for ``path`` (None: no rule matches any candidate; one must
    be added after the existing ones). ``problem``: a rule matches first but cannot be used for the
    token, or the rules cannot be read as sops reads them (the caller refuses; rules are never changed).
    """

    path: str
    rule: Rule | None
    why: str
    problem: str | None = None

    @property
    def needs_rule(self) -> bool:
        return self.rule is None and self.problem is None


def rules_of(text: str | None, config_rel: str = CONFIG_NAME) -> list[Rule] | None:
    """The creation rules of a ``.sops.yaml`` text (None: no config, or one sops cannot read)."""
    if text is None:
        return None
    try:
        docs = yamlio.load_plain(text, config_rel)
    except Exception:
        return None
    top = docs[0] if docs else None
    rules = top.get("creation_rules") if isinstance(top, dict) else None
    if not isinstance(rules, list):
        return None
    return [_rule_from(r if isinstance(r, dict) else {}, i) for i, r in enumerate(rules, 1)]


def first_rule(rules: Sequence[Rule], rel: str) -> tuple[Rule | None, str | None]:
    """(the rule sops picks for ``rel``, None) - or (None, why sops stops first: an invalid regex)."""
    for rule in rules:
        if not rule.path_regex:  # absent or empty: sops takes it for every file
            return rule, None
        try:
            rx = re.compile(rule.path_regex)
        except re.error as exc:
            return None, f"{rule.describe()} is not a valid regular expression ({exc}), and sops stops on it"
        if rx.search(rel):
            return rule, None
    return None, None


def infixes(rules: Sequence[Rule]) -> list[str]:
    """Words of the file-name part of the rules' path_regex (after the last ``/``) that may name
    secrets (``sops`` in ``kubernetes/.*\\.sops\\.ya?ml``): a well-known one (:data:`KNOWN_INFIXES`) or
    one after an escaped dot, ``-`` or ``_``; the well-known ones first, then the others in the order
    the rules have them. Folder names (``talosconfig``, ``manifests``) are never infixes."""
    found: list[str] = []
    for rule in rules:
        tail = (rule.path_regex or "").rsplit("/", 1)[-1]
        for m in _WORD.finditer(tail):
            word = m.group(1)
            infix = word in KNOWN_INFIXES or tail[: m.start()].endswith(_INFIX_BEFORE)
            if infix and word.lower() not in _NOT_INFIX and word not in found:
                found.append(word)
    known = [w for w in KNOWN_INFIXES if w in found]
    return known + [w for w in found if w not in known]


def candidates(stem: str, rules: Sequence[Rule]) -> list[str]:
    """File names for a new encrypted file, the conventional ``<stem>.yaml`` first."""
    names = [f"{stem}.yaml"]
    for word in infixes(rules):
        names += [f"{stem}{sep}{word}.{ext}" for sep in (".", "-", "_") for ext in ("yaml", "yml")]
    names.append(f"{stem}.yml")
    return list(dict.fromkeys(names))


# a well-formed recipient standing in for a placeholder while checking a rule (never written anywhere)
_STAND_IN = "age1" + "q" * 58


def _problem(rule: Rule, rel: str, config_rel: str, placeholder: str | None) -> str | None:
    if placeholder is not None and placeholder in rule.age:
        rule = replace(rule, age=[_STAND_IN if r == placeholder else r for r in rule.age])
    try:
        _check_rule(rule, config_rel, rel)
    except UserError as exc:
        return exc.message
    return None


def _scalar(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _options(rule: Rule, placeholder: str | None) -> str:
    shown = [f"{k} {_scalar(rule.raw[k])}" for k in ("encrypted_regex", "mac_only_encrypted") if k in rule.raw]
    age = ["the age key created when you confirm" if r == placeholder else r for r in rule.age]
    who = [f"age {', '.join(age)}"] if rule.age else []
    who += [f"pgp {', '.join(rule.pgp)}"] if rule.pgp else []
    return "; ".join(shown + who)


def name_new_file(
    rules: Sequence[Rule] | None,
    folder: str,
    stem: str,
    *,
    exists: Callable[[str], bool] = lambda rel: False,
    config_rel: str = CONFIG_NAME,
    placeholder: str | None = None,
) -> Naming:
    """The path (``folder/<name>``, relative to the config's folder) of a new encrypted file (see the
    module docstring). ``exists``: a candidate whose file exists already is passed over (it is someone
    else's file), except the conventional name. ``placeholder``: a recipient that stands for a key
    created at run time (a rule listing it counts as having a recipient)."""
    base = f"{folder}/" if folder else ""
    conventional = f"{base}{stem}.yaml"
    if rules is None:
        return Naming(conventional, None, f"{conventional}: there is no {config_rel} yet to name it by")
    unusable: tuple[str, Rule, str] | None = None
    stopped: str | None = None  # an invalid regex sops meets before any rule matches the conventional name
    for name in candidates(stem, rules):
        rel = base + name
        if rel != conventional and exists(rel):
            continue
        rule, stop = first_rule(rules, rel)
        if stop is not None:  # sops stops for this name; another may match a rule before that one
            stopped = stopped or stop
            continue
        if rule is None:
            continue
        problem = _problem(rule, rel, config_rel, placeholder)
        if problem is None:
            return Naming(rel, rule, _why(rel, conventional, rule, config_rel, placeholder))
        if rel == conventional:  # a rule takes the conventional name first but cannot encrypt the token
            unusable = (rel, rule, problem)
    if stopped is not None:
        return Naming(conventional, None, stopped, problem=f"In {config_rel}, {stopped}. Fix that rule by hand.")
    if unusable is not None:
        rel, rule, problem = unusable
        return Naming(rel, rule, f"{rule.describe()} of {config_rel} is the first rule for {rel}", problem=problem)
    return Naming(
        conventional,
        None,
        f"{conventional}: no creation rule of {config_rel} matches it or a name following its rules "
        f"({', '.join(repr(r.path_regex) for r in rules if r.path_regex) or 'none has a path_regex'})",
    )


def rule_for_file(
    rules: Sequence[Rule] | None, rel: str, *, config_rel: str = CONFIG_NAME, placeholder: str | None = None
) -> Naming:
    """The rule sops picks for the existing file ``rel`` (its name is not ours to choose)."""
    if rules is None:
        return Naming(rel, None, f"{rel}: there is no {config_rel} yet")
    rule, stop = first_rule(rules, rel)
    if stop is not None:
        return Naming(rel, None, stop, problem=f"In {config_rel}, {stop}. Fix that rule by hand.")
    if rule is None:
        return Naming(rel, None, f"{rel}: no creation rule of {config_rel} matches it")
    problem = _problem(rule, rel, config_rel, placeholder)
    return Naming(
        rel, rule, f"{rel}: {rule.describe()} of {config_rel} encrypts it ({_options(rule, placeholder)}).", problem
    )


def _why(rel: str, conventional: str, rule: Rule, config_rel: str, placeholder: str | None) -> str:
    which = f"{rule.describe()} of {config_rel} encrypts it ({_options(rule, placeholder)})"
    if rel == conventional:
        return f"{rel}: {which}."
    name = rel.rsplit("/", 1)[-1]
    return (
        f"{rel}: named {name}, not {conventional.rsplit('/', 1)[-1]}, because no creation rule of {config_rel} "
        f"matches that name; {which}, as it does every file named that way. edge-wizard never "
        "adds a rule ahead of yours or changes one."
    )


__all__ = [
    "KNOWN_INFIXES",
    "Naming",
    "candidates",
    "first_rule",
    "infixes",
    "name_new_file",
    "rule_for_file",
    "rules_of",
]
