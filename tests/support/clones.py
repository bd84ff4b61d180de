"""A guide-shaped repository behind a smart-HTTP remote on 127.0.0.1, cloned as a user would have it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.githttp import GitHTTPServer
from support.repos import git, make_guide_repo


@dataclass
class Clone:
    repo: Path  # the user's clone
    url: str  # the remote's URL
    bare: Path  # the remote's bare repository
    srv: GitHTTPServer

    def remote_head(self, branch: str = "main") -> str:
        return git(self.bare, "rev-parse", branch)

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD")

    def status(self) -> str:
        return git(self.repo, "status", "--porcelain", "--untracked-files=all")


@contextlib.contextmanager
def http_clone(
    tmp_path: Path, *, style: str = "2023", username: str | None = None, password: str | None = None, **kw: object
) -> Iterator[Clone]:
    with GitHTTPServer(tmp_path / "srv", username=username, password=password) as srv:
        bare = srv.create_bare("cluster")
        url = srv.url + "cluster.git"
        auth_url = srv.repo_url("cluster", username=username, password=password) if username else url
        seed = make_guide_repo(tmp_path / "seed", url=url, style=style, **kw)
        git(seed, "push", "-q", auth_url, "main")
        git(tmp_path, "clone", "-q", auth_url, "clone")
        repo = tmp_path / "clone"
        if username:
            git(repo, "remote", "set-url", "origin", url)  # credentials come from a helper, not the URL
        yield Clone(repo=repo, url=url, bare=bare, srv=srv)
