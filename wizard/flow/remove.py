"""``edge-wizard run STEP --remove``: the removal, shown, confirmed, written, pushed and followed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from wizard import events as ev
from wizard.errors import UserError
from wizard.flow.contract import Back, Confirm
from wizard.flow.stages import _Run


async def _remove_stages(run: _Run) -> AsyncIterator[ev.Event]:
    """``run STEP --remove``: no answers, no token: the removal plan, shown and confirmed, written,
    committed and pushed; then follow Flux until what the steps set up is pruned from the cluster."""
    from wizard import steps as steps_mod

    if not run.o.steps:
        removable = " ".join(s.name for s in steps_mod.ALL if s.removable)
        raise UserError(f"--remove needs the step to remove, e.g. `edge-wizard run {removable} --remove`.")
    steps_mod.select(list(run.o.steps))  # unknown names: UserError
    run.chosen = [n for n in steps_mod.NAMES if n in run.o.steps]
    what = " and ".join(run.chosen)
    confirm: Confirm | None = None
    async for r in run.review():
        if isinstance(r, Confirm):
            confirm = r
        elif not isinstance(r, Back):
            yield r
    assert run.plan is not None
    if not run.plan.pending and confirm is not None:
        yield ev.Done(f"Nothing to remove: {what} is not in the repository.", outcome="nothing-to-do")
        return
    if confirm is None or not confirm.write:
        yield ev.Done("No changes were made.", outcome="declined")
        return
    pushed = False
    async for e in run.write(confirm):
        pushed |= isinstance(e, ev.Pushed)
        yield e
    assert run.engine is not None
    sha = run.engine.pushed_sha
    if not (confirm.commit and run.o.commit):
        yield ev.Done(
            f"Files removed, not committed. Review with `git status`; `edge-wizard run {' '.join(run.chosen)} --remove "
            "--yes` commits and pushes the removal.",
            outcome="written",
        )
        return
    if not run.o.push or not sha:
        yield ev.Done(
            "Removal committed, not pushed (--no-push). `edge-wizard run` pushes it later.", outcome="committed"
        )
        return
    watcher = run.s.watcher(run.kube)
    if not run.o.watch or (watcher.needs_cluster and run.report.cluster is None):
        why = "--no-watch" if not run.o.watch else "no kubeconfig was found"
        yield ev.Done(
            f"Pushed {sha[:10]}; not followed ({why}): Flux prunes {what} on its next sync. `edge-wizard watch` "
            "follows it.",
            outcome="pushed" if pushed else "nothing-to-do",
            sha=sha,
        )
        return
    from wizard.flux.targets import removed_objects

    async for e in run.watch(watcher, sha):  # ends once every removed object is gone from the cluster
        yield e
    gone = ", ".join(f"{t.kind} {t.namespace}/{t.name}" for t in removed_objects(run.plan)) or "its objects"
    assert run.session is not None
    answers = run.session.answers
    if "smoke-test" in run.chosen and answers.resolved_host:
        yield ev.Info(
            f"external-dns runs with policy upsert-only, so it never deletes records: the record of "
            f"{answers.resolved_host} stays at {answers.dns_provider or 'your DNS provider'} until you delete it there."
        )
    yield ev.Done(f"Removed {what}: Flux reconciled {sha[:10]} and pruned {gone}.", outcome="removed", sha=sha)
