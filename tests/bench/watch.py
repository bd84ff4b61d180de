"""Watch latency, API requests, CPU and memory: edge-wizard's watch next to the flux CLI.

On etcd + kube-apiserver of the local control plane (tests/e2e/cluster.py; no Flux controllers:
this bench plays kustomize-/source-controller itself, so it knows when each status is written),
three followers run at once, each as its own process with its own client certificate:

- ``edge-wizard watch`` on a guide-shaped repository whose objects are the ones written;
- ``flux get kustomizations --watch`` (flux CLI v2.9.x);
- ``flux reconcile kustomization flux-system --with-source``, once per round.

A round: flux reconcile annotates the GitRepository; the bench, as source-controller, "works" for
a while (seeded random 0.1-1.9 s: a real controller is never instant, and an instant one would
always land right after flux's first poll) and writes its status; flux reconcile then annotates
the Kustomization, and the bench writes two progress statuses and, after another while, the
applied one. Every status write is a PATCH of the status subresource; its send time is compared
with the time each follower printed the line showing it (stdout/stderr read as it arrives).

API requests are counted at the API server: its audit log (Metadata level, one entry per
request), by the follower's certificate CN, while following (the rounds) and while idle (15 s
without status writes, during which a last flux reconcile waits for an answer that comes after).
CPU seconds come from /proc (long-running followers, over the rounds) and wait4 (the flux
reconcile processes, summed); peak memory is the peak RSS of each process (of the largest flux
reconcile run).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.apiserver import (
    FOLLOWERS,
    NS,
    Annotations,
    Api,
    ControlPlane,
    git_status,
    ks_progress,
    ks_status,
    objects,
    revision,
    start_api,
)
from tests.bench.followers import Follower, Write, match_latency, summary

__all__ = ["FOLLOWERS", "WatchResult", "run", "summary"]


@dataclass
class WatchResult:
    latency_ms: dict[str, list[float]]
    writes: dict[str, int]
    requests: dict[str, dict[str, Any]]
    cpu_s: dict[str, float]
    peak_mib: dict[str, float]
    crds: str
    edge_exit: int
    rounds: int


class Series:
    """The rounds: the bench as source-/kustomize-controller answering flux reconcile."""

    def __init__(self, cp: ControlPlane, api: Api, ann: Annotations, seed: int) -> None:
        self.cp, self.api, self.ann = cp, api, ann
        self.rng = random.Random(seed)
        self.writes: list[Write] = []

    def write(self, kind: str, name: str, status: dict[str, Any], key: str, final: bool, record: bool = True) -> None:
        sent, acked = self.api.patch_status(kind, name, status)
        if record:
            self.writes.append(Write(kind, key, final, sent, acked))

    def answer_round(self, i: int, old_git: str | None, old_ks: str | None, *, record: bool = True) -> None:
        rev = revision(i)
        tok = self.ann.wait_new("GitRepository", "flux-system", old_git)
        time.sleep(self.rng.uniform(0.1, 1.9))  # fetching
        self.write("GitRepository", "flux-system", git_status(rev, tok), rev[:8], True, record)
        tok = self.ann.wait_new("Kustomization", "flux-system", old_ks)
        for j in range(2):  # building, applying
            time.sleep(0.1)
            key = f"bench-r{i}-p{j} reconciling"
            self.write("Kustomization", "flux-system", ks_progress(key, tok), key, False, record)
        time.sleep(self.rng.uniform(0.1, 1.7))
        self.write("Kustomization", "flux-system", ks_status(rev, tok), rev[:8], True, record)


def audit_counts(log: Path, windows: dict[str, tuple[float, float]]) -> dict[str, dict[str, Any]]:
    """Requests per follower and window (distinct auditIDs), by verb."""
    seen: dict[str, tuple[str, str, float]] = {}
    for line in log.read_text().splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        user = (ev.get("user") or {}).get("username", "")
        if not user.startswith("bench-"):
            continue
        ts = ev.get("requestReceivedTimestamp", "")
        seen.setdefault(ev["auditID"], (user.removeprefix("bench-"), ev.get("verb", "?"), _epoch(ts)))
    out: dict[str, dict[str, Any]] = {f: {w: {} for w in windows} for f in FOLLOWERS}
    for user, verb, ts in seen.values():
        for w, (a, b) in windows.items():
            if a <= ts < b and user in out:
                out[user][w][verb] = out[user][w].get(verb, 0) + 1
    return out


def _epoch(ts: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def run(tools: Path, flux: Path, edge_wizard: Path, rounds: int, idle: float, seed: int = 21) -> WatchResult:
    from wizard.demo.sandbox import make_guide_repo

    work = Path(tempfile.mkdtemp(prefix="edge-wizard-bench-watch-"))
    cp, crds = start_api(tools, work)
    followers: dict[str, Follower] = {}
    try:
        repo = make_guide_repo(work / "repo", style="2024")
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        cp.kubectl_apply(*objects(sha))
        api = Api(cp)
        init = revision(-1)
        api.patch_status("GitRepository", "flux-system", git_status(init, "init"))
        for name in ("flux-system", "cluster-policies"):
            api.patch_status("Kustomization", name, ks_status(init, "init"))
        ann = Annotations(cp)
        series = Series(cp, api, ann, seed)

        base_env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        kc = {f: cp.client_kubeconfig(f"bench-{f}") for f in FOLLOWERS}
        followers["edge-wizard"] = Follower(
            "edge-wizard",
            [str(edge_wizard), "watch", "--repo", str(repo), "--timeout", "30m"],
            {**base_env, "KUBECONFIG": str(kc["edge-wizard"]), "PYTHONUNBUFFERED": "1"},
        )
        followers["flux-get"] = Follower(
            "flux-get",
            [str(flux), "get", "kustomizations", "--watch", "-n", NS, f"--kubeconfig={kc['flux-get']}"],
            base_env,
        )
        for f in followers.values():
            f.start()
        followers["edge-wizard"].wait_line(lambda s: "Kustomization flux-system/flux-system" in s, 60)
        followers["flux-get"].wait_line(lambda s: s.startswith("flux-system"), 60)
        # edge-wizard asks for a reconcile of the GitRepository when it starts: answer it, like
        # source-controller would, before the series (not measured)
        boot = ann.wait_new("GitRepository", "flux-system", None, 30)
        api.patch_status("GitRepository", "flux-system", git_status(init, boot))
        time.sleep(1.0)

        t_start, wall_start = time.monotonic(), time.time()
        cpu0 = {n: f.cpu_seconds() for n, f in followers.items()}
        rec_cpu, rec_peak, rec_lines = 0.0, 0, []
        for i in range(rounds):
            old_git, old_ks = ann.current("GitRepository", "flux-system"), ann.current("Kustomization", "flux-system")
            rec = Follower(
                "flux-reconcile",
                [
                    str(flux),
                    "reconcile",
                    "kustomization",
                    "flux-system",
                    "--with-source",
                    "-n",
                    NS,
                    f"--kubeconfig={kc['flux-reconcile']}",
                    "--timeout=2m",
                ],
                base_env,
            )
            rec.start()
            series.answer_round(i, old_git, old_ks)
            code = rec.finish(sig=None, timeout=60)
            if code != 0:
                raise RuntimeError(f"flux reconcile failed (exit {code}): {[ln for _, ln in rec.lines][-5:]}")
            rec_cpu += rec.rusage.ru_utime + rec.rusage.ru_stime
            rec_peak = max(rec_peak, rec.rusage.ru_maxrss)
            rec_lines += rec.lines
        wall_end = time.time()
        cpu1 = {n: f.cpu_seconds() for n, f in followers.items()}
        time.sleep(1.0)

        # idle: no status writes; one more flux reconcile waits (polling) for an answer that
        # only comes once the idle window is over
        wall_idle0 = time.time()
        old_git, old_ks = ann.current("GitRepository", "flux-system"), ann.current("Kustomization", "flux-system")
        waiting = Follower(
            "flux-reconcile",
            [
                str(flux),
                "reconcile",
                "kustomization",
                "flux-system",
                "-n",
                NS,
                f"--kubeconfig={kc['flux-reconcile']}",
                "--timeout=2m",
            ],
            base_env,
        )
        waiting.start()
        time.sleep(idle)
        wall_idle1 = time.time()
        tok = ann.wait_new("Kustomization", "flux-system", old_ks, 10)
        api.patch_status("Kustomization", "flux-system", ks_status(revision(rounds), tok))
        waiting.finish(sig=None, timeout=30)

        # the end: the repository's own revision everywhere, so edge-wizard's watch completes
        api.patch_status("GitRepository", "flux-system", git_status(sha, "end"))
        for name in ("flux-system", "cluster-policies"):
            api.patch_status("Kustomization", name, ks_status(sha, "end"))
        edge = followers["edge-wizard"]
        try:
            edge.wait_line(lambda s: s.startswith("✔ Flux reconciled"), 30)
            edge_exit = edge.finish(sig=None, timeout=30)
        except TimeoutError:
            edge_exit = edge.finish()
        peak = {n: f.peak_rss_kib() if f.alive() else 0 for n, f in followers.items()}
        followers["flux-get"].finish()
        for n, f in followers.items():
            peak[n] = max(peak.get(n, 0), f.rusage.ru_maxrss if f.rusage else 0)
        ann.stop = True

        lat = {
            "edge-wizard": match_latency(followers["edge-wizard"], series.writes, t_start),
            "flux-get": match_latency(
                followers["flux-get"], [w for w in series.writes if w.kind == "Kustomization"], t_start
            ),
            "flux-reconcile": match_latency(
                Follower("flux-reconcile", [], {}, lines=rec_lines), [w for w in series.writes if w.final], t_start
            ),
        }
        # the same writes as each flux command shows, for the side-by-side comparisons
        lat["edge-wizard/kustomization"] = match_latency(
            followers["edge-wizard"], [w for w in series.writes if w.kind == "Kustomization"], t_start
        )
        lat["edge-wizard/final"] = match_latency(
            followers["edge-wizard"], [w for w in series.writes if w.final], t_start
        )
        writes = {
            "edge-wizard": len(series.writes),
            "flux-get": sum(1 for w in series.writes if w.kind == "Kustomization"),
            "flux-reconcile": sum(1 for w in series.writes if w.final),
        }
        requests = audit_counts(cp.audit_log, {"following": (wall_start, wall_end), "idle": (wall_idle0, wall_idle1)})
        cpu = {n: cpu1[n] - cpu0[n] for n in followers}
        cpu["flux-reconcile"] = rec_cpu
        peak["flux-reconcile"] = rec_peak
        return WatchResult(
            latency_ms=lat,
            writes=writes,
            requests=requests,
            cpu_s=cpu,
            peak_mib={n: v / 1024 for n, v in peak.items()},
            crds=crds,
            edge_exit=edge_exit,
            rounds=rounds,
        )
    finally:
        for f in followers.values():
            if f.proc is not None and f.alive():
                f.proc.kill()
        cp.stop()
        if not os.environ.get("BENCH_KEEP"):
            import shutil

            shutil.rmtree(work, ignore_errors=True)
