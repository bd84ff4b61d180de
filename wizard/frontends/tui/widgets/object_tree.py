"""The reconcile chain as a live tree: one node per Flux/Kubernetes object, grouped by stage."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from wizard.events import ObjectState

ICON = {"waiting": "◎", "progressing": "►", "ready": "✔", "failed": "✗"}
PHASE_STYLE = {"waiting": "dim", "progressing": "bold yellow", "ready": "bold green", "failed": "bold red"}
GROUPS = (
    ("source", "Source", ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket")),
    ("kustomization", "Kustomizations", ("Kustomization",)),
    ("helmrelease", "HelmReleases", ("HelmRelease",)),
    ("workload", "Workloads", ("Deployment", "DaemonSet", "StatefulSet", "Pod", "Job")),
    ("issuer", "Issuers", ("ClusterIssuer", "Issuer")),
    ("certificate", "Certificates", ("Certificate", "CertificateRequest", "Order", "Challenge", "Ingress")),
)


def group_of(kind: str) -> str:
    return next((key for key, _, kinds in GROUPS if kind in kinds), "other")


def elapsed(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class ObjectTree(Tree[str]):
    DEFAULT_CSS = """
    ObjectTree { height: 1fr; }
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__("reconcile", **kwargs)
        self.show_root = False
        self.clock = clock
        self._group_nodes: dict[str, TreeNode[str]] = {}
        self._obj_nodes: dict[tuple[str, str, str], TreeNode[str]] = {}
        self._obj_states: dict[tuple[str, str, str], tuple[ObjectState, float]] = {}

    def on_mount(self) -> None:
        for key, title, _ in GROUPS:
            self._group_nodes[key] = self.root.add(title, data=key, expand=True)
        self._refresh_group_labels()

    def update_object(self, event: ObjectState) -> None:
        key = (event.kind, event.namespace, event.name)
        self._obj_states[key] = (event, self.clock())
        node = self._obj_nodes.get(key)
        if node is None:
            gkey = group_of(event.kind)
            if gkey not in self._group_nodes:  # kinds outside the chain, shown only when they come
                self._group_nodes[gkey] = self.root.add("Other", data=gkey, expand=True)
            group = self._group_nodes[gkey]
            node = group.add_leaf(self._label(key), data="/".join(key))
            self._obj_nodes[key] = node
        else:
            node.set_label(self._label(key))
        self._refresh_group_labels()

    def tick(self) -> None:
        for key, node in self._obj_nodes.items():
            node.set_label(self._label(key))

    def phase(self, kind: str, namespace: str, name: str) -> str | None:
        got = self._obj_states.get((kind, namespace, name))
        return got[0].phase if got else None

    def _label(self, key: tuple[str, str, str]) -> Text:
        event, seen = self._obj_states[key]
        final = event.phase in ("ready", "failed")
        took = (seen if final else self.clock()) - event.since
        where = f"{event.namespace}/" if event.namespace else ""
        text = Text()
        text.append(f"{ICON.get(event.phase, '•')} ", style=PHASE_STYLE.get(event.phase, ""))
        text.append(f"{event.kind} {where}{event.name}", style="bold" if not final else "")
        text.append(f"  {elapsed(took)}", style="dim")
        if event.message:
            text.append(f"  {event.message}", style="red" if event.phase == "failed" else "italic")
        return text

    def _refresh_group_labels(self) -> None:
        for key, title, _ in (*GROUPS, ("other", "Other", ())):
            items = [s for k, (s, _) in self._obj_states.items() if group_of(k[0]) == key]
            node = self._group_nodes.get(key)
            if node is None:
                continue
            ready = sum(1 for s in items if s.phase == "ready")
            failed = any(s.phase == "failed" for s in items)
            style = "bold red" if failed else "bold green" if items and ready == len(items) else "bold"
            count = f"  {ready}/{len(items)} ready" if items else "  waiting"
            node.set_label(Text.assemble((title, style), (count, "dim")))
