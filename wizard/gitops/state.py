"""The repository's git state before a run: operations in progress, a half-done commit, others' commits.

* :func:`check_in_progress` refuses to start while a rebase, merge, cherry-pick, revert or ``git
  am`` is in progress (a killed rebase leaves the wizard's own files missing from disk) and says
  exactly how to get back.
* :class:`IndexJournal` makes the wizard's commit safe for the real index. The commit is built in a
  private index; the real index is then brought in line for the wizard's paths by writing a new
  index into ``.git/index.lock`` and renaming it over ``.git/index`` (git's own protocol, atomic).
  The journal (``.git/edge-wizard-pending.json``) records the commit before HEAD moves, so when a
  run is killed in between, :func:`recover` on the next run sees it, repairs the index (the
  wizard's files would otherwise stay staged as deleted) and says what happened.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import StepFailed, UserError
from wizard.redact import printable

JOURNAL = "edge-wizard-pending.json"
WIZARD_SUBJECT = "edge-wizard: "

# (marker in the git dir, what is in progress, the command that goes back, the one that finishes)
_IN_PROGRESS = (
    ("rebase-merge", "a git rebase", "git rebase --abort", "git rebase --continue"),
    ("rebase-apply/applying", "a git am (applying patches)", "git am --abort", "git am --continue"),
    ("rebase-apply", "a git rebase", "git rebase --abort", "git rebase --continue"),
    ("MERGE_HEAD", "a git merge", "git merge --abort", "git commit"),
    ("CHERRY_PICK_HEAD", "a git cherry-pick", "git cherry-pick --abort", "git cherry-pick --continue"),
    ("REVERT_HEAD", "a git revert", "git revert --abort", "git revert --continue"),
)


@dataclass(frozen=True)
class InProgress:
    marker: str
    what: str
    abort: str
    finish: str


def in_progress(git_dir: Path) -> InProgress | None:
    for marker, what, abort, finish in _IN_PROGRESS:
        if (git_dir / marker).exists():
            return InProgress(marker, what, abort, finish)
    return None


def check_in_progress(git_dir: Path) -> None:
    """UserError (exit 2) when a rebase/merge/cherry-pick/revert/am is in progress."""
    op = in_progress(git_dir)
    if op is None:
        return
    raise UserError(
        f"{op.what[0].upper()}{op.what[1:]} is in progress in this repository (.git/{op.marker} exists), perhaps "
        "one that was interrupted. Until it ends the working tree sits between two commits: files of the commits "
        "not replayed yet (also the wizard's own) are missing from disk, so the wizard would plan and commit on "
        "the wrong base. It stopped before reading or writing anything.",
        hint=f"Run `{op.abort}` to go back to where you were (or finish it with `{op.finish}`), then re-run.",
    )


# -- the index journal ---------------------------------------------------------------------------
class IndexJournal:
    """``.git/edge-wizard-pending.json``: the commit in flight and the paths it stages."""

    def __init__(self, git_dir: Path) -> None:
        self.path = Path(git_dir) / JOURNAL

    def write(self, **data: object) -> None:
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}")
        tmp.write_text(json.dumps({"pid": os.getpid(), **data}), encoding="utf-8")
        os.replace(tmp, self.path)

    def read(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def recover(
    git_dir: Path,
    head: str | None,
    reset_paths: Callable[[list[str]], None],
    note: Callable[[str], None],
) -> None:
    """Finish or undo what a killed commit left (call under the run lock, before anything else).

    * the commit landed (HEAD is it) but the index was not updated: the wizard's paths are reset
      in the real index to HEAD, so they are no longer staged as deleted/old;
    * the commit did not land: nothing to repair;
    * either way the wizard's own stale ``index.lock`` (the journal says it took it) is removed.
    """
    journal = IndexJournal(git_dir)
    data = journal.read()
    if data is None:
        return
    lock = git_dir / "index.lock"
    if data.get("index_lock") and lock.exists():
        with contextlib.suppress(OSError):
            lock.unlink()
    sha = data.get("sha")
    listed = data.get("paths")
    paths = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
    if isinstance(sha, str) and head == sha and paths and not data.get("index_done"):
        try:
            reset_paths(paths)
        except Exception as exc:  # keep the journal: the next run tries again
            raise StepFailed(
                f"A previous edge-wizard run was interrupted right after committing {sha[:12]}, before it updated "
                f"git's index, and repairing the index failed ({exc}). Until it is repaired, `git status` shows the "
                "wizard's files as staged for deletion and your next commit would delete them.",
                hint=f"Run `git reset -q -- {' '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}` (it only unstages), "
                "then re-run.",
            ) from None
        note(
            f"A previous edge-wizard run was interrupted right after committing {sha[:12]}, before it updated git's "
            f"index, so its {len(paths)} file(s) showed as staged for deletion. The index was repaired for those "
            "files (git reset -- <files>); nothing else was touched."
        )
    journal.clear()


# -- commits the wizard did not make ---------------------------------------------------------------
def foreign_unpushed(log: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """From ``[(sha, subject)]`` of unpushed commits, the ones the wizard did not make."""
    return [(sha, subject) for sha, subject in log if not subject.startswith(WIZARD_SUBJECT)]


def refuse_foreign_unpushed(commits: list[tuple[str, str]], remote: str, branch: str) -> None:
    if not commits:
        return
    shown = "; ".join(f"{sha[:10]} {printable(subject, newlines=False)}" for sha, subject in commits[:5])
    more = f" and {len(commits) - 5} more" if len(commits) > 5 else ""
    raise UserError(
        f"Your branch '{branch}' has {len(commits)} commit(s) that are not on {remote} yet and that edge-wizard did "
        f"not make: {shown}{more}. Pushing the wizard's commit would push them too, to the branch Flux deploys, "
        "so the wizard stopped before writing anything.",
        hint=f"Push them yourself first (git push {remote} {branch}) or move them to another branch "
        f"(git branch my-work && git reset --keep {remote}/{branch}), or run with --no-push; then re-run.",
    )


__all__ = [
    "InProgress",
    "IndexJournal",
    "check_in_progress",
    "foreign_unpushed",
    "in_progress",
    "recover",
    "refuse_foreign_unpushed",
]
