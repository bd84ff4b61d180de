"""Push the wizard's commit: no prompts, a timeout, a rebase over unrelated upstream commits only.

:class:`PushMixin` is half of :class:`wizard.gitops.GitOps` (the other half stages and commits).
Network git commands run with git's prompts off (``GIT_TERMINAL_PROMPT=0``, ssh ``BatchMode``)
and are killed after :data:`NETWORK_TIMEOUT` seconds (``EDGE_WIZARD_GIT_TIMEOUT``), so a credential
helper waiting for a window nobody sees ends in a message naming it instead of a hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from git import GitCommandError, RemoteProgress

from wizard.errors import StepFailed
from wizard.events import Event, Info, Pushed, PushProgress
from wizard.gitops.gitout import classify, error_text, last_line, names, summary

if TYPE_CHECKING:
    from git import Repo

    from wizard.gitops.ops import GitTarget

DEFAULT_NETWORK_TIMEOUT = 120.0

_OPS = [
    (RemoteProgress.COUNTING, "counting"),
    (RemoteProgress.COMPRESSING, "compressing"),
    (RemoteProgress.WRITING, "writing"),
    (RemoteProgress.RECEIVING, "receiving"),
    (RemoteProgress.RESOLVING, "resolving"),
    (RemoteProgress.FINDING_SOURCES, "finding sources"),
    (RemoteProgress.CHECKING_OUT, "checking out"),
]


def network_timeout() -> float:
    try:
        value = float(os.environ.get("EDGE_WIZARD_GIT_TIMEOUT") or DEFAULT_NETWORK_TIMEOUT)
    except ValueError:
        value = DEFAULT_NETWORK_TIMEOUT
    return value if value > 0 else DEFAULT_NETWORK_TIMEOUT


class _Progress(RemoteProgress):
    def __init__(self, emit: Callable[[Event], None], scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._emit = emit
        self._scrub = scrub

    def update(
        self, op_code: int, cur_count: str | float, max_count: str | float | None = None, message: str = ""
    ) -> None:
        op = op_code & RemoteProgress.OP_MASK
        stage = next((name for bit, name in _OPS if op & bit), "push")
        percent = None
        try:
            if max_count:
                percent = round(100.0 * float(cur_count) / float(max_count), 1)
        except (TypeError, ValueError, ZeroDivisionError):
            percent = None
        self._emit(PushProgress(stage=stage, percent=percent, message=self._scrub(message or "")))

    def all_lines(self) -> list[str]:
        return [*self.other_lines, *self.error_lines]


class PushMixin:
    """Needs from the class it is mixed into: repo, emit, target(), the helpers named below."""

    repo: Repo
    emit: Callable[[Event], None]

    if TYPE_CHECKING:

        def target(self) -> GitTarget: ...
        def _git(self, *args: str, **kwargs: Any) -> str: ...
        def _scrub(self, text: str) -> str: ...
        def _head_sha(self) -> str | None: ...
        def _local_branch(self) -> str | None: ...
        def _push_branch(self) -> str: ...
        def _no_prompt_env(self) -> dict[str, str]: ...
        def _status_all(self) -> list[tuple[str, str]]: ...

    def _tracking_ref(self) -> str:
        return f"refs/remotes/{self.target().remote}/{self._push_branch()}"

    def _rev(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", ref + "^{commit}").strip() or None
        except GitCommandError:
            return None

    def unpushed(self) -> bool:
        if self._local_branch() is None or self._head_sha() is None:
            return False
        tracking = self._rev(self._tracking_ref())
        if tracking is None:
            return True
        count = self._git("rev-list", "--count", f"{tracking}..HEAD").strip()
        return int(count or 0) > 0

    def unpushed_commits(self) -> list[tuple[str, str]]:
        """[(sha, subject)] of commits on HEAD that the push remote has on none of its branches."""
        if self._local_branch() is None or self._head_sha() is None:
            return []
        remote = self.target().remote
        if remote not in [r.name for r in self.repo.remotes]:
            return []
        out = self._git("log", "--format=%H%x00%s", "HEAD", "--not", f"--remotes={remote}")
        commits: list[tuple[str, str]] = []
        for line in out.splitlines():
            sha, _, subject = line.partition("\0")
            if sha:
                commits.append((sha, subject))
        return commits

    def push(self) -> str:
        t = self.target()
        branch = self._push_branch()
        head = self._head_sha()
        if head is None:
            raise StepFailed(f"There is nothing to push: branch '{branch}' has no commits yet.")
        if t.remote not in [r.name for r in self.repo.remotes]:
            raise StepFailed(
                f"Commit {head[:12]} is on '{branch}' but this repository has no remote named '{t.remote}', "
                "so the wizard cannot push it. The commit is kept.",
                hint="Add the remote (git remote add origin URL) and re-run `edge-wizard run` to push it.",
            )
        if not self.unpushed():
            self.emit(Info(message=f"Nothing to push: {t.remote}/{branch} already has {head[:12]}."))
            return head

        outcome, detail = self._push_once(t.remote, branch)
        if outcome == "rejected":
            self._integrate_upstream(t.remote, branch)
            outcome, detail = self._push_once(t.remote, branch)
            if outcome == "rejected":
                raise StepFailed(
                    self._scrub(
                        f"The push to {t.remote}/{branch} was rejected again: the remote moved while the wizard "
                        f"was updating. Your local commit {(self._head_sha() or '')[:12]} is kept."
                    ),
                    hint="Re-run `edge-wizard run` to retry the push.",
                )
        if outcome != "ok":
            raise self._push_error(outcome, detail, t, branch)

        sha = self._head_sha()
        assert sha is not None
        try:
            self._git("update-ref", f"refs/remotes/{t.remote}/{branch}", sha)
        except GitCommandError:
            pass
        self.emit(Pushed(sha=sha, remote=t.remote, branch=branch))
        return sha

    def _push_once(self, remote_name: str, branch: str) -> tuple[str, str]:
        """Push refs/heads/<branch>; returns (ok|rejected|remote-rejected|auth|unreachable|timeout|failed, detail)."""
        progress = _Progress(self.emit, self._scrub)
        remote = self.repo.remote(remote_name)
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        try:
            with self.repo.git.custom_environment(**self._no_prompt_env()):
                infos = remote.push(refspec=refspec, progress=progress, kill_after_timeout=network_timeout())
        except GitCommandError as exc:
            text = "\n".join([*progress.all_lines(), error_text(exc)])
            return classify(text), text
        text = "\n".join(progress.all_lines())
        if not infos:
            err = infos.error
            if err is not None:
                text += "\n" + error_text(err)
            return classify(text), text
        for info in infos:
            if info.flags & info.REJECTED:
                return "rejected", info.summary
            if info.flags & (info.REMOTE_REJECTED | info.REMOTE_FAILURE | info.ERROR):
                return "remote-rejected", info.summary.strip()
        if infos.error is not None:
            return classify(text + "\n" + error_text(infos.error)), text
        return "ok", ""

    def _credential_helpers(self, url: str | None) -> list[str]:
        args = (
            ["config", "--get-urlmatch", "credential.helper", url]
            if url
            else ["config", "--get-all", "credential.helper"]
        )
        try:
            out = self._git(*args)
        except GitCommandError:
            return []
        return [h.strip() for h in out.splitlines() if h.strip()]

    def _push_error(self, outcome: str, detail: str, t: GitTarget, branch: str) -> StepFailed:
        head = (self._head_sha() or "")[:12]
        where = f"{t.remote} ({t.remote_url})" if t.remote_url else t.remote
        said = summary(self._scrub(detail))
        kept = f"Your commit {head} is kept locally on '{branch}'."
        retry = "re-run `edge-wizard run` to push what is committed."
        if outcome == "auth":
            msg = f"Pushing to {where} failed: the server refused the credentials (not authorised to push). {kept}"
            hint = f"Fix the git credentials for that remote (credential helper, SSH key or token with write access), then {retry}"
        elif outcome == "unreachable":
            msg = f"Pushing to {where} failed: the remote could not be reached. {kept}"
            hint = f"Check the network and the remote URL (git remote -v), then {retry}"
        elif outcome == "remote-rejected":
            msg = f"The remote {where} refused the update to '{branch}' (for example a protected branch or a server hook). {kept}"
            hint = f"Allow the push or push through a pull request, then {retry}"
        elif outcome == "timeout":
            urls = self._git("remote", "get-url", "--push", t.remote).strip() if t.remote else ""
            helpers = self._credential_helpers(urls or None)
            who = (
                f" The credential helper ({', '.join(helpers)}) is the usual cause: it may be waiting for a password "
                "or a login window nobody can see here."
                if helpers
                else " A credential helper or an ssh key passphrase waiting for input is the usual cause."
            )
            msg = f"Pushing to {where} did not finish within {network_timeout():g} s and was stopped.{who} {kept}"
            hint = (
                f"Check that `git push {t.remote} {branch}` works without asking anything in this terminal "
                f"(git credential-cache, a token in the helper, an unlocked ssh agent), then {retry}"
            )
            said = ""
        else:
            msg = f"Pushing to {where} failed. {kept}"
            hint = f"Fix the cause, then {retry}"
        if said:
            msg += f" git said: {said}" + ("" if said.endswith((".", "!")) else ".")
        return StepFailed(self._scrub(msg), hint=self._scrub(hint))

    def _integrate_upstream(self, remote_name: str, branch: str) -> None:
        """Non-fast-forward: fetch, rebase our commits when they touch no upstream-changed path."""
        head = self._head_sha()
        assert head is not None
        tracking = f"refs/remotes/{remote_name}/{branch}"
        self.emit(Info(message=f"{remote_name}/{branch} has new commits; fetching them."))
        try:
            with self.repo.git.custom_environment(**self._no_prompt_env()):
                self._git(
                    "fetch",
                    "--no-tags",
                    "--quiet",
                    remote_name,
                    f"+refs/heads/{branch}:{tracking}",
                    kill_after_timeout=network_timeout(),
                )
        except GitCommandError as exc:
            text = error_text(exc)
            raise self._push_error(classify(text), text, self.target(), branch) from exc
        upstream = self._rev(tracking)
        assert upstream is not None
        try:
            base = self._git("merge-base", "HEAD", upstream).strip()
        except GitCommandError:
            base = ""
        kept = f"Your local commit {head[:12]} is kept."
        if not base:
            raise StepFailed(
                f"The push to {remote_name}/{branch} was rejected and the remote branch shares no history with "
                f"your local '{branch}', so the wizard will not combine them. {kept}",
                hint=f"Reconcile the branches by hand (git pull --rebase {remote_name} {branch}), then re-run `edge-wizard run`.",
            )
        ours = names(
            self._git("diff", "--name-only", "--no-renames", "-z", base, "HEAD", strip_newline_in_stdout=False)
        )
        theirs = names(
            self._git("diff", "--name-only", "--no-renames", "-z", base, upstream, strip_newline_in_stdout=False)
        )
        overlap = sorted(set(ours) & set(theirs))
        if overlap:
            raise StepFailed(
                f"The push to {remote_name}/{branch} was rejected because the remote has new commits that change "
                f"the same files as your unpushed commit: {', '.join(overlap)}. The wizard does not merge "
                f"conflicting edits. {kept} Nothing was pushed.",
                hint=f"Run `git pull --rebase {remote_name} {branch}`, resolve the conflict, then re-run `edge-wizard run` to push.",
            )
        # Local uncommitted/untracked files that the upstream changes would overwrite.
        local_dirty = {p for p, _ in self._status_all()}
        clash = sorted(local_dirty & set(theirs))
        if clash:
            raise StepFailed(
                f"The push to {remote_name}/{branch} was rejected because the remote has new commits, and they "
                f"change files you have uncommitted edits to: {', '.join(clash)}. The wizard will not touch "
                f"your edits. {kept}",
                hint=f"Commit or stash those edits, run `git pull --rebase {remote_name} {branch}`, then re-run `edge-wizard run`.",
            )
        try:
            with self.repo.git.custom_environment(GIT_EDITOR="true", GIT_SEQUENCE_EDITOR="true"):
                self.repo.git.rebase("--autostash", "--no-verify", upstream)
        except GitCommandError as exc:
            try:
                self.repo.git.rebase("--abort")
            except GitCommandError:
                pass
            raise StepFailed(
                self._scrub(
                    f"The remote {remote_name}/{branch} has new commits and rebasing your commit onto them failed "
                    f"({last_line(exc)}). The rebase was undone. {kept}"
                ),
                hint=f"Run `git pull --rebase {remote_name} {branch}` by hand, then re-run `edge-wizard run`.",
            ) from exc
        self.emit(
            Info(
                message=f"Rebased your commit onto the new commits from {remote_name}/{branch} (they change other files)."
            )
        )
