"""wizard.flux on the local control plane: a run of the guide's stage followed to Ready, the
PodSecurity failure (P1), the API server restarted mid-watch, and the timeout.

The stage run here is ``ingress firewall cert-manager`` (their pods run for real: the ingress
stand-in and cert-manager); cluster-issuers and smoke-test are left out to keep this module short
(test_full_run follows them to HTTPS; the timeout test below follows a Certificate that never
appears). The firewall step's policy needs the Cilium CRD:
a minimal CiliumClusterwideNetworkPolicy CRD is applied, and the guide repository's
cluster-policies Kustomization loses its health check on a Cilium HelmRelease this plane lacks.
"""

from __future__ import annotations

import gc
import re
import threading
import time

import pytest

from wizard.engine import Engine
from wizard.errors import StepFailed, WaitTimeout
from wizard.events import Done, Event, ObjectState, Warning
from wizard.flux import FluxWatcher, follow_sync
from wizard.flux.targets import Target
from wizard.frontends import cli
from wizard.frontends.lines import plain_line

from .stage import Stage, bootstrap, clear_conflicts, poll
from support.repos import git

pytestmark = pytest.mark.e2e

STEPS = ["ingress", "firewall", "cert-manager"]


@pytest.fixture(scope="module")
def stage(control_plane, chart_repo, git_server, tmp_path_factory) -> Stage:
    """The guide's repository served over HTTP with Flux pointed at it (tests/e2e/stage.py)."""
    stage = bootstrap(control_plane, chart_repo, git_server, tmp_path_factory.mktemp("watch"), "cluster")
    # the root Kustomization now applies this repository: its prune removes what an earlier
    # module's stage left (Kustomizations, their releases, the ingress pod on ports 80/443)
    clear_conflicts(control_plane)
    return stage


def _follow(
    stage: Stage, plan, sha: str | None, *, timeout: float = 300, on_event=None, watcher: FluxWatcher | None = None
) -> list[Event]:
    events: list[Event] = []

    def collect(e: Event) -> None:
        events.append(e)
        print(plain_line(e), flush=True)  # shown by pytest when a test fails
        if on_event:
            on_event(e)

    w = watcher or FluxWatcher(kubeconfig=str(stage.cp.kubeconfig))
    engine = Engine(repo=stage.repo, answers_file=str(stage.answers))
    layout, _ = engine.load()
    follow_sync(w, layout, plan, sha, timeout=timeout, on_event=collect, preflight=True)
    return events


def _final(events: list[Event]) -> dict[tuple[str, str, str], ObjectState]:
    out: dict[tuple[str, str, str], ObjectState] = {}
    for e in events:
        if isinstance(e, ObjectState):
            out[(e.kind, e.namespace, e.name)] = e
    return out


def _push_edit(stage: Stage, rel: str, edit, message: str) -> str:
    p = stage.repo / rel
    p.write_text(edit(p.read_text()))
    git(stage.repo, "commit", "-q", "-am", message)
    git(stage.repo, "push", "-q", "origin", "main")
    return git(stage.repo, "rev-parse", "HEAD")


