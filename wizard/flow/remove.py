"""``edge-wizard run STEP --remove``: no answers, no token: the removal plan, shown and confirmed,
written, committed and pushed; then Flux followed until what the steps set up is pruned."""

from __future__ import annotations

import dataclasses

from wizard import events as ev
from wizard.errors import UserError
from wizard.flow import outcome, stages
from wizard.flow.contract import Back
from wizard.flow.session import Run, Session


async def remove(run: Run, session: Session) -> ev.Done:
    from wizard import steps as steps_mod

    o = run.options
    if not o.steps:
        removable = " ".join(s.name for s in steps_mod.ALL if s.removable)
        raise UserError(f"--remove needs the step to remove, e.g. `edge-wizard run {removable} --remove`.")
    steps_mod.select(list(o.steps))  # unknown names: UserError
    session = dataclasses.replace(session, chosen=tuple(n for n in steps_mod.NAMES if n in o.steps))
    what = " and ".join(session.chosen)
    reviewed = await stages.review(run, session)
    if isinstance(reviewed, Back):
        return outcome.declined()
    session, confirm = reviewed
    assert session.plan is not None
    if not session.plan.pending:
        return ev.Done(f"Nothing to remove: {what} is not in the repository.", outcome="nothing-to-do")
    if not confirm.write:
        return outcome.declined()
    written = await stages.write(run, session, confirm)
    if not written.commit:
        return ev.Done(
            f"Files removed, not committed. Review with `git status`; `edge-wizard run {' '.join(session.chosen)} "
            "--remove --yes` commits and pushes the removal.",
            outcome="written",
        )
    if not o.push or not written.sha:
        return ev.Done(
            "Removal committed, not pushed (--no-push). `edge-wizard run` pushes it later.", outcome="committed"
        )
    sha = written.sha
    watcher = run.services.watcher(run.kube)
    if not o.watch or (watcher.needs_cluster and run.report.cluster is None):
        why = "--no-watch" if not o.watch else "no kubeconfig was found"
        return ev.Done(
            f"Pushed {sha[:10]}; not followed ({why}): Flux prunes {what} on its next sync. `edge-wizard watch` "
            "follows it.",
            outcome="pushed" if written.pushed else "nothing-to-do",
            sha=sha,
        )
    from wizard.flux.targets import removed_objects

    await stages.watch(run, session, watcher, sha)  # ends once every removed object is gone from the cluster
    gone = ", ".join(f"{t.kind} {t.namespace}/{t.name}" for t in removed_objects(session.plan)) or "its objects"
    answers = session.answers
    if "smoke-test" in session.chosen and answers.resolved_host:
        await run.emit(
            ev.Info(
                f"external-dns runs with policy upsert-only, so it never deletes records: the record of "
                f"{answers.resolved_host} stays at {answers.dns_provider or 'your DNS provider'} until you delete it "
                "there."
            )
        )
    return ev.Done(f"Removed {what}: Flux reconciled {sha[:10]} and pruned {gone}.", outcome="removed", sha=sha)
