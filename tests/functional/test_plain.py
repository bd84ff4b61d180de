"""Plain mode (wizard.frontends.plain) driven by scripted questionary prompts, without a terminal.

questionary.text/select/password/confirm/checkbox are replaced by a FakePrompt whose ``unsafe_ask``
returns the scripted answer for the first key that is a substring of the prompt's message; an
unscripted prompt takes its default. Every prompt asked is recorded. Text answers go through the
prompt's own ``validate=`` callable, as questionary would, so the declared validators are exercised.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wizard import flow
from wizard.flow import Options
from wizard.frontends import plain
from wizard.frontends.plain import run_plain as _run_plain

from support.prompts import CTRL_C, Lines, Script, Seq
from support.repos import git, make_guide_repo, snapshot
from support.steplists import PLAIN_STEPS

STEPS = list(PLAIN_STEPS)
ANSWERS = {
    "Steps to run": STEPS,
    "Domain": "k8s.example.com",
    "ACME e-mail": "ops@example.com",
}


def run_plain(*, repo: str, out, answers_file: str | None = None) -> int:
    return _run_plain(Options(repo=repo, answers_file=answers_file), out=out)


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    return Script(answers=dict(ANSWERS)).install(monkeypatch)


def remote_repo(tmp_path: Path, style: str = "2024") -> tuple[Path, Path]:
    """A guide repository whose Flux URL is a bare file:// remote holding its history."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    repo = make_guide_repo(tmp_path / "repo", style=style, url=bare.as_uri())
    git(repo, "remote", "add", "origin", bare.as_uri())
    git(repo, "push", "-q", "origin", "main")
    return repo, bare


# -- the full flow --------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["2023", "2024"])
def test_full_flow_writes_commits_and_pushes(tmp_path: Path, script: Script, style: str) -> None:
    repo, bare = remote_repo(tmp_path, style)
    script.answers.update({"Write these changes": True, "Commit and push": True})
    out = Lines()
    assert run_plain(repo=str(repo), out=out) == 0, out.text

    kinds = ["text", "text", "text", "select", "text", "select", "text", "checkbox", "confirm", "confirm"]
    assert [a.kind for a in script.asked] == kinds
    assert script.messages()[:7] == [
        "Domain",
        "DNS zone",
        "ACME e-mail",
        "DNS provider",
        "Smoke-test host",
        "Ingress controller",
        "Ingress address",
    ]
    assert script.prompt("Ingress controller").kwargs["default"] == "traefik"  # a new repository: Traefik
    assert "DNS provider token" not in script.messages()  # external-dns was not chosen: no token asked
    assert script.prompt("DNS zone").kwargs["default"] == "example.com"  # derived from the domain answer
    assert script.prompt("Smoke-test host").kwargs["default"] == "podinfo.apps.k8s.example.com"
    assert script.prompt("Write these changes").kwargs["default"] is False

    # the diff was shown, then the engine's events as plain lines
    assert "+++ b/manifests/infrastructure/traefik/traefik.yaml" in out.text
    assert out.text.index("+++ b/") < out.text.index("✚ wrote ")
    written = [line.removeprefix("✚ wrote ") for line in out if line.startswith("✚ wrote ")]
    assert "manifests/infrastructure/cert-manager/cert-manager.yaml" in written
    assert not any("external-dns" in p for p in written)
    assert any(line.startswith("✔ committed ") for line in out)
    assert any(line.startswith("✔ pushed ") for line in out)

    # committed exactly those files and pushed them; the working tree is clean
    head = git(repo, "rev-parse", "HEAD")
    assert git(bare, "rev-parse", "main") == head
    in_commit = git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(in_commit) == sorted(written)
    assert git(repo, "status", "--porcelain") == ""
    state = (repo / ".edge-wizard.yaml").read_text()
    assert "domain: k8s.example.com" in state and "email: ops@example.com" in state


