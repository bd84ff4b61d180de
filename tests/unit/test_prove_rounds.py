"""The proof's "record" check against the fake provider APIs on 127.0.0.1 (Hetzner Cloud RRsets and
Cloudflare DNS records, the same store): the A record with external-dns's owner TXT, missing,
owned by another external-dns, not written by external-dns, an old address, a rejected token, no
token; and `verify --token-env` reading it without the token reaching the output."""

from __future__ import annotations

import json

import pytest

from wizard.prove.cluster import ClusterView, last_error, pod_state
from wizard.prove.rounds import ProveOptions, Round, Target, _record

from support.fakedns import FakeProviderAPI
from support.proofrecords import OWNER, TOKEN
from support.proofrecords import set_records as _sets

HOST = "podinfo.apps.k8s.example.com"


@pytest.fixture(params=["hetzner", "cloudflare"])
def api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    with FakeProviderAPI(tokens=(TOKEN,)) as fake:
        fake.start()
        var = "EDGE_WIZARD_HETZNER_API" if request.param == "hetzner" else "EDGE_WIZARD_CLOUDFLARE_API"
        monkeypatch.setenv(var, fake.url)
        fake.provider = request.param
        yield fake


def _check(api: FakeProviderAPI, *, token: str | None = TOKEN, nodes: tuple[str, ...] = ()) -> tuple[Round, dict]:
    r = Round()
    target = Target(host=HOST, zone="example.com", owner=OWNER, provider=api.provider)  # type: ignore[attr-defined]
    view = ClusterView(nodes={"n1": nodes}) if nodes else None
    _record(r, target, ProveOptions(token=token, net_timeout=5), view)
    (c,) = r.checks
    return r, {"status": c.status, "seen": c.seen, "fix": c.fix}


def test_the_record_with_its_owner_txt_is_ok(api: FakeProviderAPI) -> None:
    _sets(api)
    _, c = _check(api, nodes=("203.0.113.7",))
    assert c["status"] == "ok", c
    assert "203.0.113.7" in c["seen"] and f"owned by external-dns ({OWNER})" in c["seen"]


def test_no_record_is_a_waiting_failure_naming_external_dns(api: FakeProviderAPI) -> None:
    r, c = _check(api)
    assert c["status"] == "fail" and "has no A/AAAA record" in c["seen"]
    assert r.waiting_only  # external-dns may not have run yet: checked again until the deadline
    assert "kubectl -n external-dns logs" in c["fix"]


def test_another_owner_is_a_txt_owner_conflict(api: FakeProviderAPI) -> None:
    _sets(api, txt='"heritage=external-dns,external-dns/owner=other-cluster"')
    r, c = _check(api)
    assert c["status"] == "fail" and "owned by external-dns owner other-cluster, not k8s.example.com" in c["seen"]
    assert "txt_owner_id: other-cluster" in c["fix"] and not r.waiting_only


def test_a_record_without_registry_txt_is_a_warning(api: FakeProviderAPI) -> None:
    _sets(api, txt=None)
    _, c = _check(api)
    assert c["status"] == "warn" and "not written by external-dns" in c["seen"]


def test_an_address_that_is_no_node_is_an_old_address(api: FakeProviderAPI) -> None:
    _sets(api, address="198.51.100.9")
    _, c = _check(api, nodes=("203.0.113.7",))
    assert c["status"] == "fail" and "198.51.100.9 is not an address of a node" in c["seen"]


def test_a_rejected_token_is_said_without_the_token(api: FakeProviderAPI) -> None:
    _sets(api)
    _, c = _check(api, token="wrong-token-value")
    assert c["status"] == "warn" and "rejected the DNS token (HTTP 401)" in c["seen"]
    assert "wrong-token-value" not in json.dumps(c)


def test_no_token_skips_the_provider(api: FakeProviderAPI) -> None:
    _, c = _check(api, token=None)
    assert c["status"] == "skip" and "--token-env" in c["seen"]
    assert not api.requests


def test_external_dns_pod_state_and_last_error_for_the_diagnosis() -> None:
    pod = {
        "metadata": {"name": "external-dns-5d9"},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "ready": False,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"message": "failed to sync: 401 Unauthorized"}},
                }
            ],
        },
    }
    said = pod_state(pod)
    assert said.startswith("pod external-dns-5d9 Running") and "CrashLoopBackOff" in said and "4 restarts" in said
    assert "last exit: failed to sync: 401 Unauthorized" in said
    lines = [
        'time="2026-12-02T03:00:00Z" level=info msg="All records are already up to date"',
        'time="2026-12-02T03:00:01Z" level=error msg="Failed to do run once: soft error\\nrecords retrieval failed: '
        'failed to list zones: unauthorized"',
        'time="2026-12-02T03:00:02Z" level=info msg="next"',
    ]
    assert last_error(lines).startswith("Failed to do run once: soft error")
    assert last_error(lines[:1]) == ""


async def test_external_dns_state_is_read_once_and_only_for_a_failed_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard import events as ev
    from wizard.prove import _with_external_dns, cluster

    calls: list[object] = []

    async def state(kube: object) -> str:
        calls.append(kube)
        return "pod external-dns-5d9 Running, CrashLoopBackOff"

    monkeypatch.setattr(cluster, "external_dns_state", state)
    ok = [ev.ProofCheck("record", "ok", "held"), ev.ProofCheck("https", "fail", "refused", "open 443")]
    assert await _with_external_dns(ok, object()) == ok and not calls  # not an external-dns failure: not read
    failed = [ev.ProofCheck("record", "fail", "no record", "external-dns writes it"), ok[1]]
    got = await _with_external_dns(failed, object())
    assert got[0].fix == "external-dns now: pod external-dns-5d9 Running, CrashLoopBackOff. external-dns writes it"
    assert got[1] == ok[1] and len(calls) == 1
