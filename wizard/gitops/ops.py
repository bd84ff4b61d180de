"""GitOps: stage exactly the run's files, commit through a private index, push."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import git
from git import GitCommandError, RemoteProgress, Repo

from wizard.errors import StepFailed, UserError
from wizard.events import Committed, Event, Info, Pushed, PushProgress, Warning
from wizard.gitops.guard import _secret_needles, _secret_problem
from wizard.gitops.urls import normalize_url, redact_url

_EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_EMPTY_TREE_SHA256 = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------

_OPS = [
    (RemoteProgress.COUNTING, "counting"),
    (RemoteProgress.COMPRESSING, "compressing"),
    (RemoteProgress.WRITING, "writing"),
    (RemoteProgress.RECEIVING, "receiving"),
    (RemoteProgress.RESOLVING, "resolving"),
    (RemoteProgress.FINDING_SOURCES, "finding sources"),
    (RemoteProgress.CHECKING_OUT, "checking out"),
]


class _Progress(RemoteProgress):
    def __init__(self, emit: Callable[[Event], None], scrub: Callable[[str], str]) -> None:
        super().__init__()
        self._emit = emit
        self._scrub = scrub

    def update(self, op_code: int, cur_count, max_count=None, message: str = "") -> None:  # type: ignore[override]
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


# --------------------------------------------------------------------------------------------
# GitOps
# --------------------------------------------------------------------------------------------


@dataclass
class GitTarget:
    branch: str  # the branch Flux tracks (or the current one when unknown)
    remote: str  # remote name we push to
    remote_url: str | None  # its URL, credentials redacted
    warnings: list[str] = field(default_factory=list)
    local_branch: str | None = None  # the checked-out branch (None when HEAD is detached)


class GitOps:
    def __init__(
        self,
        repo_root: Path,
        *,
        flux_branch: str | None = None,
        flux_url: str | None = None,
        emit: Callable[[Event], None] = lambda e: None,
    ) -> None:
        self.root = Path(repo_root).resolve()
        try:
            self.repo = Repo(self.root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise UserError(
                f"{self.root} is not inside a git repository, so the wizard cannot commit or push what it writes.",
                hint="Run the wizard from a clone of your Flux repository (git clone URL).",
            ) from exc
        if self.repo.bare or not self.repo.working_tree_dir:
            raise UserError(f"{self.root} is a bare repository; run the wizard in a clone with a working tree.")
        self.top = Path(self.repo.working_tree_dir).resolve()
        self.flux_branch = flux_branch
        self.flux_url = flux_url
        self.emit = emit
        self._secrets: list[str] = []
        self._target: GitTarget | None = None
        # Pathspecs are file names, never globs; no pager, no prompts.
        self.repo.git.update_environment(GIT_LITERAL_PATHSPECS="1", GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat")

    # ---------------------------------------------------------------- helpers
    def _scrub(self, text: str) -> str:
        text = redact_url(text)
        for secret in self._secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _git(self, *args: str, **kwargs) -> str:
        return self.repo.git.execute(["git", *args], **kwargs)  # type: ignore[return-value]

    def _rel(self, path: str | os.PathLike[str]) -> str:
        p = Path(path)
        absolute = p if p.is_absolute() else self.root / p
        absolute = Path(os.path.normpath(absolute))
        try:
            rel = absolute.relative_to(self.top)
        except ValueError as exc:
            raise UserError(
                f"{path} is outside the repository at {self.top}; the wizard only commits files inside it."
            ) from exc
        return PurePosixPath(*rel.parts).as_posix()

    def _rels(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        out: list[str] = []
        for p in paths:
            r = self._rel(p)
            if r not in out and r not in ("", "."):
                out.append(r)
        return out

    def _head_sha(self) -> str | None:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:
            return None  # unborn branch

    def _local_branch(self) -> str | None:
        if self.repo.head.is_detached:
            return None
        return self.repo.head.reference.name if hasattr(self.repo.head, "reference") else None

    def _require_branch(self) -> str:
        branch = self._local_branch()
        if branch is None:
            raise UserError(
                "HEAD is detached (no branch is checked out), so a commit would not land on any branch Flux can see.",
                hint=f"Check out the branch Flux tracks (git switch {self.target().branch}) and re-run `edge-wizard run`.",
            )
        return branch

    def _empty_tree(self) -> str:
        head = self._head_sha()
        return _EMPTY_TREE_SHA256 if head and len(head) == 64 else _EMPTY_TREE_SHA1

    def _no_prompt_env(self) -> dict[str, str]:
        env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
        if not os.environ.get("GIT_SSH_COMMAND") and not os.environ.get("GIT_SSH"):
            try:
                configured = self.repo.config_reader().get_value("core", "sshCommand", default="")
            except Exception:
                configured = ""
            if not configured:
                env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
        return env

    # ---------------------------------------------------------------- 1. target
    def target(self) -> GitTarget:
        if self._target is not None:
            return self._target
        warnings: list[str] = []
        local = self._local_branch()
        branch = self.flux_branch or local or "main"

        remotes = list(self.repo.remotes)
        chosen = None
        if self.flux_url:
            want = normalize_url(self.flux_url)
            for remote in remotes:
                urls = self._remote_urls(remote.name)
                if any(normalize_url(u) == want for u in urls):
                    chosen = remote.name
                    break
        if chosen is None:
            names = [r.name for r in remotes]
            chosen = "origin" if "origin" in names or not names else names[0]
            if not names:
                warnings.append(
                    "This repository has no git remote, so the wizard can commit but not push. "
                    "Add one with `git remote add origin URL` and re-run `edge-wizard run`."
                )
            elif self.flux_url:
                warnings.append(
                    f"No git remote points at the URL Flux pulls from ({redact_url(self.flux_url)}); "
                    f"the wizard will push to '{chosen}'. If that is not the repository Flux watches, "
                    "the cluster will not see the change."
                )
        urls = self._remote_urls(chosen)
        remote_url = redact_url(urls[0]) if urls else None

        if local is None:
            warnings.append(
                f"HEAD is detached; Flux tracks '{branch}'. Check out that branch (git switch {branch}) "
                "before running the wizard."
            )
        elif local != branch:
            warnings.append(
                f"You are on branch '{local}' but Flux tracks '{branch}'. The wizard commits on '{local}' "
                f"and pushes it to '{chosen}/{local}'; Flux applies the change only after it is merged "
                f"into '{branch}'. Switch with `git switch {branch}` to apply it directly."
            )
        self._target = GitTarget(
            branch=branch, remote=chosen, remote_url=remote_url, warnings=warnings, local_branch=local
        )
        for w in warnings:
            self.emit(Warning(message=w, step="git"))
        return self._target

    def _remote_urls(self, name: str) -> list[str]:
        urls: list[str] = []
        for key in ("url", "pushurl"):
            try:
                out = self._git("config", "--get-all", f"remote.{name}.{key}")
            except GitCommandError:
                continue
            urls.extend(u for u in out.splitlines() if u.strip())
        return urls

    def _push_branch(self) -> str:
        return self._require_branch()

    # ---------------------------------------------------------------- 2. clean check
    def dirty_paths(self, paths: Sequence[str | os.PathLike[str]]) -> list[tuple[str, str]]:
        """Managed paths with uncommitted changes: [(path, how)]. Missing untracked paths are fine."""
        rels = self._rels(paths)
        if not rels:
            return []
        out = self._git(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--",
            *rels,
            strip_newline_in_stdout=False,
        )
        entries = out.split("\0")
        found: list[tuple[str, str]] = []
        wanted = set(rels)
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            xy, path = entry[:2], entry[3:]
            if xy[0] in "RC":
                i += 1  # skip the original path
            if path not in wanted:
                continue
            if xy == "??":
                how = "untracked, not written by the wizard"
            elif xy[0] not in " ?" and xy[1] not in " ?":
                how = "staged and modified"
            elif xy[0] not in " ?":
                how = "staged"
            else:
                how = "deleted" if xy[1] == "D" else "modified"
            found.append((path, how))
        return found

    def check_clean(self, paths: list[str]) -> None:
        self._require_branch()  # a detached HEAD is caught before anything is written
        dirty = self.dirty_paths(paths)
        if not dirty:
            return
        listing = "; ".join(f"{p} ({how})" for p, how in dirty)
        names = " ".join(p for p, _ in dirty)
        raise UserError(
            self._scrub(
                f"These files the wizard manages have uncommitted changes it did not make: {listing}. "
                "The wizard would overwrite them and commit your edits under its name, so it stopped "
                "before writing anything."
            ),
            hint=(
                f"Commit them (git add {names} && git commit), stash them (git stash push --include-untracked -- {names}) "
                "or discard them, then re-run `edge-wizard run`."
            ),
        )

    # ---------------------------------------------------------------- 3-4. commit
    def commit(self, paths: list[str], steps: list[str], *, secret_values: Sequence[str] = ()) -> str | None:
        for s in secret_values:
            if s and s not in self._secrets:
                self._secrets.append(s)
        rels = self._rels(paths)
        self._require_branch()
        if not rels:
            return None
        head = self._head_sha()

        fd, index_path = tempfile.mkstemp(prefix="edge-wizard-index.", dir=self.repo.git_dir)
        os.close(fd)
        os.unlink(index_path)  # git creates it; an empty file is not a valid index
        env = {"GIT_INDEX_FILE": index_path}
        try:
            with self.repo.git.custom_environment(**env):
                if head:
                    self._git("read-tree", head)
                else:
                    self._git("read-tree", "--empty")
                present = [r for r in rels if os.path.lexists(self.top / r)]
                absent = [r for r in rels if r not in present]
                if present:
                    try:
                        self._git("add", "--", *present)
                    except GitCommandError as exc:
                        raise StepFailed(
                            self._scrub(
                                "git refused to stage the files the wizard wrote "
                                f"({', '.join(present)}): {_last_line(exc)}. Nothing was committed; the files are on disk."
                            ),
                            hint="If they are listed in .gitignore, remove that rule, then re-run `edge-wizard run`.",
                        ) from exc
                if absent:
                    self._git("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *absent)

                base = head or self._empty_tree()
                status = self._git(
                    "diff",
                    "--cached",
                    "--no-renames",
                    "--name-status",
                    "-z",
                    base,
                    "--",
                    strip_newline_in_stdout=False,
                )
                changes = _parse_name_status(status)
                if not changes:
                    self.emit(Info(message="Nothing to commit: the repository already has these files as written."))
                    return None

                self._leak_guard(rels)

                tree = self._git("write-tree").strip()
                subject = "edge-wizard: " + (", ".join(steps) if steps else "update")
                body = "Files:\n" + "\n".join(f"- {p} ({_STATUS_WORD.get(s, s)})" for s, p in changes)
                args = ["commit-tree", tree]
                if head:
                    args += ["-p", head]
                try:
                    sha = self._git(*args, "-m", subject, "-m", body).strip()
                except GitCommandError as exc:
                    err = _error_text(exc)
                    if "tell me who you are" in err.lower() or "empty ident" in err.lower():
                        raise UserError(
                            "git does not know who you are, so it cannot author the commit.",
                            hint='Set it with `git config user.name "Your Name"` and `git config user.email you@example.com`, then re-run `edge-wizard run`.',
                        ) from exc
                    raise StepFailed(self._scrub(f"git could not create the commit: {_last_line(exc)}.")) from exc
        finally:
            for p in (index_path, index_path + ".lock"):
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass

        old = head or "0" * len(sha)
        try:
            self._git("update-ref", "-m", f"commit: {subject}", "HEAD", sha, old)
        except GitCommandError as exc:
            raise StepFailed(
                self._scrub(
                    f"The branch moved while the wizard was committing ({_last_line(exc)}); nothing was committed."
                ),
                hint="Re-run `edge-wizard run`.",
            ) from exc
        # Bring the real index in line for our paths only; other staged work stays staged.
        try:
            self._git("reset", "--quiet", "--", *rels)
        except GitCommandError:
            pass
        files = tuple(p for _, p in changes)
        self.emit(Committed(sha=sha, subject=subject, files=files))
        return sha

    def _leak_guard(self, rels: list[str]) -> None:
        """Runs with GIT_INDEX_FILE pointing at the private index."""
        listing = self._git("ls-files", "-s", "-z", "--", *rels, strip_newline_in_stdout=False)
        needles = _secret_needles(self._secrets)
        problems: list[str] = []
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, sha, _stage = meta.split()
            if mode == "160000":
                continue  # submodule
            data = self.repo.git.cat_file("blob", sha, stdout_as_string=False)
            if any(n in data for n in needles):
                problems.append(f"{path} contains a secret value in plain text or base64")
                continue
            why = _secret_problem(path, data)
            if why:
                problems.append(f"{path} {why}")
        if problems:
            raise StepFailed(
                "Refusing to commit: " + "; ".join(problems) + ". A plaintext secret in git is readable by "
                "anyone who can read the repository, forever. Nothing was committed; the files are still on disk.",
                hint="Encrypt the file with sops (sops --encrypt --in-place FILE, using the repository's .sops.yaml) "
                "or remove the value, then re-run `edge-wizard run`.",
            )

    # ---------------------------------------------------------------- 5. push
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
                        f"was updating. Your local commit {self._head_sha()[:12]} is kept."  # type: ignore[index]
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
        """Push refs/heads/<branch>; returns (ok|rejected|remote-rejected|auth|unreachable|failed, detail)."""
        progress = _Progress(self.emit, self._scrub)
        remote = self.repo.remote(remote_name)
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        try:
            with self.repo.git.custom_environment(**self._no_prompt_env()):
                infos = remote.push(refspec=refspec, progress=progress)
        except GitCommandError as exc:
            text = "\n".join([*progress.all_lines(), _error_text(exc)])
            return _classify(text), text
        text = "\n".join(progress.all_lines())
        if not infos:
            err = infos.error
            if err is not None:
                text += "\n" + _error_text(err)  # type: ignore[arg-type]
            return _classify(text), text
        for info in infos:
            if info.flags & info.REJECTED:
                return "rejected", info.summary
            if info.flags & (info.REMOTE_REJECTED | info.REMOTE_FAILURE | info.ERROR):
                return "remote-rejected", info.summary.strip()
        if infos.error is not None:
            return _classify(text + "\n" + _error_text(infos.error)), text  # type: ignore[arg-type]
        return "ok", ""

    def _push_error(self, outcome: str, detail: str, t: GitTarget, branch: str) -> StepFailed:
        head = (self._head_sha() or "")[:12]
        where = f"{t.remote} ({t.remote_url})" if t.remote_url else t.remote
        said = _summary(self._scrub(detail))
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
                self._git("fetch", "--no-tags", "--quiet", remote_name, f"+refs/heads/{branch}:{tracking}")
        except GitCommandError as exc:
            text = _error_text(exc)
            raise self._push_error(_classify(text), text, self.target(), branch) from exc
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
        ours = _names(
            self._git("diff", "--name-only", "--no-renames", "-z", base, "HEAD", strip_newline_in_stdout=False)
        )
        theirs = _names(
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
                    f"({_last_line(exc)}). The rebase was undone. {kept}"
                ),
                hint=f"Run `git pull --rebase {remote_name} {branch}` by hand, then re-run `edge-wizard run`.",
            ) from exc
        self.emit(
            Info(
                message=f"Rebased your commit onto the new commits from {remote_name}/{branch} (they change other files)."
            )
        )

    def _status_all(self) -> list[tuple[str, str]]:
        out = self._git(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", strip_newline_in_stdout=False
        )
        res: list[tuple[str, str]] = []
        for entry in out.split("\0"):
            if len(entry) >= 4:
                res.append((entry[3:], entry[:2]))
        return res


# --------------------------------------------------------------------------------------------
# small parsers
# --------------------------------------------------------------------------------------------

_STATUS_WORD = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed"}


def _parse_name_status(out: str) -> list[tuple[str, str]]:
    parts = [p for p in out.split("\0") if p != ""]
    res: list[tuple[str, str]] = []
    i = 0
    while i + 1 < len(parts):
        status, path = parts[i].strip(), parts[i + 1]
        res.append((status[:1], path))
        i += 2
    return res


def _names(out: str) -> list[str]:
    return [p for p in out.split("\0") if p]


def _error_text(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    text = (stderr or str(exc)).strip()
    # GitPython wraps it as "stderr: '<text>'".
    if text.startswith("stderr: '") and text.endswith("'"):
        text = text[len("stderr: '") : -1]
    return text.strip()


def _last_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in _error_text(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def _summary(text: str) -> str:
    lines = []
    for ln in text.splitlines():
        ln = ln.strip()
        if not ln or ln.lower().startswith(("stderr:", "cmdline:")):
            continue
        if ln.startswith(("fatal:", "error:", "remote:", "ERROR", "!")) or not lines:
            lines.append(ln)
    seen: list[str] = []
    for ln in lines:
        if ln not in seen:
            seen.append(ln)
    return " ".join(seen[-2:])


_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "returned error: 401",
    "returned error: 403",
    "permission denied",
    "access denied",
    "invalid username or password",
    "not authorized",
    "unauthorized",
    "forbidden",
    "write access",
)
_UNREACHABLE_MARKERS = (
    "could not resolve host",
    "could not resolve hostname",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "network is unreachable",
    "no route to host",
    "unable to access",
    "could not read from remote repository",
    "does not appear to be a git repository",
    "repository not found",
    "returned error: 404",
    "connection reset",
    "empty reply from server",
)
_REJECT_MARKERS = ("[rejected]", "non-fast-forward", "fetch first", "updates were rejected")


def _classify(text: str) -> str:
    low = text.lower()
    if any(m in low for m in _REJECT_MARKERS):
        return "rejected"
    if any(m in low for m in _AUTH_MARKERS):
        return "auth"
    if any(m in low for m in _UNREACHABLE_MARKERS):
        return "unreachable"
    return "failed"
