"""Plans: the file changes the steps compute, their unified diff, and atomic writes.

Two rules keep the wizard inside the repository and the repository consistent:

* :func:`safe_path` refuses a managed path that is a symbolic link, sits under a symlinked
  folder, is not a regular file, or is not a plain relative path inside the repository. The
  :class:`Workspace` checks every path before it reads it, so nothing outside the repository is
  ever read into a plan (and so never shown in a diff or committed).
* :func:`write_all` writes a whole set of files as one transaction: every temporary file first,
  then the renames; when anything fails (read-only folder, full disk) the renamed ones are put
  back, so every file is as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from wizard.errors import StepFailed, UserError
from wizard.redact import printable

MAX_FILE_BYTES = 8 * 1024 * 1024  # no manifest the wizard manages is anywhere near this


@dataclass(frozen=True)
class FileChange:
    path: str  # repo-relative, POSIX
    old: str | None
    new: str
    steps: tuple[str, ...] = ()
    deleted: bool = False  # the plan removes the file (``new`` is empty)

    @property
    def status(self) -> str:
        if self.deleted:
            return "unchanged" if self.old is None else "deleted"
        if self.old is None:
            return "new"
        return "unchanged" if self.old == self.new else "changed"

    def diff(self) -> str:

        old = [] if self.old is None else self.old.splitlines(keepends=True)
        new = self.new.splitlines(keepends=True)
        shown = printable(self.path, newlines=False)
        lines = difflib.unified_diff(
            old,
            new,
            fromfile="/dev/null" if self.old is None else f"a/{shown}",
            tofile="/dev/null" if self.deleted else f"b/{shown}",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass
class SecretChange:
    """A Secret the SecretWriter must produce. Its values are never rendered or logged."""

    path: str
    step: str
    name: str
    namespace: str
    key: str
    kustomization: str
    template: Any = field(repr=False)  # round-trip doc of assets/.../secret.yaml, values empty
    exists: bool = False
    # the existing Secret cannot be kept as it is (it holds the token under another key): why, and
    # that a token must be given (the engine and the flow refuse to keep it)
    needs_token: str = ""

    def __repr__(self) -> str:  # no values, ever
        return f"SecretChange(path={self.path!r}, name={self.name!r}, key={self.key!r})"

    def kept_without_token(self) -> str:
        """No token was given: what keeping the Secret means (UserError when it cannot be kept: it
        does not exist yet, or holds the token under another key)."""
        if self.exists and self.needs_token:
            raise UserError(self.needs_token)
        if not self.exists:
            raise UserError(
                f"The external-dns step needs the DNS provider token to write {self.path}. Pass it with --token-env VAR "
                "(the name of an environment variable holding it) or --token-stdin, or run in a terminal to be asked "
                "for it."
            )
        return f"{self.path} exists; kept as is (no new token given)."


@dataclass
class StepPlan:
    step: str
    title: str
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    secret: SecretChange | None = None
    # what the step adopted as it found it, and the migrations it applies to it (shown before the
    # confirmation: "installCRDs -> crds.enabled", "HelmRelease ... v2beta1 -> v2")
    notes: list[str] = field(default_factory=list)
    # changes that need their own confirmation (values of a controller other apps use; a token encrypted
    # only for keys this machine does not hold), under a heading, accepted by the run option ``attention_flag``
    attention: list[str] = field(default_factory=list)
    attention_heading: str = ""
    attention_flag: str = "--accept-controller-changes"
    # what the cluster already has does this step's job (another edge stack on 80/443): why, shown
    in_place: str = ""


@dataclass
class Plan:
    steps: list[StepPlan]
    changes: list[FileChange]
    removing: bool = False  # `run STEP --remove`: the steps' files are deleted (Flux prunes their objects)
    # (steps set up, steps removed) as the state file records them once this plan is written
    recorded: tuple[list[str], list[str]] | None = None

    @property
    def pending(self) -> list[FileChange]:
        return [c for c in self.changes if c.status != "unchanged"]

    @property
    def secrets(self) -> list[SecretChange]:
        return [s.secret for s in self.steps if s.secret is not None]

    @property
    def warnings(self) -> list[str]:
        seen: list[str] = []
        for s in self.steps:
            for w in s.warnings:
                if w not in seen:
                    seen.append(w)
        return seen

    @property
    def notes(self) -> list[tuple[str, str]]:
        """(step, note): what each step adopted and migrated, in step order."""
        return [(s.step, n) for s in self.steps for n in dict.fromkeys(s.notes)]

    @property
    def attention(self) -> list[StepPlan]:
        """The steps whose changes need their own confirmation."""
        return [s for s in self.steps if s.attention]

    def without(self, names: set[str]) -> list[str]:
        return [s.step for s in self.steps if s.step not in names]

    def step_state(self, name: str) -> str:
        """``new`` (none of its own files exist yet), ``changes`` or ``up to date``."""
        sp = next(s for s in self.steps if s.step == name)
        own = [c for c in self.changes if c.path in sp.paths]
        if own and all(c.status == "new" for c in own):
            return "new"
        touched = [c for c in self.changes if name in c.steps]
        if any(c.status != "unchanged" for c in touched) or (
            sp.secret and (not sp.secret.exists or sp.secret.needs_token)
        ):
            return "changes"
        return "in place" if sp.in_place else "up to date"

    def diff(self) -> str:
        return "".join(c.diff() for c in self.pending)


class Workspace:
    """A copy-on-write view of the repository: steps read pending content of earlier steps.

    Every path is checked with :func:`safe_path` before the disk is touched.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pending: dict[str, str] = {}
        self._owners: dict[str, list[str]] = {}
        self._deleted: set[str] = set()

    def read(self, rel: str) -> str | None:
        if rel in self._deleted:
            return None
        if rel in self._pending:
            return self._pending[rel]
        return read_managed(self.root, rel)

    def exists(self, rel: str) -> bool:
        if rel in self._deleted:
            return False
        if rel in self._pending:
            return True
        return safe_path(self.root, rel).is_file()

    def delete(self, rel: str, step: str) -> None:
        """Remove ``rel`` (a file a step wrote before and no longer wants; Flux prunes its objects)."""
        self.write(rel, "", step)
        self._deleted.add(rel)

    def write(self, rel: str, text: str, step: str) -> None:
        safe_path(self.root, rel)
        self._deleted.discard(rel)
        self._pending[rel] = text
        owners = self._owners.setdefault(rel, [])
        if step not in owners:
            owners.append(step)

    def read_doc(self, rel: str) -> Any | None:
        """The pending or on-disk content of ``rel`` parsed round-trip (``yamlio.YamlDoc``), None
        when it does not exist. Raises ValueError when it is not valid YAML."""
        from wizard import yamlio

        text = self.read(rel)
        return None if text is None else yamlio.parse(text, source=rel)

    def write_doc(self, rel: str, doc: Any, step: str) -> None:
        """Write a parsed document (``yamlio.YamlDoc``) that ``step`` created or changed."""
        from wizard import yamlio

        self.write(rel, yamlio.render(doc), step)

    def prepare_edit(self, doc: Any) -> None:
        """Ready a parsed document for an edit: its comments attached to the keys they precede."""
        from wizard import yamlio

        yamlio.attach_comments(doc)

    def changed(self, rel: str) -> bool:
        """Whether an earlier step of this plan changed or deleted ``rel``."""
        if rel in self._deleted:
            return True
        return rel in self._pending and self._pending[rel] != read_managed(self.root, rel)

    def touch(self, rel: str, step: str) -> None:
        """Record a managed file that needs no change (so it is still committed and reported)."""
        text = self.read(rel)
        if text is not None:
            self.write(rel, text, step)

    def changes(self) -> list[FileChange]:
        out = []
        for rel, text in self._pending.items():
            old = read_managed(self.root, rel)
            gone = rel in self._deleted
            out.append(FileChange(path=rel, old=old, new=text, steps=tuple(self._owners[rel]), deleted=gone))
        return sorted(out, key=lambda c: c.path)


