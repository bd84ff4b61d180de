"""Stand-in for ingress-nginx's kube-webhook-certgen Jobs (its image is not built here: the Go module
proxy does not serve it). Same two commands, same flags, same effect on the API:

    create --host=A,B --namespace=NS --secret-name=S   a CA and a serving certificate for the hosts
                                                        in Secret NS/S (keys ca, cert, key), unless
                                                        the Secret exists
    patch --webhook-name=W --namespace=NS --secret-name=S [--patch-validating=true]
          [--patch-mutating=false] [--patch-failure-policy=Fail]
                                                        the CA into every webhook's caBundle of the
                                                        (Validating|Mutating)WebhookConfiguration W

It uses the pod's service-account token, so the chart's RBAC for the Jobs is what allows it.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
from pathlib import Path

from .incluster import PodClient


def _openssl(d: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)


def make_certs(hosts: list[str]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as t:
        d = Path(t)
        _openssl(d, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
        _openssl(d, "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "36500", "-subj", "/O=nil1")
        _openssl(d, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "tls.key")
        _openssl(d, "req", "-new", "-key", "tls.key", "-out", "tls.csr", "-subj", "/O=nil2")
        (d / "ext").write_text(
            "subjectAltName=" + ",".join(f"DNS:{h}" for h in hosts) + "\nextendedKeyUsage=serverAuth\n"
            "keyUsage=digitalSignature,keyEncipherment\n"
        )
        _openssl(
            d, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "36500", "-out", "tls.crt", "-extfile", "ext",
        )  # fmt: skip
        _openssl(d, "pkcs8", "-topk8", "-nocrypt", "-in", "tls.key", "-out", "tls.pk8")
        return {
            "ca": (d / "ca.crt").read_bytes(),
            "cert": (d / "tls.crt").read_bytes(),
            "key": (d / "tls.pk8").read_bytes(),
        }


def create(api: PodClient, a: argparse.Namespace) -> int:
    path = f"/api/v1/namespaces/{a.namespace}/secrets"
    code, _ = api.request("GET", f"{path}/{a.secret_name}")
    if code == 200:
        print(f"secret {a.namespace}/{a.secret_name} already exists")
        return 0
    certs = make_certs([h for h in a.host.split(",") if h])
    names = {"ca": a.ca_name, "cert": a.cert_name, "key": a.key_name}
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": a.secret_name, "namespace": a.namespace},
        "data": {names[k]: base64.b64encode(v).decode() for k, v in certs.items()},
    }
    code, out = api.request("POST", path, body)
    if code not in (200, 201):
        print(f"creating secret {a.namespace}/{a.secret_name}: HTTP {code}: {out}", file=sys.stderr)
        return 1
    print(f"created secret {a.namespace}/{a.secret_name} for {a.host}")
    return 0


def patch(api: PodClient, a: argparse.Namespace) -> int:
    code, secret = api.request("GET", f"/api/v1/namespaces/{a.namespace}/secrets/{a.secret_name}")
    if code != 200:
        print(f"reading secret {a.namespace}/{a.secret_name}: HTTP {code}: {secret}", file=sys.stderr)
        return 1
    ca = secret["data"][a.ca_name]
    kinds = [
        ("validatingwebhookconfigurations", a.patch_validating),
        ("mutatingwebhookconfigurations", a.patch_mutating),
    ]
    for kind, on in kinds:
        if on != "true":
            continue
        path = f"/apis/admissionregistration.k8s.io/v1/{kind}/{a.webhook_name}"
        code, obj = api.request("GET", path)
        if code != 200:
            print(f"reading {kind}/{a.webhook_name}: HTTP {code}: {obj}", file=sys.stderr)
            return 1
        # get + update (what kube-webhook-certgen does, and all the chart's ClusterRole allows)
        for w in obj.get("webhooks") or []:
            w.setdefault("clientConfig", {})["caBundle"] = ca
            if a.patch_failure_policy:
                w["failurePolicy"] = a.patch_failure_policy
        code, out = api.request("PUT", path, obj)
        if code != 200:
            print(f"patching {kind}/{a.webhook_name}: HTTP {code}: {out}", file=sys.stderr)
            return 1
        print(f"patched {kind}/{a.webhook_name} with the CA of {a.namespace}/{a.secret_name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kube-webhook-certgen (stand-in)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create", "patch"):
        s = sub.add_parser(name)
        s.add_argument("--namespace", required=True)
        s.add_argument("--secret-name", required=True)
        s.add_argument("--ca-name", default="ca")
        s.add_argument("--cert-name", default="cert")
        s.add_argument("--key-name", default="key")
        s.add_argument("--log-level", default="info")
        s.add_argument("--log-format", default="text")
    sub.choices["create"].add_argument("--host", required=True)
    pa = sub.choices["patch"]
    pa.add_argument("--webhook-name", required=True)
    pa.add_argument("--patch-validating", default="true")
    pa.add_argument("--patch-mutating", default="true")
    pa.add_argument("--patch-failure-policy", default="")
    a = p.parse_args(argv)
    api = PodClient()
    return create(api, a) if a.cmd == "create" else patch(api, a)


if __name__ == "__main__":
    sys.exit(main())
