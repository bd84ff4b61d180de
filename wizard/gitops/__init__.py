"""Stage, leak-guard, commit and push the files a run wrote (GitPython).

The engine calls, in order::

    ops = GitOps(root, flux_branch=layout.branch, flux_url=layout.url, emit=emit)
    ops.target()                  # which branch/remote; warns when the local branch differs
    ops.check_clean(paths)        # before writing: managed files must not carry foreign edits
    ... write files ...
    sha = ops.commit(paths, steps, secret_values=[token])   # None when nothing changed
    if ops.unpushed():
        sha = ops.push()          # pushed HEAD sha, for the watch stage

Rules this module keeps:

* Only the given paths are committed.  The commit is built in a private index (``GIT_INDEX_FILE``)
  from HEAD plus those paths, so anything else the user staged or edited stays as it was.
* Secrets never reach argv, messages or events; URL credentials are redacted from every message.
* git never prompts (``GIT_TERMINAL_PROMPT=0``, ssh ``BatchMode``): a missing credential is an error
  with a clear message, not a hang behind the TUI.
"""

from wizard.gitops.ops import GitOps, GitTarget
from wizard.gitops.urls import flux_source_from_sync, normalize_url, redact_url

__all__ = ["GitOps", "GitTarget", "flux_source_from_sync", "normalize_url", "redact_url"]
