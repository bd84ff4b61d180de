"""The one index of a repository's YAML documents by kind, shared by every read-only scan.

Discovery (``repo``), the step table, the watch's targets (``flux.targets``) and ``doctor`` ask it
for the documents of some kinds (or API groups, or sops-encrypted ones) below a folder. The index

- walks the repository with the one YAML walker (:func:`walk`, sorted, skipping ``.git`` & co.);
- reads each file through one choke point (:func:`read_text`);
- finds each file's top-level ``kind:`` / ``apiVersion:`` / ``sops:`` keys with a line scan, so a
  file holding none of the kinds asked for is never parsed: Flux's CRD bundle
  (``gotk-components.yaml``, thousands of lines of CustomResourceDefinitions) only gives its
  ``# Flux Version:`` line;
- parses the files that may matter with the C-accelerated loader (:func:`yamlio.load_fast`, libyaml),
  each at most once per process for a given content (a file changed on disk is parsed again).

Files the wizard rewrites are read with round-trip ruamel.yaml by the steps, never from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from wizard import yamlio

SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__"})
YAML_SUFFIXES = (".yaml", ".yml")
FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"

# One pass over the text finds the top-level keys that matter, at column 0 (optionally quoted)
# with the value on the same line, and flow collections ({...} / [...]) opening a document. It
# starts with a literal newline, so the regex engine skips from line start to line start.
_TOP = re.compile(r"""\n(?:["']?(kind|apiVersion|sops)["']?[ \t]*:[ \t]*["']?([^\s"'#,}\]]*)|(?:---[ \t]*)?[{\[])""")
_FLUX_VERSION = re.compile(r"#\s*Flux Version:\s*v?(\S+)")


def norm(path: str) -> str:
    """A repo-relative path as written in manifests: no leading ./, no trailing /, '' for the root."""
    p = str(PurePosixPath(path.strip()))
    while p.startswith("./"):
        p = p[2:]
    return "" if p == "." else p.rstrip("/")


MAX_BYTES = 8 * 1024 * 1024  # the same bound as yamlio's: no manifest is anywhere near it
RACY_NS = 2_000_000_000  # a file changed less than this ago is read again even if its stat matches


def read_text(path: str | os.PathLike[str]) -> str:
    """The one place the index reads a repository file: never through a symlink (O_NOFOLLOW), only
    a regular file, at most MAX_BYTES. Anything else raises OSError, and discovery skips the file."""
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        if st.st_size > MAX_BYTES:
            raise OSError(errno.EFBIG, "larger than any manifest", os.fspath(path))
        with os.fdopen(fd, encoding="utf-8", closefd=True) as fh:
            fd = -1
            return fh.read(MAX_BYTES + 1)[:MAX_BYTES]
    finally:
        if fd >= 0:
            os.close(fd)


def walk(root: Path, under: str = "") -> Iterator[str]:
    """The YAML files below ``root/under``, repo-relative (POSIX), in sorted path order.

    The one walker of the repository: ``.git``, ``node_modules``, ``.venv`` and ``__pycache__``
    are skipped, symlinked folders are not followed, and a folder outside ``root`` yields nothing.
    """
    sub = norm(under)
    if ".." in sub.split("/") or sub.startswith("/"):
        return
    found: list[tuple[list[str], str]] = []
    stack = [(os.path.join(root, sub) if sub else os.fspath(root), sub)]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for e in entries:
                name = e.name
                try:
                    is_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                child = f"{rel}/{name}" if rel else name
                if is_dir:
                    if name not in SKIP_DIRS:
                        stack.append((e.path, child))
                elif name.endswith(YAML_SUFFIXES):
                    found.append((child.split("/"), child))
    found.sort()
    yield from (rel for _, rel in found)


class Scan(NamedTuple):
    """What a line scan of a file's text tells about its documents, without parsing it."""

    kinds: frozenset[str]
    groups: frozenset[str]  # API groups of top-level apiVersions ('' for the core group)
    sops: bool  # a top-level ``sops:`` key (a sops-encrypted document)
    opaque: bool  # the scan cannot tell (flow-style or oddly indented documents): parse to know

    def may_hold(self, kinds: frozenset[str], groups: frozenset[str], sops: bool) -> bool:
        return self.opaque or bool(self.kinds & kinds) or bool(self.groups & groups) or (sops and self.sops)


def scan(text: str) -> Scan:
    kinds: set[str] = set()
    groups: set[str] = set()
    sops = flow = False
    for m in _TOP.finditer("\n" + text):
        key, value = m.group(1), m.group(2)
        if key is None:
            flow = True
        elif key == "kind":
            if value:
                kinds.add(value)
        elif key == "apiVersion":
            groups.add(value.split("/")[0] if "/" in value else "")
        else:
            sops = True
    opaque = flow or ("kind" in text and not kinds)
    return Scan(frozenset(kinds), frozenset(groups), sops, opaque)


def is_sops_doc(data: Any) -> bool:
    meta = data.get("sops") if isinstance(data, dict) else None
    return isinstance(meta, dict) and ("mac" in meta or "lastmodified" in meta)


class Doc:
    """One top-level mapping of a YAML file (read-only). A plain class: the index makes many."""

    __slots__ = ("data", "index", "path")

    def __init__(self, path: str, index: int, data: dict[str, Any]) -> None:
        self.path = path  # repo-relative
        self.index = index  # position among the file's documents
        self.data = data

    def __repr__(self) -> str:
        return f"Doc({self.path!r}, {self.index}, {self.kind} {self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Doc) and (self.path, self.index) == (other.path, other.index)

    def __hash__(self) -> int:
        return hash((self.path, self.index))

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def group(self) -> str:
        api = self.api
        return api.split("/")[0] if "/" in api else ""

    @property
    def metadata(self) -> dict[str, Any]:
        m = self.data.get("metadata")
        return m if isinstance(m, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def spec(self) -> dict[str, Any]:
        s = self.data.get("spec")
        return s if isinstance(s, dict) else {}


class SourceRef(NamedTuple):
    kind: str
    name: str
    namespace: str | None = None


@dataclass(frozen=True)
class FluxKustomization:
    """A Flux Kustomization (kustomize.toolkit.fluxcd.io) declared in the Flux folder."""

    name: str
    file: str  # repo-relative path of the file declaring it
    path: str  # spec.path, normalised (no leading ./, no trailing /)
    decryption_secret: str | None
    depends_on: tuple[str, ...] = ()
    namespace: str = "flux-system"
    source_ref: SourceRef | None = None
    target_namespace: str | None = None
    decryption: bool = False  # has a spec.decryption block (with or without a secretRef)
    doc: Doc | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_doc(cls, doc: Doc) -> FluxKustomization:
        spec = doc.spec
        dec = spec.get("decryption")
        secret = ((dec if isinstance(dec, dict) else {}).get("secretRef") or {}).get("name")
        deps = tuple(str(d.get("name")) for d in spec.get("dependsOn") or [] if isinstance(d, dict) and d.get("name"))
        ref = spec.get("sourceRef")
        source = (
            SourceRef(
                str(ref.get("kind") or ""),
                str(ref.get("name") or ""),
                str(ref["namespace"]) if ref.get("namespace") else None,
            )
            if isinstance(ref, dict)
            else None
        )
        target = spec.get("targetNamespace")
        return cls(
            name=doc.name,
            file=doc.path,
            path=norm(str(spec.get("path", ""))),
            decryption_secret=str(secret) if secret else None,
            depends_on=deps,
            namespace=doc.namespace or "flux-system",
            source_ref=source,
            target_namespace=str(target) if target else None,
            decryption=bool(dec),
            doc=doc,
        )

    def applies_repository(self, git_repository: str, namespace: str = "flux-system") -> bool:
        """Whether ``spec.path`` is a folder of THIS repository: the source is the repository's own
        GitRepository (``git_repository`` in ``namespace``, from gotk-sync.yaml). A Kustomization from an
        OCIRepository, a Bucket or another GitRepository applies a folder of that source instead."""
        ref = self.source_ref
        if ref is None or ref.kind != "GitRepository" or ref.name != git_repository:
            return False
        return (ref.namespace or self.namespace) == namespace


def is_flux_kustomization(doc: Doc) -> bool:
    return doc.kind == "Kustomization" and doc.api.startswith(FLUX_KUSTOMIZE_API) and bool(doc.name)


class _Entry:
    __slots__ = ("_scan", "error", "raw", "stamp", "text")

    def __init__(self, text: str, stamp: tuple[int, ...] = ()) -> None:
        self.text = text
        self.stamp = stamp  # (inode, size, mtime_ns, ctime_ns) when it was read: unchanged, not read again
        self._scan: Scan | None = None
        self.raw: list[Any] | None = None  # every document as loaded (None: not parsed yet)
        self.error: str | None = None  # why it could not be parsed

    @property
    def scan(self) -> Scan:
        if self._scan is None:
            self._scan = scan(self.text)
        return self._scan


class RepoIndex:
    """The documents of one repository root. Get the shared one with :func:`for_root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = os.fspath(root)
        self._entries: dict[str, _Entry] = {}
        self.parsed: dict[str, int] = {}  # file -> how many times it was parsed (benchmarks and tests)
        self.walks = 0  # how many times the tree was walked (benchmarks and tests)
        # inside snapshot(): the walks and the files already checked, reused as they are
        self._depth = 0
        self._walked: dict[str, list[str]] = {}
        self._checked: set[str] = set()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[RepoIndex]:
        """One consistent view for a read-only computation (the step table plans every step, each
        asking for its kinds): inside it the tree is walked once per folder and each file is
        checked (lstat) once, instead of once per query. Nothing may write the repository inside."""
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if not self._depth:
                self._walked.clear()
                self._checked.clear()

    # -- files ------------------------------------------------------------------------------
    @property
    def parses(self) -> int:
        return sum(self.parsed.values())

    def yaml_files(self, under: str = "") -> list[str]:
        if not self._depth:
            self.walks += 1
            return list(walk(self.root, under))
        key = norm(under)
        if key not in self._walked:
            self.walks += 1
            self._walked[key] = list(walk(self.root, key))
        return list(self._walked[key])

    def _entry(self, rel: str) -> _Entry | None:
        """The file's entry, read again only when its stat changed (the wizard writes by rename: a new
        inode; an edit in place changes its size or times), so a query over the repository costs
        one lstat per file, not one read."""
        e = self._entries.get(rel)
        if self._depth:
            if rel in self._checked:
                return e
            self._checked.add(rel)
        path = os.path.join(self._root, rel)
        try:
            st = os.lstat(path)
        except OSError:
            self._entries.pop(rel, None)
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        # like git's "racily clean" entries: a file changed within the timestamps' granularity of the
        # last read could look unchanged, so one modified in the last seconds is always read again
        if e is not None and e.stamp == stamp and time.time_ns() - st.st_ctime_ns > RACY_NS:
            return e
        try:
            text = read_text(path)  # the checks (no symlink, a regular file, bounded) on every read
        except (OSError, UnicodeDecodeError):
            self._entries.pop(rel, None)
            return None
        if e is None or e.text != text:
            e = _Entry(text, stamp)
            self._entries[rel] = e
        else:
            e.stamp = stamp
        return e

    def _parsed(self, rel: str, e: _Entry) -> list[Any]:
        if e.raw is None and e.error is None:
            self.parsed[rel] = self.parsed.get(rel, 0) + 1
            try:
                e.raw = yamlio.load_fast(e.text)
            except Exception as exc:  # ruamel/libyaml raise several types
                e.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return e.raw or []

    def text(self, rel: str) -> str | None:
        """The file's text (None: missing or unreadable)."""
        e = self._entry(rel)
        return None if e is None else e.text

    def load(self, rel: str) -> list[Any]:
        """Every document of one file as plain Python objects ([] when missing or invalid)."""
        e = self._entry(rel)
        return [] if e is None else self._parsed(rel, e)

    def error(self, rel: str) -> str | None:
        """Why ``rel`` is not valid YAML (None: valid, or not parsed)."""
        e = self._entries.get(rel)
        return None if e is None else e.error

    def docs(self, rel: str) -> list[Doc]:
        return [Doc(rel, i, d) for i, d in enumerate(self.load(rel)) if isinstance(d, dict)]

    # -- queries ----------------------------------------------------------------------------
    def find(
        self,
        kinds: Iterable[str] = (),
        *,
        groups: Iterable[str] = (),
        sops: bool = False,
        under: str = "",
        files: Iterable[str] | None = None,
        containing: str = "",
    ) -> list[Doc]:
        """The documents below ``under`` (or in ``files``) whose kind is in ``kinds``, whose API
        group is in ``groups``, or (``sops``) that are sops-encrypted. Files that cannot hold one
        are not parsed, nor (``containing``) files whose text lacks that string (a value the caller
        will look for, e.g. a chart name: only files that can match are parsed)."""
        k, g = frozenset(kinds), frozenset(groups)
        out: list[Doc] = []
        for rel in self.yaml_files(under) if files is None else files:
            e = self._entry(rel)
            if e is None or not e.scan.may_hold(k, g, sops) or (containing and containing not in e.text):
                continue
            for i, d in enumerate(self._parsed(rel, e)):
                if not isinstance(d, dict):
                    continue
                doc = Doc(rel, i, d)
                if doc.kind in k or (g and doc.group in g) or (sops and is_sops_doc(d)):
                    out.append(doc)
        return out

    def unreadable(self, under: str = "") -> list[str]:
        """Files below ``under`` that were parsed and are not valid YAML."""
        return [rel for rel in self.yaml_files(under) if (e := self._entries.get(rel)) is not None and e.error]

    def flux_kustomizations(self, flux_dir: str) -> list[FluxKustomization]:
        """The Flux Kustomizations declared in the files directly in ``flux_dir``, in file order
        (a name declared twice appears twice)."""
        folder = norm(flux_dir)
        files = [rel for rel in self.yaml_files(folder) if PurePosixPath(rel).parent.as_posix() == (folder or ".")]
        return [
            FluxKustomization.from_doc(d) for d in self.find({"Kustomization"}, files=files) if is_flux_kustomization(d)
        ]

    def flux_version(self, rel: str) -> str | None:
        """The ``# Flux Version:`` header of a Flux bundle (gotk-components.yaml), from its first lines."""
        text = self.text(rel)
        for line in (text or "").split("\n", 20)[:20]:
            m = _FLUX_VERSION.match(line)
            if m:
                return m.group(1)
        return None


_INDEXES: dict[Path, RepoIndex] = {}


def for_root(root: Path) -> RepoIndex:
    """The process-wide index of the repository at ``root`` (one per resolved root)."""
    key = Path(os.path.realpath(root))
    idx = _INDEXES.get(key)
    if idx is None:
        idx = _INDEXES[key] = RepoIndex(Path(root))
    return idx


def forget(root: Path | None = None) -> None:
    """Drop the cached index of ``root`` (or of every root): for long-lived processes and tests."""
    if root is None:
        _INDEXES.clear()
    else:
        _INDEXES.pop(Path(os.path.realpath(root)), None)
