"""Local Kubernetes control plane + Flux controllers as plain processes, and a pod runtime.

Implements /work/shared/docs/local-control-plane.md (§2): etcd -> kube-apiserver
(PSA enforce=baseline like Talos) -> Flux CRDs -> kube-controller-manager,
kube-scheduler, kwok (+ one fake Node) -> flux-system -> source-, kustomize- and
helm-controller -> the pod runtime (tests/e2e/runtime), which runs the pods whose
images it knows as local processes; kwok fakes the others.  The control plane's
listeners bind 127.0.0.1 on free ports; the node has the address NODE_IP and pods
get addresses from POD_CIDR, both routed to ``lo`` inside the test's network
namespace (tests/tools/in-netns.sh), so every packet stays on loopback.  Every
process logs to ``<workdir>/logs/<name>.log`` (pods: ``logs/pods/``).  Binaries come
from ``bin_dir`` (built by tests/tools/build.sh all); the Flux CRDs and kwok stages
from its siblings ``../crds`` and ``../kwok/stages.yaml``.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The node's address and the pod network: `ip route add local ... dev lo` (tests/tools/in-netns.sh)
# makes them local addresses of the test's network namespace, like 127.0.0.0/8. Not 127.x: the API
# rejects loopback addresses in Endpoints/EndpointSlices, so Services would get no endpoints.
NODE_IP = "10.250.0.10"
NODE_NET = "10.250.0.0/24"
POD_NET = "10.244.0.0/16"
KWOK_POD_CIDR = "10.244.0.0/17"  # kwok's fake pods
RUNTIME_POD_POOL = "10.244.128.0/17"  # pods the runtime runs

E2E_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "helm",
)
# what the pod runtime runs (tests/e2e/runtime/images.py) and the ACME servers
EDGE_BINARIES = (
    "cert-manager-controller",
    "cert-manager-cainjector",
    "cert-manager-webhook",
    "cert-manager-acmesolver",
    "external-dns",
    "external-dns-hetzner-webhook",
    "podinfo",
    "traefik",
    "pebble",
)

ADMISSION_CONFIG = """\
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: latest
      audit: restricted
      audit-version: latest
      warn: restricted
      warn-version: latest
    exemptions:
      usernames: []
      runtimeClasses: []
      namespaces: [kube-system]
