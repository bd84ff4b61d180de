"""Create or repair a ``.sops.yaml`` so the DNS token Secret gets a working rule (pure: text in, text out).

Used by the prerequisites step. The repository's rules keep their order and options: the token's
file is named so an existing rule matches it (:mod:`wizard.sops.naming`), and only when no rule can
match any such name is a rule appended, after the existing ones. Round-trip YAML keeps comments and
formatting. Repairs are made only to rules sops cannot use at all: a glob written as a regex (when no
rule takes the token) becomes a real regex, an age recipient list with a missing comma gets its
commas, a rule with no recipients gets the local key's. What is left afterwards is checked with
:mod:`wizard.sops`' own rule checks and reported, never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from wizard import catalog, sops, yamlio
from wizard.errors import UserError
from wizard.sops import keys
from wizard.sops.naming import Naming, name_new_file, rule_for_file, rules_of

if TYPE_CHECKING:
    from wizard.plan import StepPlan
    from wizard.steps.base import Context

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
    path: str | None = None  # the token's file: the probe, or a name a rule matches (wizard.sops.naming)
    why: str = ""  # which rule encrypts it, and why the file has that name


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


def plan_sops_config(
    text: str | None,
    probe: str,
    regex: str,
    recipient: str | None,
    source: str = CONFIG,
    *,
    existing_file: bool = False,
) -> SopsEdit:
    """Create or repair a .sops.yaml so that the token's file in ``probe``'s folder gets a working rule.

    ``probe`` is the conventional path (``<folder>/<secret name>.yaml``); when no rule matches it but
    one matches a name following the rules' pattern (``<name>.sops.yaml``), that name is taken
    (``SopsEdit.path``) and nothing is changed. ``existing_file``: ``probe`` is a file that exists (an
    adopted Secret): its name is kept, the rule for exactly that path counts. Pure: text in, text out. ``recipient`` is the local age
    key's public key (or :data:`PENDING_RECIPIENT`); None when there is no usable key, so nothing can
    be added.
    """
    if text is None:
        return _new_config(probe, regex, recipient, source)
    doc, faithful = _parsed_config(text, source)
    rules = _rules_of(doc.docs[0], source)
    out = SopsEdit(None)
    _fix_commas(rules, out)  # any rule: sops fails on it whenever the rule is used
    chosen = _choose_rule(rules, probe, regex, recipient, source, existing_file, out)
    if chosen is not None and isinstance(rules[chosen], dict):
        _repair_keyless(rules[chosen], chosen, recipient, out)
    if out.edits and not faithful:
        raise UserError(
            f"{source} needs these edits, but edge-wizard cannot make them without reformatting the file (it "
            f"keeps your formatting and comments): {'; '.join(out.edits)}. Make them by hand, then run again."
        )
    if out.edits:
        new_text = yamlio.render(doc)
        out.text = new_text if new_text != text else None
    if chosen is not None and isinstance(rules[chosen], dict):
        _still_wrong(rules[chosen], chosen, source, probe, out)
    return out


def _new_config(probe: str, regex: str, recipient: str | None, source: str) -> SopsEdit:
    if recipient is None:
        return SopsEdit(None, problems=[f"There is no {source} and no age public key to put in it."])
    return SopsEdit(
        new_sops_config(regex, recipient),
        edits=[
            f"create {source} with a rule for {probe.split('/')[0]}/ (path_regex {regex}, "
            f"encrypted_regex {sops.RECOMMENDED_REGEX}, age {recipient})"
        ],
        path=probe,
        why=f"{probe}: rule #1 of the new {source} encrypts it.",
    )


def _parsed_config(text: str, source: str) -> tuple[Any, bool]:
    """The round-trip document and whether rendering it gives the text back (edits keep formatting)."""
    try:
        doc = yamlio.parse(text, source=source)
    except ValueError as exc:
        raise UserError(
            f"{exc}. sops cannot read it either; fix it (or delete it to have edge-wizard write a "
            "new one), then run again."
        ) from None
    if not doc.docs or not isinstance(doc.docs[0], dict):
        raise UserError(
            f"{source} has no mapping at the top, so sops finds no creation_rules in it. Fix or "
            "delete it, then run again."
        )
    return doc, yamlio.render(doc) == text


def _rules_of(top: Any, source: str) -> Any:
    rules = top.get("creation_rules")
    if not isinstance(rules, list):
        if rules is not None:
            raise UserError(f"creation_rules in {source} is not a list. Fix it, then run again.")
        rules = CommentedSeq()
        top["creation_rules"] = rules
    return rules


def _fix_commas(rules: Any, out: SopsEdit) -> None:
    """Missing commas between age recipients, in any rule and its key groups."""
    for i, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            continue
        for holder in [rule] + [g for g in rule.get("key_groups") or [] if isinstance(g, dict)]:
            _fix_holder_commas(holder, i, out)


def _fix_holder_commas(holder: Any, i: int, out: SopsEdit) -> None:
    value = holder.get("age")
    values = value if isinstance(value, list) else [value]
    for j, v in enumerate(values):
        fixed = _split_recipients(v) if isinstance(v, str) else None
        if fixed is None:
            continue
        new = _recipient_value(v, fixed)
        if isinstance(value, list):
            value[j] = new
        else:
            holder["age"] = new
        out.edits.append(f"rule #{i}: put the missing comma(s) between the age recipients ({', '.join(fixed)})")


def _choose_rule(
    rules: Any, probe: str, regex: str, recipient: str | None, source: str, existing_file: bool, out: SopsEdit
) -> int | None:
    """The name the token's file gets and the index of the rule sops picks for it (first match wins):
    the conventional name or one following the rules' pattern; existing rules keep order and options;
    with no rule for it, one is appended AFTER the existing ones."""
    naming = _naming(rules, probe, existing_file, source)
    if naming.rule is None and _fix_globs(rules, probe, out):  # a glob written as a regex: repaired first
        naming = _naming(rules, probe, existing_file, source)
    out.path = naming.path
    if naming.rule is not None:
        out.why = naming.why
        return int(naming.rule.index) - 1
    if naming.problem is not None:
        out.problems.append(naming.problem)
        return None
    if recipient is None:
        out.problems.append(f"No rule in {source} covers {probe}, and there is no age key to add a rule for.")
        return None
    rules.append(_new_rule(regex, recipient))
    out.edits.append(
        f"append a rule for {probe.split('/')[0]}/ after the existing ones (path_regex {regex}, encrypted_regex "
        f"{sops.RECOMMENDED_REGEX}, age {recipient}): no rule covered {probe}"
    )
    out.why = f"{probe}: the new last rule #{len(rules)} of {source} encrypts it (no existing rule matches it)."
    return len(rules) - 1


def _still_wrong(rule: Any, chosen: int, source: str, probe: str, out: SopsEdit) -> None:
    """What is still wrong with the chosen rule, in wizard.sops' own words (the pending key is not real)."""
    raw = yamlio.to_plain(rule)
    if PENDING_RECIPIENT in str(raw.get("age", "")):
        return
    try:
        sops._check_rule(sops._rule_from(raw, chosen + 1), source, out.path or probe)
    except UserError as exc:
        out.problems.append(str(exc))


