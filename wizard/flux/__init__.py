"""Flux: reconcile requests and the watch chain -> events (UI-free).

    watcher = FluxWatcher(kube)                     # the run's wizard.kube.KubeConnector
    async for event in watcher.follow(layout, plan, sha, timeout=1200):
        ...                                         # ObjectState / Info / Warning, finally Done
    # raises StepFailed (exit 1) or WaitTimeout (exit 3)

The flow (wizard.flow) runs it after the push. Modules: ``kinds`` (the one table of Kubernetes
kinds: API coordinates, scope, verdict), ``targets`` (which objects a plan touches, read from the
repository), ``status`` and ``gateway`` (pure verdicts: an object's conditions -> a phase),
``streams`` (one list+watch per kind), ``assess`` (pure: what the streams saw -> every object's
state), ``follow`` (the loop), ``watcher`` (FluxWatcher: reconcile requests, durations).
Importing this package does not import lightkube.
"""

from wizard.flux.targets import Target, objects_for, root_kustomization, smoke_url
from wizard.flux.watcher import FluxWatcher, follow_sync, parse_duration, preflight_sync

__all__ = [
    "FluxWatcher",
    "Target",
    "follow_sync",
    "objects_for",
    "parse_duration",
    "preflight_sync",
    "root_kustomization",
    "smoke_url",
]
