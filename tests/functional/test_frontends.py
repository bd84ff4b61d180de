"""Front-end parity: the same scripted decisions through the CLI (flags, ``--json``), plain mode
(questionary, scripted) and the TUI (pilot) give the same event list and the same bytes on disk
(the sops-encrypted Secret compared decrypted: sops picks a random data key).

Also: the non-interactive path asks nothing. A missing answer is an exit-2 error naming the key,
even with a standard input that stays open and silent (a hang would hit the timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wizard import events as ev
from wizard.flow import Options
from wizard.frontends.cli import main
from wizard.frontends.plain import run_plain

from support.prompts import Lines, Script  # the scripted questionary prompts (FakePrompt)
from support.repos import git, make_guide_repo, snapshot
from support.steplists import ALL_STEPS, PLAIN_STEPS

ROOT = Path(__file__).resolve().parents[2]
NO_DNS_ANSWERS = "domain: k8s.example.com\nzone: example.com\nemail: ops@example.com\n"
# what the interactive front ends answer with their select defaults, given to the CLI too
PARITY_ANSWERS = NO_DNS_ANSWERS + "dns_provider: hetzner\n"
STEPS = list(PLAIN_STEPS)
FLUX_URL = "ssh://git@github.com/example/cluster"  # make_guide_repo's default
TOKEN = "hcloud-Zm9vYmFyYmF6cXV4cXV1eA-parity"
SECRET = "manifests/infrastructure/external-dns/hetzner-token.yaml"
FIXED_DATE = "2026-01-02T03:04:05+00:00"


def pushable_repo(root: Path, **kw: Any) -> Path:
    """A guide repository whose Flux URL (the default one) reaches a local bare remote."""
    repo = make_guide_repo(root / "repo", **kw)
    remote = root / "remote.git"
    remote.mkdir()
    git(remote, "init", "-q", "--bare", "-b", "main")
    git(repo, "remote", "add", "origin", FLUX_URL)
    git(repo, "config", f"url.file://{remote}.insteadOf", FLUX_URL)
    git(repo, "push", "-q", "origin", "main")
    return repo


# -- the three front ends, given the same decisions -------------------------------------------------
def by_cli(repo: Path, answers: Path, steps: list[str], token: str | None) -> list[dict]:
    args = ["run", *steps, "--repo", str(repo), "--answers", str(answers), "--yes", "--json"]
    if token:
        args += ["--token-env", "T"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    records = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert rc == 0, records[-3:]
    return records


def by_plain(repo: Path, answers: Path, steps: list[str], token: str | None, mp: pytest.MonkeyPatch) -> list[dict]:
    scripted: dict[str, Any] = {"Steps to run": steps, "Write these changes": True, "Commit and push": True}
    if token:
        scripted["DNS provider token"] = token
    Script(answers=scripted).install(mp)  # every answer takes its (prefilled) default
    events: list[ev.Event] = []
    out = Lines()
    assert run_plain(Options(repo=str(repo), answers_file=str(answers)), out=out, record=events) == 0, out.text
    return [e.to_json() for e in events]


async def by_tui(repo: Path, answers: Path, steps: list[str], token: str | None) -> list[dict]:
    from textual.widgets import DataTable, Input

    from wizard.frontends.tui.app import make_app
    from wizard.steps import NAMES

    from ui.helpers import asked, on_screen, wait_for

    app = make_app(Options(repo=str(repo), answers_file=str(answers)), blink=False, theme="edge-dark")
    async with app.run_test(size=(100, 30)) as pilot:
        await asked(pilot, await on_screen(pilot, "PreflightScreen", "#continue:enabled"))
        await pilot.press("enter")
        await asked(pilot, await on_screen(pilot, "AnswersScreen", "#input-domain"))
        await pilot.press("ctrl+s")
        table = await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
        if steps == ALL_STEPS:
            await pilot.press("a")
        else:
            [step] = steps  # the TUI re-runs one step, or all of them
            table.query_one(DataTable).move_cursor(row=list(NAMES).index(step))
            await pilot.press("enter")
        if token:
            screen = await asked(pilot, await on_screen(pilot, "TokenScreen", "#input-token"))
            screen.query_one("#input-token", Input).focus()
            await pilot.press(*token, "ctrl+s")
        await asked(pilot, await on_screen(pilot, "ReviewScreen"))
        await pilot.press("w")
        await on_screen(pilot, "DoneScreen", timeout=60)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 0, app.errors
    return [e.to_json() for e in app.events]


# -- comparing them ---------------------------------------------------------------------------------
def normalised(records: list[dict], repo: Path) -> list[dict]:
    """The event list without what must differ between three repositories: their paths, the commit
    SHAs (the encrypted Secret differs byte for byte), times and git's progress lines."""
    out = []
    root = str(repo.parent)
    for r in records:
        if r["event"] == "PushProgress":
            continue
        text = json.dumps(r, sort_keys=True).replace(root, "<root>")
        r = json.loads(text)
        for key in ("sha", "since"):
            r.pop(key, None)
        if r["event"] == "Committed":
            r.pop("subject", None)
        if r["event"] == "Done":
            r["message"] = re.sub(r"\b[0-9a-f]{10}\b", "<sha>", r["message"])
        out.append(r)
    return out