def _naming(rules: Any, probe: str, existing_file: bool, source: str) -> Naming:
    """The naming as sops would match the rules as they stand (the conventional name is never passed
    over for existing: in the probe's folder it is the token's own file)."""
    current = [sops._rule_from(yamlio.to_plain(r) if isinstance(r, dict) else {}, i) for i, r in enumerate(rules, 1)]
    if existing_file:
        return rule_for_file(current, probe, config_rel=source, placeholder=PENDING_RECIPIENT)
    folder, _, name = probe.rpartition("/")
    return name_new_file(current, folder, name.removesuffix(".yaml"), config_rel=source, placeholder=PENDING_RECIPIENT)


def _fix_globs(rules: Any, probe: str, out: SopsEdit) -> bool:
    """Repair path_regex values that are shell globs sops cannot use (an invalid regex, or one that never
    matches nested paths like ``probe``). Only called when no rule takes the token as the rules are."""
    fixed = False
    for i, rule in enumerate(rules):
        pr = rule.get("path_regex") if isinstance(rule, dict) else None
        if pr is None or not _is_glob(str(pr)):
            continue
        try:
            rx: re.Pattern[str] | None = re.compile(str(pr))
        except re.error:
            rx = None
        glob_rx = _glob_fix(str(pr))
        if rx is not None and not re.search(glob_rx, probe):
            continue
        rule["path_regex"] = type(pr)(glob_rx) if type(pr) is not str else glob_rx
        out.edits.append(
            f"rule #{i + 1}: path_regex {str(pr)!r} is a shell glob written as a regex "
            f"(it never matches nested paths like {probe}); now {glob_rx!r}"
        )
        fixed = True
    return fixed


