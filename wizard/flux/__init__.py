"""Flux: reconcile requests and the watch chain -> events (UI-free).

    watcher = FluxWatcher(kube)                     # the run's wizard.kube.KubeConnector
    async for event in watcher.follow(layout, plan, sha, timeout=1200):
        ...                                         # ObjectState / Info / Warning, finally Done
    # raises StepFailed (exit 1) or WaitTimeout (exit 3)

The flow (wizard.flow) runs it after the push. Modules: ``targets`` (which objects a plan
touches, read from the repository), ``status`` (pure condition -> phase logic), ``kube`` (kinds,
durations), ``follow`` (the list+watch loop), ``watcher`` (FluxWatcher: reconcile requests).
Importing this package does not import lightkube.
"""

from wizard.flux.kube import parse_duration
from wizard.flux.targets import Target, objects_for, root_kustomization, smoke_url
from wizard.flux.watcher import FluxWatcher, follow_sync, preflight_sync

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
