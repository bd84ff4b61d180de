"""Flux sources and what they sync: the repository's GitRepository (spec.ignore, Flux's default
exclusions, ``.sourceignore``) and the ExternalArtifacts of an ArtifactGenerator mapped back to the
repository folders they copy."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import PurePosixPath

from wizard.index import norm

FLUX_NS = "flux-system"
GENERATOR_KIND = "ArtifactGenerator"
SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")
# source-controller's default exclusions (pkg/sourceignore): VCS files, binaries, CI configs, tool files
DEFAULT_IGNORE = (
    ".git/",
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
)
SOURCEIGNORE = ".sourceignore"


# -- sources -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """A Flux source a Kustomization of the cluster reads, and how its paths map to this repository."""

    kind: str
    name: str
    namespace: str
    repo: bool  # its artifact holds files of THIS repository
    url: str | None = None
    branch: str | None = None
    ignore: str | None = None  # spec.ignore as written (None: not set)
    file: str = ""  # the file declaring it ("" for one Flux itself creates: bootstrap's placeholder, the operator)
    # an ExternalArtifact: (artifact prefix, repository prefix) for each folder an ArtifactGenerator copies
    copies: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def repo_path(self, path: str) -> str | None:
        """The repository folder of the artifact path ``path`` (None: not a folder of this repository)."""
        if not self.repo:
            return None
        p = norm(path)
        if self.kind != "ExternalArtifact":
            return p
        best: tuple[int, str] | None = None
        for to, frm in self.copies:
            if to == "" or p == to or p.startswith(to + "/"):
                rest = p[len(to) :].lstrip("/") if to else p
                cand = norm(f"{frm}/{rest}") if frm and rest else (frm or rest)
                if best is None or len(to) > best[0]:
                    best = (len(to), cand)
        return None if best is None else best[1]

    def artifact_path(self, rel: str) -> str | None:
        """The inverse of :meth:`repo_path`: where the repository folder ``rel`` is in the artifact."""
        if not self.repo:
            return None
        p = norm(rel)
        if self.kind != "ExternalArtifact":
            return p
        for to, frm in self.copies:
            if frm == "" or p == frm or p.startswith(frm + "/"):
                rest = p[len(frm) :].lstrip("/") if frm else p
                return norm(f"{to}/{rest}") if to and rest else (to or rest)
        return None


class Ignore:
    """What a GitRepository leaves out of its artifact (gitignore syntax, as source-controller reads it)."""

    def __init__(self, root: str, spec_ignore: str | None) -> None:
        import pathspec

        lines: list[str] = [] if spec_ignore is not None else list(DEFAULT_IGNORE)
        for rel in _sourceignore_files(root):
            folder = str(PurePosixPath(rel).parent)
            prefix = "" if folder == "." else folder + "/"
            try:
                with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
                    text = fh.read(256 * 1024)
            except OSError:
                continue
            lines += [_scoped(line, prefix) for line in text.splitlines()]
        if spec_ignore is not None:
            lines += spec_ignore.splitlines()
        self._spec = pathspec.GitIgnoreSpec.from_lines([ln for ln in lines if ln is not None])

    def excludes(self, rel: str) -> bool:
        return bool(self._spec.match_file(rel))


def _scoped(line: str, prefix: str) -> str:
    """A .sourceignore line of a subfolder as a pattern of the repository root."""
    raw = line.rstrip()
    if not prefix or not raw or raw.startswith("#"):
        return raw
    neg = raw.startswith("!")
    body = raw[1:] if neg else raw
    if body.startswith("/"):
        body = prefix + body[1:]
    elif "/" not in body.rstrip("/"):
        body = prefix + "**/" + body
    else:
        body = prefix + body
    return ("!" if neg else "") + body


@functools.lru_cache(maxsize=16)
def _sourceignore_cached(root: str, stamp: float) -> tuple[str, ...]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", ".venv", "__pycache__"))
        if SOURCEIGNORE in files:
            found.append(os.path.relpath(os.path.join(folder, SOURCEIGNORE), root).replace(os.sep, "/"))
    return tuple(found)


def _sourceignore_files(root: str) -> tuple[str, ...]:
    try:
        stamp = os.stat(root).st_mtime
    except OSError:
        return ()
    return _sourceignore_cached(root, stamp)


# -- entries ---------------------------------------------------------------------------------------
