"""make bench: how fast and how cheaply does wizard.flux follow the cluster?

Starts etcd + kube-apiserver of the local control plane (tests/e2e/cluster.py; the Flux controllers
are not needed, and would overwrite the statuses this bench writes), installs the Flux CRDs, then:

1. latency: follows 5 HelmRepositories with FluxWatcher and writes >= 50 status changes (status
   subresource patches, as source-controller would); for each change, the time from the PATCH
   (sent, and acknowledged by the API server) to the matching ObjectState out of the iterator.
2. requests: the API requests the watcher made (lists/gets vs watches vs patches), and how many it
   made during 10 idle seconds (a poller would make some; a watcher makes none).

Not a timed test: it prints the figures. Run inside the loopback-only netns (make bench does).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.cluster import ControlPlane  # noqa: E402
from wizard.events import Done, ObjectState  # noqa: E402
from wizard.flux import FluxWatcher  # noqa: E402
from wizard.flux.targets import Target  # noqa: E402

CHANGES = int(os.environ.get("BENCH_CHANGES", "60"))
OBJECTS = 5
GAP = 0.1  # seconds between writes, so each change is its own event
NS = "bench"


def tools_bin() -> Path:
    env = os.environ.get("EDGE_WIZARD_TOOLS_BIN")
    if env:
        return Path(env)
    import subprocess

    out = subprocess.run(
        ["bash", str(ROOT / "tests/tools/build.sh"), "--print-bin"], capture_output=True, text=True, check=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def minimal_crd(group: str, version: str, kind: str, plural: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def start_api(work: Path) -> ControlPlane:
    """etcd + kube-apiserver only (ControlPlane's own steps), with the Flux CRDs."""
    cp = ControlPlane(tools_bin(), work)
    cp.workdir.mkdir(parents=True, exist_ok=True)
    cp.logs.mkdir(exist_ok=True)
    cp._pki()
    cp._start_etcd()
    cp._start_apiserver()
    if (cp.cache / "crds").is_dir() and list((cp.cache / "crds").glob("*.yaml")):
        cp._apply_crds()
        crds = "Flux CRDs"
    else:
        cp.kubectl_apply(
            *(
                minimal_crd(*a)
                for a in (
                    ("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"),
                    ("source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories"),
                    ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"),
                    ("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases"),
                )
            )
        )
        cp.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", "crd/helmrepositories.source.toolkit.fluxcd.io"
        )
        crds = "minimal stand-in CRDs (Flux CRDs not built yet)"
    print(f"control plane: etcd + kube-apiserver {cp.api_url}, {crds}", flush=True)
    return cp


class StatusWriter:
    """Status subresource merge-patches over one keep-alive HTTPS connection."""

    def __init__(self, cp: ControlPlane) -> None:
        self.conn = http.client.HTTPSConnection("127.0.0.1", cp.ports["api"], context=cp._ssl_ctx())

    def patch(self, name: str, status: dict) -> tuple[float, float]:
        body = json.dumps({"status": status})
        path = f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{NS}/helmrepositories/{name}/status"
        sent = time.monotonic()
        self.conn.request("PATCH", path, body=body, headers={"Content-Type": "application/merge-patch+json"})
        resp = self.conn.getresponse()
        resp.read()
        acked = time.monotonic()
        if resp.status != 200:
            raise RuntimeError(f"status patch of {name}: HTTP {resp.status}")
        return sent, acked


def cond(ctype: str, status: str, reason: str, message: str) -> dict:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


async def bench(cp: ControlPlane) -> None:
    names = [f"repo-{i}" for i in range(OBJECTS)]
    cp.kubectl_apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    cp.kubectl_apply(
        *(
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmRepository",
                "metadata": {"name": n, "namespace": NS},
                "spec": {"url": "http://127.0.0.1:1/", "interval": "1h"},
            }
            for n in names
        )
    )
    writer = StatusWriter(cp)
    for n in names:
        writer.patch(
            n,
            {
                "observedGeneration": 1,
                "conditions": [
                    cond("Reconciling", "True", "Progressing", "starting"),
                    cond("Ready", "Unknown", "Progressing", ""),
                ],
            },
        )

    watcher = FluxWatcher(kubeconfig=str(cp.kubeconfig), heartbeat=3600)
    targets = [Target("HelmRepository", NS, n) for n in names]
    written: dict[str, tuple[float, float]] = {}  # message -> (PATCH sent, PATCH acknowledged)
    yielded: dict[str, float] = {}  # message -> ObjectState out of the iterator
    go = threading.Event()
    idle: dict[str, int] = {}

    def write_all() -> None:
        go.wait()
        for i in range(CHANGES):
            msg = f"change {i}"
            written[msg] = writer.patch(
                names[i % OBJECTS],
                {
                    "observedGeneration": 1,
                    "conditions": [
                        cond("Reconciling", "True", "Progressing", msg),
                        cond("Ready", "Unknown", "Progressing", ""),
                    ],
                },
            )
            time.sleep(GAP)
        # quiet period: count requests while nothing changes
        time.sleep(1.0)
        before = sum(watcher.requests.values())
        time.sleep(10.0)
        idle["requests"] = sum(watcher.requests.values()) - before
        for n in names:
            writer.patch(n, {"observedGeneration": 1, "conditions": [cond("Ready", "True", "Succeeded", "ok")]})

    thread = threading.Thread(target=write_all, daemon=True)
    thread.start()
    initial = 0
    async for e in watcher.follow_targets(targets, None, timeout=600):
        now = time.monotonic()
        if isinstance(e, ObjectState):
            if e.message.startswith("change "):
                yielded[e.message] = now
            else:
                initial += 1
                if initial >= OBJECTS:
                    go.set()
        elif isinstance(e, Done):
            break
    thread.join(timeout=30)
    await watcher.aclose()
    lat_sent = [(yielded[m] - written[m][0]) * 1000 for m in yielded if m in written]
    lat_ack = [max(0.0, yielded[m] - written[m][1]) * 1000 for m in yielded if m in written]

    print(
        f"\nevent latency, status write -> ObjectState out of FluxWatcher.follow ({len(lat_sent)} of "
        f"{CHANGES} changes observed, {OBJECTS} objects, one watch):"
    )
    if lat_sent:
        print(
            f"  from PATCH sent:         p50 {statistics.median(lat_sent):7.1f} ms   p95 {pct(lat_sent, 95):7.1f} ms"
            f"   max {max(lat_sent):7.1f} ms"
        )
        print(
            f"  from PATCH acknowledged: p50 {statistics.median(lat_ack):7.1f} ms   p95 {pct(lat_ack, 95):7.1f} ms"
            f"   max {max(lat_ack):7.1f} ms"
        )
    r = watcher.requests
    print(
        f"\nAPI requests made by the watcher during the whole follow: lists/gets {r['list/get']}, "
        f"watches {r['watch']}, patches {r['patch']}, other {r['other']}"
    )
    print(
        f"API requests during 10 idle seconds: {idle.get('requests', '?')} (a 2 s poller of "
        f"{OBJECTS} objects would make {5 * OBJECTS})"
    )
    if len(lat_sent) < 50:
        raise SystemExit(f"only {len(lat_sent)} changes observed (< 50)")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="edge-wizard-bench-"))
    cp = start_api(work)
    try:
        asyncio.run(bench(cp))
    finally:
        cp.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
