"""How a run ends: what the write and the watch or proof reached (:class:`Written`, :class:`Reached`),
and the Done that says so, as it is (written, committed, pushed, followed, proven)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard import events as ev

if TYPE_CHECKING:
    from wizard.flow.contract import Options

UP_TO_DATE = "Nothing to change: the repository is up to date"


@dataclass(frozen=True)
class Written:
    """What the write stage did."""

    commit: bool  # it was to commit (and push, unless --no-push)
    wrote: bool  # a file, a Secret or a commit changed
    pushed: bool  # pushed now
    sha: str | None  # what the remote has (pushed now or already there); None: not pushed

    @property
    def where(self) -> str:
        """What happened to the remote, said as it is: pushed now, or already there."""
        sha = (self.sha or "")[:10]
        return f"Pushed {sha}" if self.pushed else f"{UP_TO_DATE}; the remote already has {sha}"


@dataclass(frozen=True)
class Reached:
    """What the watch (Flux reconciled) or the proof (the edge is proven) reached, for the Done."""

    message: str = ""
    url: str = ""
    replayed: bool = False  # recorded events played back (the demo): nothing was checked


REPLAYED = "Replayed, not checked (recorded events, not a live cluster): "


def _reached(message: str, reached: Reached, outcome: str, sha: str) -> ev.Done:
    """The Done for what the watch or the proof reached; a replay says so in its first word."""
    if reached.replayed and not message.startswith("Replayed"):
        message = REPLAYED + message
    return ev.Done(message, url=reached.url, outcome=outcome, sha=sha, replayed=reached.replayed)


def declined() -> ev.Done:
    return ev.Done("No changes were made.", outcome="declined")


def before_watch(options: Options, chosen: Sequence[str], written: Written) -> ev.Done | None:
    """The run ends after the write when it did not commit, did not push, or does not follow Flux
    (--no-watch); None: it goes on to the watch."""
    if not written.commit:
        if not written.wrote:
            return ev.Done(UP_TO_DATE + ".", outcome="nothing-to-do")
        return ev.Done(
            f"Files written, not committed. Review them with `git diff`; then `edge-wizard run {' '.join(chosen)} "
            "--yes` commits and pushes them.",
            outcome="written",
        )
    if not options.push or not written.sha:
        what = "Committed" if written.wrote else UP_TO_DATE + "; the last commit is"
        return ev.Done(f"{what} not pushed (--no-push). `edge-wizard run` pushes it later.", outcome="committed")
    if not options.watch:
        return ev.Done(
            f"{written.where}; not followed (--no-watch). `edge-wizard watch` follows it.",
            outcome="pushed" if written.pushed else "nothing-to-do",
            sha=written.sha,
        )
    return None


def not_followed(written: Written) -> ev.Done:
    """Pushed, but there is no cluster to follow it on."""
    return ev.Done(
        f"{written.where}; not followed: no kubeconfig was found, so edge-wizard cannot watch Flux apply it. Flux "
        "applies it on its next sync; follow it later with `edge-wizard watch` (KUBECONFIG set).",
        outcome="pushed" if written.pushed else "nothing-to-do",
        sha=written.sha or "",
    )


def reconciled(reached: Reached, sha: str) -> ev.Done:
    return _reached(reached.message or f"Flux reconciled {sha[:10]}.", reached, "reconciled", sha)


def proven(reached: Reached, sha: str) -> ev.Done:
    return _reached(reached.message, reached, "proven", sha)


def staging_only(reached: Reached, sha: str) -> ev.Done:
    """Proven on staging; the promotion to production was declined."""
    return _reached(
        "The edge is proven with a Let's Encrypt staging certificate (browsers do not trust it). `edge-wizard run "
        "smoke-test` switches it to letsencrypt-production.",
        reached,
        "proven",
        sha,
    )


def unexpected(exc: BaseException) -> str:
    """An exception edge-wizard did not expect, in one sentence (a bug: never a traceback)."""
    text = " ".join(str(exc).split())[:300]
    return (
        f"Unexpected error ({type(exc).__name__}{': ' + text if text else ''}). This is an edge-wizard bug: run "
        "again with --debug to see where it happened, and report it. Files written so far are complete (every "
        "write is atomic); re-running continues from them."
    )
