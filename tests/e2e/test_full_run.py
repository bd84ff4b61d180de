"""The whole stage on the local control plane: `edge-wizard run` with every step, the token from
the environment, pushed over smart HTTP, followed live until the smoke test is served over HTTPS.

No cert-manager controller runs here (its binary cannot be built from the Go module proxy), so a
small stand-in does what it would do to the real API server: mark ClusterIssuers registered and,
like cert-manager's ingress-shim, create a Certificate for each annotated Ingress and mark it
issued. Everything else is real: Flux's controllers, sops decryption, Helm installs, PodSecurity.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from wizard.frontends import cli

from .stage import bootstrap, clear_conflicts
from conftest import require_tool
from support.agekeys import make_age_key
from support.repos import git

pytestmark = pytest.mark.e2e

TOKEN = "hcloud-e2e-FullRunTokenValue-0123456789"


class StandInCertManager(threading.Thread):
    """Leaves ClusterIssuers and Certificates in the state cert-manager would."""

    def __init__(self, cp) -> None:
        super().__init__(daemon=True)
        self.cp = cp
        self.stop = threading.Event()

    def _ready(self, kind_ref: str, namespace: str | None, reason: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": reason, "message": reason, "lastTransitionTime": now}
                ]
            }
        }
        ns = ["-n", namespace] if namespace else []
        self.cp.kubectl(
            "patch", *ns, kind_ref, "--subresource=status", "--type=merge", "-p", json.dumps(patch), check=False
        )

    def tick(self) -> None:
        issuers = self.cp.kubectl("get", "clusterissuers", "-o", "json", check=False)
        if issuers.returncode != 0:
            return  # the CRDs are not there yet
        for ci in json.loads(issuers.stdout)["items"]:
            if not (ci.get("status") or {}).get("conditions"):
                self._ready(f"clusterissuer/{ci['metadata']['name']}", None, "ACMEAccountRegistered")
        for ing in self.cp.get_json("ingress", "-A")["items"]:
            meta = ing["metadata"]
            issuer = (meta.get("annotations") or {}).get("cert-manager.io/cluster-issuer")
            for tls in (ing["spec"].get("tls") or []) if issuer else []:
                name, ns = tls["secretName"], meta["namespace"]
                if self.cp.kubectl("get", "-n", ns, f"certificate/{name}", check=False).returncode != 0:
                    self.cp.kubectl_apply(
                        {
                            "apiVersion": "cert-manager.io/v1",
                            "kind": "Certificate",
                            "metadata": {"name": name, "namespace": ns},
                            "spec": {
                                "secretName": name,
                                "dnsNames": tls.get("hosts", []),
                                "issuerRef": {"name": issuer, "kind": "ClusterIssuer"},
                            },
                        }
                    )
                cert = self.cp.get_json("-n", ns, f"certificate/{name}")
                if not (cert.get("status") or {}).get("conditions"):
                    self._ready(f"certificate/{name}", ns, "Issued")

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.tick()
            except Exception:
                pass


@pytest.fixture(scope="module")
def full(control_plane, chart_repo, git_server, tmp_path_factory):
    require_tool("sops")
    cp = control_plane
    cp.kubectl("delete", "secret", "-n", "flux-system", "sops-age", "--ignore-not-found")
    base = tmp_path_factory.mktemp("full")
    key = make_age_key(base / "keys")
    sops_yaml = (
        "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
        f"    encrypted_regex: ^(data|stringData)$\n    age: {key.recipient}\n"
    )
    stage = bootstrap(cp, chart_repo, git_server, base, "full", sops_yaml=sops_yaml)
    # the root Kustomization now applies the new repository: its prune removes what an earlier
    # module's stage left (Kustomizations, their releases, the ingress pod on ports 80/443)
    clear_conflicts(cp)
    helper = StandInCertManager(cp)
    helper.start()
    try:
        yield stage, key
    finally:
        helper.stop.set()


def _run(stage, capsys) -> tuple[int, list[dict]]:
    rc = cli.main(
        [
            "run",
            "--repo",
            str(stage.repo),
            "--answers",
            str(stage.answers),
            "--token-env",
            "T",
            "--yes",
            "--skip-token-check",
            "--timeout",
            "8m",
            "--json",
        ]
    )
    out = capsys.readouterr()
    events = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    print(out.err)
    return rc, events


def test_full_run_reaches_https(full, monkeypatch, capsys):
    stage, key = full
    monkeypatch.setenv("KUBECONFIG", str(stage.cp.kubeconfig))
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    monkeypatch.setenv("T", TOKEN)
    before = git(stage.repo, "rev-parse", "HEAD")

    rc, events = _run(stage, capsys)
    assert rc == 0, [e for e in events if e["event"] in ("Failed", "Warning", "Hint")]
    sha = git(stage.repo, "rev-parse", "HEAD")
    assert git(stage.repo, "rev-list", "--count", f"{before}..{sha}") == "1"
    assert git(stage.repo, "ls-remote", "origin", "refs/heads/main").split()[0] == sha

    final = {}
    for e in events:
        if e["event"] == "ObjectState":
            final[(e["kind"], e["namespace"], e["name"])] = e["phase"]
    expected = [
        ("Kustomization", "flux-system", k)
        for k in ("ingress-nginx", "external-dns", "cert-manager", "cluster-issuers", "smoke-test")
    ]
    expected += [
        ("HelmRelease", "ingress-nginx", "ingress-nginx"),
        ("HelmRelease", "external-dns", "external-dns"),
        ("HelmRelease", "cert-manager", "cert-manager"),
        ("HelmRelease", "podinfo", "podinfo"),
        ("DaemonSet", "ingress-nginx", "ingress-nginx-controller"),
        ("ClusterIssuer", "", "letsencrypt-production"),
        ("Certificate", "podinfo", "podinfo-tls"),
    ]
    missing = [k for k in expected if final.get(k) != "ready"]
    assert not missing, (missing, final)
    done = events[-1]
    assert done["event"] == "Done" and done["url"] == "https://podinfo.apps.k8s.example.com/"

    # Flux decrypted the token with the cluster's sops-age Secret the prerequisites step created
    secret = stage.cp.get_json("-n", "external-dns", "secret/hetzner-token")
    assert base64.b64decode(secret["data"]["HETZNER_API_KEY"]).decode() == TOKEN
    ds = stage.cp.get_json("-n", "ingress-nginx", "daemonset/ingress-nginx-controller")
    assert ds["status"].get("numberReady", 0) >= 1
    # the token is in no file of the repository and in no blob of the remote
    for p in stage.repo.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p


def test_rerun_makes_no_commit_and_still_ends_ready(full, monkeypatch, capsys):
    stage, key = full
    monkeypatch.setenv("KUBECONFIG", str(stage.cp.kubeconfig))
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    monkeypatch.setenv("T", TOKEN)
    head = git(stage.repo, "rev-parse", "HEAD")
    started = time.monotonic()
    rc, events = _run(stage, capsys)
    assert rc == 0
    assert git(stage.repo, "rev-parse", "HEAD") == head
    assert not any(e["event"] in ("Committed", "FileWritten") for e in events)
    assert events[-1]["event"] == "Done"
    assert time.monotonic() - started < 300


async def test_tui_reruns_one_step_and_reaches_done_on_the_cluster(full, monkeypatch):
    """Issue 'TUI' done-when: the full UI flow on the local control plane reaches the done screen,
    here re-running one step (a new ACME e-mail) with the real Flux watcher behind the tree."""
    from textual.widgets import DataTable, Input

    from wizard.flow import Options
    from wizard.frontends.tui.app import make_app
    from wizard.steps import NAMES

    from ui.helpers import asked, on_screen

    stage, key = full
    monkeypatch.setenv("KUBECONFIG", str(stage.cp.kubeconfig))
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    head = git(stage.repo, "rev-parse", "HEAD")
    app = make_app(Options(repo=str(stage.repo)), blink=False, theme="edge-dark")
    async with app.run_test(size=(100, 30)) as pilot:
        await asked(pilot, await on_screen(pilot, "PreflightScreen", "#continue:enabled", timeout=60))
        await pilot.press("enter")
        answers = await asked(pilot, await on_screen(pilot, "AnswersScreen", "#input-email"))
        answers.query_one("#input-email", Input).value = "certs@example.com"
        await pilot.press("ctrl+s")
        steps = await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable", timeout=60))
        assert {r.step: r.state for r in steps.rows}["cluster-issuers"] == "changes"
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index("cluster-issuers"))
        await pilot.press("enter")
        await asked(pilot, await on_screen(pilot, "ReviewScreen"))
        await pilot.press("w")
        await on_screen(pilot, "ReconcileScreen", timeout=60)  # the real watcher behind the tree
        done = await on_screen(pilot, "DoneScreen", timeout=400)
        assert done.done.outcome == "reconciled", app.errors
        await pilot.press("enter")
    assert app.return_code == 0, app.errors
    sha = git(stage.repo, "rev-parse", "HEAD")
    assert sha != head and git(stage.repo, "ls-remote", "origin", "refs/heads/main").split()[0] == sha
    issuer = stage.cp.get_json("clusterissuer/letsencrypt-production")
    assert issuer["spec"]["acme"]["email"] == "certs@example.com"


def test_plain_mode_reruns_one_step_and_follows_flux_to_ready(full, monkeypatch):
    """Issue 'One flow' done-when: plain mode (questionary, scripted here) on the local control plane
    follows Flux to Ready after its push, like the CLI and the TUI."""
    from wizard.flow import Options
    from wizard.frontends.plain import run_plain

    from support.prompts import Lines, Script

    stage, key = full
    monkeypatch.setenv("KUBECONFIG", str(stage.cp.kubeconfig))
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    Script(
        answers={
            "ACME e-mail": "plain@example.com",
            "Steps to run": ["cluster-issuers"],
            "Write these changes": True,
            "Commit and push": True,
        }
    ).install(monkeypatch)
    out = Lines()
    events: list = []
    assert run_plain(Options(repo=str(stage.repo), timeout=480), out=out, record=events) == 0, out.text
    kinds = [type(e).__name__ for e in events]
    assert "Pushed" in kinds and kinds.index("Pushed") < kinds.index("ObjectState")
    assert events[-1].outcome == "reconciled", out.text
    ready = {(e.kind, e.name) for e in events if type(e).__name__ == "ObjectState" and e.phase == "ready"}
    assert ("Kustomization", "cluster-issuers") in ready and ("ClusterIssuer", "letsencrypt-production") in ready
    issuer = stage.cp.get_json("clusterissuer/letsencrypt-production")
    assert issuer["spec"]["acme"]["email"] == "plain@example.com"
