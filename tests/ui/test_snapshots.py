"""One SVG per screen and state, at 100x30 and at 80x24 (pytest-textual-snapshot): nothing that
matters may be cut at either size (a long text wraps or has a detail line), no message shown twice.

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


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_preflight(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "preflight")

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_answers(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "answers")

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_answers_inline_error(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        screen = await drive(pilot, "answers")
        screen.query_one("#input-email", Input).value = "ops@"
        screen.query_one("#input-email", Input).focus()

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_steps(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        from textual.widgets import DataTable

        from wizard.steps import NAMES

        steps = await drive(pilot, "steps")
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("firewall"))

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_token_typed_is_masked(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        screen = await drive(pilot, "token")
        screen.query_one("#input-token", Input).focus()
        await pilot.press(*TOKEN)

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


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

    async def on_mount(self) -> None:
        for t in THEMES:
            self.register_theme(t)
        self.theme = "edge-dark"
        screen = CommitScreen("cluster")
        await self.push_screen(screen)  # mounted first: the events go to its log, as in the app
        for e in self.EVENTS:
            screen.on_flow_event(e)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_write_log(snap_compare, size) -> None:
    async def run_before(pilot):
        await on_screen(pilot, "CommitScreen")
        await pilot.pause()

    assert snap_compare(WriteLog(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_reconcile_live_tree(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        screen = await drive(pilot, "watch", step="ingress")
        tree = screen.query_one("#tree")
        await wait_for(pilot, lambda: tree.phase("ClusterIssuer", "", "letsencrypt-production"), what="tree")

    assert snap_compare(build_app(ui_env, watch=halfway), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_done(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "done", step="ingress")

    assert snap_compare(build_app(ui_env, watch=scripted_events), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_done_pushed_not_followed(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "done", step="ingress")

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_leave_out_dialog(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "steps")
        await pilot.press("a")
        await on_screen(pilot, "LeaveOutDialog")

    from support.repos import git
    from support.stepruns import second_policy

    second_policy(ui_env.repo)  # two policies: the firewall step is blocked (none at all: not applicable)
    git(ui_env.repo, "add", "-A")
    git(ui_env.repo, "commit", "-qm", "two host firewall policies")
    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_error_dialog(ui_env, snap_compare, size) -> None:
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

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_quit_dialog(ui_env, snap_compare, size) -> None:
    async def run_before(pilot):
        await drive(pilot, "preflight")
        await pilot.press("ctrl+c")
        await on_screen(pilot, "ConfirmQuit")

    assert snap_compare(build_app(ui_env), terminal_size=size, run_before=run_before)


class Harness(App[None]):
    """A harness: one screen (and a dialog over it) with fixed content, for states a pilot cannot
    hold still (the demo's done screen after the replayed proof; a dialog's text)."""

    CSS_PATH = [STYLES / "global.tcss", STYLES / "dialogs.tcss", STYLES / "done.tcss"]

    def __init__(self, screen, dialog=None, caption: str = "") -> None:
        super().__init__()
        self.first, self.dialog, self.caption = screen, dialog, caption

    def scrub(self, text: str) -> str:
        return text

    def on_mount(self) -> None:
        for t in THEMES:
            self.register_theme(t)
        self.theme = "edge-dark"
        self.push_screen(self.first)
        if self.dialog is not None:
            self.push_screen(self.dialog)


def replayed_done_screen():
    from wizard.demo import CAPTIONS
    from wizard.demo.proof import ADDRESS
    from wizard.frontends.tui.screens.done import DoneScreen

    host = "podinfo.apps.k8s.example.com"
    proofs = [
        ev.Proof(host, True, issuer, (ADDRESS,), cert, (host,), "90 days from now", verified, 200, 0.042, replayed=True)
        for issuer, cert, verified in (
            ("letsencrypt-staging", "(STAGING) Let's Encrypt, (STAGING) Tenuous Tomato R13", False),
            ("letsencrypt-production", "Let's Encrypt, R13", True),
        )
    ]
    done = ev.Done(
        "Replayed, not checked (recorded events, not a live cluster): in the recording, "
        f"{host} answers over HTTPS with a trusted certificate:",
        url=f"https://{host}/",
        outcome="proven",
        replayed=True,
    )
    return Harness(DoneScreen("demo cluster", done, proofs, offer_remove=True), caption=CAPTIONS["done"])


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_done_replayed(snap_compare, size) -> None:
    """The demo's done screen: Replayed in the headline, above the proof lines and in every one of them."""

    async def run_before(pilot):
        await on_screen(pilot, "DoneScreen")
        await pilot.pause()
        done = pilot.app.screen
        assert "Replayed" in str(done.query_one("#headline").render())
        assert all("replayed, not checked" in str(w.render()) for w in done.query(".proof"))

    assert snap_compare(replayed_done_screen(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_leave_out_dialog_one_paragraph_per_reason(snap_compare, size) -> None:
    """A sandbox without sops blocks two steps for one reason: the dialog says it once."""
    from textual.screen import Screen
    from textual.widgets import Static

    from wizard.demo import NO_SOPS_NOTE
    from wizard.frontends.tui.screens.dialogs import LeaveOutDialog

    why = "skipped in this sandbox: " + NO_SOPS_NOTE
    dialog = LeaveOutDialog([("prerequisites", why), ("external-dns", why)])

    class Behind(Screen[None]):
        def compose(self):
            yield Static("the steps screen")

    async def run_before(pilot):
        await on_screen(pilot, "LeaveOutDialog")
        reasons = [str(w.render()) for w in pilot.app.screen.query(".reason")]
        assert reasons == [f"prerequisites, external-dns: {why}"]

    assert snap_compare(Harness(Behind(), dialog), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["100x30", "80x24"])
def test_steps_with_the_demos_caption(ui_env, snap_compare, size) -> None:
    """The demo's caption under the stage bar (why this stage is there): whole at either size."""
    from wizard.demo import CAPTIONS, captioned

    async def run_before(pilot):
        await drive(pilot, "steps")
        assert pilot.app.caption == CAPTIONS["steps"]

    assert snap_compare(build_app(ui_env, wrap=captioned), terminal_size=size, run_before=run_before)
