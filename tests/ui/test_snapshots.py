"""One SVG per screen and state at 100x30, the main ones again at 80x24 (pytest-textual-snapshot).

Deterministic: fixed git dates and age recipient (stable SHAs), a fixed clock for elapsed times,
no cursor blink, the repository shown by its folder name only. Every screen is reached by
driving the real app through the flow (tests/ui/helpers.drive), except the write log, which
a harness app shows with a fixed event list (the real write is over before a snapshot can be
taken). Update with --snapshot-update after looking at the report; the README screenshots come
from these same SVGs (tests/ui/make_screenshots.py).
"""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App
from textual.widgets import Input

from wizard import events as ev
from wizard.frontends.tui.app import STYLES
from wizard.frontends.tui.screens.commit import CommitScreen
from wizard.frontends.tui.theme import THEMES

from ui.helpers import T0, TOKEN, build_app, drive, on_screen, scripted_events, wait_for

BIG, SMALL = (100, 30), (80, 24)


async def halfway():
    """A reconcile in progress: some objects ready, one progressing, then nothing more yet."""
    async for event in scripted_events():
        if isinstance(event, ev.ObjectState) and event.kind == "ClusterIssuer":
            break
        yield event
    yield ev.ObjectState(
        "ClusterIssuer", "", "letsencrypt-production", "progressing", "Waiting for cert-manager webhook", since=T0 + 40
    )
    yield ev.Info("Requested a reconcile of Kustomization flux-system/ingress-nginx")
    await asyncio.Event().wait()


def test_preflight(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await drive(pilot, "preflight")

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_answers(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "answers")

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


def test_answers_inline_error(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        screen = await drive(pilot, "answers")
        screen.query_one("#input-email", Input).value = "ops@"
        screen.query_one("#input-email", Input).focus()

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_steps(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        from textual.widgets import DataTable

        from wizard.steps import NAMES

        steps = await drive(pilot, "steps")
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("firewall"))

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_token_typed_is_masked(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        screen = await drive(pilot, "token")
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*TOKEN)

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_review(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "review", token=TOKEN)

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


class WriteLog(App[None]):
    """A harness: the write screen with a fixed event list."""

    CSS_PATH = [STYLES / "global.tcss", STYLES / "commit.tcss"]
    EVENTS = (
        ev.PlanReady(steps=("ingress", "firewall"), files=("a", "b", "c", "d")),
        ev.FileWritten(".edge-wizard.yaml"),
        ev.FileWritten("manifests/cluster/flux-system/ingress.yaml"),
        ev.FileWritten("manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"),
        ev.FileWritten("manifests/infrastructure/ingress-nginx/ingress-nginx.yaml"),
        ev.Committed(sha="3f1c2b9a7d" + "0" * 30, subject="edge-wizard: ingress, firewall", files=("a",)),
        ev.PushProgress(stage="writing objects", percent=60.0),
    )

    def scrub(self, text: str) -> str:
        return text

    def on_mount(self) -> None:
        for t in THEMES:
            self.register_theme(t)
        self.theme = "edge-dark"
        screen = CommitScreen("cluster")
        self.push_screen(screen)
        for e in self.EVENTS:
            screen.on_flow_event(e)


def test_write_log(snap_compare) -> None:
    async def run_before(pilot):
        await on_screen(pilot, "CommitScreen")
        await pilot.pause()

    assert snap_compare(WriteLog(), terminal_size=BIG, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_reconcile_live_tree(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        screen = await drive(pilot, "watch", step="ingress")
        tree = screen.query_one("#tree")
        await wait_for(pilot, lambda: tree.phase("ClusterIssuer", "", "letsencrypt-production"), what="tree")

    assert snap_compare(build_app(ui_env, watch=halfway), terminal_size=size, run_before=run_before)


def test_done(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await drive(pilot, "done", step="ingress")

    assert snap_compare(build_app(ui_env, watch=scripted_events), terminal_size=BIG, run_before=run_before)


def test_done_pushed_not_followed(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await drive(pilot, "done", step="ingress")

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_leave_out_dialog(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await drive(pilot, "steps")
        await pilot.press("a")
        await on_screen(pilot, "LeaveOutDialog")

    from support.repos import git
    from support.stepruns import second_policy

    second_policy(ui_env.repo)  # two policies: the firewall step is blocked (none at all: not applicable)
    git(ui_env.repo, "add", "-A")
    git(ui_env.repo, "commit", "-qm", "two host firewall policies")
    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_error_dialog(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await drive(pilot, "preflight")
        pilot.app.fail(
            ev.Failed(
                "The DNS provider refused the token (HTTP 401): it is wrong, expired or revoked. Create a new API "
                "token in the Hetzner Console and type it again.",
                2,
            )
        )
        await on_screen(pilot, "ErrorDialog")

    assert snap_compare(build_app(ui_env), terminal_size=BIG, run_before=run_before)


def test_quit_dialog(ui_env, snap_compare) -> None:
    async def run_before(pilot):
        await drive(pilot, "preflight")
        await pilot.press("ctrl+c")
        await on_screen(pilot, "ConfirmQuit")

    assert snap_compare(build_app(ui_env), terminal_size=SMALL, run_before=run_before)
