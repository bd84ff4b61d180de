"""prerequisites: the age key, .sops.yaml and the cluster's sops Secret, when they are missing.

Runs first. Three parts, each doing nothing when it is already in place (state ``up to date``):

1. **Age key** (outside the repository): the key sops would use (:mod:`wizard.agekey`). When there
   is none, it is created with ``age-keygen -o`` at that location (mode 0600) by the
   :class:`wizard.outside.CreateAgeKey` action, *after* the user confirmed the run; the plan shows
   ``.sops.yaml`` with :data:`PENDING_RECIPIENT` in its place, and the engine re-plans once the
   key exists (see :func:`wizard.outside.ensure_no_pending`).
2. **.sops.yaml** (a FileChange, computed purely by :meth:`PrerequisitesStep.plan`): created
   from ``assets/manifests/prerequisites/sops.yaml`` when missing; when present, fixed in place
   with round-trip YAML (comments and other rules kept, in their order and with their options): the
   token's file is named so an existing rule matches it (``<name>.sops.yaml`` where the rules encrypt
   only such names; :mod:`wizard.sops.naming`), and only when no rule can match is one *appended*
   after the existing ones. Rules sops cannot use at all are repaired: a glob written as a regex
   becomes a real regex, an age recipient list with a missing comma gets its commas, a rule with no
   recipients gets the local key's. What is left afterwards is checked with :mod:`wizard.sops`' own
   rule checks and reported. An age key inside the repository that git ignores is no leak (no
   warning); a git-ignored ``age.key`` holding a recipient of the rule is used as this machine's key.
3. **Cluster Secret** (the :class:`wizard.outside.CreateClusterSecret` action, run by the engine after the files
   are written and before the push): ``flux-system/<name the decryption blocks use>`` with the age
   identity under ``age.agekey``, created through the API (lightkube) after naming the cluster
   and context; an existing Secret is never overwritten. With ``--no-cluster`` or no reachable
   cluster, the kubectl command to run instead is printed (it reads the key file by path).

``plan`` never touches the disk or the network: it reads the key file's public keys only.
"""

from __future__ import annotations

import os
import re

from wizard import agekey
from wizard.answers import Answers
from wizard.errors import WizardError
from wizard.plan import StepPlan
from wizard.providers import spec as providers
from wizard.repo import Layout
from wizard.sops import keys
from wizard.sops.naming import first_rule, name_new_file, rules_of
from wizard.sops.provision import decryption_secret
from wizard.sopsconfig import CONFIG, PENDING_RECIPIENT, SopsEdit, plan_sops_config
from wizard.steps.base import Context, Step

NAME = "prerequisites"


# -- .sops.yaml ---------------------------------------------------------------------------------
def probe_path(layout: Layout, answers: Answers) -> str:
    """The conventional file of the DNS token Secret: ``<components>/external-dns/<secret name>.yaml``."""
    name = "secret"
    if answers.dns_provider:
        try:
            name = providers.get(answers.dns_provider).secret.name
        except WizardError:
            pass
    return f"{layout.components_dir}/external-dns/{name}.yaml"


def token_file(layout: Layout, answers: Answers) -> tuple[str, bool]:
    """(path, exists) of the file the external-dns step puts the token in: the Secret it adopts where
    the repository declares it, or a new file named by the repository's rules (``<name>.sops.yaml``).
    The rule that must cover it is the rule for that file, not for a guessed one. When that step cannot
    be planned here (answers missing; its own plan says why), the conventional :func:`probe_path`."""
    from wizard.errors import WizardError
    from wizard.plan import Workspace
    from wizard.steps.external_dns import ExternalDnsStep

    memo = layout.memo.setdefault("token_file", {})
    key = id(answers)
    if key in memo and memo[key][0] is answers:  # the step table and the plan ask for each answers once
        return memo[key][1]  # type: ignore[no-any-return]
    try:
        sp = ExternalDnsStep().plan(Context(layout=layout, answers=answers, ws=Workspace(layout.root)))
    except WizardError:
        sp = None
    found = (
        (probe_path(layout, answers), False) if sp is None or sp.secret is None else (sp.secret.path, sp.secret.exists)
    )
    memo[key] = (answers, found)
    return found


def rule_regex(path: str) -> str:
    """The path_regex of a rule added for ``path``: every YAML file of its top folder (``manifests``)."""
    return rf"^{re.escape(path.split('/', 1)[0])}/.*\.ya?ml$"


def token_path(layout: Layout, answers: Answers, sops_yaml: str | None) -> str:
    """The token's file as the rules name it (for the cluster Secret's check of the rule)."""
    path, exists = token_file(layout, answers)
    if exists:
        return path
    folder, _, name = path.rpartition("/")
    naming = name_new_file(rules_of(sops_yaml), folder, name.removesuffix(".yaml"), placeholder=PENDING_RECIPIENT)
    return naming.path if naming.rule is not None else path


