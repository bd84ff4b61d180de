"""A process runtime for the kwok node: the kubelet's job for pods whose images the image table can
run (tests/e2e/runtime/images.py), done with local processes.

For each such pod bound to the node it gives the pod an address (the node's for hostNetwork pods,
else one from its pool, routed to ``lo`` inside the test's network namespace), materialises its
volumes, resolves its environment through the API, starts every container's process with its log
in ``<logs>/pods/``, reports status truthfully (Ready only once the readiness probe passes, restarts
with back-off, Succeeded/Failed for Job pods), stops the processes when the pod is deleted and then
deletes it. kwok's stages leave these pods alone (cluster.py selects them out by image).
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api import Api, ApiError
from .images import ContainerContext, ImageTable, Launch, StackInfo
from .podspec import NotReadyYet, PodFiles, expand

BACKOFF_MAX = 20.0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


_LOG_LOCK = threading.Lock()


def cri_log(path: Path, stream: str, line: bytes) -> None:
    """One line in the CRI log format (what kubelet's runtimes write and kwok serves to pods/log)."""
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 10**9:09d}Z"
    with _LOG_LOCK, open(path, "ab") as f:
        f.write(ts.encode() + f" {stream} F ".encode() + line.rstrip(b"\r\n") + b"\n")


def _copy_log(pipe: Any, path: Path, stream: str) -> None:
    for line in iter(pipe.readline, b""):
        cri_log(path, stream, line)
    pipe.close()


def strip_cri(line: str) -> str:
    parts = line.split(" ", 3)
    return parts[3] if len(parts) == 4 and parts[1] in ("stdout", "stderr") else line


@dataclass
class Proc:
    name: str
    launch: Launch
    log: Path
    popen: subprocess.Popen | None = None
    started: str = ""
    restarts: int = 0
    ready: bool = False
    exit: tuple[int, str, str] | None = None  # (code, startedAt, finishedAt) of the last run
    next_start: float = 0.0
    next_probe: float = 0.0
    probe_ok: int = 0
    probe_fail: int = 0
    done: bool = False  # ran to completion (restartPolicy Never/OnFailure)
    waiting: tuple[str, str] | None = ("ContainerCreating", "")


