"""Pure status logic: one object's JSON (a dict, as the API server returns it) -> phase + message.

No I/O, no lightkube: everything here is unit-tested with plain dicts. Phases are the ones
``wizard.events.ObjectState`` carries: waiting | progressing | ready | failed.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WAITING, PROGRESSING, READY, FAILED = "waiting", "progressing", "ready", "failed"

# Ready=False reasons that no retry will fix: the repository (or the cluster) must change first.
# Everything else (HealthCheckFailed, ReconciliationFailed, InstallFailed with retries left,
# DependencyNotReady, ArtifactFailed...) is retried by the controller and reported as progress;
# the timeout names it if it never recovers.
TERMINAL_REASONS = frozenset(
    {
        "BuildFailed",  # kustomize build of the folder failed (bad YAML, missing file)
        "DecryptionFailed",  # sops: wrong key or missing decryption block
        "InvalidPath",
        "InvalidChartReference",  # HelmRelease points at a chart/source that cannot exist
        "RetriesExceeded",  # HelmRelease remediation gave up
        "AuthenticationFailed",  # source credentials rejected
        "URLInvalid",
        "InvalidSTSConfiguration",
        "ValidationFailed",
    }
)

PSA_RE = re.compile(r"violates PodSecurity")
EVENT_FRESH_SLACK = 60.0  # seconds: an older Warning event is history, not news


@dataclass(frozen=True)
class Verdict:
    phase: str
    message: str = ""


Store = Mapping[tuple[str, str], dict[str, Any]]  # (namespace, name) -> object, as listed and watched


@dataclass(frozen=True)
class Context:
    """What a kind's verdict reads besides its object (``wizard.flux.kinds``): which object, the
    pushed revision, the token of our reconcile request (None: none made), and the objects of the
    kind's companion kinds (``related``)."""

    kind: str
    namespace: str
    name: str
    sha: str | None = None
    token: str | None = None
    companions: Mapping[str, Store] = field(default_factory=dict)

    def related(self, kind: str) -> list[dict[str, Any]]:
        """The objects of companion ``kind`` in this object's namespace."""
        store = self.companions.get(kind) or {}
        return [o for (ns, _), o in store.items() if ns == self.namespace]


def conditions(obj: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type"):
            out[str(c["type"])] = c
    return out


def _is(conds: dict[str, dict[str, Any]], ctype: str, status: str) -> bool:
    return str((conds.get(ctype) or {}).get("status")) == status


_LONG_HASH = re.compile(r"\b((?:sha1|sha256):)?([0-9a-f]{10})[0-9a-f]{30,54}\b")


def shorten_hashes(text: str) -> str:
    """``main@sha1:<40 hex>`` -> ``main@sha1:<10 hex>``, likewise sha256 digests: lines stay readable."""
    return _LONG_HASH.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}", text)


def _msg(c: dict[str, Any] | None) -> str:
    if not c:
        return ""
    text = shorten_hashes(" ".join(str(c.get("message") or "").split()))
    return text or str(c.get("reason") or "")


def revision_matches(revision: str | None, sha: str | None) -> bool:
    """Flux revisions look like ``main@sha1:<sha>`` (older: ``main/<sha>``)."""
    if not sha:
        return True
    if not revision:
        return False
    tail = re.split(r"[@/:]", str(revision))[-1]
    return bool(tail) and (
        tail == sha or (len(sha) >= 7 and tail.startswith(sha)) or (len(tail) >= 7 and sha.startswith(tail))
    )


def short_rev(revision: str | None) -> str:
    if not revision:
        return "none"
    m = re.match(r"^(.*?)([0-9a-f]{40})$", str(revision))
    return f"{m.group(1)}{m.group(2)[:10]}" if m else str(revision)


def generation_seen(obj: dict[str, Any]) -> bool:
    gen = (obj.get("metadata") or {}).get("generation")
    seen = (obj.get("status") or {}).get("observedGeneration")
    return gen is None or (seen is not None and int(seen) >= int(gen))


