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

import hashlib
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.cluster import ControlPlane  # noqa: E402

NS = "flux-system"
FOLLOWERS = ("edge-wizard", "flux-get", "flux-reconcile")
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: [{users}]
  - level: None
"""
MINIMAL_CRDS = (
    ("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"),
    ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"),
    ("source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories"),
    ("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases"),
)
GROUP = {"GitRepository": "source.toolkit.fluxcd.io", "Kustomization": "kustomize.toolkit.fluxcd.io"}
PLURAL = {"GitRepository": "gitrepositories", "Kustomization": "kustomizations"}


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cond(ctype: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now_rfc3339(),
    }


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


class BenchPlane(ControlPlane):
    """ControlPlane with the API server's audit log on (only the followers' requests)."""

    def __init__(self, bin_dir: Path, workdir: Path) -> None:
        super().__init__(bin_dir, workdir)
        self.audit_log = self.workdir / "audit.log"

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Any:
        if name == "kube-apiserver":
            policy = self.workdir / "audit-policy.yaml"
            policy.write_text(AUDIT_POLICY.format(users=", ".join(f'"bench-{f}"' for f in FOLLOWERS)))
            args = [
                *args,
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-maxsize=0",
            ]
        return super()._spawn(name, args, env)

    def client_kubeconfig(self, user: str) -> Path:
        """A kubeconfig with its own client certificate (CN=user, O=system:masters)."""
        key, csr, crt = (self.pki / f"{user}.{ext}" for ext in ("key", "csr", "crt"))
        self._openssl(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key.name,
            "-out",
            csr.name,
            "-subj",
            f"/O=system:masters/CN={user}",
        )
        self._openssl(
            "x509",
            "-req",
            "-in",
            csr.name,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            crt.name,
            "-extfile",
            "client.ext",
        )
        path = self.workdir / f"{user}.kubeconfig"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "e2e",
                            "cluster": {"server": self.api_url, "certificate-authority": str(self.pki / "ca.crt")},
                        }
                    ],
                    "users": [{"name": user, "user": {"client-certificate": str(crt), "client-key": str(key)}}],
                    "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user, "namespace": NS}}],
                    "current-context": "e2e",
                }
            )
        )
        return path


def minimal_crd(group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
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


def start_api(tools: Path, work: Path) -> tuple[BenchPlane, str]:
    cp = BenchPlane(tools, work)
    cp.workdir.mkdir(parents=True, exist_ok=True)
    cp.logs.mkdir(exist_ok=True)
    cp._pki()
    cp._start_etcd()
    cp._start_apiserver()
    if (cp.cache / "crds").is_dir() and list((cp.cache / "crds").glob("*.yaml")):
        cp._apply_crds()
        crds = "the Flux CRDs"
    else:
        cp.kubectl_apply(*(minimal_crd(*a) for a in MINIMAL_CRDS))
        cp.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            *[f"crd/{a[3]}.{a[0]}" for a in MINIMAL_CRDS],
        )
        crds = "stand-in CRDs (schema-less; the Flux CRDs are not built yet: bash tests/tools/build.sh all)"
    return cp, crds


# -- the fake controller's API access ------------------------------------------------------------
class Api:
    """Status writes over one keep-alive HTTPS connection (admin, not audited)."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self.conn = http.client.HTTPSConnection("127.0.0.1", cp.ports["api"], context=cp._ssl_ctx())
        self.lock = threading.Lock()

    def path(self, kind: str, name: str = "", sub: str = "") -> str:
        p = f"/apis/{GROUP[kind]}/v1/namespaces/{NS}/{PLURAL[kind]}"
        return p + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")

    def request(self, method: str, path: str, body: Any = None, ctype: str = "application/json") -> tuple[int, Any]:
        with self.lock:
            data = json.dumps(body) if body is not None else None
            self.conn.request(method, path, body=data, headers={"Content-Type": ctype} if data else {})
            resp = self.conn.getresponse()
            raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)

    def patch_status(self, kind: str, name: str, status: dict[str, Any]) -> tuple[float, float]:
        sent = time.monotonic()
        code, body = self.request(
            "PATCH", self.path(kind, name, "status"), {"status": status}, "application/merge-patch+json"
        )
        acked = time.monotonic()
        if code != 200:
            raise RuntimeError(f"status patch of {kind} {name}: HTTP {code}: {body}")
        return sent, acked

    def get(self, kind: str, name: str) -> dict[str, Any]:
        code, body = self.request("GET", self.path(kind, name))
        if code != 200:
            raise RuntimeError(f"GET {kind} {name}: HTTP {code}")
        return body


