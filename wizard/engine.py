"""The engine: answers + repository -> plan -> write -> encrypt -> commit -> push.

UI-free, and called only by :mod:`wizard.flow` (which orders every stage around it): ``load``
reads the answers and discovers the layout, ``plan`` computes the file changes, ``run`` writes,
encrypts, commits and pushes them, yielding events. The flow makes one engine per run and passes
the answers of its session (``answers=``) when they differ from the loaded ones.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard import answers as answers_mod
from wizard import repo as repo_mod
from wizard import steps as steps_mod
from wizard.answers import Answers
from wizard.errors import NotApplicable, UserError
from wizard.events import Event, FileWritten, Info, PlanReady, SecretEncrypted, Warning
from wizard.plan import Plan, StepPlan, Workspace, check_writable, remove_all, write_all
from wizard.repo import Layout
from wizard.secrets import RefusingSecretWriter, SecretWriter
from wizard.steps import Context

if TYPE_CHECKING:
    from wizard.kube import KubeConnector


def default_secret_writer() -> SecretWriter:
    try:
        from wizard.sops import SopsSecretWriter
    except ImportError:  # pragma: no cover - sops support not installed
        return RefusingSecretWriter("this edge-wizard has no sops support.")
    return SopsSecretWriter()


@dataclass
class RunOptions:
    """What :meth:`Engine.run` does after writing (the flow decides; see wizard.flow.Options)."""

    commit: bool = True
    push: bool = True
    token: str | None = field(default=None, repr=False)
    replace_token: bool = False  # write the token even when the existing Secret cannot be compared
    cluster: bool = True  # False (--no-cluster): never write to the cluster, print the kubectl command instead
    kube: KubeConnector | None = None  # the run's one cluster connection (None: no kubeconfig)


class Engine:
    def __init__(
        self,
        repo: str | os.PathLike[str] | None = None,
        answers_file: str | None = None,
        overrides: dict[str, Any] | None = None,
        secret_writer: SecretWriter | None = None,
    ) -> None:
        self.repo_arg = repo
        self.answers_file = answers_file
        self.overrides = overrides or {}
        self._secret_writer = secret_writer
        self.layout: Layout | None = None
        self.answers: Answers | None = None
        self.pushed_sha: str | None = None
        self.split_flux_files = False  # --split-flux-files: each step's Flux Kustomization in its own file

    # -- loading ----------------------------------------------------------------------------
    def load(self) -> tuple[Layout, Answers]:
        """Read the answers (state file < answers file < overrides) and discover the layout."""
        raw_file = answers_mod.read_file(Path(self.answers_file)) if self.answers_file else {}
        root = repo_mod.find_root(self.repo_arg)
        from wizard.gitops.state import check_in_progress  # hardening: no plan on a half-rebased tree
        from wizard.lock import git_dir

        check_in_progress(git_dir(root))
        cluster = self.overrides.get("cluster") or raw_file.get("cluster")
        cluster = str(cluster) if cluster else None
        raw_state = answers_mod.read_state(root, cluster)
        answers = answers_mod.build(raw_state, raw_file, self.overrides)
        layout = repo_mod.discover(root, answers.paths, answers.sops_secret, cluster)
        self.layout, self.answers = layout, answers
        return layout, answers

    def prefill(self) -> dict[str, Any]:
        """Previous answers (state file, then answers file) without validation, for prompts."""
        try:
            root = repo_mod.find_root(self.repo_arg)
            cluster = self.overrides.get("cluster")
            if not cluster and self.answers_file:
                cluster = answers_mod.read_file(Path(self.answers_file)).get("cluster")
            data = answers_mod.read_state(root, str(cluster) if cluster else None)
        except UserError:
            data = {}
        if self.answers_file:
            data.update(answers_mod.read_file(Path(self.answers_file)))
        if not data.get("ingress_controller"):  # a repository with ingress-nginx keeps it unless switched
            from wizard import controllers

            try:
                layout = self.layout or repo_mod.discover(
                    self.repo_arg, data.get("paths"), None, str(cluster) if cluster else None
                )
            except UserError:
                layout = None
            found = controllers.installed(layout) if layout is not None else None
            if found is not None or layout is None or controllers.foreign(layout) is None:
                data["ingress_controller"] = (found or controllers.DEFAULT).name
        return data

    @property
    def secret_writer(self) -> SecretWriter:
        if self._secret_writer is None:
            self._secret_writer = default_secret_writer()
        return self._secret_writer

    # -- planning ---------------------------------------------------------------------------
    def _loaded(self, answers: Answers | None) -> tuple[Layout, Answers]:
        """The layout, and ``answers`` (default: the loaded ones); loaded first when they are not yet."""
        if self.layout is None or self.answers is None:
            self.load()
        assert self.layout is not None and self.answers is not None
        return self.layout, answers or self.answers

    def plan(
        self,
        step_names: list[str] | tuple[str, ...] | None = None,
        *,
        answers: Answers | None = None,
        skip: tuple[str, ...] = (),
    ) -> Plan:
        layout, answers = self._loaded(answers)
        named = bool(step_names)
        if not step_names:
            step_names = answers.steps or steps_mod.NAMES
        steps_mod.select(list(skip))  # unknown names: UserError
        selected = [s for s in steps_mod.select(step_names) if s.name not in skip]
        ws = Workspace(layout.root)
        ctx = Context(layout=layout, answers=answers, ws=ws, split_flux_files=self.split_flux_files)
        step_plans: list[StepPlan] = []
        for step in list(selected):
            try:
                step_plans.append(step.plan(ctx))
            except NotApplicable:
                if named:
                    raise
                selected.remove(step)  # nothing to do here (no host policy): left out of a run of all steps
        names = {s.name for s in selected}
        recorded = self._record(ws, answers, set(answers.steps or ()) | names, set(answers.removed or ()) - names)
        return Plan(steps=step_plans, changes=ws.changes(), recorded=recorded)

    def plan_removal(self, step_names: list[str] | tuple[str, ...], *, answers: Answers | None = None) -> Plan:
        """``run STEP --remove``: delete what the steps wrote; the state file records them as removed,
        so a later ``run`` without step names leaves them out (``run STEP`` adds them back)."""
        layout, answers = self._loaded(answers)
        selected = steps_mod.select(list(step_names))
        fixed = [s.name for s in selected if not s.removable]
        if fixed:
            removable = [s.name for s in steps_mod.ALL if s.removable]
            raise UserError(
                f"--remove removes a step's files so Flux prunes what it set up; {', '.join(fixed)} cannot be removed "
                f"this way (the rest of the edge depends on it). Removable: {', '.join(removable)}."
            )
        ws = Workspace(layout.root)
        ctx = Context(layout=layout, answers=answers, ws=ws, split_flux_files=self.split_flux_files)
        step_plans = [step.remove(ctx) for step in selected]
        names = {s.name for s in selected}
        was = set(answers.steps) if answers.steps else set(steps_mod.NAMES)
        recorded = self._record(ws, answers, was - names, set(answers.removed or ()) | names)
        return Plan(steps=step_plans, changes=ws.changes(), removing=True, recorded=recorded)

    def _record(
        self, ws: Workspace, answers: Answers, steps: set[str], removed: set[str]
    ) -> tuple[list[str], list[str]]:
        """The state file with the steps set up and removed (the controller in use too, so a re-run keeps it);
        (steps, removed) as recorded."""
        from wizard import controllers

        assert self.layout is not None
        state = dataclasses.replace(
            answers,
            steps=[n for n in steps_mod.NAMES if n in steps],
            removed=[n for n in steps_mod.NAMES if n in removed] or None,
            ingress_controller=(
                controllers.resolve(self.layout, answers).name
                if answers.ingress_controller or controllers.foreign(self.layout) is None
                else None  # another edge stack serves the cluster: nothing of edge-wizard's to keep
            ),
        )
        state_rel = answers_mod.STATE_FILE
        ws.write(state_rel, answers_mod.render_state(state, ws.read(state_rel), self.layout.cluster), "state")
        return list(state.steps or ()), list(state.removed or ())

    # -- running ----------------------------------------------------------------------------
    def run(self, plan: Plan, options: RunOptions, *, answers: Answers | None = None) -> Iterator[Event]:
        """Write the plan (made with ``answers``, default the loaded ones); later stages (commit,
        push, watch) follow in their own modules. ``pushed_sha`` is what this run pushed.

        Everything that can fail on input is checked before the first file is written. One run at
        a time per repository (wizard.lock); what a killed run left behind is cleaned up first.
        """
        assert self.layout is not None
        from wizard.lock import hold

        self.pushed_sha = None
        with hold(self.layout.root) as held:
            if held.stale_pid or held.cleaned:
                yield Info(held.describe())
            yield from self._run(plan, options, answers or self.answers)

    def _run(self, plan: Plan, options: RunOptions, answers: Answers | None) -> Iterator[Event]:
        assert self.layout is not None and answers is not None
        root = self.layout.root
        from wizard import redact

        redact.remember(options.token)
        yield PlanReady(
            steps=tuple(s.step for s in plan.steps),
            files=tuple(c.path for c in plan.pending),
            # only the Secrets this run writes: a kept Secret is not "a file to write"
            secrets=tuple(s.path for s in plan.secrets if options.token is not None or not s.exists),
        )
        for w in plan.warnings:
            yield Warning(w)
        buffer: list[Event] = []
        check_writable(root, [c.path for c in plan.pending] + [s.path for s in plan.secrets])

        # 0. prerequisites outside the repository. Calling run is the user's consent: create the age
        #    key now, then plan again so .sops.yaml carries its public key (never a placeholder).
        prereq = None
        if any(s.step == "prerequisites" for s in plan.steps):
            from wizard.outside import ensure_no_pending, prerequisite_actions

            prereq = prerequisite_actions(self.layout, answers, cluster=options.cluster, kube=options.kube)
            if prereq.prepare:
                try:
                    for action in prereq.prepare:
                        action.apply(buffer.append)
                finally:
                    yield from _drain(buffer)
                plan = self.plan([s.step for s in plan.steps], answers=answers)
            ensure_no_pending(plan)

        # 1. git: refuse before writing if a path we are about to change has someone else's edits
        git_ops = None
        if options.commit:
            from wizard.gitops import GitOps

            git_ops = GitOps(root, flux_branch=self.layout.git_branch, flux_url=self.layout.git_url, emit=buffer.append)
            git_ops.target()
            git_ops.preflight([c.path for c in plan.pending], push=options.push)
            yield from _drain(buffer)

        # 2. secrets: check the rules, decide, and encrypt in memory, before writing anything else.
        #    sops reads .sops.yaml from disk, so a new or repaired one is put in place first and
        #    restored if anything fails before the files are written.
        sops_change = next((c for c in plan.pending if c.path == ".sops.yaml"), None) if plan.secrets else None
        if sops_change is not None:
            write_all(root, [(sops_change.path, sops_change.new)])
        try:
            encrypted = yield from self._encrypt(plan, options, root, answers.dns_provider)
        except BaseException:
            if sops_change is not None:
                if sops_change.old is None:
                    (root / sops_change.path).unlink(missing_ok=True)
                else:
                    write_all(root, [(sops_change.path, sops_change.old)])
            raise
        if git_ops is not None and encrypted:
            git_ops.check_clean(list(encrypted))  # the Secret files we are about to replace

        # 3. write: all files as one transaction (a failure puts every file back as it was)
        write_all(root, [(c.path, c.new) for c in plan.pending if not c.deleted] + list(encrypted.items()))
        remove_all(root, [c.path for c in plan.pending if c.deleted])
        for change in plan.pending:
            yield FileWritten(change.path, removed=change.deleted)
        for path in encrypted:
            yield SecretEncrypted(path=path, changed=True)

        # 3b. the cluster's sops Secret (it reads the .sops.yaml just written), before the push so
        #     Flux can decrypt on its first try; says which cluster/context before it writes
        if prereq is not None:
            try:
                for action in prereq.cluster:
                    action.apply(buffer.append)
            finally:
                yield from _drain(buffer)

        # 4. commit exactly our files (also ones a --no-commit run left), then push
        if git_ops is None:
            return
        managed = [c.path for c in plan.changes] + [s.path for s in plan.secrets if (root / s.path).exists()]
        steps = [f"remove {s.step}" if plan.removing else s.step for s in plan.steps]
        try:
            git_ops.commit(managed, steps, secret_values=[options.token] if options.token else [])
        finally:
            yield from _drain(buffer)
        if options.push:
            try:
                sha = git_ops.push()
            finally:
                yield from _drain(buffer)
            self.pushed_sha = sha

    def git_pending(self, plan: Plan) -> tuple[list[str], bool]:
        """What a commit-and-push of ``plan`` would carry besides its new writes: managed files an
        earlier ``--no-commit`` run left uncommitted, and whether the branch has unpushed commits."""
        from wizard.gitops import GitOps

        assert self.layout is not None
        root = self.layout.root
        git_ops = GitOps(root, flux_branch=self.layout.git_branch, flux_url=self.layout.git_url)
        pending = {c.path for c in plan.pending}
        managed = [c.path for c in plan.changes if c.path not in pending]
        managed += [s.path for s in plan.secrets if (root / s.path).exists()]
        try:
            git_ops.target()
        except UserError:
            return [], False  # no git target: the run says so itself
        return sorted({p for p, _ in git_ops.dirty_paths(managed)}), git_ops.unpushed()

    def _encrypt(
        self, plan: Plan, options: RunOptions, root: Path, provider: str | None
    ) -> Generator[Event, None, dict[str, str]]:
        """Check the rules and encrypt every secret in memory; returns {path: encrypted text}."""
        encrypted: dict[str, str] = {}
        for secret in plan.secrets:
            token = options.token
            if token is None:
                yield Info(secret.kept_without_token())  # UserError when it cannot be kept
                continue
            from wizard.providers.tokens import validate_token

            token = validate_token(token, provider)
            self.secret_writer.check(root, secret)
            if secret.exists and not secret.needs_token:  # under another key: rewritten whatever it holds
                same = self.secret_writer.unchanged(root, secret, token)
                if same:
                    yield SecretEncrypted(path=secret.path, changed=False)
                    continue
                if same is None and not options.replace_token:
                    yield Warning(
                        f"{secret.path} exists and edge-wizard cannot decrypt it here (no local sops key: "
                        "SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt or a gpg key), so it "
                        "cannot tell whether the token changed. The file was kept; pass --replace-token to "
                        "write this token anyway."
                    )
                    continue
            encrypted[secret.path] = self.secret_writer.encrypt(root, secret, token)
        return encrypted


def _drain(buffer: list[Event]) -> Iterator[Event]:
    while buffer:
        yield buffer.pop(0)
