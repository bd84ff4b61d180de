"""Create or repair a ``.sops.yaml`` so the DNS token Secret gets a working rule (pure: text in, text out).

Used by the prerequisites step. Round-trip YAML keeps comments and other rules: a glob written as a
regex becomes a real regex, an age recipient list with a missing comma gets its commas, a rule with
no recipients gets the local key's, and when no rule covers the manifests folder one is added first.
What is left afterwards is checked with :mod:`wizard.sops`' own rule checks and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from wizard import catalog, sops, yamlio
from wizard.errors import UserError

CONFIG = sops.CONFIG_NAME  # ".sops.yaml" at the repository root
# What .sops.yaml shows until the key exists. Not an age recipient (sops and wizard.sops reject it),
# so a file carrying it can never encrypt anything by mistake.
PENDING_RECIPIENT = "age1-new-key-created-at-run-time"
ASSET = "manifests/prerequisites/sops.yaml"


@dataclass
class SopsEdit:
    text: str | None  # the new .sops.yaml (None: nothing to write)
    edits: list[str] = field(default_factory=list)  # what changed, one sentence each
    problems: list[str] = field(default_factory=list)  # left as is, for the user to fix


def _is_glob(pr: str) -> bool:
    return sops.looks_like_glob(pr) or "**" in pr


def _glob_fix(pr: str) -> str:
    return sops.glob_to_regex(pr[2:] if pr.startswith("./") else pr)


def _split_recipients(value: str) -> list[str] | None:
    """The recipients of a value that lacks commas, or None when its commas are fine."""
    parts = [p.strip() for p in str(value).split(",")]
    fixed: list[str] = []
    broken = False
    for p in parts:
        words = p.split()
        if len(words) > 1 and sum(w.startswith("age1") for w in words) > 1:
            broken = True
            fixed += words
        elif p:
            fixed.append(p)
    return fixed if broken else None


def _recipient_value(old: Any, recipients: list[str]) -> Any:
    """A value listing ``recipients`` with commas, in the scalar style of ``old``."""
    if isinstance(old, FoldedScalarString):
        joined = ", ".join(recipients)
        new = FoldedScalarString(joined)
        pos, at = [], 0
        for r in recipients[:-1]:
            at += len(r) + 1
            pos.append(at)
            at += 1
        new.fold_pos = pos  # one recipient per line, like the guide's `age: >-` blocks
        return new
    if isinstance(old, LiteralScalarString):
        return LiteralScalarString(",\n".join(recipients) + ("\n" if str(old).endswith("\n") else ""))
    text = ",".join(recipients)
    return type(old)(text) if type(old) is not str and isinstance(old, str) else text


def _new_rule(regex: str, recipient: str) -> CommentedMap:
    rule = CommentedMap()
    rule["path_regex"] = regex
    rule["encrypted_regex"] = sops.RECOMMENDED_REGEX
    rule["age"] = recipient
    return rule


def new_sops_config(regex: str, recipient: str) -> str:
    doc = catalog.load_asset(ASSET)
    rule = doc.docs[0]["creation_rules"][0]
    rule["path_regex"] = regex
    rule["age"] = recipient
    return yamlio.render(doc)


def plan_sops_config(text: str | None, probe: str, regex: str, recipient: str | None, source: str = CONFIG) -> SopsEdit:
    """Create or repair a .sops.yaml so that ``probe`` (repo-relative) gets a working rule.

    Pure: text in, text out. ``recipient`` is the local age key's public key (or
    :data:`PENDING_RECIPIENT`); None when there is no usable key, so nothing can be added.
    """
    if text is None:
        if recipient is None:
            return SopsEdit(None, problems=[f"There is no {source} and no age public key to put in it."])
        return SopsEdit(
            new_sops_config(regex, recipient),
            edits=[
                f"create {source} with a rule for {probe.split('/')[0]}/ (path_regex {regex}, "
                f"encrypted_regex {sops.RECOMMENDED_REGEX}, age {recipient})"
            ],
        )
    try:
        doc = yamlio.parse(text, source=source)
    except ValueError as exc:
        raise UserError(
            f"{exc}. sops cannot read it either; fix it (or delete it to have edge-wizard write a "
            "new one), then run again."
        ) from None
    faithful = yamlio.render(doc) == text
    if not doc.docs or not isinstance(doc.docs[0], dict):
        raise UserError(
            f"{source} has no mapping at the top, so sops finds no creation_rules in it. Fix or "
            "delete it, then run again."
        )
    top = doc.docs[0]
    rules = top.get("creation_rules")
    out = SopsEdit(None)
    if not isinstance(rules, list):
        if rules is not None:
            raise UserError(f"creation_rules in {source} is not a list. Fix it, then run again.")
        rules = CommentedSeq()
        top["creation_rules"] = rules

    # 1. missing commas between age recipients (any rule: sops fails on it whenever the rule is used)
    for i, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            continue
        for holder in [rule] + [g for g in rule.get("key_groups") or [] if isinstance(g, dict)]:
            value = holder.get("age")
            values = value if isinstance(value, list) else [value]
            for j, v in enumerate(values):
                if not isinstance(v, str):
                    continue
                fixed = _split_recipients(v)
                if fixed is None:
                    continue
                new = _recipient_value(v, fixed)
                if isinstance(value, list):
                    value[j] = new
                else:
                    holder["age"] = new
                out.edits.append(f"rule #{i}: put the missing comma(s) between the age recipients ({', '.join(fixed)})")

    # 2. the rule sops would pick for the probe (first match wins), fixing a glob on the way
    chosen: int | None = None
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        pr = rule.get("path_regex")
        if pr is None:
            chosen = i
            break
        pr = str(pr)
        try:
            rx: re.Pattern[str] | None = re.compile(pr)
        except re.error:
            rx = None
        if rx is not None and rx.search(probe):
            chosen = i
            break
        if _is_glob(pr):
            glob_rx = _glob_fix(pr)
            if rx is None or re.search(glob_rx, probe):
                rule["path_regex"] = type(pr)(glob_rx) if type(pr) is not str else glob_rx
                out.edits.append(
                    f"rule #{i + 1}: path_regex {pr!r} is a shell glob written as a regex "
                    f"(it never matches nested paths like {probe}); now {glob_rx!r}"
                )
                if re.search(glob_rx, probe):
                    chosen = i
                    break
                continue
        if rx is None:
            out.problems.append(
                f"In {source}, path_regex {pr!r} of rule #{i + 1} is not a valid regular "
                "expression; sops stops on it. Fix it by hand."
            )

    # 3. no rule for the manifests: add one first
    if chosen is None:
        if recipient is None:
            out.problems.append(f"No rule in {source} covers {probe}, and there is no age key to add a rule for.")
        else:
            rules.insert(0, _new_rule(regex, recipient))
            chosen = 0
            out.edits.append(
                f"add a first rule for {probe.split('/')[0]}/ (path_regex {regex}, encrypted_regex "
                f"{sops.RECOMMENDED_REGEX}, age {recipient}): no rule covered {probe}"
            )
    elif isinstance(rules[chosen], dict):
        rule = rules[chosen]
        has_keys = any(rule.get(k) for k in ("age", "pgp", "key_groups", *sops.OTHER_KEY_TYPES))
        if not has_keys and recipient is not None:
            rule["age"] = recipient
            out.edits.append(f"rule #{chosen + 1}: it listed no recipients; add age {recipient}")
        if rule.get("encrypted_regex") is None and not any(
            k in rule for k in ("unencrypted_regex", "encrypted_suffix", "unencrypted_suffix")
        ):
            rule["encrypted_regex"] = sops.RECOMMENDED_REGEX
            out.edits.append(
                f"rule #{chosen + 1}: add encrypted_regex {sops.RECOMMENDED_REGEX} (without it sops "
                "encrypts kind and metadata too, and Flux cannot apply the Secret)"
            )

    if out.edits and not faithful:
        raise UserError(
            f"{source} needs these edits, but edge-wizard cannot make them without reformatting the file (it "
            f"keeps your formatting and comments): {'; '.join(out.edits)}. Make them by hand, then run again."
        )
    if out.edits:
        new_text = yamlio.render(doc)
        out.text = new_text if new_text != text else None

    # 4. what is still wrong, in wizard.sops' own words (the pending key is not a real recipient)
    if chosen is not None and isinstance(rules[chosen], dict):
        raw = yamlio.to_plain(rules[chosen])
        if PENDING_RECIPIENT not in str(raw.get("age", "")):
            try:
                sops._check_rule(sops._rule_from(raw, chosen + 1), source, probe)
            except UserError as exc:
                out.problems.append(str(exc))
    return out


def rule_recipients(text: str | None, probe: str) -> tuple[list[str], list[str]]:
    """(age, pgp) recipients of the rule sops picks for ``probe`` in ``text`` (empty when none)."""
    if text is None:
        return [], []
    try:
        docs = yamlio.load_plain(text)
    except Exception:
        return [], []
    rules = (docs[0] or {}).get("creation_rules") if docs and isinstance(docs[0], dict) else None
    for i, raw in enumerate(rules or [], 1):
        if not isinstance(raw, dict):
            continue
        pr = raw.get("path_regex")
        try:
            if pr is None or re.search(str(pr), probe):
                rule = sops._rule_from(raw, i)
                return rule.age, rule.pgp
        except re.error:
            continue
    return [], []
