"""The token typed at the masked prompt appears on no screen, in no export, log, error or file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Input

from support.repos import git
from ui.helpers import TOKEN, asked, build_app, drive, on_screen, scripted_events, shown, wait_for

ROOT = Path(__file__).parents[2]


async def test_typed_token_is_in_no_export_log_or_file(ui_env) -> None:
    written = asyncio.Event()  # the watch stage waits until the write screen was looked at

    async def watch_after_the_write_screen():
        await written.wait()
        async for e in scripted_events():
            yield e

    app = build_app(ui_env, watch=watch_after_the_write_screen)
    exports: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await drive(pilot, "preflight")
        exports.append(app.export_screenshot())
        await drive_on(pilot, exports)
        token = await asked(pilot, await on_screen(pilot, "TokenScreen", "#input-token"))
        token_input = token.query_one("#input-token", Input)
        token_input.focus()
        await pilot.press(*TOKEN)
        assert token_input.value == TOKEN  # it was really typed
        exports.append(app.export_screenshot())
        assert "•" * len(TOKEN) in exports[-1]
        await pilot.press("ctrl+s")
        review = await asked(pilot, await on_screen(pilot, "ReviewScreen"))
        for i in range(len(review.query("FileItem"))):  # every file's diff, including the secret's
            review.query_one("#files").index = i
            await pilot.pause()
            exports.append(app.export_screenshot())
        await pilot.press("w")
        commit = await wait_for(pilot, lambda: shown(pilot, "CommitScreen"), what="the write screen")
        await wait_for(pilot, lambda: commit.outcome == "pushed", what="pushed")
        exports.append(app.export_screenshot())
        log_text = "\n".join(commit.lines)  # what its log pane showed
        assert "encrypted with sops" in log_text
        written.set()
        await on_screen(pilot, "DoneScreen")
        exports.append(app.export_screenshot())
        seen = [log_text, *app.errors, *(n.message for n in app._notifications), repr(app.events), *app.notes]
        await pilot.press("enter")
    assert app.return_code == 0
    for text in exports + seen:
        assert TOKEN not in text
    # the files written and the history pushed
    for path in ui_env.repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in git(ui_env.repo, "log", "-p", "--all")


async def drive_on(pilot, exports: list[str]) -> None:
    """Preflight -> answers -> steps (run all), a screenshot of each."""
    await pilot.press("enter")
    await asked(pilot, await on_screen(pilot, "AnswersScreen", "#input-domain"))
    exports.append(pilot.app.export_screenshot())
    await pilot.press("ctrl+s")
    await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
    exports.append(pilot.app.export_screenshot())
    await pilot.press("a")


def test_no_stored_snapshot_or_screenshot_holds_the_token() -> None:
    svgs = list((ROOT / "tests/ui/__snapshots__").rglob("*.svg")) + list((ROOT / "docs/screenshots").glob("*.svg"))
    typed = [p for p in svgs if "•" * len(TOKEN) in p.read_text(encoding="utf-8")]
    assert typed, "no snapshot shows the masked token: the search below would prove nothing"
    for p in svgs:
        text = p.read_text(encoding="utf-8")
        assert TOKEN not in text, p
        assert TOKEN[:12] not in text, p
