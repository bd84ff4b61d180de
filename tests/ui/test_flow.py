"""Pilot tests of the TUI on the one flow: answers, steps, token, review, write; files on disk are
checked, and the flow's events (app.events) say what happened."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from wizard import events as ev
from wizard.errors import StepFailed
from wizard.steps import NAMES

from support.repos import git, snapshot
from support.stepruns import second_policy
from ui.helpers import T0, TOKEN, asked, build_app, drive, on_screen, scripted_events, second_screen, wait_for

SECRET_DIR = "manifests/infrastructure/external-dns"


async def test_run_all_writes_commits_pushes_and_reaches_done(ui_env) -> None:
    app = build_app(ui_env, watch=scripted_events)
    async with app.run_test(size=(100, 30)) as pilot:
        steps = await drive(pilot, "steps")
        states = {r.step: r.state for r in steps.rows}
        assert list(states) == list(NAMES)
        assert states["ingress"] == "new" and states["firewall"] == "changes", states
        await pilot.press("a")
        token = await asked(pilot, await on_screen(pilot, "TokenScreen", "#input-token"))
        token.query_one("#input-token", Input).focus()
        await pilot.press(*TOKEN, "ctrl+s")
        review = await asked(pilot, await on_screen(pilot, "ReviewScreen"))
        assert not review.plan.warnings  # Traefik, the default: nothing retired, the address given
        await pilot.press("w")
        done = await on_screen(pilot, "DoneScreen", timeout=60)
        assert done.done.outcome in ("reconciled", "proven") and done.done.url == "https://podinfo.apps.k8s.example.com"
        await pilot.press("enter")
    assert app.return_code == 0
    kinds = [type(e).__name__ for e in app.events]
    assert kinds.index("Pushed") < kinds.index("ObjectState") < kinds.index("Done")  # the flow's order
    repo = ui_env.repo
    assert (repo / "manifests/infrastructure/traefik/traefik.yaml").is_file()
    secret = next(p for p in (repo / SECRET_DIR).iterdir() if "ENC[" in p.read_text())
    assert TOKEN not in secret.read_text()
    assert git(repo, "status", "--porcelain") == ""
    assert git(ui_env.remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


async def test_no_kubeconfig_pushes_and_ends_not_followed_exit_0(ui_env) -> None:
    """The done-when: no kubeconfig -> no follow stage, "pushed, not followed", exit 0."""
    repo = ui_env.repo
    policy = "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
    before = snapshot(repo)
    app = build_app(ui_env)  # the real watcher: it needs a cluster, and the tests have no kubeconfig
    async with app.run_test(size=(100, 30)) as pilot:
        preflight = await drive(pilot, "preflight")
        cluster = next(c for c in preflight.results if c.name == "Cluster context")
        assert cluster.status == "warn" and "not followed" in cluster.detail
        await pilot.press("enter", "ctrl+s")
        steps = await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("firewall"))
        await pilot.press("enter")
        review = await asked(pilot, await on_screen(pilot, "ReviewScreen"))
        assert [s.step for s in review.plan.steps] == ["firewall"]
        assert {c.path for c in review.plan.pending} == {policy, ".edge-wizard.yaml"}
        await pilot.press("w")
        done = await on_screen(pilot, "DoneScreen")
        assert done.done.outcome == "pushed" and "not followed" in done.done.message
        assert "Pushed, not followed" in str(done.query_one("#headline").render())
        await pilot.press("enter")
    assert app.return_code == 0
    assert not any(isinstance(e, ev.Stage) and e.name == "watch" for e in app.events)
    after = snapshot(repo)
    assert {p for p in after if before.get(p) != after[p]} == {policy, ".edge-wizard.yaml"}
    assert git(ui_env.remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


async def test_run_all_with_a_blocked_step_asks_before_leaving_it_out(ui_env) -> None:
    """The done-when: "Run all" with a blocked step asks first; "no" goes back, "yes" leaves it out."""
    second_policy(ui_env.repo)  # two policies: the firewall step cannot tell which one to extend
    git(ui_env.repo, "add", "-A")
    git(ui_env.repo, "commit", "-qm", "two host firewall policies")
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        steps = await drive(pilot, "steps")
        blocked = {r.step: r.problem for r in steps.rows if r.state == "blocked"}
        assert list(blocked) == ["firewall"] and "more than one host firewall policy" in blocked["firewall"].lower()
        await pilot.press("a")
        dialog = await on_screen(pilot, "LeaveOutDialog")
        assert "firewall" in str(dialog.query_one("#title").render())
        await pilot.press("n")
        steps = await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
        await pilot.press("a")
        await on_screen(pilot, "LeaveOutDialog")
        await pilot.press("y")
        await asked(pilot, await on_screen(pilot, "TokenScreen"))
        await pilot.press("escape")  # back to the steps: the token screen's Back
        await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))


async def test_inline_validation_blocks_until_fixed(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drive(pilot, "answers")
        email = screen.query_one("#input-email", Input)
        email.value = "not-an-email"
        await pilot.pause()
        field = screen.query_one("#q-email")
        assert field.has_class("-invalid")
        assert "e-mail" in str(field.query_one(".qf-error").render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "AnswersScreen" and screen.asking
        email.value = "ops@example.org"
        await pilot.pause()
        assert not field.has_class("-invalid")
        await pilot.press("ctrl+s")
        await on_screen(pilot, "StepsScreen")
        assert screen.answer is not None and screen.answer.result()["email"] == "ops@example.org"


async def test_typing_q_in_a_field_types_it_and_does_not_quit(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drive(pilot, "answers")
        domain = screen.query_one("#input-domain", Input)
        domain.value = ""
        domain.focus()
        await pilot.press(*"q.example.com")
        assert domain.value == "q.example.com"
        assert type(app.screen).__name__ == "AnswersScreen"


async def test_rejected_token_is_asked_again_with_the_reason_and_nothing_is_written(ui_env) -> None:
    before = snapshot(ui_env.repo)
    bad = "hcloud-WrongTokenWrongTokenWrong1"
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drive(pilot, "token", step="external-dns")
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*bad, "ctrl+s")
        again = await wait_for(
            pilot,
            lambda: (
                pilot.app.screen
                if getattr(pilot.app.screen, "asking", False) and pilot.app.screen is not screen
                else None
            ),
        )
        assert type(again).__name__ == "TokenScreen" and again.request.attempt == 2
        assert again.request.error and "token" in again.request.error.lower()
        svg = app.export_screenshot()
        assert bad not in svg and bad not in again.request.error
        assert not app.errors  # asked again on the screen, no error dialog
    assert snapshot(ui_env.repo) == before


async def test_debug_keeps_the_traceback_of_an_unexpected_error(ui_env) -> None:
    def broken(_answers, _token, _strict):
        raise RuntimeError("a bug in a token checker")

    app = build_app(ui_env, debug=True, check_token=broken)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drive(pilot, "token", step="external-dns")
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*TOKEN, "ctrl+s")
        dialog = await on_screen(pilot, "ErrorDialog", "#details")
        assert "Traceback" in str(dialog.query_one("#details").render())
        assert TOKEN not in str(dialog.query_one("#details").render())


async def test_ctrl_c_asks_then_quits_with_130_and_nothing_written(ui_env) -> None:
    before = snapshot(ui_env.repo)
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await drive(pilot, "preflight")
        await pilot.press("ctrl+c")
        await on_screen(pilot, "ConfirmQuit")
        await pilot.press("n")
        await on_screen(pilot, "PreflightScreen")
        await pilot.press("q")
        await on_screen(pilot, "ConfirmQuit")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 130
    assert snapshot(ui_env.repo) == before


async def test_back_from_review_and_steps_keeps_the_answers(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        answers = await drive(pilot, "answers")
        answers.query_one("#input-email", Input).value = "typed@example.org"
        await pilot.press("ctrl+s")
        await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
        await pilot.press("b")
        answers = await asked(pilot, await on_screen(pilot, "AnswersScreen", "#input-domain"))
        assert answers.query_one("#input-email", Input).value == "typed@example.org"
        await pilot.press("ctrl+s")
        steps = await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("ingress"))
        await pilot.press("enter")
        await asked(pilot, await on_screen(pilot, "ReviewScreen"))
        await pilot.press("b")
        await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))


async def test_external_dns_without_token_says_it_is_needed(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drive(pilot, "token", step="external-dns")
        await pilot.press("ctrl+s")
        await pilot.pause()
        field = screen.query_one("#q-token")
        assert field.has_class("-invalid") and "needs the token" in str(field.query_one(".qf-error").render())
        assert screen.asking and type(app.screen).__name__ == "TokenScreen"


async def test_reconcile_failure_shows_the_diagnosis_in_the_error_dialog_and_exits_1(ui_env) -> None:
    async def failing():
        yield ev.ObjectState("GitRepository", "flux-system", "flux-system", "ready", "stored", since=T0)
        yield ev.ObjectState(
            "HelmRelease", "ingress-nginx", "ingress-nginx", "failed", "install retries exhausted", since=T0
        )
        raise StepFailed(
            "HelmRelease ingress-nginx/ingress-nginx failed: install retries exhausted. "
            "Run flux logs --kind=HelmRelease --name=ingress-nginx to see why."
        )

    # the ingress-nginx path: its retirement warning is the doctor finding the dialog shows
    ui_env.answers.write_text(ui_env.answers.read_text() + "ingress_controller: ingress-nginx\n")
    app = build_app(ui_env, watch=failing)
    async with app.run_test(size=(100, 30)) as pilot:
        await drive(pilot, "review", step="ingress")
        await pilot.press("w")
        await on_screen(pilot, "ErrorDialog", timeout=60)
        assert "install retries exhausted" in app.errors[-1]
        stages = [e.name for e in app.events if isinstance(e, ev.Stage)]
        assert stages[-2:] == ["watch", "diagnose"]  # doctor looked before the failure was shown
        assert any(f.id == "ingress-nginx-retired" for f in app.findings)  # and its findings are in the dialog
        assert "[ingress-nginx-retired]" in str(pilot.app.screen.query_one("#details").render())
        await pilot.press("enter")
        reconcile = await on_screen(pilot, "ReconcileScreen")
        tree = reconcile.query_one("#tree")
        assert tree.phase("HelmRelease", "ingress-nginx", "ingress-nginx") == "failed"
        assert tree.phase("GitRepository", "flux-system", "flux-system") == "ready"
        await pilot.press("q")
        await on_screen(pilot, "ConfirmQuit")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 1


async def test_quit_while_writing_leaves_only_whole_files(ui_env) -> None:
    repo = ui_env.repo
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        review = await drive(pilot, "review", token=TOKEN)
        plan = review.plan
        await pilot.press("w", "ctrl+c")
        await on_screen(pilot, "ConfirmQuit")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code in (130, 0)
    assert not [p for p in repo.rglob("*.tmp")], "a temp file of an interrupted write was left"
    for change in plan.changes:
        p = repo / change.path
        text = p.read_text(encoding="utf-8") if p.exists() else None
        assert text in (change.old, change.new), f"{change.path} is neither the old nor the new content"


async def test_run_all_proves_staging_then_production_and_the_done_screen_shows_both(ui_env) -> None:
    """The prove stage in the TUI: staging proven, the promotion reviewed and confirmed on its own
    review screen (a second commit), production proven; the done screen lists both proofs."""
    from wizard.demo.proof import replay_prover

    app = build_app(ui_env, watch=scripted_events, prover=replay_prover(0))
    head = git(ui_env.repo, "rev-parse", "HEAD")
    async with app.run_test(size=(100, 40)) as pilot:
        await drive(pilot, "review", token=TOKEN)
        await pilot.press("w")
        promotion = await asked(pilot, await second_screen(pilot, "ReviewScreen", "the promotion's review screen"))
        assert [s.step for s in promotion.plan.steps] == ["smoke-test"]
        await pilot.press("w")
        done = await on_screen(pilot, "DoneScreen", timeout=60)
        assert done.done.outcome == "proven"
        lines = [str(w.render()) for w in done.query(".proof")]
        assert len(lines) == 2, lines
        assert "[letsencrypt-staging]" in lines[0] and "chain NOT verified" in lines[0]
        assert "[letsencrypt-production]" in lines[1] and "HTTPS 200" in lines[1]
        await pilot.press("enter")
    assert app.return_code == 0
    assert git(ui_env.repo, "rev-list", "--count", f"{head}..HEAD") == "2"
    proofs = [e for e in app.events if isinstance(e, ev.Proof)]
    assert [p.issuer for p in proofs] == ["letsencrypt-staging", "letsencrypt-production"]
    # the promotion's commit keeps every step the first one recorded (a re-run then changes nothing)
    state = (ui_env.repo / ".edge-wizard.yaml").read_text(encoding="utf-8")
    assert all(f"  - {name}\n" in state for name in NAMES), state


async def test_done_screen_removes_the_smoke_test_in_a_second_reviewed_commit(ui_env) -> None:
    """The done screen's "Remove the smoke test" runs `run smoke-test --remove` in the same session:
    its own review, one more commit and push, the watch, and a done screen that offers nothing more."""
    app = build_app(ui_env, watch=scripted_events)
    repo = ui_env.repo
    async with app.run_test(size=(100, 30)) as pilot:
        await drive(pilot, "review", token=TOKEN)
        await pilot.press("w")
        done = await on_screen(pilot, "DoneScreen", timeout=60)
        assert done.query("#remove")  # offered: the smoke test was set up in this run
        head = git(repo, "rev-parse", "HEAD")
        await pilot.press("r")
        await asked(pilot, await second_screen(pilot, "PreflightScreen", "the removal's preflight"))
        await pilot.press("enter")  # the checks again (no cluster here: a warning), then on
        removal = await asked(pilot, await second_screen(pilot, "ReviewScreen", "the removal's review screen"))
        assert removal.plan.removing
        assert {c.path for c in removal.plan.pending if c.deleted} >= {
            "manifests/infrastructure/smoke-test/podinfo.yaml"
        }
        await pilot.press("w")
        again = await second_screen(pilot, "DoneScreen", "the removal's done screen")
        assert again.done.outcome == "removed", again.done
        assert "Removed" in str(again.query_one("#headline").render())
        assert not again.query("#remove")
        await pilot.press("enter")
    assert app.return_code == 0
    assert git(repo, "rev-list", "--count", f"{head}..HEAD") == "1"
    assert git(repo, "log", "-1", "--format=%s") == "edge-wizard: remove smoke-test"
    assert not (repo / "manifests/infrastructure/smoke-test").exists()
    assert git(ui_env.remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


async def test_a_repository_with_several_clusters_asks_which_one(ui_env, tmp_path) -> None:
    """The official example holds two clusters: the TUI asks first (a dialog naming each), then the
    preflight and the answers are that cluster's."""
    import dataclasses

    from support.realrepos import OFFICIAL_OLD, copy_real_repo, fixtures_dir

    if fixtures_dir() is None:
        pytest.skip("../shared/fixtures/real-repos is missing")
    env = dataclasses.replace(ui_env, repo=copy_real_repo(OFFICIAL_OLD, tmp_path / "example"))
    app = build_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await on_screen(pilot, "ClusterDialog")
        assert "several clusters" in str(dialog.query_one("#title").render())
        buttons = [str(b.label) for b in dialog.query("Button")]
        assert buttons == ["production", "staging"]
        await pilot.click("#cluster-1")  # staging
        await asked(pilot, await on_screen(pilot, "PreflightScreen", "#continue:enabled"))
        checks = " ".join(f"{e.detail} {e.fix}" for e in app.events if isinstance(e, ev.Check))
    assert "clusters/staging" in checks and "clusters/production" not in checks, checks
