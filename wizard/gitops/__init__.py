"""Stage, leak-guard, commit and push the files a run wrote (GitPython).

The engine calls, in order::

    ops = GitOps(root, flux_branch=layout.branch, flux_url=layout.url, emit=emit)
    ops.target()                  # which branch/remote; warns when the local branch differs
    ops.preflight(paths, push=True)   # before writing (UserError, exit 2): no rebase/merge in
                                  # progress (state.check_in_progress), a killed commit repaired
                                  # (recover), no foreign index.lock, managed files free of foreign
                                  # edits (check_clean), no unpushed commits of the user's
    ... write files ...
    sha = ops.commit(paths, steps, secret_values=[token])   # None when nothing changed
    if ops.unpushed():
        sha = ops.push()          # pushed HEAD sha, for the watch stage

Rules this module keeps:

* Only the given paths are committed.  The commit is built in a private index (``GIT_INDEX_FILE``)
  from HEAD plus those paths, so anything else the user staged or edited stays as it was; the real
  index is then replaced in one rename while the wizard holds ``.git/index.lock``.
* Secrets never reach argv, messages or events; URL credentials are redacted from every message.
* git never prompts (``GIT_TERMINAL_PROMPT=0``, ssh ``BatchMode``) and network commands are killed
  after a timeout: a missing credential or a stuck helper is an error with a clear message, not a
  hang behind the TUI.
* Only the wizard's own commits are pushed (``preflight`` refuses when others are unpushed).
"""

from typing import TYPE_CHECKING, Any

from wizard.gitops.urls import flux_source_from_sync, normalize_url, redact_url

if TYPE_CHECKING:
    from wizard.gitops.ops import GitOps, GitTarget

__all__ = ["GitOps", "GitTarget", "flux_source_from_sync", "normalize_url", "redact_url"]


def __getattr__(name: str) -> Any:
    """GitOps imports GitPython (slow): only when a run gets to git, not for `steps` or `--help`."""
    if name in ("GitOps", "GitTarget"):
        from wizard.gitops import ops

        return getattr(ops, name)
    raise AttributeError(name)
