"""GitOps: stage exactly the run's files, commit through a private index, push (see push.py).

The real index is never left worse than before: the commit is built in a private index, and the
real one is updated for the wizard's paths only by writing the new index into ``.git/index.lock``
and renaming it over ``.git/index`` (as git itself commits), with a journal for a kill in between
(:mod:`wizard.gitops.state`). When another process holds ``index.lock`` the wizard does not commit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import git
from git import GitCommandError, Repo

from wizard import childenv, redact
from wizard.errors import StepFailed, UserError, WizardError
from wizard.events import Committed, Event, Info, Warning
from wizard.gitops import state
from wizard.gitops.gitout import STATUS_WORD, error_text, last_line, parse_name_status
from wizard.gitops.guard import _secret_needles, _secret_problem, private_key_problem
from wizard.gitops.push import PushMixin
from wizard.gitops.urls import normalize_url, redact_url

# GitPython logs "Error lines received while pushing" itself; the wizard reports push errors in its own words.
logging.getLogger("git").addHandler(logging.NullHandler())
logging.getLogger("git").propagate = False

_EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_EMPTY_TREE_SHA256 = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"


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


class GitOps(PushMixin):
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
        self.git_dir = Path(self.repo.git_dir)
        childenv.isolate()  # git and everything it starts inherit os.environ: no SOPS_AGE_KEY* in it
        # Pathspecs are file names, never globs; no pager, no prompts.
        self.repo.git.update_environment(GIT_LITERAL_PATHSPECS="1", GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat")

    # ---------------------------------------------------------------- helpers
    def _scrub(self, text: str) -> str:
        return redact.scrub(text, self._secrets)

    def _git(self, *args: str, **kwargs: Any) -> str:
        return str(self.repo.git.execute(["git", *args], **kwargs))

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
        env = dict(childenv.NO_PROMPT)
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

    # ---------------------------------------------------------------- 0. preflight
    def recover(self) -> None:
        """Repair what a killed run left (the index journal); call under the run lock."""

        def reset(paths: list[str]) -> None:
            self._git("reset", "--quiet", "--", *paths)

        state.recover(self.git_dir, self._head_sha(), reset, lambda m: self.emit(Warning(message=m, step="git")))

    def preflight(self, paths: Sequence[str | os.PathLike[str]], *, push: bool = True) -> None:
        """Everything that must hold before the first file is written (UserError, exit 2, otherwise):
        no rebase/merge in progress, a branch checked out, no one else holding git's index, the
        managed files free of foreign edits, and (when pushing) no unpushed commits of the user's."""
        state.check_in_progress(self.git_dir)
        self.recover()
        self._require_branch()
        self._check_index_lock(before_writing=True)
        self.check_clean([str(p) for p in paths])
        if push:
            t = self.target()
            state.refuse_foreign_unpushed(
                state.foreign_unpushed(self.unpushed_commits()), t.remote, self._push_branch()
            )

    def _check_index_lock(self, *, before_writing: bool) -> None:
        lock = self.git_dir / "index.lock"
        if not lock.exists():
            return
        done = (
            "It stopped before writing anything."
            if before_writing
            else "The files are written on disk but nothing was committed."
        )
        raise (UserError if before_writing else StepFailed)(
            "Another git process is using this repository's index right now (.git/index.lock exists: an editor's "
            "git integration, a running git command, or one that crashed). Committing now could leave git's index "
            f"inconsistent, so the wizard did not commit. {done}",
            hint="Wait for that git command to finish (or, if none is running, remove .git/index.lock), then re-run.",
        )

    # ---------------------------------------------------------------- 3-4. commit
    def commit(self, paths: list[str], steps: list[str], *, secret_values: Sequence[str] = ()) -> str | None:
        for s in secret_values:
            if s and s not in self._secrets:
                self._secrets.append(s)
                redact.remember(s)
        rels = self._rels(paths)
        self._require_branch()
        if not rels:
            return None
        try:
            return self._commit(rels, steps)
        except WizardError:
            raise
        except (GitCommandError, OSError) as exc:
            reason = last_line(exc) if isinstance(exc, GitCommandError) else (exc.strerror or type(exc).__name__)
            raise StepFailed(
                self._scrub(
                    f"git could not commit the wizard's files ({reason}). The files are written on disk; nothing "
                    "was committed and git's index is as it was."
                ),
                hint="Fix the cause (a read-only or full .git folder? df -h .; ls -ld .git), then re-run: the files "
                "are committed then.",
            ) from None

    def _take_index_lock(self) -> Path:
        lock = self.git_dir / "index.lock"
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            self._check_index_lock(before_writing=False)
            raise
        os.close(fd)
        return lock

    def _commit(self, rels: list[str], steps: list[str]) -> str | None:
        head = self._head_sha()
        lock = self._take_index_lock()
        journal = state.IndexJournal(self.git_dir)
        lock_held = True
        committed = False
        temps: list[str] = []
        try:
            journal.write(index_lock=True, paths=rels)
            fd, index_path = tempfile.mkstemp(prefix="edge-wizard-index.", dir=self.git_dir)
            os.close(fd)
            os.unlink(index_path)  # git creates it; an empty file is not a valid index
            temps += [index_path, index_path + ".lock"]
            built = self._build_commit(index_path, head, rels, steps)
            if built is None:
                return None
            sha, subject, changes = built
            next_index = self._next_real_index(sha, rels)
            temps += [next_index, next_index + ".lock"]
            journal.write(index_lock=True, paths=rels, sha=sha, head=head)
            old = head or "0" * len(sha)
            try:
                self._git("update-ref", "-m", f"commit: {subject}", "HEAD", sha, old)
            except GitCommandError as exc:
                raise StepFailed(
                    self._scrub(
                        f"The branch moved while the wizard was committing ({last_line(exc)}); nothing was committed."
                    ),
                    hint="Re-run `edge-wizard run`.",
                ) from exc
            committed = True
            # HEAD moved: now the real index, in one rename, while we still hold index.lock
            os.replace(next_index, self.git_dir / "index")
            journal.write(index_lock=True, paths=rels, sha=sha, head=head, index_done=True)
            os.unlink(lock)
            lock_held = False
            journal.clear()
        except OSError as exc:
            if committed:
                self._index_fallback(lock if lock_held else None, rels, journal, exc)
                lock_held = False
            else:
                raise
        finally:
            for t in temps:
                with contextlib.suppress(OSError):
                    os.unlink(t)
            if lock_held:
                with contextlib.suppress(OSError):
                    os.unlink(lock)
            if not committed:
                journal.clear()
        files = tuple(p for _, p in changes)
        self.emit(Committed(sha=sha, subject=subject, files=files))
        return sha

    def _index_fallback(self, lock: Path | None, rels: list[str], journal: state.IndexJournal, exc: OSError) -> None:
        """The commit landed but the new index could not be put in place: update it path by path."""
        if lock is not None:
            with contextlib.suppress(OSError):
                os.unlink(lock)
        try:
            self._git("reset", "--quiet", "--", *rels)
        except GitCommandError:
            raise StepFailed(
                f"The wizard committed its files, but git's index could not be updated ({exc.strerror}); until it is, "
                "`git status` shows them as staged for deletion and your next commit would delete them. The next "
                "`edge-wizard run` repairs it.",
                hint=f"Or repair it now: git reset -q -- {' '.join(rels[:5])}{' ...' if len(rels) > 5 else ''}",
            ) from None
        journal.clear()

    def _next_real_index(self, sha: str, rels: list[str]) -> str:
        """A copy of the real index with the wizard's paths as in commit ``sha`` (other staged work kept)."""
        fd, path = tempfile.mkstemp(prefix="edge-wizard-index.next.", dir=self.git_dir)
        os.close(fd)
        real = self.git_dir / "index"
        with self.repo.git.custom_environment(GIT_INDEX_FILE=path):
            if real.exists():
                shutil.copyfile(real, path)
                self._git("reset", "--quiet", sha, "--", *rels)
            else:
                os.unlink(path)
                self._git("read-tree", sha)
        return path

    def _build_commit(
        self, index_path: str, head: str | None, rels: list[str], steps: list[str]
    ) -> tuple[str, str, list[tuple[str, str]]] | None:
        """In the private index: HEAD + our paths, leak guard, commit object. None: nothing to commit."""
        with self.repo.git.custom_environment(GIT_INDEX_FILE=index_path):
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
                    full = error_text(exc).lower()
                    hint = (
                        "Free some disk space (df -h .), then re-run `edge-wizard run`: it commits the files then."
                        if "no space left" in full or "disk quota" in full
                        else "If they are listed in .gitignore, remove that rule, then re-run `edge-wizard run`."
                    )
                    raise StepFailed(
                        self._scrub(
                            "git refused to stage the files the wizard wrote "
                            f"({', '.join(present)}): {last_line(exc)}. Nothing was committed; the files are on disk."
                        ),
                        hint=hint,
                    ) from exc
            if absent:
                self._git("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *absent)

            base = head or self._empty_tree()
            status = self._git(
                "diff", "--cached", "--no-renames", "--name-status", "-z", base, "--", strip_newline_in_stdout=False
            )
            changes = parse_name_status(status)
            if not changes:
                self.emit(Info(message="Nothing to commit: the repository already has these files as written."))
                return None

            self._leak_guard(rels)

            tree = self._git("write-tree").strip()
            subject = "edge-wizard: " + (", ".join(steps) if steps else "update")
            body = "Files:\n" + "\n".join(f"- {p} ({STATUS_WORD.get(s, s)})" for s, p in changes)
            args = ["commit-tree", tree]
            if head:
                args += ["-p", head]
            try:
                sha = self._git(*args, "-m", subject, "-m", body).strip()
            except GitCommandError as exc:
                err = error_text(exc)
                if "tell me who you are" in err.lower() or "empty ident" in err.lower():
                    raise UserError(
                        "git does not know who you are, so it cannot author the commit.",
                        hint='Set it with `git config user.name "Your Name"` and `git config user.email you@example.com`, then re-run `edge-wizard run`.',
                    ) from exc
                raise StepFailed(self._scrub(f"git could not create the commit: {last_line(exc)}.")) from exc
        return sha, subject, changes

    def _leak_guard(self, rels: list[str]) -> None:
        """Runs with GIT_INDEX_FILE pointing at the private index."""
        listing = self._git("ls-files", "-s", "-z", "--", *rels, strip_newline_in_stdout=False)
        needles = _secret_needles([*self._secrets, *redact.secrets()])
        problems: list[str] = []
        keys = False
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, sha, _stage = meta.split()
            if mode == "160000":
                continue  # submodule
            data = self.repo.git.cat_file("blob", sha, stdout_as_string=False)
            shown = redact.printable(path, newlines=False)
            if any(n in data for n in needles):
                problems.append(f"{shown} contains a secret value in plain text or base64")
                continue
            key = private_key_problem(data)
            if key:
                problems.append(f"{shown} {key}")
                keys = True
                continue
            why = _secret_problem(path, data)
            if why:
                problems.append(f"{shown} {why}")
        if problems:
            hint = (
                "Remove the key from that file (a private key never belongs in git: keep it in ~/.config/sops/age/ or "
                "your kubeconfig), then re-run `edge-wizard run`."
                if keys
                else "Encrypt the file with sops (sops --encrypt --in-place FILE, using the repository's .sops.yaml) "
                "or remove the value, then re-run `edge-wizard run`."
            )
            raise StepFailed(
                "Refusing to commit: " + "; ".join(problems) + ". A plaintext secret in git is readable by "
                "anyone who can read the repository, forever. Nothing was committed; the files are still on disk.",
                hint=hint,
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
