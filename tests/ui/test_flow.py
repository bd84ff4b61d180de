"""Pilot tests of the flows: fill answers, pick steps, review, write; files on disk are checked."""

from __future__ import annotations

from support.repos import git, snapshot
from textual.widgets import DataTable, Input

from ui.conftest import TOKEN
from ui.helpers import T0, build_app, on_screen, scripted_events, wait_for
from wizard.errors import StepFailed
from wizard.events import ObjectState
from wizard.steps import NAMES


async def _to_steps(pilot, token: str | None = TOKEN):
    await on_screen(pilot, "PreflightScreen", "#continue:enabled")
    await pilot.press("enter")
    screen = await on_screen(pilot, "AnswersScreen", "#input-token")
    if token:
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*token)
    await pilot.press("ctrl+s")
    return await on_screen(pilot, "StepsScreen", "DataTable", timeout=30)


async def test_run_all_writes_commits_pushes_and_reaches_done(ui_env) -> None:
    app = build_app(ui_env, reconcile_source=scripted_events)
    async with app.run_test(size=(100, 30)) as pilot:
        steps = await _to_steps(pilot)
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        states = {r.name: r.state for r in steps.rows}
        assert list(states) == list(NAMES)
        assert states["ingress"] == "new" and states["firewall"] == "changes", states
        await pilot.press("a")
        review = await on_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: review.plan, what="plan")
        assert any("ingress-nginx" in w for w in review.plan.warnings)
        await pilot.press("w")
        commit = await on_screen(pilot, "CommitScreen")
        await wait_for(pilot, lambda: commit.outcome, what="write outcome")
        assert commit.outcome == "done", app.errors
        await pilot.press("enter")
        done = await on_screen(pilot, "DoneScreen")
        assert done.url == "https://podinfo.apps.k8s.example.com"
        await pilot.press("enter")
    assert app.return_code == 0
    repo = ui_env.repo
    assert (repo / "manifests/infrastructure/ingress-nginx/ingress-nginx.yaml").is_file()
    secret = next((repo / "manifests/infrastructure/external-dns").glob("*secret*.yaml"), None) or next(
        p for p in (repo / "manifests/infrastructure/external-dns").iterdir() if "ENC[" in p.read_text()
    )
    assert "ENC[" in secret.read_text() and TOKEN not in secret.read_text()
    assert git(repo, "status", "--porcelain") == ""
    assert git(ui_env.remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


async def test_pick_one_step_writes_only_that_step(ui_env) -> None:
    repo = ui_env.repo
    policy = "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
    before = snapshot(repo)
    app = build_app(ui_env, reconcile_source=None)
    async with app.run_test(size=(100, 30)) as pilot:
        steps = await _to_steps(pilot, token=None)
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        table = steps.query_one(DataTable)
        table.move_cursor(row=list(NAMES).index("firewall"))
        await pilot.press("enter")
        review = await on_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: review.plan, what="plan")
        assert [s.step for s in review.plan.steps] == ["firewall"]
        assert {c.path for c in review.plan.pending} == {policy, ".edge-wizard.yaml"}
        await pilot.press("w")
        commit = await on_screen(pilot, "CommitScreen")
        await wait_for(pilot, lambda: commit.outcome, what="write outcome")
        await pilot.press("enter")
        reconcile = await on_screen(pilot, "ReconcileScreen", "#unavailable")
        assert "not available yet" in str(reconcile.query_one("#unavailable").render())
        await pilot.press("enter")
    assert app.return_code == 0
    after = snapshot(repo)
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {policy, ".edge-wizard.yaml"}
    assert "80" in after[policy].decode() and "443" in after[policy].decode()
    assert git(repo, "log", "-1", "--format=%s").startswith("edge-wizard")
    assert git(ui_env.remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


async def test_inline_validation_blocks_until_fixed(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        await pilot.press("enter")
        screen = await on_screen(pilot, "AnswersScreen", "#input-email")
        email = screen.query_one("#input-email", Input)
        email.value = "not-an-email"
        await pilot.pause()
        field = screen.query_one("#q-email")
        assert field.has_class("-invalid")
        assert "e-mail" in str(field.query_one(".qf-error").render())
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "AnswersScreen"
        email.value = "ops@example.org"
        await pilot.pause()
        assert not field.has_class("-invalid")
        await pilot.press("ctrl+s")
        await on_screen(pilot, "StepsScreen")
        assert app.session.values["email"] == "ops@example.org"


async def test_typing_q_in_a_field_types_it_and_does_not_quit(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        await pilot.press("enter")
        screen = await on_screen(pilot, "AnswersScreen", "#input-domain")
        domain = screen.query_one("#input-domain", Input)
        domain.value = ""
        domain.focus()
        await pilot.press(*"q.example.com")
        assert domain.value == "q.example.com"
        assert type(app.screen).__name__ == "AnswersScreen"


async def test_rejected_token_shows_one_error_dialog_and_writes_nothing(ui_env) -> None:
    before = snapshot(ui_env.repo)
    bad = "hcloud-WrongTokenWrongTokenWrong1"
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        await pilot.press("enter")
        screen = await on_screen(pilot, "AnswersScreen", "#input-token")
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*bad)
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, "ErrorDialog")
        assert len(app.errors) == 1 and "token" in app.errors[0].lower()
        assert not dialog.query("#details"), "no traceback without --debug"
        svg = app.export_screenshot()
        assert bad not in svg and bad not in app.errors[0]
        await pilot.press("enter")
        await on_screen(pilot, "AnswersScreen")
        assert not screen.busy
    assert snapshot(ui_env.repo) == before


async def test_debug_keeps_the_traceback_in_the_dialog(ui_env) -> None:
    app = build_app(ui_env, debug=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        await pilot.press("enter")
        screen = await on_screen(pilot, "AnswersScreen", "#input-token")
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*"hcloud-WrongTokenWrongTokenWrong1")
        await pilot.press("ctrl+s")
        dialog = await on_screen(pilot, "ErrorDialog", "#details")
        assert "Traceback" in str(dialog.query_one("#details").render())


async def test_ctrl_c_asks_then_quits_with_130_and_nothing_written(ui_env) -> None:
    before = snapshot(ui_env.repo)
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
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
        steps = await _to_steps(pilot, token=None)
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("ingress"))
        await pilot.press("enter")
        review = await on_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: review.plan, what="plan")
        await pilot.press("b")
        steps = await on_screen(pilot, "StepsScreen")
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        await pilot.press("b")
        answers = await on_screen(pilot, "AnswersScreen", "#input-domain")
        assert answers.query_one("#input-domain", Input).value == "k8s.example.com"
        assert answers.query_one("#input-token", Input).value == ""


