"""The bench's API server side: etcd + kube-apiserver of the local control plane with its audit
log on, the objects the followers follow, and the bench acting as source-/kustomize-controller
(status subresource writes, reconcile requests seen through a watch)."""

from __future__ import annotations

import hashlib
import http.client
import json
import sys
import threading
import time
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