def _repair_keyless(rule: Any, chosen: int, recipient: str | None, out: SopsEdit) -> None:
    """A rule without any key encrypts nothing (sops refuses it): it gets the local key, and an
    encrypted_regex when it has none. A rule with keys is never changed."""
    if any(rule.get(k) for k in ("age", "pgp", "key_groups", *sops.OTHER_KEY_TYPES)) or recipient is None:
        return
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


def new_secret_file(ctx: Context, sp: StepPlan, folder: str, stem: str) -> str:
    """The path of a new sops-encrypted Secret ``stem`` in ``folder``, named by the repository's rules
    (:func:`wizard.sops.naming.name_new_file` on the planned ``.sops.yaml``). The plan says which rule
    encrypts it and why it has that name; when this machine holds no private key of that rule's
    recipients, the plan carries it as attention (its own confirmation, ``--accept-foreign-recipients``).
    A rule that takes the file first but cannot encrypt the token for Flux is refused (UserError), never
    changed."""
    text = ctx.ws.read(CONFIG)
    naming = name_new_file(rules_of(text), folder, stem, exists=ctx.ws.exists, placeholder=PENDING_RECIPIENT)
    if naming.problem is not None:
        raise UserError(
            f"{naming.problem} edge-wizard never changes the order or options of your {CONFIG} rules, and no other "
            f"name for the token's file in {folder} is matched by a rule that can encrypt it, so nothing was written. "
            f"Fix that rule, or add one for {folder} after it, then run again."
        )
    if naming.rule is None:
        if text is not None:
            sp.warnings.append(
                f"{naming.why}, so sops cannot encrypt the token. The prerequisites step appends a rule for it after "
                "the existing ones: run it too (edge-wizard run prerequisites external-dns)."
            )
        return naming.path
    sp.notes.append(naming.why)
    _foreign_attention(ctx, sp, naming)
    return naming.path


def token_secret_file(ctx: Context, sp: StepPlan, folder: str, stem: str, found: Any, key: str) -> str:
    """The file the DNS token goes to: ``found`` (path, document) when the repository declares the Secret,
    else a new file named by the repository's rules (:func:`new_secret_file`). An existing Secret that is
    written anew (it holds the token under another key than ``key``) gets the same attention as a new one
    when this machine holds no private key of its rule's recipients."""
    if found is None:
        return new_secret_file(ctx, sp, folder, stem)
    path = str(found[0])
    doc = found[1] if isinstance(found[1], dict) else {}
    held = [str(k) for f in ("data", "stringData") if isinstance(doc.get(f), dict) for k in doc[f]]
    if key not in held:
        _foreign_attention(ctx, sp, rule_for_file(rules_of(ctx.ws.read(CONFIG)), path, placeholder=PENDING_RECIPIENT))
    return path


def _foreign_attention(ctx: Context, sp: StepPlan, naming: Naming) -> None:
    """Attention (its own confirmation) when no recipient of the rule has a private key on this machine."""
    if naming.rule is None or naming.problem is not None or PENDING_RECIPIENT in naming.rule.age:
        return
    items = keys.foreign_items(ctx.layout.root, naming.rule, naming.path, CONFIG)
    if items:
        sp.attention += items
        sp.attention_heading = keys.FOREIGN_HEADING
        sp.attention_flag = keys.ACCEPT_FLAG
