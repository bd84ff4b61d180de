"""One SVG per screen at 100x30, the main ones again at 80x24 (pytest-textual-snapshot).

Deterministic: fixed git dates and age recipient (stable SHAs), a fixed clock for elapsed times,
no cursor blink, the repository shown by its folder name only. Update with --snapshot-update
after looking at the report; the README screenshots come from these same screens
(tests/ui/make_screenshots.py).
"""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input

from ui.conftest import TOKEN
from ui.helpers import T0, build_app, on_screen, scripted_events, wait_for
from wizard.errors import UserError
from wizard.events import Info, ObjectState
from wizard.steps import NAMES

BIG, SMALL = (100, 30), (80, 24)


async def to_answers(pilot, token: str | None = TOKEN):
    await on_screen(pilot, "PreflightScreen", "#continue:enabled")
    await pilot.press("enter")
    screen = await on_screen(pilot, "AnswersScreen", "#input-token")
    if token:
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*token)
    return screen


async def to_steps(pilot, token: str | None = TOKEN):
    await to_answers(pilot, token)
    await pilot.press("ctrl+s")
    steps = await on_screen(pilot, "StepsScreen", "DataTable")
    await wait_for(pilot, lambda: steps.rows, what="step rows")
    return steps


async def to_review(pilot, step: str | None = None, token: str | None = TOKEN):
    steps = await to_steps(pilot, token)
    if step:
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index(step))
        await pilot.press("enter")
    else:
        await pilot.press("a")
    review = await on_screen(pilot, "ReviewScreen")
    await wait_for(pilot, lambda: review.plan, what="plan")
    return review


async def to_commit(pilot):
    await to_review(pilot, "ingress", token=None)
    await pilot.press("w")
    commit = await on_screen(pilot, "CommitScreen")
    await wait_for(pilot, lambda: commit.outcome, what="write outcome")
    return commit


async def halfway(_session):
    """A reconcile in progress: some objects ready, one progressing, then nothing more yet."""
    async for event in scripted_events(_session):
        if isinstance(event, ObjectState) and event.kind == "ClusterIssuer":
            break
        yield event
    yield ObjectState(
        "ClusterIssuer", "", "letsencrypt-production", "progressing", "Waiting for cert-manager webhook", since=T0 + 40
    )
    yield Info("Requested a reconcile of Kustomization flux-system/ingress-nginx")
    await asyncio.Event().wait()


def test_preflight(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_answers_with_token_typed(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await to_answers(pilot)

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


def test_answers_inline_error(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        screen = await to_answers(pilot, token=None)
        screen.query_one("#input-email", Input).value = "ops@"
        screen.query_one("#input-email", Input).focus()

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_steps(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        steps = await to_steps(pilot)
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("firewall"))

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_review(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await to_review(pilot)

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


def test_commit(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await to_commit(pilot)

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_reconcile_live_tree(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await to_commit(pilot)
        await pilot.press("enter")
        screen = await on_screen(pilot, "ReconcileScreen", "#tree")
        tree = screen.query_one("#tree")
        await wait_for(pilot, lambda: tree.phase("ClusterIssuer", "", "letsencrypt-production"), what="tree")

    assert snap_compare(build_app(ui_env, reconcile_source=halfway), terminal_size=size, run_before=run_before)


def test_reconcile_unavailable(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await to_commit(pilot)
        await pilot.press("enter")
        await on_screen(pilot, "ReconcileScreen", "#unavailable")

    assert snap_compare(build_app(ui_env, reconcile_source=None), terminal_size=BIG, run_before=run_before)


def test_done(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await to_commit(pilot)
        await pilot.press("enter")
        await on_screen(pilot, "DoneScreen")

    assert snap_compare(build_app(ui_env, reconcile_source=scripted_events), terminal_size=BIG, run_before=run_before)


def test_error_dialog(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        pilot.app.show_error(
            UserError(
                "The DNS provider refused the token (HTTP 401): it is wrong, expired or revoked.",
                hint="Create a new API token in the Hetzner Console and type it again.",
            )
        )
        await on_screen(pilot, "ErrorDialog")

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_quit_dialog(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        await pilot.press("ctrl+c")
        await on_screen(pilot, "ConfirmQuit")

    assert snap_compare(build_app(ui_env), terminal_size=SMALL, run_before=run_before)
