"""Front-end parity: for the same answers, the non-interactive CLI, plain mode and the TUI write
byte-identical files (the sops-encrypted Secret is compared decrypted: sops picks a random data key).

Also: the non-interactive path asks nothing. A missing answer is an exit-2 error naming the key,
even with a standard input that stays open and silent (a hang would hit the timeout).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.repos import make_guide_repo, snapshot
from test_plain import Lines, Script  # the scripted questionary prompts (FakePrompt)

from wizard.cli import main
from wizard.plain import run_plain

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["ingress", "firewall", "cert-manager", "cluster-issuers", "smoke-test"]
NO_DNS_ANSWERS = "domain: k8s.example.com\nzone: example.com\nemail: ops@example.com\n"
TYPED = {
    "Domain": "k8s.example.com",
    "DNS zone": "example.com",
    "ACME e-mail": "ops@example.com",
    "Smoke-test host": "podinfo.apps.k8s.example.com",
}
ALL_STEPS = ["ingress", "firewall", "external-dns", "cert-manager", "cluster-issuers", "smoke-test"]
FLUX_URL = "ssh://git@github.com/example/cluster"  # make_guide_repo's default
TYPED_KEYS = {
    "domain": "k8s.example.com",
    "zone": "example.com",
    "email": "ops@example.com",
    "smoke_test_host": "podinfo.apps.k8s.example.com",
}
TOKEN = "hcloud-Zm9vYmFyYmF6cXV4cXV1eA-parity"
SECRET = "manifests/infrastructure/external-dns/hetzner-token.yaml"


def noninteractive(repo: Path, answers: Path, steps: list[str], *extra: str) -> int:
    return main(
        [
            "run",
            *steps,
            "--repo",
            str(repo),
            "--answers",
            str(answers),
            "--yes",
            "--no-commit",
            "--no-push",
            "--no-watch",
            *extra,
        ]
    )


def plain(
    repo: Path,
    steps: list[str],
    monkeypatch: pytest.MonkeyPatch,
    answers: dict | None = None,
    answers_file: Path | None = None,
) -> int:
    script = Script(
        answers={"Steps to run": steps, **(answers or {}), "Write these changes": True, "Commit and push": False}
    ).install(monkeypatch)
    out = Lines()
    rc = run_plain(repo=str(repo), answers_file=str(answers_file) if answers_file else None, out=out)
    assert rc == 0, out.text
    assert script.prompt("Commit and push").message  # commit declined through the prompt
    return rc


async def tui(repo: Path, answers: Path, token: str) -> list[str]:
    """The TUI on ``repo`` (answers prefilled from ``answers``, token typed): run all steps.

    The TUI always commits and pushes, so ``repo`` needs its remote (see :func:`pushable_repo`).
    Returns the steps the TUI ran.
    """
    try:
        from wizard.ui.app import make_app
    except ImportError:
        pytest.skip("TODO(parity-tui): wizard.ui.app.make_app is not available")
    from textual.widgets import Input

    from tests.ui.helpers import on_screen, wait_for
    from wizard.engine import Engine

    app = make_app(
        Engine,
        repo=str(repo),
        answers_file=str(answers),
        reconcile_source=None,
        blink=False,
        theme="edge-dark",
        repo_name="cluster",
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "PreflightScreen", "#continue:enabled")
        await pilot.press("enter")
        form = await on_screen(pilot, "AnswersScreen", "#input-token")
        form.query_one("#input-token", Input).focus()
        await pilot.press(*token)
        await pilot.press("ctrl+s")
        steps = await on_screen(pilot, "StepsScreen", "DataTable")
        await wait_for(pilot, lambda: steps.rows, what="step rows")
        await pilot.press("a")
        review = await on_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: review.plan, what="plan")
        await pilot.press("w")
        commit = await on_screen(pilot, "CommitScreen")
        await wait_for(pilot, lambda: commit.outcome, what="write outcome")
        assert commit.outcome == "done", app.errors
        ran = list(review.steps)
        app.exit(0)
    return ran


def pushable_repo(root: Path, **kw) -> Path:
    """A guide repository whose Flux URL (the default one) reaches a local bare remote."""
    from support.repos import git

    repo = make_guide_repo(root / "repo", **kw)
    remote = root / "remote.git"
    remote.mkdir()
    git(remote, "init", "-q", "--bare", "-b", "main")
    git(repo, "remote", "add", "origin", FLUX_URL)
    git(repo, "config", f"url.file://{remote}.insteadOf", FLUX_URL)
    git(repo, "push", "-q", "origin", "main")
    return repo


def differing(a: dict[str, bytes], b: dict[str, bytes], ignore: frozenset[str] = frozenset()) -> str:
    """The unified diffs of the files that differ (empty when none do), for assertion messages."""
    import difflib

    out = []
    for path in sorted(set(a) | set(b)):
        if path in ignore or a.get(path) == b.get(path):
            continue
        old = (a.get(path) or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = (b.get(path) or b"").decode("utf-8", "replace").splitlines(keepends=True)
        out.append("".join(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}")) or f"{path} differs\n")
    return "".join(out)


def assert_same(diff: str) -> None:
    if diff:
        pytest.fail("the front ends wrote different files:\n" + diff, pytrace=False)


def two_repos(tmp_path: Path, style: str, **kw) -> tuple[Path, Path]:
    return (
        make_guide_repo(tmp_path / "cli" / "repo", style=style, **kw),
        make_guide_repo(tmp_path / "plain" / "repo", style=style, **kw),
    )


@pytest.fixture
def no_dns_answers(tmp_path: Path) -> Path:
    p = tmp_path / "answers.yaml"
    p.write_text(NO_DNS_ANSWERS, encoding="utf-8")
    return p


@pytest.mark.parametrize("style", ["2023", "2024"])
def test_cli_and_plain_write_identical_bytes(
    tmp_path: Path, style: str, no_dns_answers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_repo, plain_repo = two_repos(tmp_path, style)
    before = snapshot(cli_repo)
    assert noninteractive(cli_repo, no_dns_answers, STEPS) == 0
    assert plain(plain_repo, STEPS, monkeypatch, answers=TYPED) == 0
    a, b = snapshot(cli_repo), snapshot(plain_repo)
    assert a != before and len(set(a) - set(before)) > 5  # something real was written
    assert_same(differing(a, b))


@pytest.mark.parametrize("subset", [["ingress"], ["firewall", "cluster-issuers"], ["smoke-test"]])
def test_parity_for_step_subsets(tmp_path: Path, subset: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the questions the subset needs are asked; the CLI gets exactly those answers."""
    from wizard.questions import for_steps

    asked = {q.key for q in for_steps(subset)}
    answers = tmp_path / "subset.yaml"
    answers.write_text("".join(f"{k}: {v}\n" for k, v in TYPED_KEYS.items() if k in asked))
    cli_repo, plain_repo = two_repos(tmp_path, "2024")
    assert noninteractive(cli_repo, answers, subset) == 0
    plain(plain_repo, subset, monkeypatch, answers=TYPED)
    assert_same(differing(snapshot(cli_repo), snapshot(plain_repo)))