# --------------------------------------------------------------------------------------------
def test_run_pushes_the_stage_and_follow_sees_every_object_ready(stage, monkeypatch):
    monkeypatch.setenv("EDGE_WIZARD_CATALOG", str(stage.catalog))
    rc = cli.main(["run", *STEPS, "--repo", str(stage.repo), "--answers", str(stage.answers), "--yes", "--no-watch"])
    assert rc == 0
    sha = git(stage.repo, "rev-parse", "HEAD")
    assert git(stage.repo, "ls-remote", "origin", "refs/heads/main").split()[0] == sha

    engine = Engine(repo=stage.repo, answers_file=str(stage.answers))
    plan = engine.plan(STEPS)
    watcher = FluxWatcher(kubeconfig=str(stage.cp.kubeconfig))
    started = time.monotonic()
    frozen: list[int] = []  # while following, what was alive at its start is out of the collector's way
    events = _follow(
        stage,
        plan,
        sha,
        watcher=watcher,
        on_event=lambda e: isinstance(e, ObjectState) and frozen.append(gc.get_freeze_count()),
    )
    elapsed = time.monotonic() - started
    assert frozen and min(frozen) > 1000, frozen[:5]
    assert gc.get_freeze_count() == 0  # and given back to it afterwards

    assert isinstance(events[-1], Done), events[-3:]
    assert sha[:10] in events[-1].message and events[-1].url == ""  # no smoke test in this stage
    final = _final(events)
    expected = {
        ("GitRepository", "flux-system", "flux-system"),
        ("Kustomization", "flux-system", "flux-system"),
        ("Kustomization", "flux-system", "ingress-nginx"),
        ("Kustomization", "flux-system", "cert-manager"),
        ("Kustomization", "flux-system", "cluster-policies"),
        ("HelmRepository", "ingress-nginx", "ingress-nginx"),
        ("HelmRelease", "ingress-nginx", "ingress-nginx"),
        ("HelmRepository", "cert-manager", "jetstack"),
        ("HelmRelease", "cert-manager", "cert-manager"),
        ("DaemonSet", "ingress-nginx", "ingress-nginx-controller"),
        ("Deployment", "cert-manager", "cert-manager"),
    }
    assert expected <= set(final), sorted(set(expected) - set(final))
    not_ready = {k: (s.phase, s.message) for k, s in final.items() if s.phase != "ready"}
    assert not not_ready, not_ready
    assert final[("Kustomization", "flux-system", "ingress-nginx")].message == f"applied revision main@sha1:{sha[:10]}"
    assert final[("DaemonSet", "ingress-nginx", "ingress-nginx-controller")].message == "1/1 ready"
    # events only on state changes: never the same phase and message twice in a row for an object
    last: dict[tuple[str, str, str], tuple[str, str]] = {}
    for e in events:
        if isinstance(e, ObjectState):
            key = (e.kind, e.namespace, e.name)
            assert last.get(key) != (e.phase, e.message), e
            last[key] = (e.phase, e.message)
    # the reconcile request reached the objects
    gr = stage.cp.get_json("-n", "flux-system", "gitrepository/flux-system")
    assert "reconcile.fluxcd.io/requestedAt" in gr["metadata"].get("annotations", {})
    # watches, not polling: one list + one watch per kind (7 kinds), the discovery GET, a few patches
    r = watcher.requests
    assert r["watch"] <= 10 and r["list/get"] <= 12, (dict(r), elapsed)
    # the GitRepository's request always; the Kustomizations' only once the GitRepository is Ready at
    # the sha, and Flux may have finished before that request is sent (it does with fast workloads)
    assert r["patch"] >= 1


def test_apiserver_restart_mid_watch_does_not_lose_the_stream(stage):
    sha = _push_edit(stage, "README.md", lambda t: t + "\nrestart test\n", "docs: restart test")
    streaming, restarted = threading.Event(), threading.Event()
    after: list[Event] = []

    def on_event(e: Event) -> None:
        if isinstance(e, ObjectState):
            streaming.set()
        if restarted.is_set():
            after.append(e)

    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["events"] = _follow(stage, None, sha, on_event=on_event)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    # wait until the watches are up and streaming, then kill and restart kube-apiserver
    poll(lambda: box.get("error") or streaming.is_set(), "follow to start streaming", 60)
    assert "error" not in box, box.get("error")
    stage.cp.restart_apiserver()
    restarted.set()
    t.join(timeout=300)
    assert not t.is_alive(), "follow did not finish after the restart"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    events = box["events"]
    assert isinstance(events[-1], Done)
    assert any(isinstance(e, Warning) and "Lost the connection" in e.message for e in events)
    final = _final(events)
    assert final[("Kustomization", "flux-system", "flux-system")].message == f"applied revision main@sha1:{sha[:10]}"
    assert all(s.phase == "ready" for s in final.values()), {k: s for k, s in final.items() if s.phase != "ready"}
    # the stream went on after the restart: states still arrived and the end came from the watch
    assert any(isinstance(e, ObjectState) for e in after), after


