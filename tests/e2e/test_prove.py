"""The proof on the local control plane with the real workloads (issue 17's ``edge_stack``): `edge-wizard
run` from nothing to a production-proven HTTPS 200 with the staging proof in between, then `edge-wizard
verify` exits 0. Skips cleanly while the stack (tests/e2e/edge.py, the ``edge_stack`` fixture) is not here.

The DNS answers come from the stack's DNS server (``--resolver``); the chains verify against the two
Pebble roots (``--ca-bundle`` with both: Pebble stands in for Let's Encrypt staging and production).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HOST = "podinfo.apps.k8s.example.com"


def _stack(request: pytest.FixtureRequest):
    try:
        return request.getfixturevalue("edge_stack")
    except pytest.FixtureLookupError:
        pytest.skip("the real-workload stack (edge_stack fixture, issue 17) is not in this tree yet")


def _cli(*args: str) -> tuple[int, list[dict], str]:
    from wizard.frontends import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([*args, "--json"])
    return rc, [json.loads(x) for x in out.getvalue().splitlines() if x.startswith("{")], err.getvalue()


def test_run_proves_staging_then_production_and_verify_agrees(request, tmp_path_factory, monkeypatch) -> None:
    stack = _stack(request)
    from .stage import bootstrap, clear_conflicts  # type: ignore[import-not-found]
    from .test_full_run import _env  # type: ignore[import-not-found]
    from support.agekeys import make_age_key
    from support.repos import git

    git_server = request.getfixturevalue("git_server")
    base = tmp_path_factory.mktemp("prove")
    key = make_age_key(base / "keys")
    sops_yaml = (
        "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
        f"    encrypted_regex: ^(data|stringData)$\n    age: {key.recipient}\n"
    )
    catalog = stack.services.catalog_overlay(stack.chart_repo.url)
    stage = bootstrap(stack.cp, stack.chart_repo, git_server, base, "prove", sops_yaml=sops_yaml, catalog=catalog)
    clear_conflicts(stack.cp)
    home = base / "home"
    home.mkdir()
    _env(monkeypatch, stage, key, stack, home)
    bundle = base / "roots.pem"
    bundle.write_text(
        stack.root_pem("letsencrypt-staging") + "\n" + stack.root_pem("letsencrypt-production"), encoding="utf-8"
    )
    before = git(stage.repo, "rev-parse", "HEAD")
    common = ["--resolver", stack.dns, "--ca-bundle", str(bundle)]
    rc, events, err = _cli(
        "run", "--repo", str(stage.repo), "--answers", str(stage.answers), "--token-env", "T", "--yes",
        "--timeout", "15m", *common,
    )  # fmt: skip
    failed = [e for e in events if e["event"] in ("Failed", "ProofCheck") and e.get("status", "fail") == "fail"]
    assert rc == 0, (failed, err[-3000:])
    proofs = [e for e in events if e["event"] == "Proof"]
    assert [p["issuer"] for p in proofs] == ["letsencrypt-staging", "letsencrypt-production"], proofs
    assert all(p["proven"] and p["verified"] and p["status"] == 200 for p in proofs), proofs
    assert proofs[-1]["addresses"] == [stack.node_ip] and HOST in proofs[-1]["names"]
    assert events[-1]["event"] == "Done" and events[-1]["outcome"] == "proven"
    # two commits: everything with staging, then the smoke test's promotion
    assert git(stage.repo, "rev-list", "--count", f"{before}..HEAD") == "2"
    podinfo = Path(stage.repo, "manifests/infrastructure/smoke-test/podinfo.yaml")
    if podinfo.is_file():
        assert "cert-manager.io/cluster-issuer: letsencrypt-production" in podinfo.read_text()

    rc, events, err = _cli("verify", "--repo", str(stage.repo), *common, "--timeout", "2m")
    assert rc == 0, (events, err[-2000:])
    checks = {e["check"]: e["status"] for e in events if e["event"] == "ProofCheck"}
    assert checks == {"addresses": "ok", "port-80": "ok", "certificate": "ok", "https": "ok"}, checks

    # a re-run changes nothing and does not go back to staging
    rc, events, err = _cli(
        "run", "--repo", str(stage.repo), "--answers", str(stage.answers), "--token-env", "T", "--yes",
        "--timeout", "15m", *common,
    )  # fmt: skip
    assert rc == 0, err[-2000:]
    assert not [e for e in events if e["event"] == "Committed"]
    assert [p["issuer"] for p in events if p["event"] == "Proof"] == ["letsencrypt-production"]
