"""Golden files: what `edge-wizard steps`, `plan` and `run` print, as plain lines and as --json, on
a fixed guide repository. A change to any output is a visible diff in tests/functional/golden/ (update
with EDGE_WIZARD_UPDATE_GOLDEN=1 after reading the diff). Every --json record is checked against
the one documented schema (wizard.events.json_schema)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

import pytest

from wizard.events import json_schema
from wizard.frontends.cli import main

from support.repos import make_guide_repo
from support.schema import validate as _validate

GOLDEN = Path(__file__).parent / "golden"
ANSWERS = "domain: k8s.example.com\nzone: example.com\nemail: ops@example.com\ndns_provider: hetzner\n"
CASES = {
    "steps": ["steps"],
    "plan-firewall": ["plan", "firewall"],
    "run-firewall": ["run", "firewall", "--yes", "--no-commit"],
    "run-blocked": ["run", "firewall", "--yes", "--no-commit", "--answers", "{broken}"],
    "doctor-offline": ["doctor", "--offline"],
}


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue()


def _normalise(text: str, root: Path) -> str:
    text = text.replace(str(root), "<tmp>")
    text = re.sub(r'"since": [0-9.]+', '"since": 0', text)
    return text


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-01-02T03:04:05+00:00")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-02T03:04:05+00:00")
    repo = make_guide_repo(tmp_path / "repo", style="2024")
    (tmp_path / "answers.yaml").write_text(ANSWERS, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("domain: [not, a, name]\ntoken: abc\n", encoding="utf-8")
    return repo


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", ["text", "json"])
def test_output_matches_the_golden_file(repo: Path, case: str, mode: str) -> None:
    args = [a.replace("{broken}", str(repo.parent / "broken.yaml")) for a in CASES[case]]
    if "--answers" not in args:
        args += ["--answers", str(repo.parent / "answers.yaml")]
    args += ["--repo", str(repo)] + (["--json"] if mode == "json" else [])
    rc, out, err = _run(args)
    got = f"exit {rc}\n--- stdout\n{_normalise(out, repo.parent)}--- stderr\n{_normalise(err, repo.parent)}"
    golden = GOLDEN / f"{case}.{'jsonl' if mode == 'json' else 'txt'}"
    if os.environ.get("EDGE_WIZARD_UPDATE_GOLDEN"):
        golden.write_text(got, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run with EDGE_WIZARD_UPDATE_GOLDEN=1"
    assert got == golden.read_text(encoding="utf-8")
    if mode == "json":
        schema = json_schema()
        records = [json.loads(line) for line in out.splitlines()]
        assert records and records[-1]["event"] in ("Done", "Failed")
        for i, r in enumerate(records):
            _validate(r, schema, f"{case} record {i}")