def test_second_run_prefills_answers_and_has_nothing_to_do(
    tmp_path: Path, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = remote_repo(tmp_path)
    script.answers.update({"Write these changes": True, "Commit and push": True})
    assert run_plain(repo=str(repo), out=Lines()) == 0
    before = snapshot(repo)

    again = Script(answers={"Steps to run": STEPS}).install(monkeypatch)  # defaults for the rest
    out = Lines()
    assert run_plain(repo=str(repo), out=out) == 0
    steps = again.prompt("Steps to run").kwargs["choices"]
    assert all("(up to date)" in c.title and not c.checked for c in steps if c.value in STEPS)
    dns = next(c for c in steps if c.value == "external-dns")
    assert dns.checked and "(new)" in dns.title  # never run: offered
    assert again.prompt("Domain").kwargs["default"] == "k8s.example.com"  # from .edge-wizard.yaml
    assert "Nothing to change: the repository is up to date." in out
    assert "Write these changes" not in again.messages()  # nothing to confirm
    assert any(line.startswith("✔ Nothing to change") and "remote already has" in line for line in out), out.text
    assert snapshot(repo) == before


def test_declining_writes_nothing(guide_repo: Path, script: Script) -> None:
    before = snapshot(guide_repo)
    out = Lines()
    assert run_plain(repo=str(guide_repo), out=out) == 0  # "Write these changes?" defaults to no
    assert out[-1] == "No changes were made."
    assert "Commit and push them?" not in script.messages()
    assert snapshot(guide_repo) == before


def test_validators_are_the_declared_ones(guide_repo: Path, script: Script) -> None:
    run_plain(repo=str(guide_repo), out=Lines())
    domain = script.prompt("Domain").kwargs["validate"]
    assert "upper-case" in domain("K8s.Example.com")
    assert domain("k8s.example.com") is True
    host = script.prompt("Smoke-test host").kwargs["validate"]
    assert "outside the zone" in host("podinfo.example.org")
    steps = script.prompt("Steps to run").kwargs["validate"]
    assert steps([]) != True and steps(["ingress"]) is True  # noqa: E712 - the error is a string


# -- Ctrl-C -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt",
    [
        "Domain",
        "DNS zone",
        "ACME e-mail",
        "DNS provider",
        "Smoke-test host",
        "Steps to run",
        "Write these changes",
        "Commit and push",
    ],
)
def test_ctrl_c_at_each_prompt_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prompt: str) -> None:
    repo, bare = remote_repo(tmp_path)
    script = Script(answers={**ANSWERS, "Write these changes": True, prompt: CTRL_C}).install(monkeypatch)
    before, head = snapshot(repo), git(repo, "rev-parse", "HEAD")
    out = Lines()
    assert run_plain(repo=str(repo), out=out) == 130
    assert script.asked[-1].message.startswith(prompt)
    assert out[-1] == "No changes were made."
    assert snapshot(repo) == before
    assert git(repo, "rev-parse", "HEAD") == head == git(bare, "rev-parse", "main")


def test_ctrl_c_while_writing_lists_the_written_files_and_a_rerun_finishes(tmp_path: Path, script: Script) -> None:
    repo = make_guide_repo(tmp_path / "repo")
    script.answers.update({"Write these changes": True, "Commit and push": False})
    out = Lines()

    def interrupt_after_two_writes(text: str = "") -> None:
        out(text)
        if text.startswith("✚ wrote ") and sum(line.startswith("✚ wrote ") for line in out) == 2:
            raise KeyboardInterrupt

    assert run_plain(repo=str(repo), out=interrupt_after_two_writes) == 130
    shown = [line.removeprefix("✚ wrote ") for line in out if line.startswith("✚ wrote ")]
    assert len(shown) == 2
    # the plan is written as one transaction: every planned file is on disk, and the report says so
    planned = [line.removeprefix("+++ b/") for line in out.text.splitlines() if line.startswith("+++ b/")]
    tail = out[out.index("These files were already written (not committed):") :]
    assert tail[1 : 1 + len(planned)] == [f"  {p}" for p in planned] and len(planned) > 2
    assert all((repo / p).is_file() for p in planned)
    assert tail[-1] == "Re-running edge-wizard is safe: it continues from what is on disk."
    assert "No changes were made." not in out

    # and it is: the re-run completes, and the result equals an uninterrupted run
    assert run_plain(repo=str(repo), out=Lines()) == 0
    clean = make_guide_repo(tmp_path / "clean")
    assert run_plain(repo=str(clean), out=Lines()) == 0
    assert snapshot(repo) == snapshot(clean)


# -- errors ---------------------------------------------------------------------------------------
def test_bad_answers_file_is_one_paragraph_and_exit_2(guide_repo: Path, tmp_path: Path, script: Script) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text("domain: k8s.example.com\ntoken: abc\n")
    out = Lines()
    assert run_plain(repo=str(guide_repo), answers_file=str(bad), out=out) == 2
    assert len(out) == 1 and out[0].startswith("✗ ") and "token" in out[0]
    assert script.asked == []


def test_answers_file_prefills_the_prompts(guide_repo: Path, answers_file: Path, script: Script) -> None:
    script.answers = {"Steps to run": STEPS}
    run_plain(repo=str(guide_repo), answers_file=str(answers_file), out=Lines())
    assert script.prompt("Domain").kwargs["default"] == "k8s.example.com"
    assert script.prompt("ACME e-mail").kwargs["default"] == "ops@example.com"


def test_help_lines_come_from_the_declarations(guide_repo: Path, script: Script) -> None:
    from wizard.questions import QUESTIONS

    out = Lines()
    run_plain(repo=str(guide_repo), out=out)
    for q in QUESTIONS:
        if q.key in ("domain", "email", "smoke_test_host"):
            assert f"  {q.help}" in out


def test_plain_never_calls_ask(guide_repo: Path, script: Script) -> None:
    """FakePrompt.ask raises; a full declined run proves every prompt went through unsafe_ask."""
    assert run_plain(repo=str(guide_repo), out=Lines()) == 0
    assert len(script.asked) == 9  # seven answers, the steps, "Write these changes?"
    assert plain.INTERRUPTED == 130