def flux_verdict(kind: str, obj: dict[str, Any] | None, *, sha: str | None = None, token: str | None = None) -> Verdict:
    """kstatus-style reading of a Flux object, revision- and request-aware.

    - GitRepository: ready once Ready=True and ``artifact.revision`` carries ``sha``.
    - Kustomization: ready once Ready=True, observedGeneration == generation and
      ``lastAppliedRevision`` carries ``sha``; a failure only counts once our revision was tried.
    - HelmRepository/HelmRelease: ready once Ready=True (and Released not False) at the current
      generation.
    - Without a sha, a request we made (``token``) must have been handled
      (``lastHandledReconcileAt``).
    """
    if obj is None:
        return Verdict(WAITING, "not created yet")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if spec.get("suspend"):
        return Verdict(
            FAILED,
            f"suspended: resume it with `flux resume {kind.lower()} {(obj.get('metadata') or {}).get('name', '')}`",
        )
    conds = conditions(obj)
    ready, reconciling, stalled = conds.get("Ready"), conds.get("Reconciling"), conds.get("Stalled")
    seen = generation_seen(obj)
    revision: str | None = None
    applied_ours = True
    tried_ours = True
    if kind == "GitRepository":
        revision = (status.get("artifact") or {}).get("revision")
        applied_ours = tried_ours = revision_matches(revision, sha)
    elif kind == "Kustomization":
        revision = status.get("lastAppliedRevision")
        applied_ours = revision_matches(revision, sha)
        tried_ours = revision_matches(status.get("lastAttemptedRevision"), sha)
    handled = (
        token is None
        or status.get("lastHandledReconcileAt") == token
        or bool(sha and kind in ("GitRepository", "Kustomization"))
    )

    if seen and tried_ours:
        if stalled and _is(conds, "Stalled", "True"):
            return Verdict(FAILED, _msg(stalled) or "stalled")
        if (
            ready
            and _is(conds, "Ready", "False")
            and str(ready.get("reason")) in TERMINAL_REASONS
            and not _is(conds, "Reconciling", "True")
        ):
            return Verdict(FAILED, _msg(ready))
    if seen and applied_ours and handled and _is(conds, "Ready", "True"):
        if kind == "HelmRelease" and _is(conds, "Released", "False"):
            return Verdict(PROGRESSING, _msg(conds.get("Released")))
        if kind == "GitRepository" and revision:
            return Verdict(READY, f"stored artifact for revision {short_rev(revision)}")
        if kind == "Kustomization" and revision:
            return Verdict(READY, f"applied revision {short_rev(revision)}")
        return Verdict(READY, _msg(ready))
    # in progress: say what the controller says, else what we are waiting for
    if reconciling and _is(conds, "Reconciling", "True") and _msg(reconciling):
        return Verdict(PROGRESSING, _msg(reconciling))
    if not seen:
        return Verdict(
            PROGRESSING, f"waiting for the controller to see generation {(obj.get('metadata') or {}).get('generation')}"
        )
    if not applied_ours:
        what = "fetching" if kind == "GitRepository" else "applying"
        note = f" (at {short_rev(revision)})" if revision else ""
        if ready and _is(conds, "Ready", "False") and _msg(ready):
            return Verdict(PROGRESSING, f"{what} {sha[:10] if sha else ''}{note}: {_msg(ready)}".strip())
        return Verdict(PROGRESSING, f"{what} revision {sha[:10] if sha else ''}{note}")
    if not handled:
        return Verdict(PROGRESSING, "reconcile requested")
    if ready and _msg(ready):
        return Verdict(PROGRESSING, _msg(ready))
    return Verdict(PROGRESSING, "waiting for the controller")


def flux_object_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    return flux_verdict(ctx.kind, obj, sha=ctx.sha, token=ctx.token)


def git_repository_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    """The run's GitRepository must exist: without it Flux does not sync this repository at all."""
    if obj is None:
        return Verdict(
            FAILED,
            "not found in the cluster: is Flux bootstrapped from this repository on this cluster (and this "
            "kubeconfig context)?",
        )
    return flux_verdict(ctx.kind, obj, sha=ctx.sha, token=ctx.token)


