"""Pure logic of wizard.flux: conditions -> phases, event rules, which objects a plan follows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wizard import events as ev
from wizard.flux import objects_for, parse_duration, root_kustomization, smoke_url
from wizard.flux import status as st
from wizard.flux.targets import WORKLOADS

from support.steplists import PLAIN_STEPS

SHA = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
OLD = "0123456789abcdef0123456789abcdef01234567"


def obj(gen=1, observed=1, conds=(), **status):
    return {
        "metadata": {"name": "x", "namespace": "flux-system", "generation": gen},
        "spec": {},
        "status": {
            "observedGeneration": observed,
            "conditions": [dict(type=t, status=s, reason=r, message=m) for t, s, r, m in conds],
            **status,
        },
    }


READY = ("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:" + SHA)


# -- Flux objects --------------------------------------------------------------------------------
def test_kustomization_ready_only_at_our_revision():
    ours = obj(conds=[READY], lastAppliedRevision=f"main@sha1:{SHA}", lastAttemptedRevision=f"main@sha1:{SHA}")
    v = st.flux_verdict("Kustomization", ours, sha=SHA)
    assert v.phase == "ready" and SHA[:10] in v.message
    old = obj(conds=[READY], lastAppliedRevision=f"main@sha1:{OLD}", lastAttemptedRevision=f"main@sha1:{OLD}")
    v = st.flux_verdict("Kustomization", old, sha=SHA)
    assert v.phase == "progressing" and "applying" in v.message and OLD[:10] in v.message


def test_generation_not_observed_is_progressing_even_if_ready():
    o = obj(gen=3, observed=2, conds=[READY], lastAppliedRevision=f"main@sha1:{SHA}")
    assert st.flux_verdict("Kustomization", o, sha=SHA).phase == "progressing"


def test_token_must_be_handled_without_a_sha():
    o = obj(conds=[("Ready", "True", "Succeeded", "ok")], lastHandledReconcileAt="earlier")
    assert st.flux_verdict("HelmRepository", o, token="T1").phase == "progressing"
    o["status"]["lastHandledReconcileAt"] = "T1"
    assert st.flux_verdict("HelmRepository", o, token="T1").phase == "ready"


def test_gitrepository_waits_for_the_pushed_sha():
    o = obj(conds=[("Ready", "True", "Succeeded", "stored")], artifact={"revision": f"main@sha1:{OLD}"})
    assert st.flux_verdict("GitRepository", o, sha=SHA).phase == "progressing"
    o["status"]["artifact"]["revision"] = f"main@sha1:{SHA}"
    v = st.flux_verdict("GitRepository", o, sha=SHA)
    assert v.phase == "ready" and v.message == f"stored artifact for revision main@sha1:{SHA[:10]}"


def test_stalled_is_a_failure_with_the_controllers_message():
    o = obj(
        conds=[
            ("Ready", "False", "RetriesExceeded", "install retries exhausted"),
            ("Stalled", "True", "RetriesExceeded", "Failed to install after 3 attempts: timed out"),
        ]
    )
    v = st.flux_verdict("HelmRelease", o)
    assert v == st.Verdict("failed", "Failed to install after 3 attempts: timed out")


def test_terminal_ready_false_fails_but_retried_reasons_are_progress():
    build = obj(
        conds=[("Ready", "False", "BuildFailed", "kustomize build failed: missing file x.yaml")],
        lastAttemptedRevision=f"main@sha1:{SHA}",
        lastAppliedRevision=f"main@sha1:{OLD}",
    )
    v = st.flux_verdict("Kustomization", build, sha=SHA)
    assert v.phase == "failed" and "missing file" in v.message
    # the same failure from an older revision is history: ours was not tried yet
    build["status"]["lastAttemptedRevision"] = f"main@sha1:{OLD}"
    assert st.flux_verdict("Kustomization", build, sha=SHA).phase == "progressing"
    retry = obj(
        conds=[("Ready", "False", "ReconciliationFailed", "no matches for kind ClusterIssuer")],
        lastAttemptedRevision=f"main@sha1:{SHA}",
    )
    v = st.flux_verdict("Kustomization", retry, sha=SHA)
    assert v.phase == "progressing" and "no matches for kind ClusterIssuer" in v.message


def test_reconciling_message_streams_through():
    o = obj(
        conds=[
            ("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
            ("Reconciling", "True", "Progressing", "Running 'install' action with timeout of 5m0s"),
        ]
    )
    assert st.flux_verdict("HelmRelease", o) == st.Verdict(
        "progressing", "Running 'install' action with timeout of 5m0s"
    )


def test_helmrelease_released_false_is_not_ready_and_suspend_fails():
    o = obj(conds=[("Ready", "True", "UpgradeSucceeded", "ok"), ("Released", "False", "UpgradeFailed", "boom")])
    assert st.flux_verdict("HelmRelease", o).phase == "progressing"
    o["spec"]["suspend"] = True
    v = st.flux_verdict("HelmRelease", o)
    assert v.phase == "failed" and "flux resume helmrelease x" in v.message


def test_missing_object_is_waiting():
    assert st.flux_verdict("HelmRelease", None) == st.Verdict("waiting", "not created yet")


@pytest.mark.parametrize(
    "rev,ok",
    [
        (f"main@sha1:{SHA}", True),
        (f"main/{SHA}", True),
        (f"main@sha1:{OLD}", False),
        (None, False),
        (f"refs/heads/main@sha1:{SHA}", True),
    ],
)
def test_revision_matches(rev, ok):
    assert st.revision_matches(rev, SHA) is ok


# -- workloads and events ---------------------------------------------------------------------------
def test_daemonset_desired_vs_ready():
    ds = {
        "metadata": {"generation": 2},
        "spec": {},
        "status": {
            "observedGeneration": 2,
            "desiredNumberScheduled": 1,
            "numberReady": 0,
            "updatedNumberScheduled": 0,
            "numberAvailable": 0,
        },
    }
    assert st.workload_verdict("DaemonSet", ds) == st.Verdict("progressing", "0/1 ready")
    ds["status"].update(numberReady=1, updatedNumberScheduled=1, numberAvailable=1)
    assert st.workload_verdict("DaemonSet", ds).phase == "ready"
    ds["metadata"]["generation"] = 3
    assert st.workload_verdict("DaemonSet", ds).phase == "progressing"


def test_deployment_counts_replicas():
    dep = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1},
    }
    assert st.workload_verdict("Deployment", dep) == st.Verdict("progressing", "1/2 ready")


PSA_MSG = (
    'Error creating: pods "ingress-nginx-controller-abcde" is forbidden: violates PodSecurity '
    '"baseline:latest": host namespaces (hostNetwork=true), hostPort (container "controller" uses '
    "hostPorts 443, 80, 8443)"
)


def event(
    reason, message, *, kind="DaemonSet", name="ingress-nginx-controller", ns="ingress-nginx", ago=0.0, etype="Warning"
):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - ago))
    return {
        "metadata": {"namespace": ns, "name": f"{name}.1"},
        "type": etype,
        "reason": reason,
        "message": message,
        "lastTimestamp": stamp,
        "involvedObject": {"kind": kind, "namespace": ns, "name": name},
    }


def test_podsecurity_failedcreate_is_a_failure_with_the_event_text():
    v = st.event_verdict(event("FailedCreate", PSA_MSG), since=time.time())
    assert v is not None and v.phase == "failed"
    assert 'violates PodSecurity "baseline:latest"' in v.message and v.message.startswith("FailedCreate: ")
    assert "pod-security.kubernetes.io/enforce=privileged" in (st.hint_for(v.message) or "")


def test_old_events_are_history_and_others_are_progress():
    assert st.event_verdict(event("FailedCreate", PSA_MSG, ago=3600), since=time.time()) is None
    assert st.event_verdict(event("FailedCreate", PSA_MSG, etype="Normal"), since=time.time()) is None
    v = st.event_verdict(event("FailedScheduling", "0/1 nodes are available"), since=time.time())
    assert v == st.Verdict("progressing", "FailedScheduling: 0/1 nodes are available")


def test_event_matching_follows_replicasets_of_a_deployment():
    rs = event("FailedCreate", PSA_MSG, kind="ReplicaSet", name="podinfo-7d9f8b6c5d", ns="podinfo")
    assert st.event_is_for(rs, "Deployment", "podinfo", "podinfo")
    assert not st.event_is_for(rs, "Deployment", "podinfo", "podin")
    assert not st.event_is_for(rs, "Deployment", "other", "podinfo")
    assert st.event_is_for(event("FailedCreate", PSA_MSG), "DaemonSet", "ingress-nginx", "ingress-nginx-controller")


def test_event_time_reads_rfc3339_with_fraction_and_offset():
    assert st._ts("2026-01-01T00:00:00Z") == 1767225600.0
    assert st._ts("2026-01-01T01:00:00.5+01:00") == 1767225600.5
    assert (
        st.event_time(
            {"eventTime": "2026-01-01T00:00:00.000000Z", "series": {"lastObservedTime": "2026-01-01T00:05:00.000000Z"}}
        )
        == 1767225900.0
    )


# -- cert-manager --------------------------------------------------------------------------------------
def test_certificate_reports_order_and_challenge_state():
    cert = obj(
        conds=[
            ("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
            ("Issuing", "True", "DoesNotExist", "Issuing certificate as Secret does not exist"),
        ]
    )
    order = {"metadata": {"name": "podinfo-tls-1-123"}, "status": {"state": "pending"}}
    ch = {
        "metadata": {"name": "podinfo-tls-1-123-456"},
        "spec": {"type": "HTTP-01", "dnsName": "podinfo.example.com"},
        "status": {"state": "pending", "reason": "Waiting for HTTP-01 challenge propagation: wrong status code '404'"},
    }
    v = st.cert_manager_verdict("Certificate", cert, order, [ch])
    assert v.phase == "progressing"
    assert (
        "order pending" in v.message
        and "challenge HTTP-01 podinfo.example.com pending: Waiting for HTTP-01" in v.message
    )
    order["status"] = {"state": "invalid", "reason": "urn:ietf:params:acme:error:unauthorized"}
    assert st.cert_manager_verdict("Certificate", cert, order, [ch]).phase == "failed"
    ready = obj(conds=[("Ready", "True", "Ready", "Certificate is up to date and has not expired")])
    assert st.cert_manager_verdict("Certificate", ready).phase == "ready"
    issuer = obj(conds=[("Ready", "False", "ErrRegisterACMEAccount", "Failed to register ACME account")])
    assert st.cert_manager_verdict("ClusterIssuer", issuer) == st.Verdict(
        "progressing", "Failed to register ACME account"
    )


# -- targets ------------------------------------------------------------------------------------------
def _run_plan(repo: Path, answers: Path, steps: list[str]):
    from wizard.engine import Engine, RunOptions

    engine = Engine(repo=repo, answers_file=str(answers))
    plan = engine.plan(steps)
    list(engine.run(plan, RunOptions(commit=False, push=False)))
    return engine, plan


def test_objects_for_a_run_follow_the_chain(guide_repo: Path, answers_file: Path):
    engine, plan = _run_plan(guide_repo, answers_file, PLAIN_STEPS)
    targets = objects_for(engine.layout, plan)
    labels = [t.label() for t in targets]
    assert labels[:2] == ["GitRepository flux-system/flux-system", "Kustomization flux-system/flux-system"]
    for expected in (
        "Kustomization flux-system/traefik",
        "Kustomization flux-system/cert-manager",
        "Kustomization flux-system/cluster-issuers",
        "Kustomization flux-system/smoke-test",
        # the firewall step has no Kustomization of its own: the one applying the policy
        "Kustomization flux-system/cluster-policies",
        "HelmRepository traefik/traefik",
        "HelmRelease traefik/traefik",
        "HelmRepository cert-manager/jetstack",
        "HelmRelease cert-manager/cert-manager",
        "ClusterIssuer letsencrypt-staging",
        "ClusterIssuer letsencrypt-production",
        "HelmRelease podinfo/podinfo",
        "Certificate podinfo/podinfo-tls",
    ):
        assert expected in labels
    assert "Kustomization flux-system/cilium" not in labels  # not touched by the run
    by = {t.key: t for t in targets}
    wl = by[(WORKLOADS, "traefik", "traefik")]
    assert wl.release == "traefik" and wl.after == (("HelmRelease", "traefik", "traefik"),)
    assert by[("HelmRelease", "cert-manager", "cert-manager")].after == (
        ("Kustomization", "flux-system", "cert-manager"),
    )
    assert [t.name for t in targets if t.reconcile] == [
        "flux-system",
        "flux-system",
        "traefik",
        "cert-manager",
        "cluster-issuers",
        "smoke-test",
        "cluster-policies",
    ]
    assert smoke_url(engine.layout, plan) == "https://podinfo.apps.k8s.example.com/"


def test_objects_for_only_the_planned_steps(guide_repo: Path, answers_file: Path):
    engine, plan = _run_plan(guide_repo, answers_file, ["cert-manager"])
    kinds = {(t.kind, t.name) for t in objects_for(engine.layout, plan)}
    assert ("Kustomization", "cert-manager") in kinds and ("Kustomization", "ingress-nginx") not in kinds
    assert not any(k == "Certificate" for k, _ in kinds)
    assert smoke_url(engine.layout, plan) == ""


def test_objects_for_without_a_plan_reads_the_repository(guide_repo: Path, answers_file: Path):
    from wizard import repo as repo_mod

    _run_plan(guide_repo, answers_file, ["ingress", "cert-manager"])
    layout = repo_mod.discover(guide_repo)
    names = [t.name for t in objects_for(layout, None) if t.kind == "Kustomization"]
    assert names == ["flux-system", "traefik", "cert-manager", "cluster-policies"]
    assert root_kustomization(layout) == "flux-system"


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("20m", 1200), ("1h30m", 5400), ("45", 45), ("500ms", 0.5)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage():
    from wizard.errors import UserError

    with pytest.raises(UserError, match="not a duration"):
        parse_duration("20 minutes")


def test_importing_wizard_flux_does_not_import_lightkube():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import sys, wizard.flux; print(any(m.startswith('lightkube') for m in sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "False"


def test_events_of_an_earlier_object_with_the_same_name_do_not_count():
    ev = event("FailedCreate", PSA_MSG)
    ev["involvedObject"]["uid"] = "old-uid"
    assert st.event_is_for(ev, "DaemonSet", "ingress-nginx", "ingress-nginx-controller", "old-uid")
    assert not st.event_is_for(ev, "DaemonSet", "ingress-nginx", "ingress-nginx-controller", "new-uid")


def test_long_hashes_in_controller_messages_are_shortened():
    msg = f"Fetching manifests for revision main@sha1:{SHA} with a timeout of 30s"
    assert st.shorten_hashes(msg) == f"Fetching manifests for revision main@sha1:{SHA[:10]} with a timeout of 30s"
    digest = "stored artifact: revision 'sha256:" + "ab" * 32 + "'"
    assert st.shorten_hashes(digest) == "stored artifact: revision 'sha256:ababababab'"
    o = obj(conds=[("Reconciling", "True", "Progressing", msg)])
    assert st.flux_verdict("Kustomization", o, sha=SHA).message == st.shorten_hashes(msg)


def test_workloads_are_found_by_either_instance_label_convention() -> None:
    """Most charts label their workloads app.kubernetes.io/instance=<release>; Traefik's chart uses
    <release>-<namespace>: the watch follows both (the Traefik DaemonSet was never seen before)."""
    from wizard.flux.targets import WORKLOADS, Target, instance_values

    t = Target(WORKLOADS, "traefik", "traefik", release="traefik")
    assert instance_values(t) == ("traefik", "traefik-traefik")
    assert instance_values(Target(WORKLOADS, "n" * 40, "r", release="r" * 40))[1] == ("r" * 40 + "-" + "n" * 40)[:63]


def test_timeout_reason_is_never_empty_when_only_workloads_are_missing() -> None:
    from wizard.flux import streams
    from wizard.flux.assess import Assessor
    from wizard.flux.targets import WORKLOADS, Target

    hr = Target("HelmRelease", "smoke-test", "podinfo")
    wl = Target(WORKLOADS, "smoke-test", "podinfo", after=(hr.key,), release="podinfo")
    ready = {hr.key: ev.ObjectState(kind="HelmRelease", namespace="smoke-test", name="podinfo", phase="ready")}
    pending = Assessor([hr, wl], None, "token").pending(streams.plan([hr, wl]), ready)
    assert pending and all(reason for _, reason in pending), pending
    assert "workloads of HelmRelease smoke-test/podinfo" in pending[0][0]


def test_gone_verdict() -> None:
    assert st.gone_verdict("HelmRelease", None).phase == st.READY
    deleting = {"metadata": {"name": "podinfo", "deletionTimestamp": "2026-12-02T03:00:00Z"}}
    v = st.gone_verdict("HelmRelease", deleting)
    assert v.phase == st.PROGRESSING and "uninstalling" in v.message
    assert st.gone_verdict("Kustomization", {"metadata": {"name": "smoke-test"}}).phase == st.WAITING