class Annotations:
    """Watches the GitRepository and Kustomizations for reconcile requests (requestedAt), as a
    controller would, over its own connection."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self.cv = threading.Condition()
        self.seen: dict[tuple[str, str], str] = {}
        self.stop = False
        self.threads = [
            threading.Thread(target=self._run, args=(k,), daemon=True) for k in ("GitRepository", "Kustomization")
        ]
        for t in self.threads:
            t.start()

    def _run(self, kind: str) -> None:
        try:
            self._watch(kind)
        except (OSError, http.client.HTTPException):
            if not self.stop:
                raise

    def _watch(self, kind: str) -> None:
        conn = http.client.HTTPSConnection("127.0.0.1", self.cp.ports["api"], context=self.cp._ssl_ctx())
        path = f"/apis/{GROUP[kind]}/v1/namespaces/{NS}/{PLURAL[kind]}?watch=1&allowWatchBookmarks=false"
        conn.request("GET", path)
        resp = conn.getresponse()
        buf = b""
        while not self.stop:
            chunk = resp.read1(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                ev = json.loads(line)
                meta = (ev.get("object") or {}).get("metadata") or {}
                token = (meta.get("annotations") or {}).get("reconcile.fluxcd.io/requestedAt")
                if token:
                    with self.cv:
                        self.seen[(kind, meta.get("name", ""))] = token
                        self.cv.notify_all()

    def wait_new(self, kind: str, name: str, old: str | None, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                cur = self.seen.get((kind, name))
                if cur is not None and cur != old:
                    return cur
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no reconcile request on {kind} {name} within {timeout}s")
                self.cv.wait(left)

    def current(self, kind: str, name: str) -> str | None:
        with self.cv:
            return self.seen.get((kind, name))


# -- followers ------------------------------------------------------------------------------------
@dataclass
class Follower:
    name: str
    argv: list[str]
    env: dict[str, str]
    lines: list[tuple[float, str]] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    rusage: Any = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=self.env
        )
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream.fileno(),), daemon=True).start()

    def _read(self, fd: int) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            t = time.monotonic()
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.lines.append((t, line.decode("utf-8", "replace")))

    def alive(self) -> bool:
        """Still running (without reaping it: wait4 collects its rusage later)."""
        assert self.proc is not None
        if self.proc.returncode is not None:
            return False
        return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None

    def wait_line(self, pred: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, line in list(self.lines):
                if pred(line):
                    return line
            if self.proc is not None and not self.alive():
                break
            time.sleep(0.02)
        tail = "\n".join(line for _, line in self.lines[-15:])
        raise TimeoutError(f"{self.name}: no expected line within {timeout}s; last lines:\n{tail}")

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def finish(self, sig: int | None = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if sig is not None and self.alive():
            self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.rusage = ru
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.proc.returncode
            if time.monotonic() > deadline:
                self.proc.kill()
            time.sleep(0.02)


@dataclass
class Write:
    kind: str
    key: str  # what the followers' lines show of it
    final: bool  # a Ready status (what flux reconcile waits for)
    sent: float
    acked: float


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


def revision(i: int) -> str:
    return hashlib.sha1(f"edge-wizard bench round {i}".encode()).hexdigest()


def git_status(rev: str, token: str) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "lastHandledReconcileAt": token,
        "artifact": {
            "revision": f"main@sha1:{rev}",
            "digest": "sha256:" + hashlib.sha256(rev.encode()).hexdigest(),
            "path": f"gitrepository/{NS}/flux-system/{rev}.tar.gz",
            "url": f"http://source-controller.{NS}.svc.cluster.local./gitrepository/{NS}/flux-system/{rev}.tar.gz",
            "lastUpdateTime": now_rfc3339(),
        },
        "conditions": [
            cond("Ready", "True", "Succeeded", f"stored artifact for revision 'main@sha1:{rev}'"),
            cond("ArtifactInStorage", "True", "Succeeded", f"stored artifact for revision 'main@sha1:{rev}'"),
        ],
    }


def ks_status(rev: str, token: str) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "lastHandledReconcileAt": token,
        "lastAppliedRevision": f"main@sha1:{rev}",
        "lastAttemptedRevision": f"main@sha1:{rev}",
        "conditions": [
            cond("Ready", "True", "ReconciliationSucceeded", f"Applied revision: main@sha1:{rev}"),
            cond("Healthy", "True", "Succeeded", "Health check passed"),
        ],
    }


def ks_progress(key: str, token: str) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "conditions": [
            cond("Reconciling", "True", "Progressing", key),
            cond("Ready", "Unknown", "Progressing", key),
        ],
    }


def objects(repo_sha: str) -> list[dict[str, Any]]:
    src = {"kind": "GitRepository", "name": "flux-system"}
    ks = {"interval": "10m0s", "prune": True, "sourceRef": src}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "flux-system", "namespace": NS},
            "spec": {"interval": "1m0s", "ref": {"branch": "main"}, "url": "http://127.0.0.1:1/cluster.git"},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "flux-system", "namespace": NS},
            "spec": {**ks, "path": "./manifests/cluster/"},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "cluster-policies", "namespace": NS},
            "spec": {**ks, "path": "./manifests/infrastructure/cluster-policies"},
        },
    ]


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


def match_latency(f: Follower, writes: list[Write], t0: float) -> list[float]:
    """For each write, the first line of ``f`` after it that shows it: ms from the PATCH sent."""
    out = []
    lines = [(t, line) for t, line in f.lines if t >= t0]
    for w in writes:
        for t, line in lines:
            if t < w.sent or w.key not in line:
                continue
            if f.name == "edge-wizard" and f"{w.kind} " not in line:
                continue
            if f.name == "flux-reconcile" and ("fetched" if w.kind == "GitRepository" else "applied") not in line:
                continue
            out.append((t - w.sent) * 1000)
            break
    return out


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
    from wizard.sandbox import make_guide_repo

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


def summary(values: list[float]) -> tuple[float, float]:
    return (statistics.median(values), pct(values, 95)) if values else (float("nan"), float("nan"))