# -- paths inside the repository -----------------------------------------------------------------
def _link_error(root: Path, rel: str, link: str, target: str, *, folder: bool) -> UserError:
    what = "folder" if folder else "file"
    shown_rel, shown_target = printable(link, newlines=False), printable(target, newlines=False)
    return UserError(
        f"{shown_rel} is a symbolic link to {shown_target}, and edge-wizard {'writes into' if folder else 'manages'} "
        f"that {what}{'' if link == rel else f' ({printable(rel, newlines=False)})'}. It never follows links: reading "
        "or writing through one would copy whatever the link points at (a private key, a kubeconfig, a file outside "
        "the repository) into the plan, the repository and its git history. Nothing was read or written.",
        hint=f"Replace the link with a regular {what} (or remove it: git rm {shown_rel}), then re-run.",
    )


def safe_path(root: Path, rel: str, *, folder: bool = False) -> Path:
    """``root / rel`` once checked: relative, normalised, inside the repository, no symlink on the
    way and (when it exists) a regular file (a folder with ``folder=True``). Raises UserError (exit 2)
    naming the link and its target."""
    pp = PurePosixPath(rel)
    if not rel or pp.is_absolute() or any(part in ("", ".", "..") for part in rel.split("/")) or "\0" in rel:
        raise UserError(
            f"{printable(rel, newlines=False)!s} is not a plain path inside the repository (it is absolute or "
            "has '.' or '..' parts), so edge-wizard will not read or write it. Nothing was written.",
            hint="Use a relative path such as manifests/infrastructure in the answers file, then re-run.",
        )
    cur = Path(root)
    parts = pp.parts
    for i, part in enumerate(parts):
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return Path(root, *parts)
        except NotADirectoryError:
            break
        here = "/".join(parts[: i + 1])
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(cur)
            except OSError:
                target = "?"
            raise _link_error(root, rel, here, target, folder=not last)
        if not last and not stat.S_ISDIR(st.st_mode):
            break
        if last and folder and not stat.S_ISDIR(st.st_mode):
            raise UserError(
                f"{printable(rel, newlines=False)} is a file, but edge-wizard needs a folder there. Nothing was written.",
                hint="Point the paths: entry at a folder (or move the file away), then re-run.",
            )
        if last and not folder and not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
            raise UserError(
                f"{printable(rel, newlines=False)} is {kind}, but edge-wizard writes a YAML file there. "
                "Nothing was read or written.",
                hint=f"Move it away (git mv {printable(rel, newlines=False)} ELSEWHERE), then re-run.",
            )
    else:
        return Path(root, *parts)
    raise UserError(
        f"{printable('/'.join(parts[:i]), newlines=False)} is a file, but edge-wizard needs a folder there to write "
        f"{printable(rel, newlines=False)}. Nothing was written.",
        hint="Rename that file or choose another folder (paths: in the answers file), then re-run.",
    )


