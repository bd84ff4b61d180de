"""Stand-in for the ingress-nginx controller (nginx with Lua cannot run here). It takes the
controller's own arguments and runs, in the same pod:

- Traefik with its kubernetesIngressNGINX provider for the same ingress class and controller class,
  on the pod's ports (hostNetwork: the node's 80/443), publishing the same status address the
  controller would (``--report-node-internal-ip-address``: the node's InternalIP, otherwise its
  ExternalIP, else InternalIP; ``--publish-status-address`` as given);
- the controller's admission endpoint (``--validating-webhook``) with the certificate the chart's
  certgen Job made: it answers every AdmissionReview with allowed (nginx's config test is not
  reproduced);
- ``/healthz`` on ``--healthz-port`` (10254), 200 only while Traefik answers its ping.

Environment from the runtime: STANDIN_TRAEFIK (binary), STANDIN_KUBECONFIG, STANDIN_NODE_IP,
STANDIN_NODE_NAME, STANDIN_WORKDIR.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .incluster import PodClient


def _die_with_parent() -> None:  # in the child before exec: Traefik goes when the stand-in goes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="nginx-ingress-controller (stand-in)", allow_abbrev=False)
    p.add_argument("--ingress-class", default="nginx")
    p.add_argument("--controller-class", default="k8s.io/ingress-nginx")
    p.add_argument("--http-port", type=int, default=80)
    p.add_argument("--https-port", type=int, default=443)
    p.add_argument("--healthz-port", type=int, default=10254)
    p.add_argument("--healthz-host", default="")
    p.add_argument("--validating-webhook", default="")
    p.add_argument("--validating-webhook-certificate", default="")
    p.add_argument("--validating-webhook-key", default="")
    p.add_argument("--report-node-internal-ip-address", default="false")
    p.add_argument("--publish-status-address", default="")
    p.add_argument("--publish-service", default="")
    p.add_argument("--watch-ingress-without-class", default="false")
    p.add_argument("--ingress-class-by-name", default="false")
    p.add_argument("--watch-namespace", default="")
    p.add_argument("--default-backend-service", default="")
    a, rest = p.parse_known_args(argv)
    a.ignored = [x for x in rest if x != "/nginx-ingress-controller"]
    return a


def status_address(api: PodClient, node: str, internal: bool) -> str:
    """The address ingress-nginx publishes for a hostNetwork controller without a publish service."""
    code, obj = api.request("GET", f"/api/v1/nodes/{node}")
    if code != 200:
        raise SystemExit(f"reading node {node}: HTTP {code}: {obj}")
    addrs = {a["type"]: a["address"] for a in reversed((obj.get("status") or {}).get("addresses") or [])}
    if internal:
        return addrs.get("InternalIP", "")
    return addrs.get("ExternalIP") or addrs.get("InternalIP", "")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def traefik_args(a: argparse.Namespace, api: PodClient, ip: str, ping_port: int) -> list[str]:
    pfx = "--providers.kubernetesingressnginx"
    args = [
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        "--log.level=INFO",
        "--log.nocolor=true",
        "--accesslog=true",
        # the access log names the client (Traefik drops request headers from it by default)
        "--accesslog.fields.headers.names.User-Agent=keep",
        f"--entrypoints.web.address={ip}:{a.http_port}",
        f"--entrypoints.websecure.address={ip}:{a.https_port}",
        # Traefik's own entrypoint ("traefik", default :8080 on every address) only on loopback
        f"--entrypoints.traefik.address=127.0.0.1:{ping_port}",
        "--ping=true",
        "--ping.entrypoint=traefik",
        f"{pfx}=true",
        f"{pfx}.endpoint={api.server}",
        f"{pfx}.token={api.token_file}",
        f"{pfx}.certauthfilepath={api.ca}",
        f"{pfx}.ingressclass={a.ingress_class}",
        f"{pfx}.controllerclass={a.controller_class}",
        f"{pfx}.httpentrypoint=web",
        f"{pfx}.httpsentrypoint=websecure",
    ]
    if a.watch_ingress_without_class == "true":
        args.append(f"{pfx}.watchingresswithoutclass=true")
    if a.ingress_class_by_name == "true":
        args.append(f"{pfx}.ingressclassbyname=true")
    if a.watch_namespace:
        args.append(f"{pfx}.watchnamespace={a.watch_namespace}")
    if a.default_backend_service:
        args.append(f"{pfx}.defaultbackendservice={a.default_backend_service}")
    if a.publish_service:
        args.append(f"{pfx}.publishservice={a.publish_service}")
    else:
        addr = a.publish_status_address or status_address(
            api, os.environ["STANDIN_NODE_NAME"], a.report_node_internal_ip_address == "true"
        )
        if addr:
            args.append(f"{pfx}.publishstatusaddress={addr}")
    return args


class Admission(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:
        print("admission:", fmt % args, flush=True)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            review = json.loads(raw)
            uid = review["request"]["uid"]
        except (ValueError, KeyError):
            self.send_error(400, "not an AdmissionReview")
            return
        body = json.dumps(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": uid, "allowed": True}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    a = parse(sys.argv[1:] if argv is None else argv)
    ip = os.environ["STANDIN_NODE_IP"]
    api = PodClient()
    if a.ignored:
        print(f"stand-in: not reproduced: {' '.join(a.ignored)}", flush=True)
    ping_port = free_port()
    targs = traefik_args(a, api, ip, ping_port)
    print(f"stand-in: traefik {' '.join(targs)}", flush=True)
    # without KUBERNETES_SERVICE_*, Traefik takes the endpoint/token/CA given above instead of the
    # in-cluster config (whose token path is fixed)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_SERVICE_", "STANDIN_"))}
    traefik = subprocess.Popen(
        [os.environ["STANDIN_TRAEFIK"], *targs],
        cwd=os.environ.get("STANDIN_WORKDIR") or None,
        env=env,
        preexec_fn=_die_with_parent,
    )
    servers: list[ThreadingHTTPServer] = []

    def stop(*_: Any) -> None:
        traefik.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if a.validating_webhook:
        host, _, port = a.validating_webhook.rpartition(":")
        srv = ThreadingHTTPServer((host or ip, int(port)), Admission)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Path(a.validating_webhook_certificate), Path(a.validating_webhook_key))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        servers.append(srv)

    class Health(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            ok = False
            if traefik.poll() is None:
                try:
                    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                    with opener.open(f"http://127.0.0.1:{ping_port}/ping", timeout=2) as r:
                        ok = r.status == 200
                except OSError:
                    ok = False
            self.send_response(200 if ok else 500)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"no")

    servers.append(ThreadingHTTPServer((a.healthz_host or ip, a.healthz_port), Health))
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    rc = traefik.wait()
    for s in servers:
        s.shutdown()
    print(f"stand-in: traefik exited rc={rc}", flush=True)
    return rc if rc else 0


if __name__ == "__main__":
    sys.exit(main())
