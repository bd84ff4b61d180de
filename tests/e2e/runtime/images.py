"""The image table: which container images the pod runtime runs, with which binary, and how each
container's command line is adapted to a shared network namespace.

All pods share the test's network namespace, so every process must listen on its own pod's address
(kubelet-less pods would otherwise collide on :8080, :9402, :10250). Each adapter keeps the chart's
arguments and environment and only rewrites what binds or what reaches outside the node:

- listen/bind flags -> the pod IP (hostNetwork pods: the node IP);
- the API server -> the pod's kubeconfig (its real service-account token, so the chart's RBAC is
  exercised) - the binaries cannot use in-cluster config (its paths are fixed);
- the outside world -> the stack: cert-manager's HTTP-01 self-check resolves through the test DNS
  server; the Hetzner webhook reaches ``api.hetzner.cloud`` through the egress proxy, which maps it
  to the fake Hetzner API, and trusts the stack's CA (``SSL_CERT_FILE``, as a container image's trust
  store would).

To run another image, add an ``Image`` to ``TABLE``: a repository, the binary built by
tests/tools/build.sh, and an adapter returning the ``Launch``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class StackInfo:
    """What the node offers its pods."""

    bin: Path
    api_url: str
    api_host: str
    api_port: int
    dns: str  # host:port of the test DNS server
    egress: str  # http://host:port of the egress proxy ("" = none)
    trust_bundle: Path  # CA bundle of the stack (fake SaaS APIs, Pebble's ACME endpoint)
    python: str = sys.executable


@dataclass
class ContainerContext:
    pod: dict[str, Any]
    container: dict[str, Any]
    pod_ip: str
    node_ip: str
    command: list[str]  # expanded, mount paths rewritten
    args: list[str]
    env: dict[str, str]  # resolved through the API
    workdir: Path
    kubeconfig: Path | None
    stack: StackInfo

    @property
    def argv(self) -> list[str]:
        """The container's command line without the image's entrypoint (command[0])."""
        if self.command:
            return [*self.command[1:], *self.args]
        return list(self.args)


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    readiness: dict[str, Any] | None = None  # replaces the container's readinessProbe (e.g. an exec probe)


@dataclass(frozen=True)
class Image:
    repository: str
    binary: str  # in StackInfo.bin; "" = a Python stand-in (module)
    adapt: Callable[[ContainerContext], Launch]
    standin: str = ""  # why this image runs something else than itself (listed in tests/e2e/README.md)
    module: str = ""  # Python stand-in: tests.e2e.runtime.<module>


# ------------------------------------------------------------------ argument helpers
def set_flag(args: list[str], flag: str, value: str | None) -> list[str]:
    """``--flag=value`` replacing any ``--flag=...``/``--flag ...`` (value None: only remove)."""
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == flag and i + 1 < len(args) and not args[i + 1].startswith("-"):
            skip = True
            continue
        if a == flag or a.startswith(flag + "="):
            continue
        out.append(a)
    if value is not None:
        out.append(f"{flag}={value}")
    return out


def flag_value(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
        if a == flag:
            return args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("-") else "true"
    return None


def _bin(c: ContainerContext, name: str) -> str:
    return str(c.stack.bin / name)


def _kubeconfig(c: ContainerContext) -> str:
    if c.kubeconfig is None:
        raise RuntimeError(
            f"{c.pod['metadata']['namespace']}/{c.pod['metadata']['name']}: no service-account token mounted"
        )
    return str(c.kubeconfig)


# ------------------------------------------------------------------ cert-manager
def cm_controller(c: ContainerContext) -> Launch:
    a = c.argv
    a = set_flag(a, "--kubeconfig", _kubeconfig(c))
    a = set_flag(a, "--metrics-listen-address", f"{c.pod_ip}:9402")
    a = set_flag(a, "--internal-healthz-listen-address", f"{c.pod_ip}:9403")
    a = set_flag(a, "--profiler-address", f"{c.pod_ip}:6060")
    # the self-check before accepting a challenge resolves names through the stack's DNS
    a = set_flag(a, "--acme-http01-solver-nameservers", c.stack.dns)
    return Launch([_bin(c, "cert-manager-controller"), *a], dict(c.env))


def cm_cainjector(c: ContainerContext) -> Launch:
    a = set_flag(c.argv, "--kubeconfig", _kubeconfig(c))
    a = set_flag(a, "--metrics-listen-address", f"{c.pod_ip}:9402")
    a = set_flag(a, "--profiler-address", f"{c.pod_ip}:6060")
    return Launch([_bin(c, "cert-manager-cainjector"), *a], dict(c.env))


def cm_webhook(c: ContainerContext) -> Launch:
    # --secure-port (10250) and --healthz-port (6080) take no host: they listen on every address,
    # which is fine while one webhook pod runs
    a = set_flag(c.argv, "--kubeconfig", _kubeconfig(c))
    a = set_flag(a, "--metrics-listen-address", f"{c.pod_ip}:9402")
    a = set_flag(a, "--profiler-address", f"{c.pod_ip}:6060")
    return Launch([_bin(c, "cert-manager-webhook"), *a], dict(c.env))


def cm_acmesolver(c: ContainerContext) -> Launch:
    # listens on :8089 of every address (no host flag): one solver pod at a time
    return Launch([_bin(c, "cert-manager-acmesolver"), *c.argv], dict(c.env))


# ------------------------------------------------------------------ external-dns + Hetzner webhook
def external_dns(c: ContainerContext) -> Launch:
    a = set_flag(c.argv, "--kubeconfig", _kubeconfig(c))
    a = set_flag(a, "--metrics-address", f"{c.pod_ip}:7979")
    if flag_value(a, "--provider") == "webhook":
        url = flag_value(a, "--webhook-provider-url") or "http://localhost:8888"
        port = re.sub(r".*:(\d+).*", r"\1", url) if re.search(r":\d+", url) else "8888"
        a = set_flag(a, "--webhook-provider-url", f"http://{c.pod_ip}:{port}")
    return Launch([_bin(c, "external-dns"), *a], dict(c.env))


def _egress_env(c: ContainerContext) -> dict[str, str]:
    env = {"SSL_CERT_FILE": str(c.stack.trust_bundle)}
    if c.stack.egress:
        env.update(HTTPS_PROXY=c.stack.egress, HTTP_PROXY=c.stack.egress, NO_PROXY="127.0.0.0/8,10.0.0.0/8,localhost")
    return env


def hetzner_webhook(c: ContainerContext) -> Launch:
    env = dict(c.env)
    env["WEBHOOK_HOST"] = c.pod_ip
    env["METRICS_HOST"] = c.pod_ip
    env.update(_egress_env(c))
    return Launch([_bin(c, "external-dns-hetzner-webhook"), *c.argv], env)


# ------------------------------------------------------------------ podinfo
def podinfo(c: ContainerContext) -> Launch:
    a = c.argv
    # the proxy's podinfo (6.9.2) predates the chart's `--prefix=/` (6.14): "/" is its only behaviour
    prefix = flag_value(a, "--prefix")
    if prefix not in (None, "/"):
        raise RuntimeError(f"podinfo {prefix=}: the podinfo built here (6.9.2) serves only /")
    a = set_flag(a, "--prefix", None)
    a = set_flag(a, "--host", c.pod_ip)
    # its metrics and gRPC listeners take no host (every address): off, so two replicas can run
    a = set_flag(a, "--port-metrics", "0")
    a = set_flag(a, "--grpc-port", "0")
    a = set_flag(a, "--data-path", str(c.workdir / "data")) if flag_value(a, "--data-path") is None else a
    port = flag_value(a, "--port") or "9898"
    # the chart's probes exec `podcli check http localhost:9898/readyz`: the same check over HTTP
    probe = dict(c.container.get("readinessProbe") or {})
    probe.pop("exec", None)
    probe["httpGet"] = {"path": "/readyz", "port": int(port)}
    return Launch([_bin(c, "podinfo"), *a], dict(c.env), readiness=probe)


# ------------------------------------------------------------------ Traefik (the chart's own pod)
TRAEFIK_PROVIDERS = ("kubernetescrd", "kubernetesingress", "kubernetesingressnginx")


def traefik(c: ContainerContext) -> Launch:
    """Traefik itself with the chart's arguments: its entry points on the pod's address (the node's,
    in the host network), and each Kubernetes provider pointed at the API with the pod's own
    service-account token (Traefik's in-cluster config reads fixed paths)."""
    from .incluster import PodClient

    api = PodClient(_kubeconfig(c))
    out = []
    for a in c.argv:
        m = re.match(r"^(--entry[pP]oints\.[^.=]+\.address)=:(\d+)(/\w+)?$", a)
        out.append(f"{m.group(1)}={c.pod_ip}:{m.group(2)}{m.group(3) or ''}" if m else a)
    enabled = {p for p in TRAEFIK_PROVIDERS if f"--providers.{p}" in out or f"--providers.{p}=true" in out}
    for p in sorted(enabled):
        out += [
            f"--providers.{p}.endpoint={api.server}",
            f"--providers.{p}.token={api.token_file}",
            f"--providers.{p}.certauthfilepath={api.ca}",
        ]
    # observation only: the access log (CLF, with the User-Agent) shows who reached the entry points,
    # e.g. Pebble's HTTP-01 validation on :80; the chart's own arguments stay as they are
    if not any(a.startswith("--accesslog") for a in out):
        # Traefik drops request headers from the access log by default: keep the client's name
        out += ["--accesslog=true", "--accesslog.fields.headers.names.User-Agent=keep"]
    # Traefik picks its client by the environment: in-cluster when KUBERNETES_SERVICE_* are set, then
    # $KUBECONFIG, else the flags above; the runtime sets both, so they are blanked here
    env = {**c.env, "KUBERNETES_SERVICE_HOST": "", "KUBERNETES_SERVICE_PORT": "", "KUBECONFIG": ""}
    return Launch([_bin(c, "traefik"), *out], env, cwd=c.workdir)


# ------------------------------------------------------------------ ingress-nginx (stand-ins)
def nginx_controller(c: ContainerContext) -> Launch:
    """The controller's own arguments go to the stand-in, which maps them onto Traefik's
    kubernetesIngressNGINX provider (see nginx_standin.py)."""
    env = dict(c.env)
    env.pop("LD_PRELOAD", None)  # the image's mimalloc (controller.enableMimalloc), not on this host
    env.update(
        STANDIN_TRAEFIK=_bin(c, "traefik"),
        STANDIN_KUBECONFIG=_kubeconfig(c),
        STANDIN_NODE_IP=c.node_ip,
        STANDIN_NODE_NAME=c.pod["spec"].get("nodeName", ""),
        STANDIN_WORKDIR=str(c.workdir),
        PYTHONPATH=str(REPO_ROOT),
    )
    return Launch([c.stack.python, "-m", "tests.e2e.runtime.nginx_standin", *c.argv], env)


def webhook_certgen(c: ContainerContext) -> Launch:
    env = dict(c.env)
    env.update(STANDIN_KUBECONFIG=_kubeconfig(c), PYTHONPATH=str(REPO_ROOT))
    return Launch([c.stack.python, "-m", "tests.e2e.runtime.certgen", *c.argv], env)


NGINX_WHY = (
    "the ingress-nginx controller is nginx with Lua (not buildable here): Traefik's kubernetesIngressNGINX "
    "provider serves the class instead, plus an admission endpoint that allows every Ingress"
)
CERTGEN_WHY = "kube-webhook-certgen is not served by the Go module proxy: a Python job does the same create/patch"

TABLE: tuple[Image, ...] = (
    Image("quay.io/jetstack/cert-manager-controller", "cert-manager-controller", cm_controller),
    Image("quay.io/jetstack/cert-manager-cainjector", "cert-manager-cainjector", cm_cainjector),
    Image("quay.io/jetstack/cert-manager-webhook", "cert-manager-webhook", cm_webhook),
    Image("quay.io/jetstack/cert-manager-acmesolver", "cert-manager-acmesolver", cm_acmesolver),
    Image("registry.k8s.io/external-dns/external-dns", "external-dns", external_dns),
    Image("ghcr.io/mconfalonieri/external-dns-hetzner-webhook", "external-dns-hetzner-webhook", hetzner_webhook),
    Image("ghcr.io/stefanprodan/podinfo", "podinfo", podinfo),
    Image("docker.io/traefik", "traefik", traefik),
    Image("registry.k8s.io/ingress-nginx/controller", "traefik", nginx_controller, NGINX_WHY, "nginx_standin"),
    Image("registry.k8s.io/ingress-nginx/kube-webhook-certgen", "", webhook_certgen, CERTGEN_WHY, "certgen"),
)


def repository(image: str) -> str:
    """``registry/path`` of an image reference, without tag or digest."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: ref.rfind(":")]
    return ref


class ImageTable:
    """The entries of ``TABLE`` whose binary is present in ``bin``."""

    def __init__(self, bin_dir: Path, table: tuple[Image, ...] = TABLE) -> None:
        self.entries = {i.repository: i for i in table if not i.binary or (bin_dir / i.binary).is_file()}
        self.missing = [i.repository for i in table if i.repository not in self.entries]

    def find(self, image: str) -> Image | None:
        return self.entries.get(repository(image))

    def runs(self, pod: dict[str, Any]) -> bool:
        """Every container (and init container) of ``pod`` has an image in the table."""
        spec = pod.get("spec") or {}
        cs = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        return bool(cs) and all(self.find(c.get("image", "")) for c in cs)

    def jq_selector(self) -> str:
        """A kwok stage selector key (jq) that is ``true`` for the pods this table runs."""
        alts = "|".join(re.escape(r) for r in sorted(self.entries))
        rx = f"^({alts})(:[^@/]*)?(@.*)?$".replace("\\", "\\\\")
        return f'[(.spec.initContainers // [])[], .spec.containers[] | .image | test("{rx}")] | all'
