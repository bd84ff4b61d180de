"""Issue 16, minor items: provider echoes of the token are scrubbed, an unreachable provider API has
one behaviour per mode whose text matches it, escape sequences in file names never reach the
terminal, and the cosmetics (counts, empty reasons)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard import events as ev
from wizard.engine import Engine
from wizard.frontends.cli import main

from support.fakedns import FakeProviderAPI
from support.repos import git, snapshot

TOKEN = "hcloud-EchoedTokenValue-0123456789abcdef"
RUN = ["--yes", "--no-commit", "--no-push", "--no-watch", "--token-env", "T"]


# -- the token echoed back by the provider ---------------------------------------------------------------
def test_token_echoed_by_the_provider_never_reaches_the_output(
    guide_repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = {"name": "example.com", "id": TOKEN, "nameservers": [], "delegation_status": f"invalid ({TOKEN})"}
    with FakeProviderAPI(tokens=(TOKEN,), zones=(zone,)) as api:
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", api.url)
        monkeypatch.setenv("T", TOKEN)
        for extra in ([], ["--json"]):
            rc = main(["run", "ingress", "external-dns", "--repo", str(guide_repo), "--answers", str(answers_file),
                       *RUN, *extra])  # fmt: skip
            out = capsys.readouterr()
            assert TOKEN not in out.out + out.err
            assert "zone example.com (id ***)" in out.out + out.err, out.out + out.err
            assert rc == 2  # the repository has no .sops.yaml: it stops after the check, which is what is tested


def test_scrubber_hides_registered_secrets_keys_and_url_credentials() -> None:
    from wizard import redact

    redact.remember("s3cr3t-Value-0123456789")
    text = (
        "token s3cr3t-Value-0123456789 b64 czNjcjN0LVZhbHVlLTAxMjM0NTY3ODk "
        "https://bot:hunter2@git.example.com/x AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQY "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\n    client-key-data: LS0tLS1CRUdJTiBSU0Eg"
    )
    out = redact.scrub(text)
    for leaked in (
        "s3cr3t-Value",
        "czNjcjN0LVZhbHVl",
        "hunter2",
        "AGE-SECRET-KEY-1QYQ",
        "MIIEabc",
        "LS0tLS1CRUdJTiBSU0Eg",
    ):
        assert leaked not in out, (leaked, out)
    redact.forget("s3cr3t-Value-0123456789")


# -- provider API unreachable: one behaviour per mode, the text matches it --------------------------------------
def test_unreachable_provider_stops_a_non_interactive_run_before_writing(
    guide_repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", "http://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("T", TOKEN)
    before = snapshot(guide_repo)
    rc = main(["run", "external-dns", "--repo", str(guide_repo), "--answers", str(answers_file), *RUN])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Pass --skip-token-check to continue without the check" in err
    assert snapshot(guide_repo) == before


def test_unreachable_provider_in_interactive_modes_warns_that_the_run_continues(
    guide_repo: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", "http://127.0.0.1:1")
    from wizard.flow import check_token_with_provider

    engine = Engine(repo=guide_repo, answers_file=str(answers_file))
    _, answers = engine.load()
    events = check_token_with_provider(answers, TOKEN, strict=False).events  # what plain and the TUI get
    assert len(events) == 1 and isinstance(events[0], ev.Warning)
    assert "continues without the check" in events[0].message
    assert "--skip-token-check" not in events[0].message


# -- escape sequences in file names -------------------------------------------------------------------------
def test_escape_sequences_in_a_file_name_are_shown_not_run(
    guide_repo: Path, answers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = guide_repo / "manifests/infrastructure/cluster-policies"
    evil = "host-fw\x1b]0;pwned\x07\x1b[2J.yaml"
    (folder / "host-fw-control-plane.yaml").rename(folder / evil)
    git(guide_repo, "add", "-A")
    git(guide_repo, "commit", "-qm", "rename")
    for argv in (["plan", "firewall"], ["run", "firewall", "--yes", "--no-commit", "--no-watch"]):
        rc = main([*argv, "--repo", str(guide_repo), "--answers", str(answers_file)])
        out = capsys.readouterr()
        assert rc == 0, out.err
        assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err
        assert "host-fw\\x1b]0;pwned\\x07\\x1b[2J.yaml" in out.out


def test_json_output_escapes_control_characters() -> None:
    line = json.dumps(ev.FileWritten("a\x1b[2Jb.yaml").to_json())
    assert "\x1b" not in line


def test_printable_keeps_text_and_escapes_controls() -> None:
    from wizard import redact

    assert redact.printable("ok ✔ ünï\n\tnext") == "ok ✔ ünï\n\tnext"
    assert redact.printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert redact.printable("del\x7f nul\x00 ls\u2028 zwj 👩\u200d💻") == "del\\x7f nul\\x00 ls\\u2028 zwj 👩\u200d💻"
    assert redact.printable("one\ntwo\tthree", newlines=False) == "one\\x0atwo\tthree"


# -- cosmetics -------------------------------------------------------------------------------------------------
def test_plan_ready_never_counts_files_that_are_not_written() -> None:
    from wizard.frontends.lines import plain_line

    assert plain_line(ev.PlanReady(steps=("ingress",), files=())) == "► plan: ingress (nothing to write)"
    line = plain_line(ev.PlanReady(steps=("external-dns",), files=(), secrets=("s.yaml",)))
    assert "file" not in line and "1 sops Secret" in line
    assert "(2 files to write" in plain_line(ev.PlanReady(steps=("x",), files=("a", "b")))


def test_timeout_reason_is_never_empty_when_only_workloads_are_missing() -> None:
    from wizard.flux.follow import Run
    from wizard.flux.targets import WORKLOADS, Target

    hr = Target("HelmRelease", "smoke-test", "podinfo")
    wl = Target(WORKLOADS, "smoke-test", "podinfo", after=(hr.key,), release="podinfo")
    run = Run(watcher=None, targets=[hr, wl], sha=None, timeout=1.0)  # type: ignore[arg-type]
    ready = {hr.key: ev.ObjectState(kind="HelmRelease", namespace="smoke-test", name="podinfo", phase="ready")}
    pending = run._pending(ready)
    assert pending and all(reason for _, reason in pending), pending
    assert "workloads of HelmRelease smoke-test/podinfo" in pending[0][0]


# -- the reader of our output goes away ----------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_closed_output_pipe_exits_141_without_a_traceback(
    guide_repo: Path, answers_file: Path, extra: list[str]
) -> None:
    """`edge-wizard steps | head -1`: the process ends like git when its reader is gone (exit 141,
    nothing on stderr), through the console script's own exit (os._exit after the flush)."""
    import os
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first line
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "steps", "--repo", str(guide_repo), "--answers", str(answers_file), *extra],
        stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    os.close(w)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


def test_a_line_is_one_write_even_unbuffered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under PYTHONUNBUFFERED print() writes the text and the newline apart: a pipe's reader is woken
    twice, and the watch's line only lands with the second write."""
    import io
    import sys
    from typing import Any

    from wizard.frontends.cli.output import Out

    writes: list[bytes] = []

    class Raw(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            writes.append(bytes(b))
            return len(b)

    stream = io.TextIOWrapper(Raw(), encoding="utf-8", write_through=True)  # what -u gives sys.stdout
    monkeypatch.setattr(sys, "stdout", stream)
    Out(False).event(ev.Info("Flux APIs served"))
    Out(False).line("second")
    assert len(writes) == 2, writes
    assert b"Flux APIs served\n" in writes[0] and writes[0].count(b"\n") == 1
    assert writes[1] == b"second\n"
