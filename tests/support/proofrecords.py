"""The A record and external-dns's owner TXT in the fake provider APIs, as the proof's record check reads them."""

from __future__ import annotations

from support.fakedns import FakeProviderAPI

TOKEN = "good-token"
OWNER = "k8s.example.com"
REGISTRY = f'"heritage=external-dns,external-dns/owner={OWNER},external-dns/resource=ingress/podinfo/podinfo"'


def set_records(api: FakeProviderAPI, address: str = "203.0.113.7", txt: str | None = REGISTRY) -> None:
    sets = api.rrsets.setdefault("example.com", {})
    sets[("podinfo.apps.k8s", "A")] = {"ttl": 60, "records": [{"value": address}]}
    if txt is not None:
        sets[("a-podinfo.apps.k8s", "TXT")] = {"ttl": 60, "records": [{"value": txt}]}