def read_managed(root: Path, rel: str) -> str | None:
    """The text of a managed file (None when missing), after :func:`safe_path`, size-bounded."""
    p = safe_path(root, rel)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_error(root, rel, rel, os.readlink(p), folder=False) from None
        raise UserError(
            f"{printable(rel, newlines=False)} cannot be read ({exc.strerror}), and edge-wizard manages it. "
            "Nothing was written.",
            hint=f"Check its permissions (ls -l {printable(rel, newlines=False)}), then re-run.",
        ) from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{printable(rel, newlines=False)} is not a regular file; edge-wizard will not read it.")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UserError(
            f"{printable(rel, newlines=False)} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, far more than any "
            "manifest edge-wizard manages, so it will not load it. Nothing was written.",
            hint="Check what that file is (a generated or binary file in place of the manifest?), then re-run.",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(
            f"{printable(rel, newlines=False)} is not UTF-8 text, so it cannot be the YAML manifest edge-wizard "
            "manages there. Nothing was written.",
            hint="Move the file away or convert it to UTF-8, then re-run.",
        ) from None


# -- writing ------------------------------------------------------------------------------------
_NO_WRITE = (errno.EROFS, errno.EACCES, errno.EPERM)


def _write_error(rel: str, exc: OSError, *, done: bool) -> StepFailed:
    reason = exc.strerror or type(exc).__name__
    where = printable(rel, newlines=False)
    kept = "Every file was left as it was." if not done else "The files written so far were put back as they were."
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        hint = "Free some disk space (df -h .), then re-run: the run starts over from the same plan."
    elif exc.errno in _NO_WRITE:
        hint = f"Make the repository writable (ls -ld {where}; a read-only mount or another owner?), then re-run."
    else:
        hint = "Fix the cause, then re-run."
    return StepFailed(f"Writing {where} failed ({reason}). {kept}", hint=hint)


