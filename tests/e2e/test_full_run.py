"""The whole stage on the local control plane, with the real workloads: `edge-wizard run` with every
step (the token checked against the fake Hetzner API, taken from the environment), pushed over smart
HTTP, followed live until the smoke test is served over HTTPS.

What runs for real (tests/e2e/README.md lists the stand-ins): the real charts; cert-manager's
controller, webhook, cainjector and acmesolver; external-dns with the Hetzner webhook, writing to the
fake Hetzner Cloud API; Pebble as the ACME servers, validating HTTP-01 through the ingress on the
node's port 80; podinfo. The HTTPS GET at the end goes through the ingress on port 443 to the
address the DNS server answers, verifying the chain against the Pebble root of the issuer in use.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import ssl
import subprocess
from pathlib import Path

import pytest

from wizard.frontends import cli

from .edge import TOKEN, EdgeStack
from .stage import bootstrap, clear_conflicts, poll
from support.agekeys import make_age_key
from support.repos import ANSWERS, git
from support.tools import require_tool

pytestmark = pytest.mark.e2e

HOST = "podinfo.apps.k8s.example.com"
OWNER = "k8s.example.com"  # the answers' txt_owner_id default: the domain


def _env(mp: pytest.MonkeyPatch, stage, key, stack: EdgeStack, home: Path) -> None:
    """What tests/conftest.py's _isolate does per test, for this module's shared run."""
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for k in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{k}_NAME", "Test Author")
        mp.setenv(f"GIT_{k}_EMAIL", "author@example.com")
    mp.delenv("SOPS_AGE_KEY", raising=False)
    mp.setenv("KUBECONFIG", str(stage.cp.kubeconfig))
    mp.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
    mp.setenv("SOPS_AGE_KEY_FILE", str(key.path))
    mp.setenv("EDGE_WIZARD_HETZNER_API", stack.hetzner_url)
    mp.setenv("T", TOKEN)


def _run(stage, *extra: str) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    args = ["run", "--repo", str(stage.repo), "--answers", str(stage.answers), "--token-env", "T", "--yes"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([*args, "--timeout", "15m", "--json", *extra])
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    print(err.getvalue())
    return rc, events, err.getvalue()


@pytest.fixture(scope="module")
def full(edge_stack: EdgeStack, git_server, tmp_path_factory):
    require_tool("sops")
    cp = edge_stack.cp
    cp.kubectl("delete", "secret", "-n", "flux-system", "sops-age", "--ignore-not-found")
    base = tmp_path_factory.mktemp("full")
    key = make_age_key(base / "keys")
    sops_yaml = (
        "creation_rules:\n  - path_regex: manifests/.*\\.yaml$\n"
        f"    encrypted_regex: ^(data|stringData)$\n    age: {key.recipient}\n"
    )
    catalog = edge_stack.services.catalog_overlay(edge_stack.chart_repo.url)
    # Traefik, the default for a new repository: its chart's own pod serves the edge, published at
    # the node's address (ingress_address)
    answers = ANSWERS.replace("ingress_address: 203.0.113.10", f"ingress_address: {edge_stack.node_ip}")
    assert f"ingress_address: {edge_stack.node_ip}" in answers
    stage = bootstrap(
        cp,
        edge_stack.chart_repo,
        git_server,
        base,
        "full",
        sops_yaml=sops_yaml,
        catalog=catalog,
        answers=answers + "ingress_controller: traefik\n",
    )
    # the root Kustomization now applies the new repository: its prune removes what an earlier
    # module's stage left (Kustomizations, their releases, the ingress pod on ports 80/443)
    clear_conflicts(cp)
    home = base / "home"
    home.mkdir()
    # the proof asks the stack's DNS server and trusts the two Pebble roots (Pebble stands in for
    # Let's Encrypt staging and production)
    bundle = base / "roots.pem"
    bundle.write_text(edge_stack.root_pem("letsencrypt-staging") + "\n" + edge_stack.root_pem("letsencrypt-production"))
    common = ("--resolver", edge_stack.dns, "--ca-bundle", str(bundle))
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, stage, key, edge_stack, home)
        before = git(stage.repo, "rev-parse", "HEAD")
        rc, events, err = _run(stage, *common)
    yield {
        "stage": stage, "key": key, "home": home, "rc": rc, "events": events, "err": err, "before": before,
        "common": common, "bundle": bundle,
    }  # fmt: skip


def _proof_options(env: dict):
    from wizard.prove.net import parse_resolver
    from wizard.prove.rounds import ProveOptions

    return ProveOptions(resolver=parse_resolver(env["common"][1]), ca_bundle=str(env["bundle"]), timeout=300)


@pytest.fixture
def env(full, edge_stack, monkeypatch):
    _env(monkeypatch, full["stage"], full["key"], edge_stack, full["home"])
    return full


def test_full_run_reaches_https(full, edge_stack: EdgeStack):
    stage, events = full["stage"], full["events"]
    problems = "\n".join(e.get("message", "") for e in events if e["event"] in ("Failed", "Warning", "Hint"))
    assert full["rc"] == 0, f"exit {full['rc']}:\n{problems}\n{full['err'][-3000:]}"
    sha = git(stage.repo, "rev-parse", "HEAD")
    # two commits: everything with the smoke test on staging, then (once staging was proven) its
    # promotion to production
    assert git(stage.repo, "rev-list", "--count", f"{full['before']}..{sha}") == "2"
    assert git(stage.repo, "ls-remote", "origin", "refs/heads/main").split()[0] == sha
    proofs = [e for e in events if e["event"] == "Proof"]
    assert [p["issuer"] for p in proofs] == ["letsencrypt-staging", "letsencrypt-production"], proofs
    assert all(p["proven"] and p["verified"] and p["status"] == 200 for p in proofs), proofs
    assert proofs[-1]["addresses"] == [edge_stack.node_ip] and HOST in proofs[-1]["names"]
    assert events[-1]["outcome"] == "proven"
    # the proof read the record at the fake Hetzner API with the token of this run: the node's
    # address, owned by this cluster's external-dns
    records = [e for e in events if e["event"] == "ProofCheck" and e["check"] == "record"]
    assert records and all(r["status"] == "ok" for r in records), records
    assert edge_stack.node_ip in records[-1]["seen"] and f"owned by external-dns ({OWNER})" in records[-1]["seen"]

    final = {}
    for e in events:
        if e["event"] == "ObjectState":
            final[(e["kind"], e["namespace"], e["name"])] = e["phase"]
    expected = [
        ("Kustomization", "flux-system", k)
        for k in ("traefik", "external-dns", "cert-manager", "cluster-issuers", "smoke-test")
    ]
    expected += [
        ("HelmRelease", "traefik", "traefik"),
        ("HelmRelease", "external-dns", "external-dns"),
        ("HelmRelease", "cert-manager", "cert-manager"),
        ("HelmRelease", "podinfo", "podinfo"),
        ("DaemonSet", "traefik", "traefik"),
        ("ClusterIssuer", "", "letsencrypt-production"),
        ("Certificate", "podinfo", "podinfo-tls"),
    ]
    missing = [k for k in expected if final.get(k) != "ready"]
    assert not missing, (missing, final)
    done = events[-1]
    assert done["event"] == "Done" and done["url"] == f"https://{HOST}/"

    cp = stage.cp
    # Flux decrypted the token with the cluster's sops-age Secret the prerequisites step created,
    # and the webhook container was started with it (resolved from the Secret by the runtime)
    secret = cp.get_json("-n", "external-dns", "secret/hetzner-token")
    assert base64.b64decode(secret["data"]["HETZNER_API_KEY"]).decode() == TOKEN
    # the token is in no file of the repository and in no blob of the remote
    for p in stage.repo.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p


def test_cert_manager_registered_both_acme_accounts_with_pebble(full, edge_stack: EdgeStack):
    cp = edge_stack.cp
    for issuer in ("letsencrypt-staging", "letsencrypt-production"):
        ci = cp.get_json(f"clusterissuer/{issuer}")
        ready = next(c for c in ci["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "ACMEAccountRegistered"), ready
        directory = edge_stack.directory(issuer)
        assert ci["spec"]["acme"]["server"] == directory
        # the account URL is one the Pebble instance behind this issuer handed out
        assert ci["status"]["acme"]["uri"].startswith(directory.removesuffix("/dir") + "/my-account/"), ci["status"]
        assert base64.b64decode(ci["spec"]["acme"]["caBundle"]).decode() == edge_stack.services.ca_file.read_text()
        assert "skipTLSVerify" not in ci["spec"]["acme"]


def test_external_dns_created_the_record_and_its_owner_txt(full, edge_stack: EdgeStack):
    rel = HOST.removesuffix(".example.com")
    sets = edge_stack.api.rrsets["example.com"]
    assert sets[(rel, "A")]["records"] == [{"value": edge_stack.node_ip}], sets
    owners = [r["value"] for (name, t), rr in sets.items() if t == "TXT" and rel in name for r in rr["records"]]
    assert any(f"external-dns/owner={OWNER}" in v and "heritage=external-dns" in v for v in owners), sets
    # the writes went through the webhook's Cloud API client, with the token from the Secret
    seen = [r for r in edge_stack.api.requests if r.method == "POST" and r.path.endswith("/rrsets")]
    assert seen and all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in seen)
    # and the DNS server answers what the fake holds: what Pebble and cert-manager resolved
    assert edge_stack.resolve(HOST) == [edge_stack.node_ip]


def test_pebble_validated_http01_through_the_ingress_on_port_80(full, edge_stack: EdgeStack):
    # the Traefik chart's pod (its access log) served Pebble's validation request on :80
    log = edge_stack.logs("traefik_traefik-", lines=100000)
    hits = [ln for ln in log.splitlines() if "/.well-known/acme-challenge/" in ln and "Pebble" in ln]
    assert hits, log[-3000:]
    # through cert-manager's solver Ingress of class traefik (the ClusterIssuers' HTTP-01 class)
    issuer = edge_stack.cp.get_json("clusterissuer/letsencrypt-production")
    assert issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClassName"] == "traefik"
    # each Pebble (staging first, then production once staging was proven) fetched it itself on
    # port 80 of the address the DNS server gave, marked the authorization valid and issued
    for issuer in ("letsencrypt-staging", "letsencrypt-production"):
        pebble_log = edge_stack.services.pebbles[issuer].log.read_text()
        assert f"Attempting to validate w/ HTTP: http://{HOST}:80/.well-known/acme-challenge/" in pebble_log, issuer
        assert "set VALID by completed challenge" in pebble_log and "Issued certificate serial" in pebble_log, issuer


def test_https_get_returns_podinfo_with_a_chain_to_pebbles_root(full, edge_stack: EdgeStack):
    cp = edge_stack.cp
    cert = cp.get_json("-n", "podinfo", "certificate/podinfo-tls")
    assert cert["spec"]["issuerRef"]["name"] == "letsencrypt-production"
    secret = cp.get_json("-n", "podinfo", "secret/podinfo-tls")
    pem = base64.b64decode(secret["data"]["tls.crt"]).decode()
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True, text=True).stdout
    assert f"DNS:{HOST}" in text
    # the ingress serves the Secret once it has loaded it (seconds after the Certificate is Ready,
    # like nginx's reload): until then its default certificate, which no Pebble root verifies
    got = poll(
        lambda: _try_https(edge_stack, f"https://{HOST}/", "letsencrypt-production"),
        f"https://{HOST}/ served with the certificate from the production Pebble",
        timeout=90,
    )
    status, body, peer = got
    assert status == 200, body[:500]
    info = json.loads(body)
    assert info["version"] and "hostname" in info
    assert ("DNS", HOST) in peer["subjectAltName"]
    # the staging root does not verify this chain: the production one really signed it
    with pytest.raises(ssl.SSLCertVerificationError):
        edge_stack.https_get(f"https://{HOST}/", "letsencrypt-staging")


def _try_https(stack: EdgeStack, url: str, issuer: str):
    try:
        return stack.https_get(url, issuer)
    except ssl.SSLCertVerificationError:
        return None


def test_rerun_makes_no_commit_and_still_ends_ready(env):
    stage = env["stage"]
    head = git(stage.repo, "rev-parse", "HEAD")
    rc, events, err = _run(stage, *env["common"])
    assert rc == 0, err[-3000:]
    assert git(stage.repo, "rev-parse", "HEAD") == head
    assert not any(e["event"] in ("Committed", "FileWritten") for e in events)
    assert events[-1]["event"] == "Done" and events[-1]["outcome"] == "proven"
    # proven again, on production: a re-run does not go back to staging
    assert [p["issuer"] for p in events if p["event"] == "Proof"] == ["letsencrypt-production"]


def test_verify_proves_the_edge_with_no_change(env):
    """`edge-wizard verify` on the pushed repository: every check ok, exit 0, nothing written."""
    stage = env["stage"]
    head = git(stage.repo, "rev-parse", "HEAD")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(
            ["verify", "--repo", str(stage.repo), *env["common"], "--token-env", "T", "--timeout", "2m", "--json"]
        )
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert rc == 0, (events, err.getvalue()[-2000:])
    checks = {e["check"]: e["status"] for e in events if e["event"] == "ProofCheck"}
    assert checks == {"record": "ok", "addresses": "ok", "port-80": "ok", "certificate": "ok", "https": "ok"}, checks
    assert TOKEN not in out.getvalue() + err.getvalue()
    assert git(stage.repo, "rev-parse", "HEAD") == head and not git(stage.repo, "status", "--porcelain")


async def test_tui_reruns_one_step_and_reaches_done_on_the_cluster(env):
    """Issue 'TUI' done-when: the full UI flow on the local control plane reaches the done screen,
    here re-running one step (a new ACME e-mail) with the real Flux watcher behind the tree."""
    from textual.widgets import DataTable, Input

    from wizard.flow import Options
    from wizard.frontends.tui.app import make_app
    from wizard.steps import NAMES

    from ui.helpers import asked, on_screen

    stage = env["stage"]
    head = git(stage.repo, "rev-parse", "HEAD")
    app = make_app(Options(repo=str(stage.repo), proof=_proof_options(env)), blink=False, theme="edge-dark")
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
        assert done.done.outcome == "proven", app.errors
        await pilot.press("enter")
    assert app.return_code == 0, app.errors
    sha = git(stage.repo, "rev-parse", "HEAD")
    assert sha != head and git(stage.repo, "ls-remote", "origin", "refs/heads/main").split()[0] == sha
    issuer = stage.cp.get_json("clusterissuer/letsencrypt-production")
    assert issuer["spec"]["acme"]["email"] == "certs@example.com"
    # cert-manager updated the account at Pebble with the new e-mail: Ready again, for real
    poll(
        lambda: (
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (stage.cp.get_json("clusterissuer/letsencrypt-production").get("status") or {}).get(
                    "conditions", []
                )
            )
            and "certs@example.com" in json.dumps(stage.cp.get_json("clusterissuer/letsencrypt-production")["status"])
        ),
        "letsencrypt-production Ready with the new e-mail",
        timeout=120,
    )


# --------------------------------------------------------------------------------------------
# A wrong value breaks it for real. Each test restores what it broke.
def _kubectl_logs(cp, ns: str, target: str, container: str) -> str:
    r = cp.kubectl("logs", "-n", ns, target, "-c", container, "--tail=200", check=False)
    return r.stdout + r.stderr


def _external_dns_pod(cp) -> dict | None:
    pods = cp.get_json("-n", "external-dns", "pods", "-l", "app.kubernetes.io/name=external-dns")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return live[0] if len(live) == 1 else None


def _restart_external_dns(cp, old_uid: str | None) -> dict:
    """Delete the pod (as after a token rotation) and wait for its replacement to be Ready."""
    cp.kubectl("delete", "pod", "-n", "external-dns", "-l", "app.kubernetes.io/name=external-dns", "--wait=false")

    def ready() -> dict | None:
        p = _external_dns_pod(cp)
        if p is None or p["metadata"]["uid"] == old_uid:
            return None
        conds = {c["type"]: c["status"] for c in p["status"].get("conditions") or []}
        return p if conds.get("Ready") == "True" else None

    return poll(ready, "a new external-dns pod Ready", timeout=120)


def _set_token(cp, value: str) -> None:
    cp.kubectl(
        "patch", "secret", "-n", "external-dns", "hetzner-token", "--type=merge",
        "-p", json.dumps({"stringData": {"HETZNER_API_KEY": value}}),
    )  # fmt: skip


def test_a_rejected_token_surfaces_as_external_dns_failing_with_the_401(full, edge_stack: EdgeStack):
    """The Secret holds a token the provider rejects: the webhook's Cloud API calls get 401, the
    record is not written, and the reason is in the pod's logs (`kubectl logs`, through the API).
    What the wizard shows: watch/doctor see external-dns Running and Ready (it only logs soft errors),
    so the 401 surfaces in the logs and at the provider, not in a finding (reported to the lead)."""
    cp, api = edge_stack.cp, edge_stack.api
    wrong = "hcloud-e2e-RotatedWrongToken-9876543210"
    host = "wrongtoken.apps.k8s.example.com"
    rel = host.removesuffix(".example.com")
    pod = _external_dns_pod(cp)
    assert pod is not None
    _set_token(cp, wrong)
    try:
        pod = _restart_external_dns(cp, pod["metadata"]["uid"])
        # the webhook container was started with the Secret's new value: its calls carry it
        poll(
            lambda: any(r.headers.get("Authorization") == f"Bearer {wrong}" for r in api.requests),
            "the webhook calling the Hetzner API with the rotated token",
            timeout=120,
        )
        # a new host appears (an Ingress of another app): external-dns cannot write its record
        cp.kubectl_apply(_ingress("wrongtoken", host))
        logs = poll(
            lambda: (lambda t: t if "unable to authenticate" in t or "401" in t else None)(
                _kubectl_logs(cp, "external-dns", f"pod/{pod['metadata']['name']}", "webhook")
            ),
            "the webhook logging the provider's 401",
            timeout=150,
        )
        assert "unauthorized" in logs.lower() or "unable to authenticate" in logs, logs[-2000:]
        ed = poll(
            lambda: (lambda t: t if "failed to get records" in t or "Failed to do run once" in t else None)(
                _kubectl_logs(cp, "external-dns", f"pod/{pod['metadata']['name']}", "external-dns")
            ),
            "external-dns logging the failed sync",
            timeout=150,
        )
        assert "code 500" in ed or "soft error" in ed, ed[-2000:]
        assert (rel, "A") not in api.rrsets["example.com"]
        # the pod itself stays Running and Ready: nothing in its status says so
        conds = {
            c["type"]: c["status"]
            for c in cp.get_json("-n", "external-dns", f"pod/{pod['metadata']['name']}")["status"]["conditions"]
        }
        assert conds.get("Ready") == "True"
    finally:
        cp.kubectl("delete", "ingress", "-n", "podinfo", "wrongtoken", "--ignore-not-found")
        _set_token(cp, TOKEN)
        _restart_external_dns(cp, pod["metadata"]["uid"] if pod else None)


def _ingress(name: str, host: str, *, issuer: str | None = None) -> dict:
    ann = {"external-dns.alpha.kubernetes.io/hostname": host}
    if issuer:
        ann["cert-manager.io/cluster-issuer"] = issuer
    spec: dict = {
        "ingressClassName": "traefik",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "ImplementationSpecific",
                            "backend": {"service": {"name": "podinfo", "port": {"number": 9898}}},
                        }
                    ]
                },
            }
        ],
    }
    if issuer:
        spec["tls"] = [{"hosts": [host], "secretName": f"{name}-tls"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "podinfo", "annotations": ann},
        "spec": spec,
    }


def test_no_listener_on_port_80_fails_the_http01_challenge_with_cert_managers_reason(full, edge_stack: EdgeStack):
    """A host whose record points at an address with nothing listening on port 80 (what a closed
    host firewall or a stale record leaves): cert-manager's self-check cannot reach the challenge,
    and the Challenge says why; doctor's certificate-not-ready finding carries that reason.

    The record is there before the Ingress and owned by no one, so external-dns leaves it alone
    (it only changes records whose owner TXT is its own)."""
    from wizard import doctor

    cp, api = edge_stack.cp, edge_stack.api
    host = "closed.apps.k8s.example.com"
    rel = host.removesuffix(".example.com")
    closed = "10.250.0.99"  # in the node's range, routed to lo, nothing listens there
    api.rrsets.setdefault("example.com", {})[(rel, "A")] = {"ttl": 60, "labels": {}, "records": [{"value": closed}]}
    assert edge_stack.resolve(host) == [closed]
    cp.kubectl_apply(_ingress("closed", host, issuer="letsencrypt-staging"))
    try:

        def challenge_reason() -> str | None:
            items = cp.get_json("-n", "podinfo", "challenges.acme.cert-manager.io")["items"]
            reasons = [(c.get("status") or {}).get("reason") or "" for c in items if c["spec"]["dnsName"] == host]
            return next((r for r in reasons if "connection refused" in r), None)

        reason = poll(challenge_reason, "the Challenge's reason naming the refused connection", timeout=180)
        assert f"http://{host}/.well-known/acme-challenge/" in reason and f"{closed}:80" in reason, reason
        cert = cp.get_json("-n", "podinfo", "certificate/closed-tls")
        ready = [c for c in cert["status"].get("conditions") or [] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "False"
        findings = [
            f
            for f in doctor.diagnose(None, kubeconfig=str(cp.kubeconfig))
            if f.object == "Certificate/podinfo/closed-tls"
        ]
        assert findings and "connection refused" in findings[0].seen, findings
        # external-dns did not take the record over
        assert api.rrsets["example.com"][(rel, "A")]["records"] == [{"value": closed}]
    finally:
        cp.kubectl("delete", "ingress", "-n", "podinfo", "closed", "--ignore-not-found")
        cp.kubectl("delete", "certificate", "-n", "podinfo", "closed-tls", "--ignore-not-found")
        api.rrsets["example.com"].pop((rel, "A"), None)


def test_plain_mode_reruns_one_step_and_follows_flux_to_ready(env, monkeypatch):
    """Issue 'One flow' done-when: plain mode (questionary, scripted here) on the local control plane
    follows Flux to Ready after its push, like the CLI and the TUI."""
    from wizard.flow import Options
    from wizard.frontends.plain import run_plain

    from support.prompts import Lines, Script

    stage = env["stage"]
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
    options = Options(repo=str(stage.repo), timeout=480, proof=_proof_options(env))
    assert run_plain(options, out=out, record=events) == 0, out.text
    kinds = [type(e).__name__ for e in events]
    assert "Pushed" in kinds and kinds.index("Pushed") < kinds.index("ObjectState")
    assert events[-1].outcome == "proven", out.text
    ready = {(e.kind, e.name) for e in events if type(e).__name__ == "ObjectState" and e.phase == "ready"}
    assert ("Kustomization", "cluster-issuers") in ready and ("ClusterIssuer", "letsencrypt-production") in ready
    issuer = stage.cp.get_json("clusterissuer/letsencrypt-production")
    assert issuer["spec"]["acme"]["email"] == "plain@example.com"


def test_run_smoke_test_remove_leaves_no_podinfo_objects(env):
    """Issue 'Prove the edge' done-when: `run smoke-test --remove` commits the removal, follows Flux
    until what it pruned is gone, and leaves no podinfo objects. Last in this module: it takes the
    smoke test away."""
    stage = env["stage"]
    cp = stage.cp
    head = git(stage.repo, "rev-parse", "HEAD")
    out, err = io.StringIO(), io.StringIO()
    args = ["run", "smoke-test", "--remove", "--repo", str(stage.repo), "--answers", str(stage.answers), "--yes"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([*args, "--timeout", "10m", "--json"])
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert rc == 0, err.getvalue()[-3000:]
    assert events[-1]["event"] == "Done" and events[-1]["outcome"] == "removed", events[-1]
    assert git(stage.repo, "rev-list", "--count", f"{head}..HEAD") == "1"
    assert git(stage.repo, "log", "-1", "--format=%s") == "edge-wizard: remove smoke-test"
    pruned = {
        (e["kind"], e["name"])
        for e in events
        if e["event"] == "ObjectState" and e["phase"] == "ready" and "pruned" in e["message"]
    }
    assert pruned == {("Kustomization", "smoke-test"), ("HelmRelease", "podinfo")}, pruned
    # what the watch waited for is gone when the run ends; the namespace's contents go with it
    for what in (
        ("kustomizations.kustomize.toolkit.fluxcd.io", "smoke-test", "flux-system"),
        ("helmrelease", "podinfo", "podinfo"),
    ):
        got = cp.kubectl("get", what[0], what[1], "-n", what[2], check=False)
        assert got.returncode != 0 and "NotFound" in got.stderr, (what, got.stdout, got.stderr)

    def namespace_gone() -> bool:
        got = cp.kubectl("get", "namespace", "podinfo", check=False)
        return got.returncode != 0 and "NotFound" in got.stderr

    poll(namespace_gone, "the podinfo namespace to be deleted", timeout=180)
    kinds = "deployments,services,ingresses,certificates.cert-manager.io,pods"
    left = cp.kubectl("get", kinds, "-A", "-l", "app.kubernetes.io/name=podinfo", "-o", "name").stdout
    assert left.strip() == "", left
    # removing again changes nothing
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main([*args, "--timeout", "2m"]) == 0
    assert git(stage.repo, "rev-list", "--count", f"{head}..HEAD") == "1"