# -- the step ---------------------------------------------------------------------------------
class PrerequisitesStep(Step):
    name = NAME
    title = "Prerequisites (age key, .sops.yaml, cluster key)"
    summary = "age key, .sops.yaml and the cluster's sops-age Secret, when they are missing"

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        layout, answers = ctx.layout, ctx.answers
        root = layout.root
        key = agekey.locate()

        # 1. the age key (created only when .sops.yaml needs a recipient and there is none)
        if (
            key.path is not None
            and key.exists
            and agekey.is_inside(key.path, root)
            and not agekey.git_ignored(key.path, root)
        ):
            sp.warnings.append(
                f"The age private key {key.path} is inside the repository. Never commit it: add it to "
                ".gitignore, or better move it out and point SOPS_AGE_KEY_FILE at its new place."
            )
        if key.exists and key.problem:
            sp.warnings.append(f"{key.describe()} could not be read: {key.problem}")

        # 2. .sops.yaml
        env_config = os.environ.get("SOPS_CONFIG")
        if env_config:
            sp.warnings.append(
                f"SOPS_CONFIG is set ({env_config}); edge-wizard ignores it and uses only the repository's "
                f"{CONFIG} (it runs sops with --config {CONFIG}), so the token is encrypted for the keys the "
                "repository names."
            )
        existing = ctx.ws.read(CONFIG)
        if existing is None and (root / ".sops.yml").is_file():
            sp.warnings.append(
                "There is a .sops.yml, which sops ignores (it reads only .sops.yaml); "
                "edge-wizard writes .sops.yaml. Delete .sops.yml once you have compared them."
            )
        edit = sops_edit(layout, answers, key, existing)
        if edit.text is not None and PENDING_RECIPIENT in edit.text:
            assert key.path is not None
            agekey.assert_outside_repo(key.path, root)  # we would have to create it there: refuse now
            sp.warnings.append(
                f"No age key was found ({_where_sops_looks(key)}). When you confirm, edge-wizard creates one "
                f"with age-keygen at {key.path} (mode 0600, never inside the repository); .sops.yaml gets its "
                "public key. Back that file up (a password manager or offline copy): without it nobody, "
                "including the cluster after a rebuild, can decrypt the repository's secrets."
            )
        sp.paths.append(CONFIG)
        if edit.text is not None:
            ctx.ws.write(CONFIG, edit.text, self.name)
        elif existing is not None:
            # unchanged on disk, but a managed file: committed with the stage when a --no-commit run or an
            # interrupted one left it repaired and uncommitted
            ctx.ws.touch(CONFIG, self.name)
        sp.warnings += edit.problems

        _local_keys(sp, ctx, edit, existing)
        return sp


def _local_keys(sp: StepPlan, ctx: Context, edit: SopsEdit, existing: str | None) -> None:
    """Whether this machine holds a private key of the token rule's recipients (for the cluster's key;
    nothing to say when the repository provisions that Secret itself)."""
    root = ctx.layout.root
    text = edit.text or existing
    if text is None or edit.path is None or PENDING_RECIPIENT in text:
        return
    rule, _ = first_rule(rules_of(text) or [], edit.path)
    if rule is None or not (rule.age or rule.pgp):
        return
    held = keys.holding(root, rule)
    own = held.repo_key
    if own is not None and own.path is not None:
        sp.notes.append(
            f"{own.describe()} holds the key of {', '.join(r for r in own.recipients if r in rule.age)}, a recipient of "
            f"the {CONFIG} rule for {edit.path}. sops does not look there by itself: edge-wizard hands it to `sops "
            f"decrypt` alone; for your own sops commands set SOPS_AGE_KEY_FILE={own.path}."
        )
    elif not held.any and (found := decryption_secret(ctx.layout, ctx.answers)) and not found.provisioned_in:
        sp.warnings.append(
            f"This machine holds no private key of the recipients of the {CONFIG} rule for {edit.path} "
            f"({', '.join(rule.age + rule.pgp)}; here: {'; '.join(held.seen)}), so edge-wizard cannot put the cluster's "
            "decryption key in place from this machine: the cluster's Secret must hold the private key of one of those "
            "recipients."
        )


def sops_edit(layout: Layout, answers: Answers, key: agekey.AgeKey, existing: str | None) -> SopsEdit:
    """The .sops.yaml edit for this repository and key (the pending placeholder when the key is missing).

    A rule edge-wizard adds or completes names the local key; when that key is none of the recipients
    the repository's rules already use but the repository's own git-ignored key is one (cluster-template's
    ``age.key``), that recipient instead: the cluster's decryption Secret already holds its private key."""
    used = [r for rule in rules_of(existing) or [] for r in rule.age]
    own = None if set(key.recipients) & set(used) else agekey.repo_key(layout.root, used)
    if own is not None:
        recipient: str | None = next(r for r in own.recipients if r in used)
    elif key.recipients:
        recipient = key.recipients[0]
    elif not key.exists and key.path is not None:
        recipient = PENDING_RECIPIENT
    else:
        recipient = None
    probe, exists = token_file(layout, answers)
    return plan_sops_config(existing, probe, rule_regex(probe), recipient, existing_file=exists)


def _where_sops_looks(key: agekey.AgeKey) -> str:
    if key.origin == agekey.ENV_KEY_FILE:
        return f"SOPS_AGE_KEY_FILE points at {key.path}, which does not exist"
    return f"SOPS_AGE_KEY_FILE and SOPS_AGE_KEY are not set and {key.path} does not exist"