def check_writable(root: Path, paths: Iterable[str]) -> None:
    """Refuse (exit 2) before anything happens when a folder the plan writes into is read-only."""
    seen: set[Path] = set()
    for rel in paths:
        p = safe_path(root, rel).parent
        while not p.exists() and p != p.parent:
            p = p.parent
        if p in seen:
            continue
        seen.add(p)
        if not os.access(p, os.W_OK | os.X_OK):
            shown = printable(p.relative_to(root).as_posix() if p != root else ".", newlines=False)
            raise UserError(
                f"The folder {shown} of the repository is not writable (read-only file system or another owner), "
                f"so edge-wizard cannot write {printable(rel, newlines=False)}. Nothing was written.",
                hint=f"Make it writable (ls -ld {shown}; chmod u+w or remount read-write), then re-run.",
            )


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return 0o644


def write_all(root: Path, files: Iterable[tuple[str, str | bytes]]) -> list[str]:
    """Write every ``(rel, text)`` as one transaction; returns the paths written.

    1. every temp file is written and fsynced (new folders are created), and the current version
       of each existing file gets a second name (a hard link, so no extra space is needed);
    2. the temp files are renamed over their targets;
    3. on any failure the renamed ones are put back from those links, new files and new folders
       are removed, and StepFailed says what failed: every file is as it was.
    """
    items = [(rel, text.encode("utf-8") if isinstance(text, str) else text) for rel, text in files]
    created_dirs: list[Path] = []
    staged: list[tuple[str, Path, Path, Path | None]] = []  # rel, target, temp, backup
    replaced: list[tuple[str, Path, Path | None]] = []
    current = ""
    try:
        for rel, data in items:
            current = rel
            target = safe_path(root, rel)
            missing: list[Path] = []
            d = target.parent
            while not d.exists():
                missing.append(d)
                d = d.parent
            for folder in reversed(missing):
                folder.mkdir()
                created_dirs.append(folder)
            mode = _mode_of(target)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            tmp_path = Path(tmp)
            staged.append((rel, target, tmp_path, None))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_path, mode)
            if target.exists():
                link = _backup_name(target)
                os.link(target, link)
                staged[-1] = (rel, target, tmp_path, link)
        for rel, target, tmp_path, old in staged:
            current = rel
            os.replace(tmp_path, target)
            replaced.append((rel, target, old))
        _fsync_dirs({t.parent for _, t, _, _ in staged})
    except OSError as exc:
        _rollback(staged, replaced, created_dirs)
        raise _write_error(current, exc, done=bool(replaced)) from None
    except BaseException:
        _rollback(staged, replaced, created_dirs)
        raise
    for _, _, _, kept in staged:
        if kept is not None:
            with contextlib.suppress(OSError):
                os.unlink(kept)
    return [rel for rel, _ in items]


def remove_all(root: Path, rels: Iterable[str]) -> None:
    """Delete the files a plan removes (after its writes succeeded); folders left empty go too."""
    for rel in rels:
        target = safe_path(root, rel)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            where = printable(rel, newlines=False)
            raise StepFailed(
                f"Removing {where} failed ({exc.strerror or type(exc).__name__}); the other files are written.",
                hint=f"Remove it by hand (git rm {where}), then re-run: the run commits the rest then.",
            ) from None
        folder = target.parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _backup_name(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".bak", dir=target.parent)
    os.close(fd)
    os.unlink(name)  # only the unique name is wanted: os.link creates it
    return Path(name)


def _rollback(
    staged: list[tuple[str, Path, Path, Path | None]],
    replaced: list[tuple[str, Path, Path | None]],
    created_dirs: list[Path],
) -> None:
    for _, target, backup in reversed(replaced):
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, target)
            else:
                os.unlink(target)
    for _, _, tmp_path, backup in staged:
        for p in (tmp_path, backup):
            if p is not None:
                with contextlib.suppress(OSError):
                    os.unlink(p)
    for folder in reversed(created_dirs):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _fsync_dirs(dirs: set[Path]) -> None:
    for d in dirs:
        with contextlib.suppress(OSError):
            fd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write one file via a temp file in the same folder and rename, keeping an existing file's mode.

    For files inside the repository prefer :func:`write_all` (it checks the path and rolls back).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
