"""One run at a time per repository: ``.git/edge-wizard.lock`` holds the running wizard's pid.

The lock is an ``flock`` on that file, so the kernel releases it when the holder dies (a kill
cannot leave a lock that blocks the next run); the file's content only says who holds it. While
holding the lock, :func:`hold` also removes what a killed run may have left: private index files
(``.git/edge-wizard-index.*``) and the temporary files of an interrupted write
(``.<name>.XXXXXXXX.tmp`` / ``.bak`` next to a managed YAML file).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wizard.errors import UserError
from wizard.redact import printable

LOCK_NAME = "edge-wizard.lock"
INDEX_PREFIX = "edge-wizard-index."
# atomic writes (wizard.plan) name their temp files .<name>.<8 random chars>.tmp (and .bak for
# the previous version kept until the whole write succeeded)
TEMP_RE = re.compile(r"^\.(?P<name>.+\.ya?ml)\.[a-z0-9_]{8}\.(?:tmp|bak)$")
SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__"}


@dataclass
class Held:
    path: Path
    cleaned: list[str] = field(default_factory=list)  # what a killed run had left, now removed
    stale_pid: int | None = None  # the pid a stale lock file named

    def describe(self) -> str:
        """One sentence about what a killed run had left (empty when nothing)."""
        if not self.stale_pid and not self.cleaned:
            return ""
        who = f" (pid {self.stale_pid})" if self.stale_pid else ""
        text = f"A previous edge-wizard run{who} was interrupted; its lock was released"
        if self.cleaned:
            shown = ", ".join(printable(c, newlines=False) for c in self.cleaned[:5]) + (
                f" and {len(self.cleaned) - 5} more" if len(self.cleaned) > 5 else ""
            )
            text += f" and its leftover temporary files were removed ({shown})"
        return text + "."


def git_dir(root: Path) -> Path:
    """The repository's git folder (a worktree's own one, too)."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        text = dot.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            p = Path(text.split(":", 1)[1].strip())
            return p if p.is_absolute() else (root / p).resolve()
    import git  # GitPython, for unusual layouts ($GIT_DIR, submodules)

    return Path(git.Repo(root, search_parent_directories=True).git_dir)


def _read_holder(fd: int) -> dict[str, object]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096).decode("utf-8", "replace")
        value = json.loads(data) if data.strip() else {}
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _describe(holder: dict[str, object]) -> str:
    pid = holder.get("pid")
    started = holder.get("started")
    when = ""
    if isinstance(started, (int, float)):
        when = ", started " + time.strftime("%H:%M:%S", time.localtime(started))
    host = holder.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {pid}{where}{when}" if pid else "another process"


@contextlib.contextmanager
def hold(root: Path, *, command: str = "run") -> Iterator[Held]:
    """Hold the repository's run lock for the block (UserError, exit 2, when another run has it)."""
    root = Path(root)
    gdir = git_dir(root)
    path = gdir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(
            f"edge-wizard could not create its run lock {path} ({exc.strerror}): the repository's .git "
            "folder is not writable, so nothing can be committed either. Nothing was written.",
            hint="Check the permissions and free space of the repository (ls -ld .git; df -h .), then re-run.",
        ) from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                holder = _read_holder(fd)
                raise UserError(
                    f"Another edge-wizard run ({_describe(holder)}) is working on this repository right now "
                    f"(it holds {path}). Two runs at once would interleave their writes and commits, so this one "
                    "stopped before writing anything.",
                    hint="Wait for the other run to finish, then re-run this command.",
                ) from None
            # the file may have been removed and re-created by a releasing holder: lock the current one
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        previous = _read_holder(fd)
        held = Held(path=path)
        if previous.get("pid"):
            pid = previous.get("pid")
            held.stale_pid = pid if isinstance(pid, int) else None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        info = {"pid": os.getpid(), "started": time.time(), "host": socket.gethostname(), "command": command}
        os.write(fd, json.dumps(info).encode("utf-8"))
        held.cleaned = clean_leftovers(root, gdir)
        try:
            yield held
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)


def clean_leftovers(root: Path, gdir: Path) -> list[str]:
    """Remove private index files and interrupted-write temp files (call only under the lock)."""
    removed: list[str] = []
    with contextlib.suppress(OSError):
        for p in gdir.iterdir():
            if p.name.startswith(INDEX_PREFIX) and p.is_file():
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(f".git/{p.name}")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            m = TEMP_RE.match(name)
            if not m:
                continue
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file():
                continue
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p.relative_to(root).as_posix())
    return sorted(removed)


__all__ = ["LOCK_NAME", "Held", "clean_leftovers", "git_dir", "hold"]