class PodWorker(threading.Thread):
    def __init__(self, rt: PodRuntime, pod: dict[str, Any]) -> None:
        m = pod["metadata"]
        super().__init__(daemon=True, name=f"pod-{m['namespace']}/{m['name']}")
        self.rt = rt
        self.pod = pod
        self.uid = m["uid"]
        self.ns, self.name = m["namespace"], m["name"]
        self.path = f"/api/v1/namespaces/{self.ns}/pods/{self.name}"
        self.dir = rt.workdir / "pods" / f"{self.ns}_{self.name}_{self.uid[:8]}"
        self.wake = threading.Event()
        self.gone = False
        self.procs: dict[str, Proc] = {}
        self.init_procs: dict[str, Proc] = {}
        self.ip = ""
        self.started = _now()
        self.last_status: Any = None
        self.phase = "Pending"
        self.pending: tuple[str, str] = ("ContainerCreating", "")
        self.logs_registered = False

    # ------------------------------------------------------------------ inputs from the watch
    def update(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        self.wake.set()

    def deleted(self) -> None:
        self.gone = True
        self.wake.set()

    @property
    def deleting(self) -> bool:
        return self.gone or bool(self.pod["metadata"].get("deletionTimestamp"))

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:  # reported, never silently swallowed: the test sees it in the logs
            self.rt.note(f"{self.ns}/{self.name}: runtime error: {e!r}")
        finally:
            self._stop_all()
            if self.ip and not self.pod["spec"].get("hostNetwork"):
                self.rt.release(self.ip)
            if not self.gone:
                self._delete_pod()
            self.rt.forget(self.uid)

    def _run(self) -> None:
        spec = self.pod["spec"]
        self.ip = self.rt.node_ip if spec.get("hostNetwork") else self.rt.allocate()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._status()
        inits = spec.get("initContainers") or []
        mains = spec.get("containers") or []
        while not self.deleting:
            try:
                self.init_procs = {c["name"]: self._prepare(c) for c in inits}
                self.procs = {c["name"]: self._prepare(c) for c in mains}
                break
            except NotReadyYet as e:
                self._waiting_all(e.reason, e.message)
                self.wake.wait(2.0)
                self.wake.clear()
            except (ApiError, OSError) as e:  # the API server restarting: try again, like the kubelet
                self._waiting_all("ContainerCreating", str(e))
                self.wake.wait(2.0)
                self.wake.clear()
        policy = spec.get("restartPolicy", "Always")
        for p in self.init_procs.values():
            while not self.deleting and not p.done:
                self._supervise(p, "OnFailure" if policy == "Always" else policy)
                self._status()
                self.wake.wait(0.5)
                self.wake.clear()
        while not self.deleting:
            for p in self.procs.values():
                self._supervise(p, policy)
                self._probe(p)
            self._status()
            if self.phase in ("Succeeded", "Failed"):
                while not self.deleting:
                    self.wake.wait(5.0)
                    self.wake.clear()
                break
            self.wake.wait(0.5)
            self.wake.clear()

    # ------------------------------------------------------------------ containers
    def _prepare(self, c: dict[str, Any]) -> Proc:
        files = PodFiles(self.rt.api, self.pod, self.dir, self.rt.allocatable)
        prep = files.volumes(c, self.ip, self.rt.node_ip)
        env = files.env(c, self.ip, self.rt.node_ip)
        cmd = [expand(a, env) for a in (c.get("command") or [])]
        args = [expand(a, env) for a in (c.get("args") or [])]
        ctx = ContainerContext(
            pod=self.pod,
            container=c,
            pod_ip=self.ip,
            node_ip=self.rt.node_ip,
            command=[prep.rewrite(a) for a in cmd],
            args=[prep.rewrite(a) for a in args],
            env={k: prep.rewrite(v) for k, v in env.items()},
            workdir=self.dir / "containers" / c["name"],
            kubeconfig=self._kubeconfig(prep.token_file, prep.ca_file),
            stack=self.rt.stack,
        )
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        image = self.rt.table.find(c.get("image", ""))
        assert image is not None, c.get("image")
        try:
            launch = image.adapt(ctx)
        except RuntimeError as e:  # what this runtime cannot start: the container waits, saying why
            raise NotReadyYet("CreateContainerError", str(e)) from None
        if ctx.kubeconfig is not None:
            # what in-cluster config would give: client-go/controller-runtime fall back to $KUBECONFIG
            launch.env.setdefault("KUBECONFIG", str(ctx.kubeconfig))
        log = self.rt.logs / f"{self.ns}_{self.name}_{c['name']}.log"
        return Proc(c["name"], launch, log)

    def _kubeconfig(self, token: Path | None, ca: Path | None) -> Path | None:
        if token is None:
            return None
        kc = self.dir / "kubeconfig"
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "local", "cluster": {"server": self.rt.stack.api_url, "certificate-authority": str(ca)}}
            ],
            "users": [{"name": "pod", "user": {"tokenFile": str(token)}}],
            "contexts": [{"name": "pod", "context": {"cluster": "local", "user": "pod", "namespace": self.ns}}],
            "current-context": "pod",
        }
        kc.write_text(json.dumps(cfg, indent=1))  # JSON is YAML: client-go and the stand-ins read it
        kc.chmod(0o600)
        return kc

    def _start(self, p: Proc) -> None:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.dir / "containers" / p.name),
            "HOSTNAME": self.name,
            "KUBERNETES_SERVICE_HOST": self.rt.stack.api_host,
            "KUBERNETES_SERVICE_PORT": str(self.rt.stack.api_port),
            **p.launch.env,
        }
        cri_log(p.log, "stdout", f"### start #{p.restarts}: {' '.join(p.launch.argv)}".encode())
        p.popen = subprocess.Popen(
            p.launch.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=p.launch.cwd or (self.dir / "containers" / p.name),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        for stream, pipe in (("stdout", p.popen.stdout), ("stderr", p.popen.stderr)):
            threading.Thread(target=_copy_log, args=(pipe, p.log, stream), daemon=True).start()
        p.started, p.ready, p.probe_ok, p.probe_fail, p.waiting = _now(), False, 0, 0, None
        if not self.logs_registered:
            self.logs_registered = self.rt.register_logs(
                self.pod, {q.name: q.log for q in [*self.init_procs.values(), *self.procs.values()]}
            )
        delay = (self._probe_spec(p) or {}).get("initialDelaySeconds") or 0
        p.next_probe = time.monotonic() + float(delay)
        self.rt.event(self.pod, "Started", f"Started container {p.name} (pid {p.popen.pid})")

    def _supervise(self, p: Proc, policy: str) -> None:
        if p.done:
            return
        if p.popen is None:
            if time.monotonic() >= p.next_start:
                self._start(p)
            return
        rc = p.popen.poll()
        if rc is None:
            return
        p.exit = (rc, p.started, _now())
        p.popen, p.ready = None, False
        if policy == "Never" or (policy == "OnFailure" and rc == 0):
            p.done = True
            return
        p.restarts += 1
        back = min(BACKOFF_MAX, 2.0 ** min(p.restarts - 1, 5))
        p.next_start = time.monotonic() + back
        p.waiting = ("CrashLoopBackOff", f"back-off {int(back)}s restarting failed container={p.name} pod={self.name}")
        self.rt.event(
            self.pod, "BackOff", f"Back-off restarting failed container {p.name} in pod {self.name}", "Warning"
        )

    def _probe_spec(self, p: Proc) -> dict[str, Any] | None:
        for c in self.pod["spec"].get("containers") or []:
            if c["name"] == p.name:
                return p.launch.readiness if p.launch.readiness is not None else c.get("readinessProbe")
        return None

    def _probe(self, p: Proc) -> None:
        if p.popen is None:
            return
        spec = self._probe_spec(p)
        if not spec:
            p.ready = True
            return
        if time.monotonic() < p.next_probe:
            return
        p.next_probe = time.monotonic() + min(float(spec.get("periodSeconds") or 10), 2.0)
        ok = self._check(spec, p)
        if ok:
            p.probe_ok, p.probe_fail = p.probe_ok + 1, 0
            if p.probe_ok >= int(spec.get("successThreshold") or 1):
                p.ready = True
        else:
            p.probe_fail, p.probe_ok = p.probe_fail + 1, 0
            if p.probe_fail >= int(spec.get("failureThreshold") or 3):
                p.ready = False

    def _port(self, port: Any) -> int:
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for c in self.pod["spec"].get("containers") or []:
            for cp in c.get("ports") or []:
                if cp.get("name") == port:
                    return int(cp["containerPort"])
        return 0

    def _check(self, spec: dict[str, Any], p: Proc) -> bool:
        timeout = float(spec.get("timeoutSeconds") or 1)
        if "httpGet" in spec:
            g = spec["httpGet"]
            scheme = (g.get("scheme") or "HTTP").lower()
            host = g.get("host") or self.ip
            url = f"{scheme}://{host}:{self._port(g.get('port'))}{g.get('path') or '/'}"
            ctx = ssl._create_unverified_context() if scheme == "https" else None  # the kubelet does not verify
            req = urllib.request.Request(url, headers={h["name"]: h["value"] for h in g.get("httpHeaders") or []})
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
            )
            try:
                with opener.open(req, timeout=timeout) as r:
                    return 200 <= r.status < 400
            except Exception:
                return False
        if "tcpSocket" in spec:
            t = spec["tcpSocket"]
            try:
                socket.create_connection((t.get("host") or self.ip, self._port(t.get("port"))), timeout=timeout).close()
                return True
            except OSError:
                return False
        return True  # exec/grpc probes are not run here: the process being up counts (declared in README)

    def _stop_all(self) -> None:
        grace = min(float(self.pod["spec"].get("terminationGracePeriodSeconds") or 30), 10.0)
        live = [p for p in [*self.procs.values(), *self.init_procs.values()] if p.popen and p.popen.poll() is None]
        for p in live:
            try:
                os.killpg(p.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for p in live:
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.popen.wait(timeout=10)

    def _delete_pod(self) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": self.uid},
        }
        try:
            self.rt.api.request("DELETE", self.path, body, ok=(200, 202))
        except ApiError as e:
            if e.status not in (404, 409):
                self.rt.note(f"{self.ns}/{self.name}: delete failed: {e}")

    # ------------------------------------------------------------------ status
    def _waiting_all(self, reason: str, message: str) -> None:
        """Not startable yet (a Secret is missing...): every container waits with the kubelet's reason."""
        if self.pending != (reason, message):
            self.rt.event(self.pod, "Failed" if reason != "ContainerCreating" else "FailedMount", message, "Warning")
        self.pending = (reason, message)
        self._status()

    def _cstatus(self, p: Proc, image: str) -> dict[str, Any]:
        st: dict[str, Any] = {"name": p.name, "image": image, "imageID": "", "restartCount": p.restarts}
        if p.popen is not None:
            st.update(ready=p.ready, started=True, state={"running": {"startedAt": p.started}})
            st["containerID"] = f"edge-runtime://{p.popen.pid}"
        elif p.done and p.exit:
            code, s, f = p.exit
            reason = "Completed" if code == 0 else "Error"
            st.update(
                ready=False,
                started=False,
                state={"terminated": {"exitCode": code, "reason": reason, "startedAt": s, "finishedAt": f}},
            )
        else:
            reason, msg = p.waiting or ("ContainerCreating", "")
            st.update(
                ready=False, started=False, state={"waiting": {"reason": reason, **({"message": msg} if msg else {})}}
            )
        if p.exit and not p.done:
            code, s, f = p.exit
            st["lastState"] = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Error" if code else "Completed",
                    "startedAt": s,
                    "finishedAt": f,
                }
            }
        return st

    def _status(self) -> None:
        spec = self.pod["spec"]
        images = {
            c["name"]: c.get("image", "")
            for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
        }
        procs = self.procs or {
            c["name"]: Proc(c["name"], Launch([]), Path(os.devnull), waiting=self.pending)
            for c in spec.get("containers") or []
        }
        cs = [self._cstatus(p, images[p.name]) for p in procs.values()]
        ics = [self._cstatus(p, images[p.name]) for p in self.init_procs.values()]
        inits_done = all(p.done for p in self.init_procs.values())
        all_ready = bool(cs) and inits_done and all(s.get("ready") for s in cs)
        phase = "Pending"
        if self.procs and inits_done:
            if all(p.done for p in self.procs.values()):
                phase = "Failed" if any(p.exit and p.exit[0] for p in self.procs.values()) else "Succeeded"
            elif any(p.popen is not None or p.exit for p in self.procs.values()):
                phase = "Running"
        self.phase = phase
        now = _now()

        def cond(t: str, ok: bool) -> dict[str, Any]:
            return {"type": t, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": now}

        status = {
            "phase": phase,
            "hostIP": self.rt.node_ip,
            "hostIPs": [{"ip": self.rt.node_ip}],
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.started,
            "conditions": [
                cond("PodScheduled", True),
                cond("Initialized", inits_done),
                cond("ContainersReady", all_ready),
                cond("Ready", all_ready),
            ],
            "containerStatuses": cs,
            "initContainerStatuses": ics,
        }
        key = repr({**status, "conditions": [(c["type"], c["status"]) for c in status["conditions"]]})
        if key == self.last_status:
            return
        try:
            self.rt.api.patch_status(self.path, {"status": status})
            self.last_status = key
        except ApiError as e:
            if e.status == 404:
                self.gone = True
            else:
                self.rt.note(f"{self.ns}/{self.name}: status patch failed: {e}")


class PodRuntime:
    """Watches the node's pods and runs the ones the image table knows (see module docstring)."""

    def __init__(
        self,
        api: Api,
        *,
        node: str,
        node_ip: str,
        pool: str,
        workdir: Path,
        logs: Path,
        table: ImageTable,
        stack: StackInfo,
        allocatable: dict[str, str],
    ) -> None:
        self.api = api
        self.node, self.node_ip = node, node_ip
        self.pool = ipaddress.ip_network(pool)
        self.workdir = workdir
        self.logs = logs
        self.table = table
        self.stack = stack
        self.allocatable = allocatable
        self.workers: dict[str, PodWorker] = {}
        self.used: set[str] = set()
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="pod-runtime")

    def start(self) -> PodRuntime:
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.workdir / "pods").mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            workers = list(self.workers.values())
        for w in workers:
            w.deleted()
        for w in workers:
            w.join(timeout=15)

    def note(self, msg: str) -> None:
        self.notes.append(f"{time.strftime('%H:%M:%S')} {msg}")
        with open(self.logs / "runtime.log", "a") as f:
            f.write(self.notes[-1] + "\n")

    # ------------------------------------------------------------------ addresses
    def allocate(self) -> str:
        with self._lock:
            for ip in self.pool.hosts():
                s = str(ip)
                if s not in self.used:
                    self.used.add(s)
                    return s
        raise RuntimeError(f"pod address pool {self.pool} exhausted")

    def release(self, ip: str) -> None:
        with self._lock:
            self.used.discard(ip)

    def forget(self, uid: str) -> None:
        with self._lock:
            self.workers.pop(uid, None)

    # ------------------------------------------------------------------ kubectl logs (through kwok)
    def register_logs(self, pod: dict[str, Any], files: dict[str, Path]) -> bool:
        """A kwok Logs object for the pod (owned by it, so it goes with it): kwok then serves each
        container's log file to `kubectl logs` / the API's pods/log."""
        m = pod["metadata"]
        body = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {
                "name": m["name"],
                "namespace": m["namespace"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": m["name"], "uid": m["uid"]}],
            },
            "spec": {"logs": [{"containers": [c], "logsFile": str(f), "follow": True} for c, f in files.items()]},
        }
        try:
            self.api.request("POST", f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{m['namespace']}/logs", body)
            return True
        except ApiError as e:
            if e.status == 409:
                return True
            if e.status != 404:  # 404: no Logs CRD (kwok without --enable-crds=Logs)
                self.note(f"{m['namespace']}/{m['name']}: registering logs failed: {e}")
            return e.status == 404

    # ------------------------------------------------------------------ events
    def event(self, pod: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        m = pod["metadata"]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{m['name']}.", "namespace": m["namespace"]},
            "involvedObject": {
                "kind": "Pod",
                "apiVersion": "v1",
                "namespace": m["namespace"],
                "name": m["name"],
                "uid": m["uid"],
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": "kubelet", "host": self.node},
            "firstTimestamp": now.split(".")[0] + "Z",
            "lastTimestamp": now.split(".")[0] + "Z",
            "count": 1,
            "reportingComponent": "kubelet",
            "reportingInstance": self.node,
        }
        try:
            self.api.request("POST", f"/api/v1/namespaces/{m['namespace']}/events", body)
        except ApiError:
            pass

    # ------------------------------------------------------------------ the watch
    def _handle(self, kind: str, pod: dict[str, Any]) -> None:
        if (pod.get("spec") or {}).get("nodeName") != self.node or not self.table.runs(pod):
            return
        uid = pod["metadata"]["uid"]
        with self._lock:
            w = self.workers.get(uid)
            if w is None and kind != "DELETED" and not self._stop.is_set():
                phase = (pod.get("status") or {}).get("phase")
                if phase in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp"):
                    return  # finished before this runtime started
                w = self.workers[uid] = PodWorker(self, pod)
                w.start()
                return
        if w is None:
            return
        if kind == "DELETED":
            w.deleted()
        else:
            w.update(pod)

    def _loop(self) -> None:
        path = f"/api/v1/pods?fieldSelector=spec.nodeName%3D{self.node}"
        while not self._stop.is_set():
            try:
                lst = self.api.get(path)
                seen = set()
                for pod in lst.get("items") or []:
                    seen.add(pod["metadata"]["uid"])
                    self._handle("ADDED", pod)
                with self._lock:
                    stale = [w for uid, w in self.workers.items() if uid not in seen]
                for w in stale:
                    w.deleted()
                rv = lst["metadata"]["resourceVersion"]
                for ev in self.api.watch(path, rv, timeout_seconds=120):
                    if self._stop.is_set():
                        return
                    if ev.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        self._handle(ev["type"], ev["object"])
                    elif ev.get("type") == "BOOKMARK":
                        continue
                    elif ev.get("type") == "ERROR":
                        break  # expired resourceVersion: list again
            except Exception as e:  # the API server restarts in some tests: list again after a moment
                if not self._stop.is_set():
                    self.note(f"watch: {e!r}; listing again")
                    self._stop.wait(1.0)

    # ------------------------------------------------------------------ reports
    def running(self) -> dict[str, list[int]]:
        """``ns/pod/container`` -> [pid] of every live process."""
        out: dict[str, list[int]] = {}
        with self._lock:
            workers = list(self.workers.values())
        for w in workers:
            for p in w.procs.values():
                if p.popen and p.popen.poll() is None:
                    out[f"{w.ns}/{w.name}/{p.name}"] = [p.popen.pid]
        return out

    def tail_logs(self, lines: int = 30, match: str = "") -> str:
        out = []
        for f in sorted(self.logs.glob("*.log")):
            if match and match not in f.name:
                continue
            tail = [strip_cri(ln) for ln in f.read_text(errors="replace").splitlines()[-lines:]]
            out.append(f"===== pod log {f.name} =====")
            out.extend(tail)
        return "\n".join(out)


__all__ = ["PodRuntime", "Proc"]