def test_follow_times_out_with_the_objects_not_ready(stage):
    w = FluxWatcher(kubeconfig=str(stage.cp.kubeconfig), heartbeat=1.0)
    targets = [Target("HelmRelease", "cert-manager", "cert-manager"), Target("Certificate", "podinfo", "podinfo-tls")]
    events: list[Event] = []

    async def go() -> None:
        try:
            async for e in w.follow_targets(targets, None, timeout=4):
                events.append(e)
        finally:
            await w.aclose()

    import asyncio

    with pytest.raises(WaitTimeout) as info:
        asyncio.run(go())
    assert info.value.exit_code == 3
    msg = str(info.value)
    assert re.search(
        r"Certificate podinfo/podinfo-tls: (not created yet|cert-manager's CRDs are not installed yet)", msg
    )
    assert "HelmRelease cert-manager/cert-manager" not in msg  # it is ready
    assert any(
        getattr(e, "message", "").startswith("still waiting for Certificate podinfo/podinfo-tls") for e in events
    )


def test_podsecurity_rejection_is_reported_and_fails(stage):
    """P1: the ingress namespace without its privileged label -> FailedCreate ... violates PodSecurity."""
    cp = stage.cp
    ns_file = "manifests/infrastructure/ingress-nginx/namespace.yaml"
    original = (stage.repo / ns_file).read_text()
    sha = _push_edit(stage, ns_file, lambda t: re.sub(r"  labels:\n(    .*\n)+", "", t), "ingress: drop the PSA label")
    assert "pod-security.kubernetes.io/enforce:" not in (stage.repo / ns_file).read_text()
    try:
        # let Flux apply the namespace without the label (and drop a label another manager set)
        cp.kubectl(
            "annotate",
            "--overwrite",
            "-n",
            "flux-system",
            "kustomization/ingress-nginx",
            f"reconcile.fluxcd.io/requestedAt={time.time()}",
        )
        poll(
            lambda: (
                (cp.get_json("-n", "flux-system", "kustomization/ingress-nginx").get("status") or {})
                .get("lastAppliedRevision", "")
                .endswith(sha)
            ),
            "ingress-nginx applied without the label",
        )
        cp.kubectl(
            "label",
            "namespace",
            "ingress-nginx",
            "pod-security.kubernetes.io/enforce-",
            "pod-security.kubernetes.io/enforce-version-",
        )
        assert "pod-security.kubernetes.io/enforce" not in (
            cp.get_json("namespace/ingress-nginx")["metadata"].get("labels") or {}
        )
        # the controller's pod goes away (a node restart, an eviction): the DaemonSet must recreate it
        cp.kubectl(
            "delete",
            "pod",
            "-n",
            "ingress-nginx",
            "-l",
            "app.kubernetes.io/instance=ingress-nginx",
            "--grace-period=0",
            "--force",
            "--wait=true",
            "--timeout=60s",
            check=False,
        )
        events: list[Event] = []
        with pytest.raises(StepFailed) as info:
            _follow(stage, None, sha, timeout=180, on_event=events.append)
        assert info.value.exit_code == 1
        msg = str(info.value)
        assert msg.startswith("DaemonSet ingress-nginx/ingress-nginx-controller failed: FailedCreate: ")
        assert 'violates PodSecurity "baseline:latest"' in msg and "hostNetwork=true" in msg
        assert "pod-security.kubernetes.io/enforce=privileged" in msg  # the hint
        failed = [e for e in events if isinstance(e, ObjectState) and e.phase == "failed"]
        assert [(e.kind, e.name) for e in failed] == [("DaemonSet", "ingress-nginx-controller")]
    finally:
        _push_edit(stage, ns_file, lambda _t: original, "ingress: restore the PSA label")
        cp.kubectl(
            "label",
            "--overwrite",
            "namespace",
            "ingress-nginx",
            "pod-security.kubernetes.io/enforce=privileged",
            "pod-security.kubernetes.io/enforce-version=latest",
        )


def test_preflight_checks_context_and_flux_apis(stage):
    from wizard.errors import UserError
    from wizard.flux import preflight_sync

    with pytest.raises(UserError) as info:
        preflight_sync(FluxWatcher(kubeconfig=str(stage.cp.kubeconfig), context="no-such-context"))
    assert info.value.exit_code == 2 and "has no context 'no-such-context'" in str(info.value)
    w = FluxWatcher(kubeconfig=str(stage.cp.kubeconfig), context="e2e")
    events = preflight_sync(w)
    assert "helm.toolkit.fluxcd.io/v2" in events[0].message
    assert w.requests["list/get"] == 1  # one discovery request for all three groups