async def test_external_dns_without_token_says_to_go_back(ui_env) -> None:
    app = build_app(ui_env)
    async with app.run_test(size=(100, 30)) as pilot:
        steps = await _to_steps(pilot, token=None)
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("external-dns"))
        await pilot.press("enter")
        await on_screen(pilot, "ErrorDialog")
        assert "token" in app.errors[-1] and "Go back" in app.errors[-1]


async def test_reconcile_failure_lands_in_the_error_dialog_and_exits_1(ui_env) -> None:
    async def failing(_session):
        yield ObjectState("GitRepository", "flux-system", "flux-system", "ready", "stored", since=T0)
        yield ObjectState(
            "HelmRelease", "ingress-nginx", "ingress-nginx", "failed", "install retries exhausted", since=T0
        )
        raise StepFailed(
            "HelmRelease ingress-nginx/ingress-nginx failed: install retries exhausted. "
            "Run flux logs --kind=HelmRelease --name=ingress-nginx to see why."
        )

    app = build_app(ui_env, reconcile_source=failing)
    async with app.run_test(size=(100, 30)) as pilot:
        steps = await _to_steps(pilot, token=None)
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("ingress"))
        await pilot.press("enter")
        review = await on_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: review.plan, what="plan")
        await pilot.press("w")
        commit = await on_screen(pilot, "CommitScreen")
        await wait_for(pilot, lambda: commit.outcome, what="write outcome")
        await pilot.press("enter")
        await on_screen(pilot, "ErrorDialog")
        assert "install retries exhausted" in app.errors[-1]
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
        steps = await _to_steps(pilot)
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        await pilot.press("a")
        review = await on_screen(pilot, "ReviewScreen")
        plan = await wait_for(pilot, lambda: review.plan, what="plan")
        await pilot.press("w", "ctrl+c")
        await on_screen(pilot, "ConfirmQuit")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code in (130, 1)
    assert not [p for p in repo.rglob("*.tmp")], "a temp file of an interrupted write was left"
    for change in plan.changes:
        p = repo / change.path
        text = p.read_text(encoding="utf-8") if p.exists() else None
        assert text in (change.old, change.new), f"{change.path} is neither the old nor the new content"
