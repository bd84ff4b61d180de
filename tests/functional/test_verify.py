"""The proof against real local servers on 127.0.0.1: a DNS server, HTTP and HTTPS servers with a test
CA (made with openssl), a closed port, a listener that never answers, one whose queue drops SYNs."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import pytest

from wizard.events import json_schema
from wizard.frontends.cli import main

from support.edgeservers import (
    AddressDNS,
    DroppingListener,
    LocalCA,
    SilentListener,
    WebServer,
    closed_port,
    make_ca,
)
from support.fakedns import FakeProviderAPI
from support.proofrecords import TOKEN
from support.proofrecords import set_records as _sets
from support.repos import make_guide_repo
from support.schema import validate as _validate

HOST = "podinfo.apps.example.com"


def verify(tmp: Path, *args: str) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["verify", "--repo", str(tmp), "--host", HOST, "--no-cluster", "--json", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    records = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    schema = json_schema()
    for i, r in enumerate(records):
        _validate(r, schema, f"record {i}")
    return rc, records, err.getvalue()


def checks(records: list[dict]) -> dict[str, dict]:
    return {r["check"]: r for r in records if r["event"] == "ProofCheck"}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_ca(tmp_path_factory.mktemp("ca"), HOST)


@pytest.fixture
def dns_ok():
    with AddressDNS({HOST: ["127.0.0.1"]}) as d:
        yield d


def test_proven_with_the_ca_bundle(tmp_path: Path, ca: LocalCA, dns_ok: AddressDNS) -> None:
    with WebServer() as http, WebServer(tls=ca) as https:
        rc, recs, _ = verify(
            tmp_path, "--resolver", dns_ok.resolver, "--http-port", str(http.port), "--https-port", str(https.port),
            "--ca-bundle", str(ca.ca), "--timeout", "5s",
        )  # fmt: skip
        assert https.hosts == [HOST] and http.hosts == [HOST]  # SNI/Host: the host, sent to the resolved address
    c = checks(recs)
    assert rc == 0, recs
    assert c["addresses"]["status"] == "ok" and "127.0.0.1 (TTL 120s)" in c["addresses"]["seen"]
    assert c["port-80"]["status"] == "ok" and "HTTP 200" in c["port-80"]["seen"]
    assert c["https"]["status"] == "ok" and "from podinfo" in c["https"]["seen"]
    proof = next(r for r in recs if r["event"] == "Proof")
    assert proof["proven"] and proof["verified"] and proof["status"] == 200
    assert proof["addresses"] == ["127.0.0.1"] and proof["names"] == [HOST]
    assert "edge-wizard test root" in proof["cert_issuer"] and proof["not_after"]
    assert recs[-1]["event"] == "Done" and recs[-1]["outcome"] == "proven"


def test_untrusted_chain_is_named_and_fails(tmp_path: Path, ca: LocalCA, dns_ok: AddressDNS) -> None:
    with WebServer() as http, WebServer(tls=ca) as https:
        rc, recs, _ = verify(
            tmp_path, "--resolver", dns_ok.resolver, "--http-port", str(http.port), "--https-port", str(https.port),
            "--timeout", "5s",
        )  # fmt: skip
    c = checks(recs)
    assert rc == 1
    assert c["https"]["status"] == "fail"
    assert "does not verify against the system trust store" in c["https"]["seen"]
    assert "unable to get local issuer certificate" in c["https"]["seen"]
    assert "--ca-bundle" in c["https"]["fix"]
    assert recs[-1] == {"event": "Failed", "message": recs[-1]["message"], "exit_code": 1}


def test_staging_without_roots_checks_names_and_says_unverified(
    tmp_path: Path, ca: LocalCA, dns_ok: AddressDNS
) -> None:
    from wizard.prove import ProveOptions, Target
    from wizard.prove.net import parse_resolver
    from wizard.prove.rounds import one_round

    with WebServer() as http, WebServer(tls=ca) as https:
        o = ProveOptions(resolver=parse_resolver(dns_ok.resolver), http_port=http.port, https_port=https.port)
        r = one_round(Target(HOST, issuer="letsencrypt-staging"), o, None)
    https_check = next(c for c in r.checks if c.check == "https")
    assert https_check.status == "ok" and "was NOT verified" in https_check.seen
    assert r.proof.proven and not r.proof.verified and r.proof.names == (HOST,)


def test_wrong_address(tmp_path: Path, ca: LocalCA) -> None:
    from wizard.prove import ProveOptions, Target
    from wizard.prove.cluster import ClusterView
    from wizard.prove.rounds import one_round

    with AddressDNS({HOST: ["127.0.0.9"]}) as d:
        o = ProveOptions(resolver=("127.0.0.1", d.port), http_port=closed_port(), https_port=closed_port())
        view = ClusterView(nodes={"node-1": ("127.0.0.1",)})
        r = one_round(Target(HOST, zone="example.com", owner="k8s"), o, view)
    a = next(c for c in r.checks if c.check == "addresses")
    assert a.status == "fail" and "127.0.0.9, which is not an address of a node" in a.seen
    assert "external-dns" in a.fix and "txtOwnerId k8s" in a.fix and "domainFilters" in a.fix


def test_nxdomain_waits_until_the_deadline_then_fails(tmp_path: Path) -> None:
    with AddressDNS({}, negative_ttl=300) as d:
        started = time.monotonic()
        rc, recs, _ = verify(tmp_path, "--resolver", d.resolver, "--timeout", "1s")
        took = time.monotonic() - started
        assert d.queries >= 2  # asked again within the deadline
    c = checks(recs)
    assert rc == 1 and took < 10
    assert c["addresses"]["status"] == "fail" and "NXDOMAIN, cached for up to 300s" in c["addresses"]["seen"]
    assert "kubectl -n external-dns logs" in c["addresses"]["fix"]
    assert c["port-80"]["status"] == "skip" and c["https"]["status"] == "skip"


def test_nothing_listening_on_443(tmp_path: Path, dns_ok: AddressDNS) -> None:
    with WebServer() as http:
        rc, recs, _ = verify(
            tmp_path, "--resolver", dns_ok.resolver, "--http-port", str(http.port), "--https-port",
            str(closed_port()), "--timeout", "1s",
        )  # fmt: skip
    c = checks(recs)
    assert rc == 1
    assert c["port-80"]["status"] == "ok"
    assert c["https"]["status"] == "fail" and "(refused)" in c["https"]["seen"]
    assert "hostNetwork" in c["https"]["fix"] and "get pods -o wide" in c["https"]["fix"]


def test_listener_that_never_answers_times_out(tmp_path: Path, dns_ok: AddressDNS) -> None:
    with SilentListener() as silent:
        rc, recs, _ = verify(
            tmp_path, "--resolver", dns_ok.resolver, "--http-port", str(silent.port), "--https-port",
            str(silent.port), "--timeout", "1s",
        )  # fmt: skip
    c = checks(recs)
    assert rc == 3, recs
    assert c["port-80"]["status"] == "fail" and "(read-timeout)" in c["port-80"]["seen"]
    assert "never answered" in c["port-80"]["fix"]
    assert "not proven within 1s" in recs[-1]["message"]


def test_connect_timeout_names_the_firewall_policy(tmp_path: Path, dns_ok: AddressDNS) -> None:
    from wizard.prove import ProveOptions, Target
    from wizard.prove.rounds import one_round

    policy = tmp_path / "host-fw.yaml"
    policy.write_text('ingress:\n  - toPorts:\n      - ports:\n          - port: "6443"\n', encoding="utf-8")
    with DroppingListener() as drop:
        o = ProveOptions(resolver=("127.0.0.1", dns_ok.port), http_port=drop.port, https_port=drop.port,
                         net_timeout=0.5)  # fmt: skip
        r = one_round(Target(HOST, policy_file=policy, policy_rel="infra/host-fw.yaml"), o, None)
    p80 = next(c for c in r.checks if c.check == "port-80")
    if "connect-timeout" not in p80.seen:
        pytest.skip(f"this kernel answered the full accept queue differently: {p80.seen}")
    assert "The policy infra/host-fw.yaml has no rule for it" in p80.fix
    assert "edge-wizard run firewall" in p80.fix


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--resolver", "dns.example.com"], "is not an IP address"),
        (["--resolver", "127.0.0.1:99999"], "is not a number from 1 to 65535"),
        (["--ca-bundle", "/nonexistent/ca.pem"], "is not a file"),
        (["--host", "not a host"], "is not a DNS name"),
        (["--timeout", "soon"], "is not a duration"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], said: str) -> None:
    rc, recs, _ = verify(tmp_path, *args)
    assert rc == 2 and said in recs[-1]["message"] and recs[-1]["event"] == "Failed"


def test_a_file_that_is_not_pem_as_ca_bundle(tmp_path: Path, dns_ok: AddressDNS) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n", encoding="utf-8")
    rc, recs, _ = verify(tmp_path, "--resolver", dns_ok.resolver, "--ca-bundle", str(bundle), "--timeout", "1s")
    assert rc == 2 and "cannot read it as PEM certificates" in recs[-1]["message"]


def test_verify_token_env_reads_the_record_and_never_prints_the_token(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_guide_repo(tmp_path / "repo")
    with FakeProviderAPI(tokens=(TOKEN,)) as fake:
        fake.start()
        monkeypatch.setenv("EDGE_WIZARD_HETZNER_API", fake.url)
        monkeypatch.setenv("T", TOKEN)
        _sets(fake)
        out, err = io.StringIO(), io.StringIO()
        argv = ["verify", "--repo", str(repo), "--answers", str(answers_file), "--no-cluster", "--token-env", "T"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([*argv, "--resolver", "127.0.0.1:1", "--timeout", "1s", "--json"])
        seen = [r for r in fake.requests if r.path.endswith("/rrsets")]
    records = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    record = next(r for r in records if r.get("event") == "ProofCheck" and r["check"] == "record")
    assert record["status"] == "ok", record
    assert seen and all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in seen)
    assert rc in (1, 3)  # nothing answers HTTPS here: the other checks fail, the record was proven
    assert TOKEN not in out.getvalue() + err.getvalue()
