"""`edge-wizard demo`: the sandbox, the replayed reconcile, `--script` in a pty, the plain fallback.

EDGE_WIZARD_UPDATE_SCREENSHOTS=1 ... pytest tests/ui/test_demo.py   # rewrites docs/screenshots/demo-done.svg
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wizard import demo
from wizard import events as ev
from wizard.demo.captions import AGAIN
from wizard.demo.record import record, strip_ansi
from wizard.demo.script import script_feeder

from support.demos import run_demo
from ui.helpers import FIXED_NOW, asked, on_screen, second_screen

ROOT = Path(__file__).parents[2]
SECRET = "manifests/infrastructure/external-dns/hetzner-token.yaml"
SHOT = ROOT / "docs/screenshots/demo-done.svg"


def cast_text(cast: Path) -> str:
    lines = cast.read_text(encoding="utf-8").splitlines()[1:]
    return strip_ansi("".join(json.loads(line)[2] for line in lines))


def remote_files(remote: Path) -> list[str]:
    return subprocess.run(
        ["git", "-C", str(remote), "ls-tree", "-r", "--name-only", "main"], capture_output=True, text=True, check=True
    ).stdout.split()


def remote_log(remote: Path) -> list[str]:
    return subprocess.run(
        ["git", "-C", str(remote), "log", "--format=%s", "main"], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def no_sops_env(tmp_path: Path) -> dict[str, str]:
    """An environment where sops and age cannot be found: PATH holds git and python only."""
    bin_dir = tmp_path / "bin-no-sops"
    bin_dir.mkdir()
    for tool in ("git",):
        os.symlink(shutil.which(tool), bin_dir / tool)
    env = {k: v for k, v in os.environ.items() if k not in ("SOPS", "EDGE_WIZARD_TOOLS_BIN", "AGE_KEYGEN")}
    env.update(PATH=f"{bin_dir}:{Path(sys.executable).parent}", EDGE_WIZARD_TOOLS_CACHE=str(tmp_path / "no-cache"))
    git_exec = subprocess.run(["git", "--exec-path"], capture_output=True, text=True).stdout.strip()
    env["GIT_EXEC_PATH"] = git_exec
    return env


# -- the replay timeline ------------------------------------------------------------------------
def test_timeline_is_ordered_and_covers_the_chain() -> None:
    tl = demo.load_timeline()
    times = [float(e["at"]) for e in tl.events]
    assert times == sorted(times)
    kinds = {e["kind"] for e in tl.events}
    assert {
        "GitRepository",
        "Kustomization",
        "HelmRelease",
        "DaemonSet",
        "Deployment",
        "ClusterIssuer",
        "Certificate",
    } <= kinds
    # every object that ends ready went through a transient "progressing" first
    seen: dict[tuple, list[str]] = {}
    for e in tl.events:
        seen.setdefault((e["kind"], e["namespace"], e["name"]), []).append(e["phase"])
    for key, phases in seen.items():
        assert phases[-1] == "ready", key
    assert sum("progressing" in p for p in seen.values()) >= len(seen) - 1
    assert float(tl.done["at"]) >= times[-1]


def test_replay_plan_keeps_the_steps_that_ran_and_fills_in_the_push() -> None:
    from wizard.answers import build

    answers = build({}, {"domain": "k8s.example.org", "email": "a@example.org", "dns_provider": "hetzner"}, {})
    sha = "ab" * 20
    plan = demo.replay_plan(demo.load_timeline(), steps=["ingress"], sha=sha, answers=answers)
    first, last = plan[0][1], plan[-1][1]
    assert isinstance(first, ev.Info) and "replay" in first.message and "not a live cluster" in first.message
    assert isinstance(last, ev.Done) and last.url == "https://podinfo.apps.k8s.example.org"
    states = [e for _, e in plan if isinstance(e, ev.ObjectState)]
    names = {s.name for s in states}
    assert "traefik" in names and "external-dns" not in names and "podinfo-tls" not in names
    assert any(sha in s.message for s in states)
    assert all("{" not in s.message for s in states)


def test_replay_waits_real_time_scaled_by_pace() -> None:
    plan = [
        (0.0, ev.Info("a")),
        (2.0, ev.ObjectState("Kustomization", "flux-system", "x", "ready")),
        (3.0, ev.Done("d")),
    ]
    slept: list[float] = []
    out = list(demo.replay(plan, 0.5, clock=lambda: 42.0, sleep=slept.append))
    assert slept == [1.0, 0.5]
    assert out[1].since == 42.0
    slept.clear()
    list(demo.replay(plan, 0, sleep=slept.append))
    assert slept == []


# -- the sandbox ----------------------------------------------------------------------------------
def test_sandbox_without_sops_skips_external_dns_and_never_writes_a_plaintext_secret(tmp_path: Path) -> None:
    import asyncio

    box = demo.make_sandbox(tmp_path, encryption=False)
    assert not box.encryption and not (box.repo / ".sops.yaml").exists()
    assert any("skips encryption" in n for n in box.notes)

    async def collect() -> list[ev.Event]:
        return [e async for e in demo.run_unattended(box)]

    events = asyncio.run(collect())
    rows = {e.step: e for e in events if isinstance(e, ev.StepRow)}
    assert rows["external-dns"].state == "blocked" and "skipped in this sandbox" in rows["external-dns"].problem
    assert rows["prerequisites"].state == "blocked"
    assert isinstance(events[-1], ev.Done), events[-3:]
    written = [e.path for e in events if isinstance(e, ev.FileWritten)]
    assert written and not any("external-dns" in p for p in written)
    assert not list(box.repo.rglob("hetzner-token.yaml"))


def test_sandbox_key_lives_in_the_sandbox_not_in_the_users_config(tmp_path: Path) -> None:
    if demo.find_tool("sops") is None or demo.find_tool("age-keygen") is None:
        pytest.skip("sops/age not built (bash tests/tools/build.sh basic)")
    box = demo.make_sandbox(tmp_path)
    assert box.encryption and box.key_file is not None
    assert box.key_file.is_relative_to(box.root) and not box.key_file.is_relative_to(box.repo)
    assert (box.key_file.stat().st_mode & 0o077) == 0
    assert box.env()["SOPS_AGE_KEY_FILE"] == str(box.key_file)
    assert not (Path.home() / ".config/sops/age/keys.txt").exists()
    sops_yaml = (box.repo / ".sops.yaml").read_text()
    assert box.recipient in sops_yaml and "path_regex" in sops_yaml


# -- the TUI, driven by pilot: replay labelled, done screen, the README screenshot --------------
async def test_demo_tui_reaches_done_with_a_replay_labelled_reconcile(tmp_path: Path) -> None:
    from wizard.frontends.tui.app import make_app

    box = demo.make_sandbox(tmp_path)
    old = {k: os.environ.get(k) for k in box.env()}
    os.environ.update(box.env())
    try:
        services = box.services(0, clock=lambda: FIXED_NOW)
        replay_watcher = services.watcher(None)
        titles: list[str] = []

        class Titled:  # the Reconcile screen is up when the watch starts: note its title then
            needs_cluster = False

            async def follow(self, *a, **kw):
                titles.append(str(app.screen.query_one(".title").render()))
                async for event in replay_watcher.follow(*a, **kw):
                    yield event

        services.watcher = lambda _kube: Titled()
        app = make_app(
            box.options(),
            services=services,
            label=demo.REPLAY_LABEL,
            clock=lambda: FIXED_NOW,
            blink=False,
            theme="edge-dark",
            repo_name="demo cluster",
            wrap=demo.captioned,
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await asked(pilot, await on_screen(pilot, "PreflightScreen", "#continue:enabled"))
            await pilot.press("enter")
            await asked(pilot, await on_screen(pilot, "AnswersScreen", "#input-domain"))
            await pilot.press("ctrl+s")
            await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
            await pilot.press("a")
            await asked(pilot, await on_screen(pilot, "TokenScreen", "#input-token"))
            await pilot.press(*demo.DEMO_TOKEN, "ctrl+s")
            review = await asked(pilot, await on_screen(pilot, "ReviewScreen"))
            assert any("not checked" in n for n in review.notes), review.notes
            await pilot.press("w")
            # staging is proven (replayed): the promotion to production is reviewed on its own screen
            promotion = await asked(pilot, await second_screen(pilot, "ReviewScreen", "the promotion's review"))
            assert [s.step for s in promotion.plan.steps] == ["smoke-test"]
            await pilot.press("w")
            await on_screen(pilot, "DoneScreen", "#url", timeout=60)
            assert len(titles) == 2 and all("[replayed: recorded events, not a live cluster]" in t for t in titles)
            done = pilot.app.screen
            assert "podinfo.apps.k8s.example.com" in str(done.query_one("#url").render())
            # a replay never reads as a live result: the headline, the message and the proof lines say so
            assert "Replayed" in str(done.query_one("#headline").render())
            assert "nothing was checked" in str(done.query_one("#headline").render())
            assert str(done.query_one("#message").render()).startswith("In the recording, ")
            assert done.done.replayed and done.done.message.startswith("Replayed, not checked")
            proofs = [str(w.render()) for w in done.query(".proof")]
            assert proofs and all("replayed, not checked" in p and "proven" not in p for p in proofs), proofs
            assert not pilot.app.errors
            assert app.caption == demo.CAPTIONS["done"]  # under the stage bar: what a live run checks
            if os.environ.get("EDGE_WIZARD_UPDATE_SCREENSHOTS"):
                SHOT.parent.mkdir(parents=True, exist_ok=True)
                SHOT.write_text(app.export_screenshot(title="edge-wizard demo"), encoding="utf-8")
            await pilot.press("enter")
        assert app.return_code == 0
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert len([s for s in remote_log(box.remote) if s.startswith("edge-wizard:")]) == 2  # staging, production


def test_readme_demo_screenshot_is_an_svg_of_the_done_screen() -> None:
    assert SHOT.is_file(), "EDGE_WIZARD_UPDATE_SCREENSHOTS=1 pytest tests/ui/test_demo.py makes it"
    text = SHOT.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg") and "Replayed" in text and demo.DEMO_TOKEN not in text


# -- `edge-wizard demo --script` in a pty, as an unattended recording would run it --------------
def _run_script(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    cast = tmp_path / "demo.cast"
    return run_demo(tmp_path, "--script", "--pace", "0", "--record", str(cast), env=env, timeout=240), cast


def _sandbox_of(stdout: str) -> Path:
    return Path(re.search(r"demo sandbox (\S+)", stdout).group(1))


def test_demo_script_pushes_an_encrypted_secret_and_reaches_done(tmp_path: Path) -> None:
    if demo.find_tool("sops") is None:
        pytest.skip("sops not built (bash tests/tools/build.sh basic)")
    res, cast = _run_script(tmp_path, dict(os.environ))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "✔ demo done" in res.stdout
    screen = cast_text(cast)
    assert "Exit (enter)" in screen and "Staging is proven" in screen
    box = _sandbox_of(res.stdout)
    assert len(remote_log(box / "remote.git")) == 3  # initial + the wizard's commit + the promotion to production
    assert SECRET in remote_files(box / "remote.git")
    secret = subprocess.run(
        ["git", "-C", str(box / "remote.git"), "show", f"main:{SECRET}"], capture_output=True, text=True, check=True
    ).stdout
    assert "ENC[AES256_GCM," in secret and "sops:" in secret and demo.DEMO_TOKEN not in secret


def test_demo_script_without_sops_says_so_and_skips_external_dns(tmp_path: Path) -> None:
    res, cast = _run_script(tmp_path, no_sops_env(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "skips encryption" in res.stdout and "No plaintext Secret is ever written" in res.stdout
    box = _sandbox_of(res.stdout)
    files = remote_files(box / "remote.git")
    assert not any("external-dns" in f for f in files)
    assert "manifests/infrastructure/smoke-test/podinfo.yaml" in files
    assert not list(box.rglob("hetzner-token.yaml"))
    assert demo.DEMO_TOKEN not in cast.read_text(encoding="utf-8")


def test_demo_without_a_terminal_prints_plain_lines_and_does_not_wait(tmp_path: Path) -> None:
    """`edge-wizard demo --plain` (here without a terminal: unattended): the lines, with a caption per stage."""
    res = run_demo(tmp_path, "--plain")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "no terminal" in out and "replayed: a recorded event timeline" in out
    assert "✔ proven" not in out and "▷ replayed, not checked: podinfo.apps.k8s.example.com" in out
    assert "▷ Replayed, not checked" in out  # the last line: the Done
    captions = [line[2:] for line in out.splitlines() if line.startswith("» ")]
    stages = ["preflight", "answers", "steps", "token", "review", "write", "watch", "prove"]
    again = ["review", "write", "watch", "prove"]
    assert captions == [demo.CAPTIONS[s] for s in stages] + [AGAIN[s] for s in again] + [demo.CAPTIONS["done"]]
    assert "✔ pushed" in out and "✔ demo done" in out
    assert "\x1b[" not in out  # no escape sequences in a pipe
    box = _sandbox_of(out)
    assert remote_log(box / "remote.git")[0].startswith("edge-wizard:")
    assert demo.DEMO_TOKEN not in out + res.stderr


def test_demo_json_says_replayed_in_every_proof_and_the_done(tmp_path: Path) -> None:
    res = run_demo(tmp_path, "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    proofs = [r for r in records if r["event"] in ("Proof", "ProofCheck")]
    assert proofs and all(r.get("replayed") is True for r in proofs)
    (done,) = [r for r in records if r["event"] == "Done"]
    assert done["replayed"] is True and done["message"].startswith("Replayed, not checked")


def test_record_script_feeder_drives_the_demo_child_directly(tmp_path: Path) -> None:
    """The feeder alone (no cli around it) completes the flow on a sandbox made here."""
    box = demo.make_sandbox(tmp_path)
    cast = tmp_path / "child.cast"
    env = {**os.environ, **box.env()}
    code = record(
        [sys.executable, "-m", "wizard", "demo", "--sandbox", str(box.root), "--pace", "0"],
        cast,
        size=(100, 30),
        env=env,
        feeder=script_feeder(0),
        passthrough=False,
    )
    assert code == 0
    assert len(remote_log(box.remote)) == 3
