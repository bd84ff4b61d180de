"""Actions outside the repository, announced before the confirmation and run by the engine.

``prepare`` (after the user confirmed, before the plan is made for writing): create the missing
age key. ``cluster`` (after the files are written, before the push): create the cluster's sops
decryption Secret through the run's one :class:`wizard.kube.KubeConnector`, after naming the
cluster and context; an existing Secret is never overwritten. Without a cluster (``--no-cluster``
or no kubeconfig) the kubectl command to run instead is printed.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from wizard import agekey, redact, sops
from wizard.errors import StepFailed, UserError
from wizard.events import Event, Hint, Info, Warning
from wizard.plan import Plan
from wizard.sops.provision import decryption_secret
from wizard.sopsconfig import CONFIG, PENDING_RECIPIENT

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.kube import KubeConnector
    from wizard.repo import Layout

SECRET_NAMESPACE = "flux-system"
SECRET_KEY = "age.agekey"  # Flux reads every data key ending in .agekey


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
    kube: KubeConnector | None = None
    # the repository file that declares this Secret (sops-encrypted): the repository provisions it,
    # so edge-wizard never creates it nor tells you to create it, and says where it comes from
    provisioned_in: str | None = None
    # the repository's sops-encrypted files: they need the key an existing Secret holds
    others: str = ""

    def _target(self) -> tuple[str | None, str | None]:
        """(where, problem): the cluster the Secret would go to, or why there is none."""
        if self.kube is None:
            return None, "no kubeconfig was found (KUBECONFIG, ~/.kube/config)"
        try:
            cluster = self.kube.resolve()
        except UserError as exc:
            return None, exc.message
        if cluster is None:
            return None, "no kubeconfig was found (KUBECONFIG, ~/.kube/config)"
        return cluster.describe(), None

    def _context(self) -> str | None:
        if self.kube is None:
            return None
        try:
            c = self.kube.resolve()
        except UserError:
            c = None
        return c.context if c is not None else self.kube.wanted_context

    def _provisioned(self, why: str) -> str:
        """Where the Secret comes from, when the repository provisions it (no command that creates it
        from a local key; the one printed fails rather than replaces an existing Secret)."""
        assert self.provisioned_in is not None
        context = self._context()
        ctx = f"--context {shlex.quote(context)} " if context else ""
        where = shlex.quote(self.provisioned_in)
        looked = f"edge-wizard did not look in the cluster ({why})" if why else "it is not in the cluster"
        return (
            f"The cluster's decryption key Secret {SECRET_NAMESPACE}/{self.secret_name} comes from {self.provisioned_in} "
            f"in this repository (your bootstrap applies it); edge-wizard never creates or replaces it. {looked}. If the "
            "cluster does not have it, apply that file as your bootstrap does; this command fails rather than replace "
            f"an existing Secret:\n  sops --decrypt {where} | kubectl {ctx}create -f -"
        )

    def _keep(self) -> str:
        """Why an existing Secret must stay as it is."""
        if not self.others:
            return ""
        return (
            f" If it exists, keep it: the repository's {self.others} are encrypted for the key it holds (kubectl "
            "create fails rather than replace it)."
        )

    def _hint(self, key: agekey.AgeKey, why: str) -> str:
        """The kubectl command to run instead, with what edge-wizard did not check (``why``)."""
        if self.provisioned_in is not None:
            return self._provisioned(why)
        context = self._context()
        ctx = f"--context {shlex.quote(context)} " if context else ""
        looked = (
            (
                f"edge-wizard did not look in the cluster ({why}). See whether it is there with "
                f"`kubectl {ctx}-n {SECRET_NAMESPACE} get secret {shlex.quote(self.secret_name)}`; if it is not"
            )
            if why
            else "it is not in the cluster (edge-wizard looked) and could not be created from here, so"
        )
        if key.path is not None and not key.exists:
            # never a command pointing at a file that is not there
            return (
                f"The cluster needs its decryption key Secret {SECRET_NAMESPACE}/{self.secret_name}; {looked}, create it "
                f"from the private key of a recipient of the {CONFIG} rule for {self.probe}. There is no age key at "
                f"{key.path} ({key.describe()}), so edge-wizard cannot name the file: put that key's path in place of "
                f"KEYFILE.{self._keep()}\n  kubectl {ctx}-n {SECRET_NAMESPACE} create secret generic "
                f"{shlex.quote(self.secret_name)} --from-file={SECRET_KEY}=KEYFILE"
            )
        cmd = kubectl_command(self.secret_name, key, context)
        extra = ""
        if key.path is not None and len(key.recipients) > 1:
            extra = (
                f" ({key.path} holds {len(key.recipients)} keys; that command puts all of them in the Secret, "
                "so a file with only the repository's key is better)"
            )
        return (
            f"The cluster needs its decryption key Secret {SECRET_NAMESPACE}/{self.secret_name}; {looked}, "
            f"create it{extra}.{self._keep()}\n  {cmd}"
        )

    def describe(self) -> str:
        what = (
            f"Secret {SECRET_NAMESPACE}/{self.secret_name} (age identity under data key {SECRET_KEY}), unless it exists"
        )
        if self.provisioned_in is not None:
            what = (
                f"Secret {SECRET_NAMESPACE}/{self.secret_name} (it comes from {self.provisioned_in} in the repository)"
            )
            if not self.enabled:
                return f"say where {what} comes from; never create or replace it (--no-cluster)"
            where, problem = self._target()
            if problem:
                return f"say where {what} comes from; never create or replace it ({problem})"
            return f"check that {what} is in {where}; never create or replace it"
        if not self.enabled:
            return f"print the kubectl command that creates {what} (--no-cluster)"
        where, problem = self._target()
        if problem:
            return f"print the kubectl command that creates {what} ({problem})"
        return f"create {what} in {where}"

    def apply(self, emit: Emit) -> None:
        key = agekey.locate()
        where_cluster, problem = self._target()
        if not self.enabled or problem or self.kube is None:
            why = "--no-cluster" if not self.enabled else (problem or "no kubeconfig")
            emit(Hint(self._hint(key, why)))  # no kubeconfig: nothing was going to be followed anyway
            return
        try:
            client = self.kube.sync_client()
        except Exception as exc:
            emit(Warning(f"Could not connect to {where_cluster}: {_short(exc)}."))
            emit(Hint(self._hint(key, f"could not connect to {where_cluster}")))
            return
        from lightkube.core.exceptions import ApiError
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Secret

        where = f"{SECRET_NAMESPACE}/{self.secret_name} in {where_cluster}"
        try:
            current = client.get(Secret, self.secret_name, namespace=SECRET_NAMESPACE)
        except ApiError as exc:
            if exc.status.code != 404:
                emit(Warning(f"Could not read Secret {where}: {_short(exc)}."))
                emit(Hint(self._hint(key, f"could not read the Secret: {_short(exc)}")))
                return
            current = None
        except Exception as exc:
            emit(Warning(f"Could not reach {where_cluster}: {_short(exc)}."))
            emit(Hint(self._hint(key, f"could not reach {where_cluster}")))
            return
        if current is not None:
            keys = sorted((current.data or {}).keys())
            if any(k.endswith(".agekey") or k.endswith(".asc") for k in keys):
                try:
                    rule_age = sops.resolve(self.repo_root, self.probe).rule.age
                except UserError:
                    rule_age = []
                ok, message = secret_key_verdict(
                    dict(current.data or {}), rule_age, self.secret_name, where, self.probe
                )
                emit(Info(message) if ok else Warning(message))
            else:
                emit(
                    Warning(
                        f"Secret {where} exists but has no data key ending in .agekey ({', '.join(keys) or 'empty'}), "
                        "so Flux cannot decrypt age-encrypted files with it. edge-wizard never overwrites a Secret; "
                        f"add the age key to it by hand (kubectl -n {SECRET_NAMESPACE} edit secret {self.secret_name})."
                    )
                )
            return

        # missing: the repository's own Secret is applied by its bootstrap, never made from a local key
        if self.provisioned_in is not None:
            emit(Warning(f"Secret {where} is missing. " + self._provisioned("")))
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
            emit(Hint(self._hint(key, "")))
            return
        except Exception as exc:
            emit(Warning(f"Could not create Secret {where}: {_short(exc)}."))
            emit(Hint(self._hint(key, "")))
            return
        emit(Info(f"Created Secret {where}."))


def secret_key_verdict(
    data: dict[str, str], rule_age: list[str], secret_name: str, where: str, probe: str
) -> tuple[bool, str]:
    """Whether the cluster's decryption Secret (``data``: its base64 values) holds the private key of
    one of the ``.sops.yaml`` rule's age recipients, i.e. whether Flux can decrypt the repository's
    files. The key stays in memory; only its public keys are derived (``age-keygen -y`` on stdin)."""
    agekeys = sorted(k for k in data if k.endswith(".agekey"))
    others = sorted(k for k in data if k.endswith(".asc"))
    if not agekeys or not rule_age:
        what = f"keys {', '.join(sorted(data))}"
        return True, f"Secret {where} exists ({what}); kept as is (its PGP keys are not compared here)."
    found: list[str] = []
    for k in agekeys:
        try:
            text = base64.b64decode(data[k]).decode("utf-8")
        except Exception:
            continue
        redact.remember(text.strip())
        try:
            found += agekey.recipients_of_text(text)
        except (UserError, StepFailed):
            continue
        finally:
            del text
    match = [r for r in found if r in rule_age]
    if match:
        return (
            True,
            f"Secret {where} exists and holds the age key of {match[0]}, a recipient of the {CONFIG} rule; kept as is.",
        )
    extra = f" (and {', '.join(others)})" if others else ""
    return False, (
        f"Secret {where} exists, but its age key{'s' if len(found) != 1 else ''} ({', '.join(found) or 'unreadable'}) "
        f"{'are' if len(found) != 1 else 'is'} none of the {CONFIG} rule's recipients for {probe} "
        f"({', '.join(rule_age)}){extra}, so Flux cannot decrypt what this repository encrypts (kustomize-controller "
        "reports 'failed to decrypt'). edge-wizard never overwrites a Secret: add the private key of one of those "
        f"recipients to it (kubectl -n {SECRET_NAMESPACE} edit secret {secret_name}), or add the "
        f"Secret's public key to the rule in {CONFIG} and re-encrypt (sops updatekeys FILE)."
    )


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
    kube: KubeConnector | None = None,
) -> PrerequisiteActions:
    """What the prerequisites step needs done outside the repository (nothing is done here)."""
    from wizard.plan import read_managed
    from wizard.steps.prerequisites import sops_edit, token_path

    out = PrerequisiteActions()
    key = agekey.locate()
    text = read_managed(layout.root, CONFIG)
    if not key.exists and key.path is not None:
        edit = sops_edit(layout, answers, key, text)
        if edit.text is not None and PENDING_RECIPIENT in edit.text:  # .sops.yaml needs a recipient
            agekey.assert_outside_repo(key.path, layout.root)
            out.prepare.append(CreateAgeKey(key.path, layout.root))
    found = decryption_secret(layout, answers)
    if found is not None:
        out.cluster.append(
            CreateClusterSecret(
                found.name,
                layout.root,
                token_path(layout, answers, text),
                enabled=cluster,
                kube=kube,
                provisioned_in=found.provisioned_in,
                others=found.others_text() if found.others else "",
            )
        )
    return out


__all__ = [
    "SECRET_KEY",
    "SECRET_NAMESPACE",
    "CreateAgeKey",
    "CreateClusterSecret",
    "PrerequisiteActions",
    "ensure_no_pending",
    "kubectl_command",
    "prerequisite_actions",
    "secret_key_verdict",
]
