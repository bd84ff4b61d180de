"""The e2e tier's own parts that need no cluster: the fake Hetzner Cloud API's RRsets (as the
Hetzner webhook's hcloud-go client calls them), the DNS server answering from them, the egress
proxy, and the pod runtime's image table and argument rewriting."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import dns.message
import dns.query
import dns.rcode
import pytest
from e2e.egress import EgressProxy
from e2e.runtime.images import TABLE, ContainerContext, ImageTable, StackInfo, external_dns, repository, set_flag
from e2e.runtime.podspec import expand

from support.fakedns import FakeProviderAPI, ZoneDNSServer


def _req(api: FakeProviderAPI, method: str, path: str, body: dict | None = None, token: str = "t") -> tuple[int, dict]:
    r = urllib.request.Request(
        api.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(r, timeout=5) as f:
            return f.status, json.load(f)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


@pytest.fixture
def api():
    with FakeProviderAPI(tokens=("t",), zones=("example.com",)) as a:
        yield a


def test_rrsets_create_list_change_delete(api: FakeProviderAPI) -> None:
    code, out = _req(
        api,
        "POST",
        "/v1/zones/1000/rrsets",
        {"name": "www", "type": "A", "ttl": 60, "records": [{"value": "10.250.0.10"}]},
    )
    assert code == 201 and out["rrset"]["id"] == "www/A" and out["action"]["status"] == "success"
    assert _req(api, "POST", "/v1/zones/1000/rrsets", {"name": "www", "type": "A", "records": []})[0] == 409
    code, out = _req(api, "GET", "/v1/zones/example.com/rrsets?per_page=1&page=1")
    assert (
        code == 200
        and out["meta"]["pagination"]["total_entries"] == 1
        and out["rrsets"][0]["records"] == [{"value": "10.250.0.10"}]
    )
    assert (
        _req(api, "POST", "/v1/zones/1000/rrsets/www/A/actions/set_records", {"records": [{"value": "10.250.0.11"}]})[0]
        == 201
    )
    assert api.records("www.example.com", "A") == ["10.250.0.11"]
    assert _req(api, "DELETE", "/v1/zones/1000/rrsets/www/A")[0] == 201
    assert api.records("www.example.com", "A") == [] and api.records("www.other.org", "A") is None
    assert [c.split()[0] for c in api.changes] == ["create", "set_records", "delete"]
    assert _req(api, "GET", "/v1/zones/1000/rrsets", token="wrong")[0] == 401


def test_zone_dns_answers_from_the_rrsets(api: FakeProviderAPI) -> None:
    _req(
        api,
        "POST",
        "/v1/zones/1000/rrsets",
        {"name": "podinfo.apps", "type": "A", "records": [{"value": "10.250.0.10"}]},
    )
    _req(
        api,
        "POST",
        "/v1/zones/1000/rrsets",
        {
            "name": "a-podinfo.apps",
            "type": "TXT",
            "records": [{"value": '"heritage=external-dns,external-dns/owner=o"'}],
        },
    )
    with ZoneDNSServer(api) as d:

        def ask(name: str, t: str) -> tuple[str, list[str]]:
            r = dns.query.udp(dns.message.make_query(name, t), d.host, port=d.port, timeout=2)
            return dns.rcode.to_text(r.rcode()), [x.to_text() for rr in r.answer for x in rr]

        assert ask("podinfo.apps.example.com", "A") == ("NOERROR", ["10.250.0.10"])
        tcp = dns.query.tcp(dns.message.make_query("podinfo.apps.example.com", "A"), d.host, port=d.port, timeout=2)
        assert [x.to_text() for rr in tcp.answer for x in rr] == ["10.250.0.10"]  # Pebble asks over TCP
        assert ask("a-podinfo.apps.example.com", "TXT") == ("NOERROR", ['"heritage=external-dns,external-dns/owner=o"'])
        assert ask("podinfo.apps.example.com", "AAAA") == ("NOERROR", [])
        assert ask("missing.example.com", "A")[0] == "NXDOMAIN"
        assert ask("example.org", "A")[0] == "REFUSED"
        # a record written later is answered at once (no zone reload)
        _req(api, "POST", "/v1/zones/1000/rrsets", {"name": "late", "type": "A", "records": [{"value": "10.250.0.12"}]})
        assert ask("late.example.com", "A") == ("NOERROR", ["10.250.0.12"])


def test_egress_proxy_maps_allowed_targets_and_refuses_the_rest() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    with EgressProxy({"api.hetzner.cloud:443": srv.getsockname()}) as proxy:

        def connect(target: str) -> bytes:
            c = socket.create_connection((proxy.host, proxy.port), timeout=5)
            c.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            head = c.recv(4096)
            if b" 200 " in head:
                peer, _ = srv.accept()
                c.sendall(b"ping")
                assert peer.recv(4) == b"ping"
                peer.close()
            c.close()
            return head

        assert b"200 Connection established" in connect("api.hetzner.cloud:443")
        assert b"403" in connect("api.cloudflare.com:443")
        assert proxy.seen == [("api.hetzner.cloud:443", True), ("api.cloudflare.com:443", False)]
    srv.close()


def test_image_table_and_rewrites(tmp_path) -> None:
    for b in ("external-dns", "podinfo"):
        (tmp_path / b).write_text("")
    table = ImageTable(tmp_path)
    assert (
        repository("registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:abc")
        == "registry.k8s.io/ingress-nginx/controller"
    )
    assert repository("localhost:5000/podinfo") == "localhost:5000/podinfo"
    assert table.find("registry.k8s.io/external-dns/external-dns:v0.21.0") is not None
    assert table.find("quay.io/jetstack/cert-manager-controller:v1.21.1") is None  # binary not built
    assert "quay.io/jetstack/cert-manager-controller" in table.missing
    # the python stand-ins need no binary
    assert table.find("registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.9") is not None
    pod = {"spec": {"containers": [{"name": "a", "image": "ghcr.io/stefanprodan/podinfo:6.14.1"}]}}
    assert table.runs(pod)
    pod["spec"]["containers"].append({"name": "b", "image": "busybox"})
    assert not table.runs(pod)
    assert set_flag(["--a=1", "--b", "2", "--c"], "--b", "3") == ["--a=1", "--c", "--b=3"]
    assert expand("$(POD_NAMESPACE)/x-$(MISSING)-$$(ESC)", {"POD_NAMESPACE": "ns"}) == "ns/x-$(MISSING)-$(ESC)"
    stack = StackInfo(tmp_path, "https://127.0.0.1:6443", "127.0.0.1", 6443, "127.0.0.1:53", "", tmp_path / "ca.crt")
    ctx = ContainerContext(
        pod={"metadata": {"name": "p", "namespace": "n"}, "spec": {}},
        container={"name": "external-dns"},
        pod_ip="10.244.128.7",
        node_ip="10.250.0.10",
        command=[],
        args=["--provider=webhook", "--metrics-address=:7979"],
        env={"X": "1"},
        workdir=tmp_path,
        kubeconfig=tmp_path / "kc",
        stack=stack,
    )
    launch = external_dns(ctx)
    assert launch.argv[0] == str(tmp_path / "external-dns")
    assert "--metrics-address=10.244.128.7:7979" in launch.argv and "--metrics-address=:7979" not in launch.argv
    assert "--webhook-provider-url=http://10.244.128.7:8888" in launch.argv
    assert f"--kubeconfig={tmp_path / 'kc'}" in launch.argv and launch.env == {"X": "1"}
    # every stand-in says why (tests/e2e/README.md lists them)
    assert all(i.standin for i in TABLE if not i.binary or i.module)