def gone_verdict(kind: str, obj: dict[str, Any] | None) -> Verdict:
    """An object the run took out of the repository: ready once Flux has pruned it (it is not in the
    cluster); being deleted while its finalizer runs (a Kustomization prunes what it applied, a
    HelmRelease uninstalls its release)."""
    if obj is None:
        return Verdict(READY, "pruned: no longer in the cluster")
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        what = "pruning what it applied" if kind == "Kustomization" else "uninstalling its Helm release"
        return Verdict(PROGRESSING, f"being deleted ({what})")
    return Verdict(WAITING, "still in the cluster: waiting for Flux to prune it")


def workload_verdict(kind: str, obj: dict[str, Any] | None) -> Verdict:
    """Deployment / DaemonSet / StatefulSet: desired vs ready at the current generation."""
    if obj is None:
        return Verdict(WAITING, "not created yet")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    seen = generation_seen(obj)
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        available = int(status.get("numberAvailable") or 0)
        if seen and desired == 0 and status.get("observedGeneration") is not None:
            return Verdict(READY, "no node to run on (0 pods desired)")
    else:
        desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        ready = int(status.get("readyReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
    counts = f"{ready}/{desired} ready"
    if not seen:
        return Verdict(PROGRESSING, f"rolling out ({counts})")
    if desired == 0 and kind != "DaemonSet":
        return Verdict(READY, "scaled to 0")
    if ready >= desired and updated >= desired and available >= desired:
        return Verdict(READY, counts)
    return Verdict(PROGRESSING, counts)


def cert_manager_verdict(
    kind: str,
    obj: dict[str, Any] | None,
    order: dict[str, Any] | None = None,
    challenges: list[dict[str, Any]] | None = None,
) -> Verdict:
    """ClusterIssuer / Certificate (with its newest Order and Challenges when not Ready)."""
    if obj is None:
        return Verdict(WAITING, "not created yet")
    conds = conditions(obj)
    ready = conds.get("Ready")
    if _is(conds, "Ready", "True") and generation_seen_cm(obj, ready):
        return Verdict(READY, _msg(ready))
    if kind == "Certificate":
        issuing = conds.get("Issuing")
        if issuing and _is(conds, "Issuing", "False") and str(issuing.get("reason")) == "Failed":
            return Verdict(FAILED, _msg(issuing))
        parts: list[str] = []
        if order:
            ostate = str((order.get("status") or {}).get("state") or "pending")
            oreason = " ".join(str((order.get("status") or {}).get("reason") or "").split())
            if ostate in ("invalid", "errored", "expired"):
                return Verdict(FAILED, f"ACME order {ostate}" + (f": {oreason}" if oreason else ""))
            parts.append(f"order {ostate}")
        for ch in challenges or []:
            st = ch.get("status") or {}
            cstate = str(st.get("state") or "pending")
            reason = " ".join(str(st.get("reason") or "").split())
            dns = (ch.get("spec") or {}).get("dnsName") or ""
            parts.append(
                f"challenge {ch.get('spec', {}).get('type', '')} {dns} {cstate}".replace("  ", " ")
                + (f": {reason}" if reason else "")
            )
        base = _msg(issuing) if issuing and _is(conds, "Issuing", "True") else _msg(ready)
        msg = "; ".join([p for p in [base, *parts] if p])
        return Verdict(PROGRESSING, msg or "waiting for cert-manager")
    # ClusterIssuer: Ready=False is retried by cert-manager (e.g. ACME registration)
    return Verdict(PROGRESSING, _msg(ready) or "waiting for cert-manager")


def cluster_issuer_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    return cert_manager_verdict("ClusterIssuer", obj)


def certificate_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    """A Certificate, with its newest ACME Order (``<certificate>-<n>-<hash>``) and that Order's
    Challenges (``<order>-<hash>``) while it is not Ready."""
    order = None
    challenges: list[dict[str, Any]] = []
    if obj is not None:
        orders = [o for o in ctx.related("Order") if _name(o).startswith(ctx.name + "-")]
        if orders:
            order = sorted(orders, key=lambda o: str((o.get("metadata") or {}).get("creationTimestamp") or ""))[-1]
            prefix = _name(order) + "-"
            challenges = [c for c in ctx.related("Challenge") if _name(c).startswith(prefix)]
    return cert_manager_verdict("Certificate", obj, order, challenges)


def _name(o: dict[str, Any]) -> str:
    return str((o.get("metadata") or {}).get("name") or "")


def generation_seen_cm(obj: dict[str, Any], ready: dict[str, Any] | None) -> bool:
    gen = (obj.get("metadata") or {}).get("generation")
    seen = (ready or {}).get("observedGeneration")
    return gen is None or seen is None or int(seen) >= int(gen)


def _ts(value: Any) -> float | None:
    if not value:
        return None
    text = str(value)
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text)
    if not m:
        return None
    base = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    frac = float(m.group(2)) if m.group(2) else 0.0
    tz = m.group(3) or "Z"
    offset = 0 if tz == "Z" else (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * (1 if tz[0] == "+" else -1)
    return base + frac - offset


def event_time(ev: dict[str, Any]) -> float | None:
    """The newest time an Event says it happened (series, lastTimestamp, eventTime, first)."""
    series = ev.get("series") or {}
    stamps = [
        _ts(series.get("lastObservedTime")),
        _ts(ev.get("lastTimestamp")),
        _ts(ev.get("eventTime")),
        _ts(ev.get("firstTimestamp")),
        _ts((ev.get("metadata") or {}).get("creationTimestamp")),
    ]
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


def event_is_for(ev: dict[str, Any], kind: str, namespace: str, name: str, uid: str | None = None) -> bool:
    """Is this Event about the workload (directly, or its ReplicaSet for a Deployment)? With the
    workload's ``uid``, events of an earlier object of the same name do not count."""
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    if (inv.get("namespace") or (ev.get("metadata") or {}).get("namespace")) != namespace:
        return False
    ikind, iname = inv.get("kind"), str(inv.get("name") or "")
    if ikind == kind and iname == name:
        return not (uid and inv.get("uid") and inv.get("uid") != uid)
    if (
        kind == "Deployment"
        and ikind == "ReplicaSet"
        and iname.startswith(name + "-")
        and "-" not in iname[len(name) + 1 :]
    ):
        return True
    if kind in ("DaemonSet", "StatefulSet", "Deployment") and ikind == "Pod" and iname.startswith(name + "-"):
        return True
    return False


def event_verdict(ev: dict[str, Any], *, since: float) -> Verdict | None:
    """A Warning event that fails its workload (PodSecurity rejection), or a progress note.

    Events older than ``since`` - EVENT_FRESH_SLACK are history and ignored.
    """
    if ev.get("type") != "Warning":
        return None
    t = event_time(ev)
    if t is not None and t < since - EVENT_FRESH_SLACK:
        return None
    message = " ".join(str(ev.get("message") or ev.get("note") or "").split())
    reason = str(ev.get("reason") or "")
    text = f"{reason}: {message}" if reason else message
    if reason == "FailedCreate" and PSA_RE.search(message):
        return Verdict(FAILED, text)
    return Verdict(PROGRESSING, text)


PSA_HINT = (
    "The namespace's PodSecurity level forbids these pods (hostNetwork/hostPort need "
    '"privileged"). Label the namespace pod-security.kubernetes.io/enforce=privileged (the '
    "wizard's ingress namespace.yaml does), push, and run `edge-wizard watch` again."
)


def hint_for(message: str) -> str | None:
    if PSA_RE.search(message):
        return PSA_HINT
    if "no matches for kind" in message:
        return (
            "The CRDs for this kind are not installed yet. If they come from a Helm chart, give the "
            "Kustomization a dependsOn on the chart's Kustomization (and healthChecks on the "
            "HelmRelease) so Flux applies them in order."
        )
    if "illegal base64 data" in message or "DecryptionFailed" in message or "decrypt" in message.lower():
        return (
            "Flux could not decrypt a sops file: check the Kustomization's spec.decryption block "
            "and that the sops key Secret exists in flux-system."
        )
    return None
