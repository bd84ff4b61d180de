"""The token typed at the masked prompt appears on no screen, in no export, log, error or file."""

from __future__ import annotations

from pathlib import Path

from support.repos import git
from textual.widgets import Input, RichLog

from ui.conftest import TOKEN
from ui.helpers import build_app, on_screen, scripted_events, wait_for

ROOT = Path(__file__).parents[2]


async def test_typed_token_is_in_no_export_log_or_file(ui_env) -> None:
    app = build_app(ui_env, reconcile_source=scripted_events)
    exports: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        exports.append(app.export_screenshot())
        await pilot.press("enter")
        answers = await on_screen(pilot, "AnswersScreen", "#input-token")
        token_input = answers.query_one("#input-token", Input)
        token_input.focus()
        await pilot.press(*TOKEN)
        assert token_input.value == TOKEN  # it was really typed
        exports.append(app.export_screenshot())
        assert "•" * len(TOKEN) in exports[-1]
        await pilot.press("ctrl+s")
        steps = await on_screen(pilot, "StepsScreen")
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        exports.append(app.export_screenshot())
        await pilot.press("a")
        review = await on_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: review.plan, what="plan")
        for i in range(len(review.query("FileItem"))):  # every file's diff, including the secret's
            review.query_one("#files").index = i
            await pilot.pause()
            exports.append(app.export_screenshot())
        await pilot.press("w")
        commit = await on_screen(pilot, "CommitScreen")
        await wait_for(pilot, lambda: commit.outcome, what="write outcome")
        assert commit.outcome == "done", app.errors
        exports.append(app.export_screenshot())
        log_text = "\n".join(line.text for line in commit.query_one("#log", RichLog).lines)
        assert "encrypted with sops" in log_text
        await pilot.press("enter")
        await on_screen(pilot, "DoneScreen")
        exports.append(app.export_screenshot())
        seen = [log_text, *app.errors, *(n.message for n in app._notifications), repr(app.session)]
        await pilot.press("enter")
    assert app.return_code == 0
    for text in exports + seen:
        assert TOKEN not in text
    # the files written and the history pushed
    for path in ui_env.repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in git(ui_env.repo, "log", "-p", "--all")


def test_no_stored_snapshot_or_screenshot_holds_the_token() -> None:
    svgs = list((ROOT / "tests/ui/__snapshots__").rglob("*.svg")) + list((ROOT / "docs/screenshots").glob("*.svg"))
    typed = [p for p in svgs if "•" * len(TOKEN) in p.read_text(encoding="utf-8")]
    assert typed, "no snapshot shows the masked token: the search below would prove nothing"
    for p in svgs:
        text = p.read_text(encoding="utf-8")
        assert TOKEN not in text, p
        assert TOKEN[:12] not in text, p
