"""The answers file and the committed state file through `run` and `plan` (issue 16 items 2, 6, 7:
answers that used to get through - paths outside the repository, wrong types, RFC 5321 limits, token
length and charset, YAML alias bombs; and missing or bad answers). Every one exits 2, names the key,
writes nothing and prints no traceback."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import wizard
from wizard.frontends.cli import main

from support.repos import git, snapshot

ROOT = Path(wizard.__file__).resolve().parents[1]  # the code under test (also when it is an older checkout)
BASE = "domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch"]
# the classic "billion laughs": 342 bytes that expand to 9**9 strings, under a key the wizard reads
BOMB = (
    'txt_owner_id: [&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"],\n'
    + "".join(f"  &{n} [{','.join(['*' + p] * 9)}],\n" for p, n in zip("abcdefgh", "bcdefghi"))
    + "]\n"
)


def _answers(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "answers.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err and "Error:" not in err.split("\n")[0][:6]


# -- item 2: paths.* inside the repository --------------------------------------------------------
@pytest.mark.parametrize(
    "key, value",
    [
        ("components", "{outside}"),
        ("components", "../.."),
        ("components", "manifests/../../elsewhere"),
        ("flux", "{outside}"),
        ("flux", "../outside"),
        ("firewall_policy", "{outside}/policy.yaml"),
        ("firewall_policy", "~/policy.yaml"),
    ],
)
def test_paths_outside_the_repository_exit_2_and_write_nothing(
    guide_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    value = value.format(outside=outside)
    # what the wizard would look for there, so only the "outside" is wrong (not a missing file)
    flux = guide_repo / "manifests/cluster/flux-system"
    for name in ("kustomization.yaml", "gotk-sync.yaml"):
        (outside / name).write_text((flux / name).read_text())
    fw = guide_repo / "manifests/infrastructure/cluster-policies/host-fw-control-plane.yaml"
    (outside / "policy.yaml").write_text(fw.read_text())
    before_outside = {p.name: p.read_bytes() for p in outside.iterdir()}
    f = _answers(tmp_path, BASE + f"paths:\n  {key}: {value}\n")
    before = snapshot(guide_repo)
    rc = main(["run", "ingress", "--repo", str(guide_repo), "--answers", str(f), *RUN])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"paths.{key}" in err
    _no_traceback(err)
    assert snapshot(guide_repo) == before
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before_outside


def test_paths_outside_in_the_committed_state_file_are_refused(
    guide_repo: Path, answers_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (guide_repo / ".edge-wizard.yaml").write_text(BASE + f"paths:\n  components: {outside}\n")
    git(guide_repo, "add", ".edge-wizard.yaml")
    git(guide_repo, "commit", "-qm", "state")
    before = snapshot(guide_repo)
    rc = main(["run", "--repo", str(guide_repo), *RUN, "--skip-token-check"])
    err = capsys.readouterr().err
    assert rc == 2 and "paths.components" in err
    assert snapshot(guide_repo) == before
    assert list(outside.iterdir()) == []
    assert "^/" not in (guide_repo / ".sops.yaml").read_text() if (guide_repo / ".sops.yaml").exists() else True


# -- item 6: every key's type and range -------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, key",
    [
        ("sops_secret: 123\n", "sops_secret"),
        ("sops_secret: [a]\n", "sops_secret"),
        ("txt_owner_id: [a, b]\n", "txt_owner_id"),
        ('txt_owner_id: "one\\ntwo"\n', "txt_owner_id"),
        ("txt_owner_id: has spaces\n", "txt_owner_id"),
        ("smoke_test_host: 42\n", "smoke_test_host"),
        ("zone: {a: b}\n", "zone"),
        ("ingress_controller: [ingress-nginx]\n", "ingress_controller"),
        ("smoke_test_issuer: true\n", "smoke_test_issuer"),
        ("firewall:\n  webhook_rule: 'yes'\n", "firewall.webhook_rule"),
        ("steps: ingress\n", "steps"),
        ("steps: [1, 2]\n", "steps"),
        ("paths: [a]\n", "paths"),
        ("paths:\n  components: 7\n", "paths.components"),
    ],
)
def test_wrong_types_exit_2_naming_the_key(
    guide_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, key: str
) -> None:
    f = _answers(tmp_path, BASE + extra)
    before = snapshot(guide_repo)
    rc = main(["run", "--repo", str(guide_repo), "--answers", str(f), *RUN, "--skip-token-check"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert key in err
    _no_traceback(err)
    assert snapshot(guide_repo) == before


@pytest.mark.parametrize(
    "email",
    [
        "o" * 65 + "@example.com",  # local part beyond 64
        "x" * 300 + "@example.com",
        "ops@" + ".".join(["a" * 60] * 5) + ".com",  # beyond 254 in all
        ".ops@example.com",
        "o..ps@example.com",
        "ops@-bad-.example.com",
    ],
)
def test_email_beyond_rfc_5321_limits_is_refused(guide_repo: Path, tmp_path: Path, capsys, email: str) -> None:
    f = _answers(tmp_path, f"domain: k8s.example.com\nemail: '{email}'\n")
    rc = main(["plan", "--repo", str(guide_repo), "--answers", str(f)])
    err = capsys.readouterr().err
    assert rc == 2 and "email" in err
    assert email not in err or len(email) < 60  # a huge value is shortened, not echoed


def _token_run(guide_repo: Path, answers_file: Path, token: bytes, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "wizard", "run", "external-dns", "--repo", str(guide_repo), "--answers",
         str(answers_file), *RUN, "--token-stdin", "--skip-token-check", *extra],
        input=token, capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "token, fragment",
    [
        pytest.param(b"10MB", "characters long", id="10MB"),
        pytest.param("tökén-with-ümlauts-12345".encode(), "non-ASCII", id="non-ascii"),
        pytest.param(b"abc", "characters long", id="short"),
        pytest.param(b"has/slash+plus=0123456789", "characters", id="charset"),
        pytest.param(b"tab\tinside-0123456789", "spaces", id="tab"),
    ],
)
def test_token_length_and_charset_per_provider(
    guide_repo: Path, answers_file: Path, token: bytes, fragment: str
) -> None:
    if token == b"10MB":
        token = b"A" * (10 * 1024 * 1024)
    before = snapshot(guide_repo)
    res = _token_run(guide_repo, answers_file, token)
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 2, err[-2000:]
    assert fragment in err and "Hetzner" in err
    _no_traceback(err)
    assert len(err) < 2000  # the token is never echoed
    assert snapshot(guide_repo) == before


# -- item 7: alias bombs and size bounds ---------------------------------------------------------------
def _limited_run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a child limited to 1 GB of address space: a bomb that expands shows as MemoryError."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "wizard", *argv], cwd=cwd, capture_output=True, text=True, env=env,
        preexec_fn=limit, timeout=120, check=False,
    )  # fmt: skip


def test_alias_bomb_in_the_answers_file_is_refused(guide_repo: Path, tmp_path: Path) -> None:
    assert len(BOMB) < 400
    f = _answers(tmp_path, BASE + BOMB)
    res = _limited_run(["plan", "--repo", str(guide_repo), "--answers", str(f), "--json"], tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    last = json.loads(res.stdout.splitlines()[-1])
    assert last["event"] == "Failed" and "alias" in last["message"]
    assert "MemoryError" not in res.stderr and "Traceback" not in res.stderr


def test_alias_bomb_in_the_committed_state_file_is_refused(guide_repo: Path, tmp_path: Path) -> None:
    (guide_repo / ".edge-wizard.yaml").write_text(BASE + BOMB)
    git(guide_repo, "add", ".edge-wizard.yaml")
    git(guide_repo, "commit", "-qm", "state")
    res = _limited_run(["run", "--repo", str(guide_repo), *RUN, "--skip-token-check"], tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    assert ".edge-wizard.yaml" in res.stderr and "alias" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_plain_anchor_in_answers_is_refused_too(tmp_path: Path, guide_repo: Path, capsys) -> None:
    f = _answers(tmp_path, "domain: &d k8s.example.com\nsmoke_test_host: *d\n")
    assert main(["plan", "--repo", str(guide_repo), "--answers", str(f)]) == 2
    assert "anchor or alias" in capsys.readouterr().err


def test_alias_bomb_in_a_managed_manifest_is_refused(guide_repo: Path, answers_file: Path, tmp_path: Path) -> None:
    k = guide_repo / "manifests/cluster/flux-system/kustomization.yaml"
    k.write_text(k.read_text() + BOMB.replace("txt_owner_id:", "bomb:"))
    git(guide_repo, "commit", "-qam", "bomb")
    res = _limited_run(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers_file)], tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "kustomization.yaml" in res.stderr and "alias" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_huge_managed_file_is_refused_unread(guide_repo: Path, answers_file: Path, capsys) -> None:
    k = guide_repo / "manifests/cluster/flux-system/kustomization.yaml"
    with k.open("a") as fh:
        fh.write("# " + "x" * (9 * 1024 * 1024) + "\n")
    git(guide_repo, "commit", "-qam", "huge")
    assert main(["plan", "ingress", "--repo", str(guide_repo), "--answers", str(answers_file)]) == 2
    err = capsys.readouterr().err
    assert "kustomization.yaml" in err and "MB" in err


def test_a_huge_answers_file_is_refused(guide_repo: Path, tmp_path: Path, capsys) -> None:
    f = _answers(tmp_path, BASE + "# " + "x" * 200_000 + "\n")
    assert main(["plan", "--repo", str(guide_repo), "--answers", str(f)]) == 2
    assert "KB" in capsys.readouterr().err


def test_invalid_yaml_message_never_quotes_the_file(guide_repo: Path, tmp_path: Path, capsys) -> None:
    """A kubeconfig passed as --answers by mistake: the error names line/column, not the content."""
    f = _answers(tmp_path, "users:\n- name: a\n  user:\n    token: s3cr3tT0kenValue0123456789\n  : bad: [\n")
    assert main(["plan", "--repo", str(guide_repo), "--answers", str(f)]) == 2
    err = capsys.readouterr().err
    assert "line" in err and "s3cr3tT0kenValue" not in err


def test_missing_required_answer_names_the_key(
    guide_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("domain: k8s.example.com\n")
    before = snapshot(guide_repo)
    rc = main(
        [
            "run",
            "cluster-issuers",
            "--repo",
            str(guide_repo),
            "--answers",
            str(f),
            "--yes",
            "--no-commit",
            "--no-push",
            "--no-watch",
        ]
    )
    assert rc == 2
    assert "email is missing" in capsys.readouterr().err
    assert snapshot(guide_repo) == before


@pytest.mark.parametrize(
    "content",
    [
        "domain: Example.COM\nemail: ops@example.com\n",
        "domain: example.com\nemail: not-an-email\n",
        "domain: example.com\ndns_provider: godaddy\n",
        "- just\n- a list\n",
        "domain: example.com\nfirewall: {webhook_rule: maybe}\n",
        "steps: [ingress, nginx]\n",
    ],
)
def test_bad_answers_exit_2_and_write_nothing(
    guide_repo: Path, tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(content)
    before = snapshot(guide_repo)
    rc = main(
        ["run", "--repo", str(guide_repo), "--answers", str(f), "--yes", "--no-commit", "--no-push", "--no-watch"]
    )
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.strip() and "Traceback" not in err
    assert snapshot(guide_repo) == before
