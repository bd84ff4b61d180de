"""Plans: the file changes the steps compute, their unified diff, and atomic writes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FileChange:
    path: str  # repo-relative, POSIX
    old: str | None
    new: str
    steps: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.old is None:
            return "new"
        return "unchanged" if self.old == self.new else "changed"

    def diff(self) -> str:
        import difflib  # imported when a diff is shown, not by every command

        old = [] if self.old is None else self.old.splitlines(keepends=True)
        new = self.new.splitlines(keepends=True)
        lines = difflib.unified_diff(
            old, new, fromfile="/dev/null" if self.old is None else f"a/{self.path}", tofile=f"b/{self.path}"
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

    def __repr__(self) -> str:  # no values, ever
        return f"SecretChange(path={self.path!r}, name={self.name!r}, key={self.key!r})"


@dataclass
class StepPlan:
    step: str
    title: str
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    secret: SecretChange | None = None


@dataclass
class Plan:
    steps: list[StepPlan]
    changes: list[FileChange]

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

    def step_state(self, name: str) -> str:
        """``new`` (none of its own files exist yet), ``changes`` or ``up to date``."""
        sp = next(s for s in self.steps if s.step == name)
        own = [c for c in self.changes if c.path in sp.paths]
        if own and all(c.status == "new" for c in own):
            return "new"
        touched = [c for c in self.changes if name in c.steps]
        if any(c.status != "unchanged" for c in touched) or (sp.secret and not sp.secret.exists):
            return "changes"
        return "up to date"

    def diff(self) -> str:
        return "".join(c.diff() for c in self.pending)


class Workspace:
    """A copy-on-write view of the repository: steps read pending content of earlier steps."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pending: dict[str, str] = {}
        self._owners: dict[str, list[str]] = {}

    def read(self, rel: str) -> str | None:
        if rel in self._pending:
            return self._pending[rel]
        p = self.root / rel
        try:
            return p.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def exists(self, rel: str) -> bool:
        return rel in self._pending or (self.root / rel).is_file()

    def write(self, rel: str, text: str, step: str) -> None:
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

    def touch(self, rel: str, step: str) -> None:
        """Record a managed file that needs no change (so it is still committed and reported)."""
        text = self.read(rel)
        if text is not None:
            self.write(rel, text, step)

    def changes(self) -> list[FileChange]:
        out = []
        for rel, text in self._pending.items():
            p = self.root / rel
            old = p.read_text(encoding="utf-8") if p.is_file() else None
            out.append(FileChange(path=rel, old=old, new=text, steps=tuple(self._owners[rel])))
        return sorted(out, key=lambda c: c.path)


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write via a temp file in the same folder and rename, keeping an existing file's mode."""
    import tempfile

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