# -- the DNS token (real sops and age, fake provider API on 127.0.0.1) -----------------------------
TOKEN = "hcloud-Zm9vYmFyYmF6cXV4cXV1eA-plain"
SECRET = "manifests/infrastructure/external-dns/hetzner-token.yaml"


@pytest.fixture
def dns_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from support.agekeys import make_age_key
    from support.fakedns import FakeProviderAPI
    from support.tools import require_tool

    require_tool("sops")
    key = make_age_key(tmp_path / "keys")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    repo = make_guide_repo(tmp_path / "repo", style="2024", age_recipient=key.recipient)
    # no nameservers in the fake zone, so no public DNS lookup is attempted
    with FakeProviderAPI(tokens=(TOKEN,), zones=({"name": "example.com", "nameservers": []},)) as api:
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
        yield repo


def decrypt(repo: Path) -> str:
    import os

    from support.tools import require_tool

    return subprocess.run(
        [require_tool("sops"), "decrypt", SECRET],
        cwd=repo,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    ).stdout


def test_token_is_masked_checked_reasked_and_encrypted(dns_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script(
        answers={
            "Steps to run": ["external-dns"],
            "Domain": "k8s.example.com",
            "ACME e-mail": "ops@example.com",
            "DNS provider token": Seq(["wrong-token-value-1", TOKEN]),
            "Write these changes": True,
            "Commit and push": False,
        }
    ).install(monkeypatch)
    out = Lines()
    assert run_plain(repo=str(dns_repo), out=out) == 0, out.text
    assert [a.kind for a in script.asked if a.message == "DNS provider token"] == ["password", "password"]
    assert script.prompt("DNS provider").kind == "select"
    rejected = [line for line in out if line.startswith("⚠ ") and "token" in line.lower()]
    assert len(rejected) == 1, out.text  # the rejected token said once, then the accepted one
    assert f"# {SECRET}: sops-encrypted Secret" in out.text
    assert f"✔ {SECRET} encrypted with sops" in out
    assert TOKEN not in out.text and "wrong-token-value-1" not in out.text
    assert TOKEN not in (dns_repo / SECRET).read_text()
    assert TOKEN in decrypt(dns_repo)

    # a second run asks whether to replace the token; no means no token prompt and nothing to do
    again = Script(answers={"Steps to run": ["external-dns"], "Commit and push": False}).install(monkeypatch)
    before = snapshot(dns_repo)
    out = Lines()
    assert run_plain(repo=str(dns_repo), out=out) == 0, out.text
    assert "Replace the DNS token?" in again.prompt("Replace the DNS token").message
    assert "DNS provider token" not in again.messages()
    # nothing new to write, but the first run's files are still uncommitted: it says so and asks
    assert any(line.startswith("  Also commits what an earlier run wrote") and SECRET in line for line in out), out.text
    assert snapshot(dns_repo) == before


def test_three_rejected_tokens_exit_2_and_write_nothing(dns_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script(
        answers={
            "Steps to run": ["external-dns"],
            "Domain": "k8s.example.com",
            "ACME e-mail": "ops@example.com",
            "DNS provider token": "wrong-token-value-1",
        }
    ).install(monkeypatch)
    before = snapshot(dns_repo)
    out = Lines()
    assert run_plain(repo=str(dns_repo), out=out) == 2
    assert script.messages().count("DNS provider token") == flow.TOKEN_ATTEMPTS
    assert "Write these changes?" not in script.messages()
    assert snapshot(dns_repo) == before


def test_ctrl_c_at_the_token_prompt(dns_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Script(
        answers={
            "Steps to run": ["external-dns"],
            "Domain": "k8s.example.com",
            "ACME e-mail": "ops@example.com",
            "DNS provider token": CTRL_C,
        }
    ).install(monkeypatch)
    before = snapshot(dns_repo)
    out = Lines()
    assert run_plain(repo=str(dns_repo), out=out) == 130
    assert out[-1] == "No changes were made."
    assert snapshot(dns_repo) == before


def test_a_repository_with_several_clusters_asks_which_one(tmp_path: Path, script: Script) -> None:
    """The official example holds two clusters: plain mode lists them and asks which one first."""
    from support.realrepos import OFFICIAL_OLD, copy_real_repo, fixtures_dir

    if fixtures_dir() is None:
        pytest.skip("../shared/fixtures/real-repos is missing")
    root = copy_real_repo(OFFICIAL_OLD, tmp_path / "repo")
    script.answers.update({"Which one do you set up": "staging", "Steps to run": ["cert-manager"]})
    script.answers["Write these changes"] = False
    out = Lines()
    assert run_plain(repo=str(root), out=out) == 0, out.text
    asked = script.prompt("several clusters")
    assert asked.kind == "select" and asked.kwargs["choices"] == ["production", "staging"]
    assert script.messages()[0].startswith("This repository holds several clusters")
    assert "  staging: flux bootstrap (clusters/staging/flux-system/gotk-sync.yaml)" in out.text
    assert "infra-controllers" in out.text  # staging's cert-manager, adopted where the cluster applies it
