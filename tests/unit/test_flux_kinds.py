"""wizard.flux.kinds, the one table of Kubernetes kinds, and what reads it: the targets read from the
repository, the streams, the assessment (pure, on plain dicts) and doctor. A throwaway kind added to
the table only (one entry and its verdict function) is followed end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from wizard.errors import WaitTimeout
from wizard.events import Done, Event, ObjectState
from wizard.flux import kinds, objects_for, streams
from wizard.flux import status as st
from wizard.flux.assess import Assessor
from wizard.flux.kinds import KINDS, Kind
from wizard.flux.streams import Stream
from wizard.flux.targets import WORKLOADS, Target, flux_kustomizations

from support.fakeapi import ApiServer, event, kubeconfig, listing


# -- a throwaway kind: one table entry and its verdict, nothing else ---------------------------------------
def widget_verdict(obj: dict[str, Any] | None, ctx: st.Context) -> st.Verdict:
    if obj is None:
        return st.Verdict(st.WAITING, "not created yet")
    phase = (obj.get("status") or {}).get("phase") or "unknown"
    if phase == "Spinning":
        return st.Verdict(st.READY, f"{ctx.name} spins")
    if phase == "Jammed":
        return st.Verdict(st.FAILED, "jammed")
    return st.Verdict(st.PROGRESSING, f"phase {phase}")


WIDGET = Kind(
    "Widget",
    "widgets.example.com",
    "v1alpha1",
    "widgets",
    verdict=widget_verdict,
    repo=True,
    installed_by="the widget operator",
)


@pytest.fixture
def widget(monkeypatch: pytest.MonkeyPatch) -> Kind:
    monkeypatch.setitem(kinds.KINDS, "Widget", WIDGET)
    return WIDGET


def _widget(name: str, phase: str, rv: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "widgets.example.com/v1alpha1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "edge", "resourceVersion": rv, "generation": 1},
        "status": {"phase": phase},
    }


def test_a_new_kind_declared_in_a_followed_folder_is_followed(
    widget: Kind, guide_repo: Path, answers_file: Path
) -> None:
    from wizard import repo as repo_mod
    from wizard.engine import Engine, RunOptions

    engine = Engine(repo=guide_repo, answers_file=str(answers_file))
    list(engine.run(engine.plan(["smoke-test"]), RunOptions(commit=False, push=False)))
    folder = guide_repo / flux_kustomizations(engine.layout)["smoke-test"].path
    (folder / "widget.yaml").write_text(
        "apiVersion: widgets.example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: spinner\n  namespace: edge\n"
        "---\napiVersion: other.example.com/v1\nkind: Widget\nmetadata:\n  name: not-ours\n",
        encoding="utf-8",
    )
    targets = objects_for(repo_mod.discover(guide_repo), None)
    widgets = [t for t in targets if t.kind == "Widget"]
    assert widgets == [Target("Widget", "edge", "spinner", after=(("Kustomization", "flux-system", "smoke-test"),))]
    planned = streams.plan(targets)["Widget"]
    assert (planned.namespace, planned.fields) == ("edge", {"metadata.name": "spinner"})
    assert widget.path(planned.namespace) == "/apis/widgets.example.com/v1alpha1/namespaces/edge/widgets"


def _follow(tmp_path: Path, server: ApiServer, targets: list[Target], timeout: float) -> list[Event]:
    from wizard.flux import FluxWatcher
    from wizard.kube import KubeConnector

    watcher = FluxWatcher(KubeConnector(str(kubeconfig(tmp_path / "kubeconfig", server.url)), None))
    seen: list[Event] = []

    async def go() -> None:
        try:
            async for e in watcher.follow_targets(targets, None, timeout=timeout):
                seen.append(e)
        finally:
            await watcher.aclose()

    try:
        asyncio.run(go())
    finally:
        server.close()
    return seen


def test_a_new_kind_is_listed_watched_and_assessed_through_the_table(widget: Kind, tmp_path: Path) -> None:
    watches: list[str] = []

    def answer(target: str) -> tuple[str, list[bytes]]:
        if "watch=true" not in target:
            return "200 OK", [listing([_widget("spinner", "Starting", "5")], rv="5")]
        watches.append(target)
        return "200 OK", [event("MODIFIED", _widget("spinner", "Spinning", "6"))] if len(watches) == 1 else []

    server = ApiServer(answer)
    seen = _follow(tmp_path, server, [Target("Widget", "edge", "spinner")], timeout=30)
    states = [(e.phase, e.message) for e in seen if isinstance(e, ObjectState)]
    assert states == [("progressing", "phase Starting"), ("ready", "spinner spins")]
    assert isinstance(seen[-1], Done)
    first = urlsplit(server.requests[0])
    assert first.path == "/apis/widgets.example.com/v1alpha1/namespaces/edge/widgets"
    assert parse_qs(first.query) == {"fieldSelector": ["metadata.name=spinner"]}
    assert parse_qs(urlsplit(watches[0]).query)["resourceVersion"] == ["5"]


def test_a_new_kind_the_cluster_does_not_serve_waits_for_whoever_installs_it(widget: Kind, tmp_path: Path) -> None:
    server = ApiServer(lambda target: ("404 Not Found", [b'{"kind":"Status","code":404,"message":"not found"}']))
    with pytest.raises(WaitTimeout, match="Widget edge/spinner: the widget operator's CRDs are not installed yet"):
        _follow(tmp_path, server, [Target("Widget", "edge", "spinner")], timeout=1.5)


# -- the table -------------------------------------------------------------------------------------------
def test_every_followed_kind_has_a_verdict_and_every_repo_kind_is_followed() -> None:
    assert all(k.verdict is not None for k in kinds.from_repo().values())
    assert {k.kind for k in kinds.followed()} >= {"GitRepository", "Kustomization", "HelmRelease", "Certificate"}
    assert all(name == k.kind for name, k in KINDS.items())


def test_urls_of_core_namespaced_and_cluster_scoped_kinds() -> None:
    assert KINDS["Event"].path("edge") == "/api/v1/namespaces/edge/events"
    assert KINDS["Event"].path(None) == "/api/v1/events"
    assert KINDS["HelmRelease"].path(None) == "/apis/helm.toolkit.fluxcd.io/v2/helmreleases"
    assert KINDS["ClusterIssuer"].path("ignored") == "/apis/cert-manager.io/v1/clusterissuers"
    assert KINDS["HelmRelease"].declares("helm.toolkit.fluxcd.io/v2beta1")
    assert not KINDS["HelmRelease"].declares("example.com/v1")


def test_doctor_reads_its_custom_kinds_from_the_table() -> None:
    from wizard.doctor.cluster_checks import CUSTOM

    assert CUSTOM == {
        "kustomizations": ("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", True),
        "helmreleases": ("helm.toolkit.fluxcd.io", "HelmRelease", "helmreleases", True),
        "clusterissuers": ("cert-manager.io", "ClusterIssuer", "clusterissuers", False),
        "certificates": ("cert-manager.io", "Certificate", "certificates", True),
        "certificaterequests": ("cert-manager.io", "CertificateRequest", "certificaterequests", True),
        "orders": ("acme.cert-manager.io", "Order", "orders", True),
        "challenges": ("acme.cert-manager.io", "Challenge", "challenges", True),
    }


# -- the assessment, pure --------------------------------------------------------------------------------
SHA = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
GIT = Target("GitRepository", "flux-system", "flux-system", reconcile=True)
ROOT = Target("Kustomization", "flux-system", "flux-system", after=(GIT.key,), reconcile=True)


def _flux(kind: str, ns: str, name: str, ready: str, reason: str = "Succeeded", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": f"{name} {reason}"}],
            **status,
        },
    }


def _synced(*objs: tuple[str, dict[str, Any]], unserved: tuple[str, ...] = ()) -> dict[str, Stream]:
    out: dict[str, Stream] = {}
    for kind, o in objs:
        s = out.setdefault(kind, Stream(kind, None, synced=True))
        s.store[streams.key(o)] = o
    for kind in unserved:
        out[kind] = Stream(kind, None, synced=True, served=False)
    return out


def test_a_ready_object_waits_for_its_gate_and_a_gate_once_ready_stays_open() -> None:
    a = Assessor([GIT, ROOT], SHA, "token")
    git_old = _flux(
        "GitRepository", "flux-system", "flux-system", "True", artifact={"revision": "main@sha1:" + "0" * 40}
    )
    ks = _flux(
        "Kustomization",
        "flux-system",
        "flux-system",
        "True",
        lastAppliedRevision=f"main@sha1:{SHA}",
        lastAttemptedRevision=f"main@sha1:{SHA}",
    )
    states = a.assess(_synced(("GitRepository", git_old), ("Kustomization", ks)))
    assert states[GIT.key].phase == "progressing"
    assert (states[ROOT.key].phase, states[ROOT.key].message) == (
        "waiting",
        "waiting for GitRepository flux-system/flux-system",
    )
    git_new = _flux("GitRepository", "flux-system", "flux-system", "True", artifact={"revision": f"main@sha1:{SHA}"})
    states = a.assess(_synced(("GitRepository", git_new), ("Kustomization", ks)))
    assert states[GIT.key].phase == states[ROOT.key].phase == "ready"
    assert a.done(_synced(("GitRepository", git_new), ("Kustomization", ks)), states)
    # the source reconciles again at the same revision: its dependents do not go back to waiting
    states = a.assess(_synced(("GitRepository", git_old), ("Kustomization", ks)))
    assert states[ROOT.key].phase == "ready"


def test_a_failure_before_the_gate_is_history_only_for_kinds_that_say_so() -> None:
    hr = Target("HelmRelease", "edge", "traefik", after=(ROOT.key,))
    cert = Target("Certificate", "edge", "tls", after=(ROOT.key,))
    a = Assessor([GIT, ROOT, hr, cert], SHA, "token")
    failed_hr = _flux("HelmRelease", "edge", "traefik", "False", reason="RetriesExceeded")
    failed_cert = {
        "metadata": {"name": "tls", "namespace": "edge"},
        "status": {"conditions": [{"type": "Issuing", "status": "False", "reason": "Failed", "message": "rejected"}]},
    }
    states = a.assess(_synced(("HelmRelease", failed_hr), ("Certificate", failed_cert), unserved=("Kustomization",)))
    assert states[hr.key].phase == "waiting" and "(last: traefik RetriesExceeded)" in states[hr.key].message
    assert (states[cert.key].phase, states[cert.key].message) == ("failed", "rejected")


def test_a_certificate_reads_its_newest_order_and_that_orders_challenges() -> None:
    cert = Target("Certificate", "podinfo", "podinfo-tls")
    obj = {
        "metadata": {"name": "podinfo-tls", "namespace": "podinfo", "generation": 1},
        "status": {
            "conditions": [{"type": "Issuing", "status": "True", "reason": "DoesNotExist", "message": "Issuing"}]
        },
    }
    old = {"metadata": {"name": "podinfo-tls-1-1", "namespace": "podinfo", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    new = {
        "metadata": {"name": "podinfo-tls-1-2", "namespace": "podinfo", "creationTimestamp": "2026-01-02T00:00:00Z"},
        "status": {"state": "pending"},
    }
    elsewhere = {
        "metadata": {"name": "podinfo-tls-1-3", "namespace": "other", "creationTimestamp": "2026-01-03T00:00:00Z"}
    }
    ch = {
        "metadata": {"name": "podinfo-tls-1-2-9", "namespace": "podinfo"},
        "spec": {"type": "HTTP-01", "dnsName": "podinfo.example.com"},
        "status": {"state": "pending"},
    }
    assert streams.plan([cert]).keys() == {"Certificate", "Order", "Challenge"}
    s = _synced(("Certificate", obj), ("Order", old), ("Order", new), ("Order", elsewhere), ("Challenge", ch))
    state = Assessor([cert], None, "t").assess(s)[cert.key]
    assert state.message == "Issuing; order pending; challenge HTTP-01 podinfo.example.com pending"


def test_an_unserved_kind_waits_for_its_crds_unless_it_is_a_precondition() -> None:
    issuer = Target("ClusterIssuer", "", "letsencrypt")
    states = Assessor([GIT, issuer], SHA, "t").assess(_synced(unserved=("GitRepository", "ClusterIssuer")))
    assert (states[issuer.key].phase, states[issuer.key].message) == (
        "waiting",
        "cert-manager's CRDs are not installed yet",
    )
    assert states[GIT.key].phase == "failed" and "not found in the cluster" in states[GIT.key].message


def test_a_verdict_is_read_again_only_for_a_replaced_object_or_a_new_request() -> None:
    calls: list[str] = []
    a = Assessor([ROOT], SHA, "token")
    ks = _flux("Kustomization", "flux-system", "flux-system", "Unknown", reason="Progressing")
    s = _synced(("Kustomization", ks))
    real = KINDS["Kustomization"].verdict
    assert real is not None

    def counting(obj: dict[str, Any] | None, ctx: st.Context) -> st.Verdict:
        calls.append(str(ctx.token))
        return real(obj, ctx)

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(
            KINDS,
            "Kustomization",
            Kind("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations", verdict=counting),
        )
        a.assess(s)
        a.assess(s)
        a.requested.add(ROOT.key)
        a.assess(s)
        s["Kustomization"].store[streams.key(ks)] = dict(ks)
        a.assess(s)
    assert calls == ["None", "token", "token"]


def test_workloads_of_a_release_are_expanded_with_their_events() -> None:
    hr = Target("HelmRelease", "edge", "traefik")
    wl = Target(WORKLOADS, "edge", "traefik", after=(hr.key,), release="traefik")
    ds = {
        "metadata": {
            "name": "traefik",
            "namespace": "edge",
            "generation": 1,
            "uid": "u1",
            "labels": {"app.kubernetes.io/instance": "traefik-edge"},
        },
        "status": {"observedGeneration": 1, "desiredNumberScheduled": 1, "numberReady": 0},
    }
    warning = {
        "type": "Warning",
        "reason": "FailedCreate",
        "message": 'pods "traefik-x" is forbidden: violates PodSecurity "baseline:latest": host namespaces',
        "involvedObject": {"kind": "DaemonSet", "namespace": "edge", "name": "traefik", "uid": "u1"},
        "metadata": {"namespace": "edge"},
    }
    plan = streams.plan([hr, wl])
    assert plan["DaemonSet"].labels == {"app.kubernetes.io/instance": ["traefik", "traefik-edge"]}
    a = Assessor([hr, wl], None, "t")
    s = _synced(("HelmRelease", _flux("HelmRelease", "edge", "traefik", "True")), ("DaemonSet", ds), ("Event", warning))
    s["Deployment"] = Stream("Deployment", "edge", synced=True)
    states = a.assess(s)
    assert (
        states[("DaemonSet", "edge", "traefik")].phase == "failed"
        and "violates PodSecurity" in states[("DaemonSet", "edge", "traefik")].message
    )
    assert not a.done(s, states)