def test_plain_with_the_answers_file_and_defaults_matches_the_cli(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_repo, plain_repo = two_repos(tmp_path, "2023")
    assert noninteractive(cli_repo, answers_file, STEPS) == 0
    plain(plain_repo, STEPS, monkeypatch, answers_file=answers_file)  # every prompt takes its default
    assert_same(differing(snapshot(cli_repo), snapshot(plain_repo)))


# -- with external-dns: real sops + age, fake provider API on 127.0.0.1 -----------------------------
@pytest.fixture
def dns_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from conftest import require_tool
    from support.agekeys import make_age_key
    from support.fakedns import FakeProviderAPI

    try:
        import wizard.sops  # noqa: F401
    except ImportError:
        pytest.skip("wizard.sops is not there yet")
    require_tool("sops")
    key = make_age_key(tmp_path / "keys")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    monkeypatch.setenv("T", TOKEN)
    with FakeProviderAPI(tokens=(TOKEN,), zones=({"name": "example.com", "nameservers": []},)) as api:
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
        yield key


def decrypt(repo: Path) -> str:
    from conftest import require_tool

    return subprocess.run(
        [require_tool("sops"), "decrypt", SECRET],
        cwd=repo,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    ).stdout


@pytest.mark.parametrize("style", ["2023", "2024"])
def test_parity_with_external_dns(
    tmp_path: Path, style: str, dns_env, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = ALL_STEPS
    cli_repo, plain_repo = two_repos(tmp_path, style, age_recipient=dns_env.recipient)
    assert noninteractive(cli_repo, answers_file, steps, "--token-env", "T") == 0
    plain(plain_repo, steps, monkeypatch, answers={**TYPED, "DNS provider token": TOKEN})
    a, b = snapshot(cli_repo), snapshot(plain_repo)
    assert a.keys() == b.keys() and SECRET in a
    assert_same(differing(a, b, frozenset({SECRET})))
    assert TOKEN.encode() not in a[SECRET] and TOKEN.encode() not in b[SECRET]
    assert decrypt(cli_repo) == decrypt(plain_repo)
    assert TOKEN in decrypt(plain_repo)


async def test_tui_writes_the_same_files_as_cli_and_plain(
    tmp_path: Path, dns_env, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Run all" in the TUI, then the same steps, answers file and token through the CLI and plain mode."""
    cli_repo = make_guide_repo(tmp_path / "cli" / "repo", style="2024", age_recipient=dns_env.recipient)
    plain_repo = make_guide_repo(tmp_path / "plain" / "repo", style="2024", age_recipient=dns_env.recipient)
    tui_repo = pushable_repo(tmp_path / "tui", style="2024", age_recipient=dns_env.recipient)
    ran = await tui(tui_repo, answers_file, TOKEN)
    assert {"external-dns", "smoke-test"} <= set(ran)
    assert noninteractive(cli_repo, answers_file, ran, "--token-env", "T") == 0
    plain(plain_repo, ran, monkeypatch, answers={"DNS provider token": TOKEN}, answers_file=answers_file)
    a, b, c = snapshot(cli_repo), snapshot(plain_repo), snapshot(tui_repo)
    assert a.keys() == b.keys() == c.keys() and SECRET in a
    assert_same(differing(a, b, frozenset({SECRET})))
    assert_same(differing(a, c, frozenset({SECRET})))
    assert decrypt(cli_repo) == decrypt(plain_repo) == decrypt(tui_repo)


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


def test_token_env_and_yes_ask_nothing(tmp_path: Path, answers_file: Path, dns_env) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=dns_env.recipient)
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