"""

KWOK_NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": "kwok-node-0",
        "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
        "labels": {
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "kubernetes.io/hostname": "kwok-node-0",
            "type": "kwok",
        },
    },
    "status": {
        "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": "kwok-node-0"}],
        "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        "nodeInfo": {
            "architecture": "amd64",
            "operatingSystem": "linux",
            "kubeletVersion": "fake",
            "kubeProxyVersion": "fake",
            "bootID": "",
            "containerRuntimeVersion": "",
            "kernelVersion": "",
            "machineID": "",
            "osImage": "",
            "systemUUID": "",
        },
        "phase": "Running",
    },
}


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class ControlPlaneError(RuntimeError):
    pass


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports on 127.0.0.1: all sockets stay bound until every port is picked
    (one bind-and-close at a time can hand out the same port twice)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pod_network_missing() -> str:
    """Why pods cannot get their addresses here ("" if they can)."""
    for ip in (NODE_IP, RUNTIME_POD_POOL.split("/")[0].rsplit(".", 1)[0] + ".1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((ip, 0))
        except OSError as e:
            return (
                f"{ip} is not a local address ({e.strerror}): the e2e tier needs the node address {NODE_NET} and the "
                f"pod network {POD_NET} routed to lo in its own network namespace. Run it through "
                "`bash tests/tools/in-netns.sh .venv/bin/python -m pytest -m e2e` (as root: it adds "
                f"`ip route add local {POD_NET} dev lo` and the same for {NODE_NET})."
            )
        finally:
            s.close()
    return ""


def missing_binaries(bin_dir: Path | str, edge: bool = True) -> list[str]:
    b = Path(bin_dir)
    missing = [n for n in (*E2E_BINARIES, *(EDGE_BINARIES if edge else ())) if not os.access(b / n, os.X_OK)]
    if not (b.parent / "crds").is_dir():
        missing.append("../crds")
    if not (b.parent / "kwok" / "stages.yaml").is_file():
        missing.append("../kwok/stages.yaml")
    return missing


@dataclass
class _Proc:
    name: str
    args: list[str]
    env: dict[str, str] | None
    log: Path
    popen: subprocess.Popen | None = None
    logf: object = field(default=None, repr=False)


class ControlPlane:
    def __init__(
        self,
        bin_dir: Path | str,
        workdir: Path | str,
        *,
        startup_timeout: float = 120.0,
        stack: Any = None,  # runtime.images.StackInfo: what pods get (DNS, egress); None = no pod runtime
    ):
        self.bin = Path(bin_dir).resolve()
        self.cache = self.bin.parent
        self.workdir = Path(workdir).resolve()
        self.pki = self.workdir / "pki"
        self.logs = self.workdir / "logs"
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self.timeout = startup_timeout
        self.procs: dict[str, _Proc] = {}
        self.stack = stack
        self.runtime: Any = None
        self.node_ip = NODE_IP
        names = (
            "etcd",
            "etcd_peer",
            "api",
            "kcm",
            "sched",
            "kwok",
            "sc_storage",
            "sc_metrics",
            "sc_health",
            "kc_metrics",
            "kc_health",
            "hc_metrics",
            "hc_health",
        )
        p = dict(zip(names, free_ports(len(names))))
        self.ports = p
        self.api_url = f"https://127.0.0.1:{p['api']}"
        self.artifact_url = f"http://127.0.0.1:{p['sc_storage']}"

    # ------------------------------------------------------------------ public
    def start(self) -> ControlPlane:
        missing = missing_binaries(self.bin, edge=self.stack is not None)
        if missing:
            raise ControlPlaneError(f"missing in {self.bin}: {', '.join(missing)} (run: bash tests/tools/build.sh all)")
        why = pod_network_missing()
        if why:
            raise ControlPlaneError(why)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        atexit.register(self.stop)
        try:
            self._pki()
            self._start_etcd()
            self._start_apiserver()
            self._apply_crds()
            self._start_kcm()
            self._start_scheduler()
            self._start_kwok()
            self.kubectl_apply(KWOK_NODE)
            self.kubectl_apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})
            self._start_flux()
            self._wait_for(lambda: self._default_sa_exists(), "ServiceAccount default/default (kcm)")
            self._wait_for(self._node_ready, "Node kwok-node-0 Ready (kwok)")
            if self.stack is not None:
                self._start_runtime()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
        for name in reversed(list(self.procs)):
            self._kill(self.procs[name])

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def restart_apiserver(self) -> None:
        """Kill kube-apiserver and start it again on the same port."""
        self._kill(self.procs["kube-apiserver"])
        self._spawn_proc(self.procs["kube-apiserver"])
        self._wait_api_ready()

    def tail_logs(self, lines: int = 40) -> str:
        out = []
        for name, p in self.procs.items():
            try:
                tail = p.log.read_text(errors="replace").splitlines()[-lines:]
            except OSError as e:
                tail = [f"<{e}>"]
            rc = p.popen.poll() if p.popen else None
            state = "running" if p.popen and rc is None else f"exited rc={rc}"
            out.append(f"===== {name} ({state}) {p.log} =====")
            out.extend(tail)
        if self.runtime is not None:
            out.append(self.runtime.tail_logs(lines))
            out.extend(self.runtime.notes[-20:])
        return "\n".join(out)

    def pids(self) -> dict[str, int]:
        return {n: p.popen.pid for n, p in self.procs.items() if p.popen and p.popen.poll() is None}

    def kubectl(
        self,
        *args: str,
        input: str | None = None,  # noqa: A002 - subprocess.run's name
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args]
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise ControlPlaneError(f"{' '.join(args)}: rc={r.returncode}\n{r.stderr}{r.stdout}")
        return r

    def kubectl_apply(self, *objs: dict | str) -> None:
        """Server-side apply dicts and/or YAML/JSON strings."""
        text = "\n---\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs)
        self.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=e2e", "-f", "-", input=text)

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def api_get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        req = urllib.request.Request(self.api_url + path)
        try:
            with urllib.request.urlopen(req, context=self._ssl_ctx(), timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    # ------------------------------------------------------------------ processes
    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> _Proc:
        p = _Proc(name, [str(self.bin / args[0]), *args[1:]], env, self.logs / f"{name}.log")
        self.procs[name] = p
        self._spawn_proc(p)
        return p

    def _spawn_proc(self, p: _Proc) -> None:
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        if p.env:
            env.update(p.env)
        p.logf = open(p.log, "ab")
        p.logf.write(f"\n### {time.strftime('%H:%M:%S')} exec {' '.join(p.args)}\n".encode())
        p.logf.flush()
        p.popen = subprocess.Popen(
            p.args,
            stdout=p.logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.workdir,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _kill(self, p: _Proc) -> None:
        if p.popen is not None and p.popen.poll() is None:
            p.popen.send_signal(signal.SIGTERM)
            try:
                p.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(timeout=10)
        if p.logf is not None:
            p.logf.close()
            p.logf = None

    def _check_alive(self, *names: str) -> None:
        for n in names or self.procs:
            p = self.procs[n]
            if p.popen and p.popen.poll() is not None:
                raise ControlPlaneError(f"{n} exited rc={p.popen.returncode}\n{self.tail_logs()}")

    def _wait_for(self, fn, what: str, timeout: float | None = None, interval: float = 0.25, procs=()) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        last = None
        while time.monotonic() < deadline:
            self._check_alive(*procs)
            try:
                if fn():
                    return
            except Exception as e:
                last = e
            time.sleep(interval)
        raise ControlPlaneError(f"timed out waiting for {what} (last error: {last!r})\n{self.tail_logs()}")

    # ------------------------------------------------------------------ PKI
    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.pki, check=True, capture_output=True)

    def _pki(self) -> None:
        self.pki.mkdir(parents=True, exist_ok=True)
        if not (self.pki / "ca.crt").exists():
            (self.pki / "server.ext").write_text(
                "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,"
                "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
                "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
            )
            (self.pki / "client.ext").write_text(
                "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
            )
            self._openssl(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "3650",
                "-subj",
                "/CN=e2e-ca",
            )
            for name, subj, ext in (
                ("apiserver", "/CN=kube-apiserver", "server.ext"),
                ("admin", "/O=system:masters/CN=e2e-admin", "client.ext"),
            ):
                self._openssl(
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    f"{name}.key",
                    "-out",
                    f"{name}.csr",
                    "-subj",
                    subj,
                )
                self._openssl(
                    "x509",
                    "-req",
                    "-in",
                    f"{name}.csr",
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "3650",
                    "-out",
                    f"{name}.crt",
                    "-extfile",
                    ext,
                )
            self._openssl("genrsa", "-out", "sa.key", "2048")
            self._openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        (self.workdir / "admission.yaml").write_text(ADMISSION_CONFIG)
        p = self.pki
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "e2e", "cluster": {"server": self.api_url, "certificate-authority": str(p / "ca.crt")}}
                    ],
                    "users": [
                        {
                            "name": "admin",
                            "user": {"client-certificate": str(p / "admin.crt"), "client-key": str(p / "admin.key")},
                        }
                    ],
                    "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
                    "current-context": "e2e",
                },
                indent=1,
            )
        )

    def _ssl_ctx(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    # ------------------------------------------------------------------ components
    def _start_etcd(self) -> None:
        p = self.ports
        c, peer = f"http://127.0.0.1:{p['etcd']}", f"http://127.0.0.1:{p['etcd_peer']}"
        self._spawn(
            "etcd",
            [
                "etcd",
                "--name=node0",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={c}",
                f"--advertise-client-urls={c}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=node0={peer}",
                "--listen-metrics-urls=",
                "--auto-compaction-retention=1",
                "--quota-backend-bytes=8589934592",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{c}/health", timeout=2) as r:
                return json.load(r).get("health") == "true"

        self._wait_for(healthy, "etcd /health", procs=("etcd",))

    def _start_apiserver(self) -> None:
        p, P = self.ports, self.pki
        self._spawn(
            "kube-apiserver",
            [
                "kube-apiserver",
                f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
                "--etcd-prefix=/registry",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={p['api']}",
                f"--tls-cert-file={P / 'apiserver.crt'}",
                f"--tls-private-key-file={P / 'apiserver.key'}",
                f"--client-ca-file={P / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={P / 'sa.pub'}",
                f"--service-account-signing-key-file={P / 'sa.key'}",
                "--authorization-mode=Node,RBAC",
                f"--admission-control-config-file={self.workdir / 'admission.yaml'}",
                "--enable-admission-plugins=NodeRestriction",
                "--service-cluster-ip-range=10.96.0.0/16",
                # admission webhooks (cert-manager's, ingress-nginx's) are called at their endpoints'
                # pod IPs: no kube-proxy gives ClusterIPs a meaning here
                "--enable-aggregator-routing=true",
                # pods/log and exec go to the node's kubelet (kwok) at its InternalIP, not its hostname
                "--kubelet-preferred-address-types=InternalIP",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait_api_ready()

    def _wait_api_ready(self) -> None:
        self._wait_for(
            lambda: self.api_get("/readyz")[0] == 200, "kube-apiserver /readyz", procs=("etcd", "kube-apiserver")
        )

    def _apply_crds(self) -> None:
        crds = sorted((self.cache / "crds").glob("*.yaml"))
        self.kubectl("apply", "--server-side", "--field-manager=e2e", *[f"-f={c}" for c in crds])
        self.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            *[f"crd/{c.stem.split('_', 1)[1]}.{c.stem.split('_', 1)[0]}" for c in crds],
        )

    def _start_kcm(self) -> None:
        p, P, kc = self.ports, self.pki, str(self.kubeconfig)
        self._spawn(
            "kube-controller-manager",
            [
                "kube-controller-manager",
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
                "--bind-address=127.0.0.1",
                f"--secure-port={p['kcm']}",
                "--leader-elect=false",
                f"--service-account-private-key-file={P / 'sa.key'}",
                f"--root-ca-file={P / 'ca.crt'}",
                f"--cluster-signing-cert-file={P / 'ca.crt'}",
                f"--cluster-signing-key-file={P / 'ca.key'}",
                "--use-service-account-credentials=false",
                "--controllers=*",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                "--v=1",
            ],
        )

    def _start_scheduler(self) -> None:
        p, kc = self.ports, str(self.kubeconfig)
        self._spawn(
            "kube-scheduler",
            [
                "kube-scheduler",
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
                "--bind-address=127.0.0.1",
                f"--secure-port={p['sched']}",
                "--leader-elect=false",
                f"--cert-dir={self.workdir / 'sched-certs'}",
                "--v=1",
            ],
        )

    def _kwok_stages(self) -> Path:
        """kwok's default stages, minus the pods the runtime runs (it reports their status itself)."""
        docs = [d for d in yaml.safe_load_all((self.cache / "kwok" / "stages.yaml").read_text()) if d]
        if self.stack is not None:
            from .runtime.images import ImageTable

            key = ImageTable(self.bin).jq_selector()
            for d in docs:
                if d["spec"]["resourceRef"]["kind"] == "Pod":
                    exprs = d["spec"].setdefault("selector", {}).setdefault("matchExpressions", [])
                    exprs.append({"key": key, "operator": "NotIn", "values": ["true"]})
        out = self.workdir / "kwok-stages.yaml"
        out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return out

    def _start_kwok(self) -> None:
        p, P = self.ports, self.pki
        self._spawn(
            "kwok",
            [
                "kwok",
                f"--kubeconfig={self.kubeconfig}",
                f"--config={self._kwok_stages()}",
                "--manage-all-nodes=true",
                f"--node-ip={NODE_IP}",
                f"--node-port={p['kwok']}",
                f"--server-address={NODE_IP}:{p['kwok']}",
                f"--tls-cert-file={P / 'apiserver.crt'}",
                f"--tls-private-key-file={P / 'apiserver.key'}",
                "--node-lease-duration-seconds=40",
                f"--cidr={KWOK_POD_CIDR}",
                *(["--enable-crds=Logs"] if self._logs_crd() else []),
            ],
        )

    def _logs_crd(self) -> bool:
        """kwok's Logs CRD, so `kubectl logs` reaches the runtime's pod logs through kwok."""
        crd = self.cache / "kwok" / "crds" / "kwok.x-k8s.io_logs.yaml"
        if self.stack is None or not crd.is_file():
            return False
        if not getattr(self, "_logs_crd_applied", False):
            self.kubectl("apply", "--server-side", "--field-manager=e2e", f"-f={crd}")
            self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/logs.kwok.x-k8s.io")
            self._logs_crd_applied = True
        return True

    def _start_runtime(self) -> None:
        from .runtime.api import Api
        from .runtime.images import ImageTable
        from .runtime.kubelet import PodRuntime

        P = self.pki
        api = Api(self.api_url, P / "ca.crt", P / "admin.crt", P / "admin.key")
        self.runtime = PodRuntime(
            api,
            node="kwok-node-0",
            node_ip=NODE_IP,
            pool=RUNTIME_POD_POOL,
            workdir=self.workdir / "runtime",
            logs=self.logs / "pods",
            table=ImageTable(self.bin),
            stack=self.stack,
            allocatable=KWOK_NODE["status"]["allocatable"],
        ).start()

    def _start_flux(self) -> None:
        p = self.ports
        env = {
            "KUBECONFIG": str(self.kubeconfig),
            "RUNTIME_NAMESPACE": "flux-system",
            "TUF_ROOT": str(self.workdir / "tuf"),
            "HOME": str(self.workdir / "home"),
        }
        (self.workdir / "home").mkdir(exist_ok=True)
        (self.workdir / "flux-artifacts").mkdir(exist_ok=True)
        common = [
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
            "--log-encoding=console",
            "--log-level=debug",
            "--concurrent=4",
            "--requeue-dependency=2s",
        ]
        self._spawn(
            "source-controller",
            [
                "source-controller",
                f"--storage-path={self.workdir / 'flux-artifacts'}",
                f"--storage-addr=127.0.0.1:{p['sc_storage']}",
                f"--storage-adv-addr=127.0.0.1:{p['sc_storage']}",
                f"--metrics-addr=127.0.0.1:{p['sc_metrics']}",
                f"--health-addr=127.0.0.1:{p['sc_health']}",
                *[c for c in common if not c.startswith("--requeue-dependency")],
            ],
            env,
        )
        self._spawn(
            "kustomize-controller",
            [
                "kustomize-controller",
                f"--metrics-addr=127.0.0.1:{p['kc_metrics']}",
                f"--health-addr=127.0.0.1:{p['kc_health']}",
                *common,
            ],
            env,
        )
        self._spawn(
            "helm-controller",
            [
                "helm-controller",
                f"--metrics-addr=127.0.0.1:{p['hc_metrics']}",
                f"--health-addr=127.0.0.1:{p['hc_health']}",
                *common,
            ],
            env,
        )
        for name, port in (
            ("source-controller", p["sc_health"]),
            ("kustomize-controller", p["kc_health"]),
            ("helm-controller", p["hc_health"]),
        ):

            def ready(port=port) -> bool:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    return r.status == 200

            self._wait_for(ready, f"{name} /readyz", procs=(name,))

    # ------------------------------------------------------------------ readiness probes
    def _default_sa_exists(self) -> bool:
        return self.api_get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def _node_ready(self) -> bool:
        code, body = self.api_get("/api/v1/nodes/kwok-node-0")
        if code != 200:
            return False
        conds = json.loads(body).get("status", {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
