"""Flux: preflight, reconcile requests and the watch chain -> events (UI-free).

    watcher = FluxWatcher(kubeconfig=None, context=None)
    await watcher.preflight()                       # UserError (exit 2) if Flux's GA APIs are missing
    async for event in watcher.follow(layout, plan, sha, timeout=1200):
        ...                                         # ObjectState / Info / Warning, finally Done
    # raises StepFailed (exit 1) or WaitTimeout (exit 3)

    follow_sync(watcher, layout, plan, sha, timeout=..., on_event=print)   # for the CLI

Modules: ``targets`` (which objects a plan touches, read from the repository), ``status`` (pure
condition -> phase logic), ``kube`` (kinds, discovery check, durations), ``follow`` (the
list+watch loop), ``watcher`` (FluxWatcher: connection, preflight, reconcile requests).
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
