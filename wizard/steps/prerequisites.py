"""prerequisites: the age key, .sops.yaml and the cluster's sops Secret, when they are missing.

Runs first. Three parts, each doing nothing when it is already in place (state ``up to date``):

1. **Age key** (outside the repository): the key sops would use (:mod:`wizard.agekey`). When there
   is none, it is created with ``age-keygen -o`` at that location (mode 0600) by the
   :class:`CreateAgeKey` action, *after* the user confirmed the run; the plan shows
   ``.sops.yaml`` with :data:`PENDING_RECIPIENT` in its place, and the engine re-plans once the
   key exists (see :func:`ensure_no_pending`).
2. **.sops.yaml** (a FileChange, computed purely by :meth:`PrerequisitesStep.plan`): created
   from ``assets/manifests/prerequisites/sops.yaml`` when missing; when present, fixed in place
   with round-trip YAML (comments and other rules kept): a glob written as a regex becomes a real
   regex, an age recipient list with a missing comma gets its commas, a rule with no recipients
   gets the local key's, and when no rule covers the manifests folder one is added *first*.
   What is left afterwards is checked with :mod:`wizard.sops`' own rule checks and reported.
3. **Cluster Secret** (the :class:`CreateClusterSecret` action, run by the engine after the files
   are written and before the push): ``flux-system/<name the decryption blocks use>`` with the age
   identity under ``age.agekey``, created through the API (lightkube) after naming the cluster
   and context; an existing Secret is never overwritten. With ``--no-cluster`` or no reachable
   cluster, the kubectl command to run instead is printed (it reads the key file by path).

``plan`` never touches the disk or the network: it reads the key file's public keys only.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from wizard import agekey, catalog, sops, yamlio
from wizard.answers import Answers
from wizard.errors import StepFailed, UserError
from wizard.events import Event, Hint, Info, Warning
from wizard.plan import Plan, StepPlan
from wizard.repo import Layout
from wizard.steps.base import Context, Step

NAME = "prerequisites"
CONFIG = sops.CONFIG_NAME  # ".sops.yaml" at the repository root
SECRET_NAMESPACE = "flux-system"
SECRET_KEY = "age.agekey"  # Flux reads every data key ending in .agekey
# What .sops.yaml shows until the key exists. Not an age recipient (sops and wizard.sops reject it),
# so a file carrying it can never encrypt anything by mistake.
PENDING_RECIPIENT = "age1-new-key-created-at-run-time"
ASSET = "manifests/prerequisites/sops.yaml"


# -- .sops.yaml ---------------------------------------------------------------------------------
def manifests_folder(layout: Layout) -> str:
    """The top folder holding the manifests (``manifests`` in the guide's layout)."""
    return layout.components_dir.split("/", 1)[0]


def manifests_regex(layout: Layout) -> str:
    return rf"^{re.escape(manifests_folder(layout))}/.*\.ya?ml$"


def probe_path(layout: Layout, answers: Answers) -> str:
    """A file the rule must cover: the DNS token Secret the external-dns step writes."""
    name = "secret"
    if answers.dns_provider:
        try:
            name = catalog.provider(answers.dns_provider)["secret"]["name"]
        except Exception:
            pass
    return f"{layout.components_dir}/external-dns/{name}.yaml"


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
            fixed = _glob_fix(pr)
            if rx is None or re.search(fixed, probe):
                rule["path_regex"] = type(pr)(fixed) if type(pr) is not str else fixed
                out.edits.append(
                    f"rule #{i + 1}: path_regex {pr!r} is a shell glob written as a regex "
                    f"(it never matches nested paths like {probe}); now {fixed!r}"
                )
                if re.search(fixed, probe):
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
        if key.path is not None and key.exists and agekey.is_inside(key.path, root):
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
        probe = probe_path(layout, answers)
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

        age, _pgp = rule_recipients(edit.text or existing, probe)
        if key.recipients and age and not set(age) & set(key.recipients):
            sp.warnings.append(
                f"{key.describe()} (public key {key.recipients[0]}) is none of the age recipients of the "
                f"{CONFIG} rule for {probe} ({', '.join(age)}). edge-wizard can still encrypt, but cannot put "
                "the cluster's decryption key in place from this machine: the Secret must hold the private "
                "key of one of those recipients."
            )
        return sp


def sops_edit(layout: Layout, answers: Answers, key: agekey.AgeKey, existing: str | None) -> SopsEdit:
    """The .sops.yaml edit for this repository and key (the pending placeholder when the key is missing)."""
    if key.recipients:
        recipient: str | None = key.recipients[0]
    elif not key.exists and key.path is not None:
        recipient = PENDING_RECIPIENT
    else:
        recipient = None
    return plan_sops_config(existing, probe_path(layout, answers), manifests_regex(layout), recipient)


def _where_sops_looks(key: agekey.AgeKey) -> str:
    if key.origin == agekey.ENV_KEY_FILE:
        return f"SOPS_AGE_KEY_FILE points at {key.path}, which does not exist"
    return f"SOPS_AGE_KEY_FILE and SOPS_AGE_KEY are not set and {key.path} does not exist"


def ensure_no_pending(plan: Plan) -> None:
    """Refuse a plan whose .sops.yaml still waits for the key to be created (a front-end bug)."""
    for change in plan.pending:
        if PENDING_RECIPIENT in change.new:
            raise StepFailed(
                f"{change.path} still holds the placeholder for the new age key's public key; the "
                "key must be created (PrerequisiteActions.prepare) and the plan made again before "
                "writing. Nothing was written."
            )


# -- actions outside the repository -----------------------------------------------------------
Emit = Callable[[Event], None]


class Action(Protocol):
    def describe(self) -> str: ...

    def apply(self, emit: Emit) -> None: ...


@dataclass
class CreateAgeKey:
    """Create the missing age key with age-keygen (before planning .sops.yaml for real)."""

    path: Path
    repo_root: Path

    def describe(self) -> str:
        return (
            f"create an age key with age-keygen at {self.path} (mode 0600, outside the repository); back "
            "it up, it is the only way to decrypt the repository's secrets"
        )

    def apply(self, emit: Emit) -> None:
        recipient = agekey.create_key(self.path, self.repo_root)
        emit(Info(f"Created the age key {self.path} (mode 0600), public key {recipient}."))
        emit(
            Warning(
                f"Back up {self.path} now (password manager or offline copy). It is the only copy of the "
                "private key: without it the secrets in the repository cannot be decrypted again."
            )
        )


@dataclass
class ClusterTarget:
    kubeconfig: Path | None
    context: str | None
    server: str | None
    problem: str | None = None

    def describe(self) -> str:
        if self.problem:
            return self.problem
        return f"cluster {self.server} (context {self.context}, kubeconfig {self.kubeconfig})"


def kubeconfig_paths(explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    env = [Path(p) for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return env or [Path.home() / ".kube" / "config"]


def cluster_target(kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None) -> ClusterTarget:
    """Which cluster a write would go to: read from the kubeconfig only (no network)."""
    found = next((p for p in kubeconfig_paths(kubeconfig) if p.is_file()), None)
    if found is None:
        return ClusterTarget(None, context, None, problem="no kubeconfig was found (KUBECONFIG, ~/.kube/config)")
    try:
        docs = yamlio.load_plain(found.read_text(encoding="utf-8"))
        cfg = docs[0] if docs and isinstance(docs[0], dict) else {}
    except Exception:
        return ClusterTarget(found, context, None, problem=f"the kubeconfig {found} is not valid YAML")
    name = context or cfg.get("current-context")
    if not name:
        return ClusterTarget(found, None, None, problem=f"the kubeconfig {found} has no current context")
    ctx = next((c.get("context") or {} for c in cfg.get("contexts") or [] if c.get("name") == name), None)
    if ctx is None:
        return ClusterTarget(found, name, None, problem=f"the kubeconfig {found} has no context {name!r}")
    cluster = next(
        (c.get("cluster") or {} for c in cfg.get("clusters") or [] if c.get("name") == ctx.get("cluster")), {}
    )
    return ClusterTarget(found, name, cluster.get("server") or "?")


def kubectl_command(secret_name: str, key: agekey.AgeKey, context: str | None) -> str:
    """The one command that creates the Secret by hand, reading the key by path (never pasted)."""
    ctx = f"--context {shlex.quote(context)} " if context else ""
    if key.origin == agekey.ENV_KEY or key.path is None:
        return (
            f"printenv SOPS_AGE_KEY | kubectl {ctx}-n {SECRET_NAMESPACE} create secret generic "
            f"{shlex.quote(secret_name)} --from-file={SECRET_KEY}=/dev/stdin"
        )
    return (
        f"kubectl {ctx}-n {SECRET_NAMESPACE} create secret generic {shlex.quote(secret_name)} "
        f"--from-file={SECRET_KEY}={shlex.quote(str(key.path))}"
    )


@dataclass
class CreateClusterSecret:
    """Create flux-system/<secret_name> holding the age identity (run after .sops.yaml is written)."""

    secret_name: str
    repo_root: Path
    probe: str
    enabled: bool = True  # False: --no-cluster, only print the kubectl command
    kubeconfig: str | os.PathLike[str] | None = None
    context: str | None = None
    timeout: float = 15.0

    def target(self) -> ClusterTarget:
        return cluster_target(self.kubeconfig, self.context)

    def _hint(self, key: agekey.AgeKey, context: str | None) -> str:
        cmd = kubectl_command(self.secret_name, key, context)
        extra = ""
        if key.path is not None and len(key.recipients) > 1:
            extra = (
                f" ({key.path} holds {len(key.recipients)} keys; that command puts all of them in the Secret, "
                "so a file with only the repository's key is better)"
            )
        return (
            f"Create the cluster's decryption key Secret {SECRET_NAMESPACE}/{self.secret_name} yourself "
            f"if it is missing{extra}:\n  {cmd}"
        )

    def describe(self) -> str:
        what = (
            f"Secret {SECRET_NAMESPACE}/{self.secret_name} (age identity under data key {SECRET_KEY}), unless it exists"
        )
        if not self.enabled:
            return f"print the kubectl command that creates {what} (--no-cluster)"
        t = self.target()
        if t.problem:
            return f"print the kubectl command that creates {what} ({t.problem})"
        return f"create {what} in {t.describe()}"

    def apply(self, emit: Emit) -> None:
        key = agekey.locate()
        t = self.target()
        if not self.enabled or t.problem:
            emit(Hint(self._hint(key, t.context)))  # no kubeconfig: nothing was going to be followed anyway
            return
        try:
            client = _client(t, self.timeout)
        except Exception as exc:
            emit(Warning(f"Could not connect to {t.describe()}: {_short(exc)}."))
            emit(Hint(self._hint(key, t.context)))
            return
        from lightkube.core.exceptions import ApiError
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Secret

        where = f"{SECRET_NAMESPACE}/{self.secret_name} in {t.describe()}"
        try:
            current = client.get(Secret, self.secret_name, namespace=SECRET_NAMESPACE)
        except ApiError as exc:
            if exc.status.code != 404:
                emit(Warning(f"Could not read Secret {where}: {_short(exc)}."))
                emit(Hint(self._hint(key, t.context)))
                return
            current = None
        except Exception as exc:
            emit(Warning(f"Could not reach {t.describe()}: {_short(exc)}."))
            emit(Hint(self._hint(key, t.context)))
            return
        if current is not None:
            keys = sorted((current.data or {}).keys())
            if any(k.endswith(".agekey") or k.endswith(".asc") for k in keys):
                emit(Info(f"Secret {where} exists (keys {', '.join(keys)}); kept as is."))
            else:
                emit(
                    Warning(
                        f"Secret {where} exists but has no data key ending in .agekey ({', '.join(keys) or 'empty'}), "
                        "so Flux cannot decrypt age-encrypted files with it. edge-wizard never overwrites a Secret; "
                        f"add the age key to it by hand (kubectl -n {SECRET_NAMESPACE} edit secret {self.secret_name})."
                    )
                )
            return

        # missing: create it from the local identity that the .sops.yaml rule encrypts for
        if not key.exists or not key.recipients:
            emit(
                Warning(
                    f"Secret {where} is missing, and there is no usable local age key to create it from "
                    f"({key.problem or key.describe()}). Create it with the private key of a recipient of "
                    f"the {CONFIG} rule for {self.probe}."
                )
            )
            return
        try:
            age = sops.resolve(self.repo_root, self.probe).rule.age
        except UserError as exc:
            emit(Warning(f"Secret {where} is missing and was not created: {exc}"))
            return
        recipient = next((r for r in key.recipients if r in age), None)
        if recipient is None:
            emit(
                Warning(
                    f"Secret {where} is missing. {key.describe()} holds none of the age recipients of the {CONFIG} "
                    f"rule for {self.probe} ({', '.join(age) or 'none'}), so it was not created from it: the cluster "
                    "needs the private key of one of those recipients."
                )
            )
            return
        identity = agekey.identity_for(key, recipient)
        emit(Info(f"Creating Secret {where} with the age key for {recipient} (data key {SECRET_KEY})."))
        secret = Secret(
            metadata=ObjectMeta(
                name=self.secret_name,
                namespace=SECRET_NAMESPACE,
                labels={"app.kubernetes.io/managed-by": "edge-wizard"},
            ),
            type="Opaque",
            data={SECRET_KEY: base64.b64encode(identity.text.encode("utf-8")).decode("ascii")},
        )
        del identity
        try:
            client.create(secret)
        except ApiError as exc:
            if exc.status.code == 409:
                emit(Info(f"Secret {where} was created meanwhile by someone else; kept as is."))
                return
            emit(Warning(f"Could not create Secret {where}: {_short(exc)}."))
            emit(Hint(self._hint(key, t.context)))
            return
        except Exception as exc:
            emit(Warning(f"Could not create Secret {where}: {_short(exc)}."))
            emit(Hint(self._hint(key, t.context)))
            return
        emit(Info(f"Created Secret {where}."))


def _client(target: ClusterTarget, timeout: float) -> Any:
    from lightkube import Client, KubeConfig
    from lightkube.core.exceptions import httpx  # the httpx flavour lightkube is built on

    assert target.kubeconfig is not None
    config = KubeConfig.from_file(target.kubeconfig).get(context_name=target.context)
    return Client(config=config, timeout=httpx.Timeout(timeout), field_manager="edge-wizard", trust_env=False)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".")


@dataclass
class PrerequisiteActions:
    """Side effects outside the repository, in the order the engine runs them.

    ``prepare``: after the user confirmed and before the plan is made for writing (the age key).
    ``cluster``: after the files are written and before the push (the cluster's sops Secret).
    """

    prepare: list[Action] = field(default_factory=list)
    cluster: list[Action] = field(default_factory=list)

    @property
    def all(self) -> list[Action]:
        return [*self.prepare, *self.cluster]

    def describe(self) -> list[str]:
        return [a.describe() for a in self.all]


def prerequisite_actions(
    layout: Layout,
    answers: Answers,
    *,
    cluster: bool = True,
    kubeconfig: str | os.PathLike[str] | None = None,
    context: str | None = None,
) -> PrerequisiteActions:
    """What the prerequisites step needs done outside the repository (nothing is done here)."""
    out = PrerequisiteActions()
    key = agekey.locate()
    if not key.exists and key.path is not None:
        from wizard.plan import read_managed

        text = read_managed(layout.root, CONFIG)
        edit = sops_edit(layout, answers, key, text)
        if edit.text is not None and PENDING_RECIPIENT in edit.text:  # .sops.yaml needs a recipient
            agekey.assert_outside_repo(key.path, layout.root)
            out.prepare.append(CreateAgeKey(key.path, layout.root))
    if layout.sops_secret:
        out.cluster.append(
            CreateClusterSecret(
                layout.sops_secret,
                layout.root,
                probe_path(layout, answers),
                enabled=cluster,
                kubeconfig=kubeconfig,
                context=context,
            )
        )
    return out


__all__ = [
    "PENDING_RECIPIENT",
    "CreateAgeKey",
    "CreateClusterSecret",
    "PrerequisiteActions",
    "PrerequisitesStep",
    "cluster_target",
    "ensure_no_pending",
    "kubectl_command",
    "plan_sops_config",
    "prerequisite_actions",
]