def decrypt(repo: Path) -> str:
    from support.tools import require_tool

    return subprocess.run(
        [require_tool("sops"), "decrypt", SECRET], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Real sops + age, a fake provider API on 127.0.0.1, fixed git dates."""
    from support.agekeys import make_age_key
    from support.fakedns import FakeProviderAPI
    from support.tools import require_tool

    require_tool("sops")
    key = make_age_key(Path(os.environ["HOME"]) / ".config/sops/age", "keys.txt")
    monkeypatch.setenv("T", TOKEN)
    monkeypatch.setenv("GIT_AUTHOR_DATE", FIXED_DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", FIXED_DATE)
    with FakeProviderAPI(tokens=(TOKEN,), zones=({"name": "example.com", "nameservers": []},)) as api:
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
        yield key


SCENARIOS = {
    "all steps, token": (ALL_STEPS, TOKEN, "answers"),
    "one step, no token": (["firewall"], None, "no-dns"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_cli_plain_and_tui_give_the_same_events_and_bytes(
    tmp_path: Path, env: Any, answers_file: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    steps, token, which = SCENARIOS[scenario]
    answers = answers_file
    if which == "no-dns":
        answers = tmp_path / "one-step.yaml"
        answers.write_text(PARITY_ANSWERS, encoding="utf-8")
    repos = {n: pushable_repo(tmp_path / n, style="2024", age_recipient=env.recipient) for n in ("cli", "plain", "tui")}
    before = snapshot(repos["cli"])
    # the CLI and plain mode run their own event loop: in a thread, beside the test's
    events = {
        "cli": await asyncio.to_thread(by_cli, repos["cli"], answers, steps, token),
        "plain": await asyncio.to_thread(by_plain, repos["plain"], answers, steps, token, monkeypatch),
        "tui": await by_tui(repos["tui"], answers, steps, token),
    }
    # the same event list, stage by stage (and something real happened)
    cli = normalised(events["cli"], repos["cli"])
    assert [r["event"] for r in cli].count("FileWritten") >= 2
    assert cli[-1]["event"] == "Done" and cli[-1]["outcome"] == "pushed"
    for name in ("plain", "tui"):
        other = normalised(events[name], repos[name])
        assert [r["event"] for r in other] == [r["event"] for r in cli], name
        assert other == cli, name
    # the same bytes on disk, and the same commit on each remote
    shots = {n: snapshot(r) for n, r in repos.items()}
    assert shots["cli"] != before
    for name in ("plain", "tui"):
        differ = sorted(p for p in set(shots["cli"]) | set(shots[name]) if shots["cli"].get(p) != shots[name].get(p))
        assert differ in ([], [SECRET]), (name, differ)
    if token:
        assert decrypt(repos["cli"]) == decrypt(repos["plain"]) == decrypt(repos["tui"])
        assert TOKEN in decrypt(repos["cli"]) and TOKEN.encode() not in shots["cli"][SECRET]
    for name, repo in repos.items():
        assert git(repo, "status", "--porcelain") == "", name
        files = git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()
        assert sorted(files) == sorted(git(repos["cli"], "show", "--name-only", "--format=", "HEAD").splitlines())


# -- the non-interactive path never asks ------------------------------------------------------------
def run_silent_stdin(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m wizard ARGS`` with a standard input that is open but never written or closed
    (``communicate`` would close it, turning a hang into an EOF); output goes to files."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wizard", *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True
        )
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("edge-wizard waited on standard input in non-interactive mode")
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


@pytest.mark.parametrize("missing", ["email", "domain"])
def test_missing_answer_names_the_key_and_exits_2(tmp_path: Path, missing: str) -> None:
    repo = make_guide_repo(tmp_path / "repo")
    answers = tmp_path / "a.yaml"
    answers.write_text(
        "".join(
            line + "\n"
            for line in NO_DNS_ANSWERS.splitlines()
            if not line.startswith(f"{missing}:") and not (missing == "domain" and line.startswith("zone:"))
        )
    )
    before = snapshot(repo)
    r = run_silent_stdin(
        "run", "--repo", str(repo), "--answers", str(answers), "--yes", *STEPS, "--no-commit", "--no-push", "--no-watch"
    )
    assert r.returncode == 2, r.stderr
    assert f"`{missing}:`" in r.stderr
    assert r.stdout == "" or "wrote" not in r.stdout
    assert snapshot(repo) == before


def test_missing_token_is_an_error_not_a_prompt(tmp_path: Path, answers_file: Path) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=None, sops_rule=r"manifests/.*\.yaml")
    before = snapshot(repo)
    r = run_silent_stdin(
        "run",
        "external-dns",
        "--repo",
        str(repo),
        "--answers",
        str(answers_file),
        "--yes",
        "--no-commit",
        "--no-push",
        "--no-watch",
    )
    assert r.returncode == 2, r.stderr
    assert "--token-env" in r.stderr and "DNS provider token" in r.stderr
    assert snapshot(repo) == before


def test_token_env_and_yes_ask_nothing(tmp_path: Path, answers_file: Path, env) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=env.recipient)
    r = run_silent_stdin(
        "run",
        "--repo",
        str(repo),
        "--answers",
        str(answers_file),
        "--yes",
        "--token-env",
        "T",
        "--no-commit",
        "--no-push",
        "--no-watch",
    )
    assert r.returncode == 0, r.stderr
    assert f"✔ {SECRET} encrypted with sops" in r.stdout
    assert TOKEN not in r.stdout + r.stderr
