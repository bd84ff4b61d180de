"""wizard.kube's lists and watches as dicts (``list_dicts``, ``watch_dicts``) on lightkube's httpx2
client, against a local HTTP server that answers like kube-apiserver (chunked watch, lines split
across chunks); and the one lightkube internal edge-wizard relies on, checked so that an upgrade
that moves it fails here rather than in a watch."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from wizard.flux.kinds import KINDS, resource
from wizard.kube import KubeConnector, error_code, list_dicts, selector, watch_dicts

from support.fakeapi import ApiServer, kubeconfig, listing

KS = KINDS["Kustomization"]


def _event(etype: str, name: str, rv: str) -> bytes:
    obj = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "resourceVersion": rv},
        "status": {"conditions": [{"type": "Ready", "status": "True", "message": f"at {rv}"}]},
    }
    return json.dumps({"type": etype, "object": obj}).encode() + b"\n"


def _connector(tmp_path: Path, port: int, user: str = "{}") -> KubeConnector:
    return KubeConnector(str(kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", user)), None)


def _with_http(tmp_path: Path, server: ApiServer, use: Any) -> Any:
    async def go() -> Any:
        conn = _connector(tmp_path, server.port)
        try:
            return await use(conn.http(conn.async_client()))
        finally:
            await conn.aclose()

    try:
        return asyncio.run(go())
    finally:
        server.close()


def _watch(tmp_path: Path, server: ApiServer, path: str, **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    async def use(http: Any) -> list[tuple[str, dict[str, Any]]]:
        return [e async for e in watch_dicts(http, path, **kw)]

    return _with_http(tmp_path, server, use)  # type: ignore[no-any-return]


def _query(target: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}


def test_events_split_across_chunks_arrive_whole_in_order(tmp_path: Path) -> None:
    body = _event("ADDED", "a", "11") + _event("MODIFIED", "a", "12") + _event("DELETED", "b", "13")
    cuts = [0, 7, 150, 151, len(body) - 3, len(body)]  # inside a line, at a newline, the tail
    server = ApiServer(lambda target: ("200 OK", [body[i:j] for i, j in itertools.pairwise(cuts)]))
    got = _watch(
        tmp_path,
        server,
        KS.path("flux-system"),
        fields={"metadata.name": "a"},
        labels={"app": "x"},
        resource_version="10",
    )
    assert [(t, o["metadata"]["name"], o["metadata"]["resourceVersion"]) for t, o in got] == [
        ("ADDED", "a", "11"),
        ("MODIFIED", "a", "12"),
        ("DELETED", "b", "13"),
    ]
    assert got[1][1]["status"]["conditions"][0]["message"] == "at 12"
    url, q = urlsplit(server.requests[0]), _query(server.requests[0])
    assert url.path == "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"
    assert q["watch"] == "true" and q["resourceVersion"] == "10"
    assert q["fieldSelector"] == "metadata.name=a" and q["labelSelector"] == "app=x"


def test_an_error_event_raises_with_its_code(tmp_path: Path) -> None:
    gone = {"type": "ERROR", "object": {"kind": "Status", "status": "Failure", "code": 410, "message": "too old"}}
    server = ApiServer(lambda target: ("200 OK", [_event("ADDED", "a", "5"), json.dumps(gone).encode() + b"\n"]))
    with pytest.raises(Exception) as info:
        _watch(tmp_path, server, KS.path("flux-system"), resource_version="1")
    assert error_code(info.value) == 410


def test_a_refused_watch_raises_with_the_http_status_and_the_servers_message(tmp_path: Path) -> None:
    status = {"kind": "Status", "status": "Failure", "code": 403, "message": "kustomizations is forbidden: no"}
    server = ApiServer(lambda target: ("403 Forbidden", [json.dumps(status).encode()]))
    with pytest.raises(Exception) as info:
        _watch(tmp_path, server, KS.path(None))
    assert error_code(info.value) == 403 and "kustomizations is forbidden" in str(info.value)
    assert urlsplit(server.requests[0]).path == "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"


def test_a_refusal_that_is_not_a_status_still_has_its_code(tmp_path: Path) -> None:
    server = ApiServer(lambda target: ("502 Bad Gateway", [b"<html>proxy error</html>"]))
    with pytest.raises(Exception) as info:
        _watch(tmp_path, server, KS.path(None))
    assert error_code(info.value) == 502


def test_a_list_gives_its_items_and_the_resource_version_to_watch_from(tmp_path: Path) -> None:
    items = [{"metadata": {"name": n, "namespace": "edge"}} for n in ("a", "b")]
    doc = {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "77"}, "items": items}
    server = ApiServer(lambda target: ("200 OK", [json.dumps(doc).encode()]))

    async def use(http: Any) -> tuple[list[dict[str, Any]], str]:
        return await list_dicts(http, KINDS["Deployment"].path("edge"), labels={"app": ["traefik", "traefik-edge"]})

    got, rv = _with_http(tmp_path, server, use)
    assert [o["metadata"]["name"] for o in got] == ["a", "b"] and rv == "77"
    url = urlsplit(server.requests[0])
    assert url.path == "/apis/apps/v1/namespaces/edge/deployments"
    assert _query(server.requests[0]) == {"labelSelector": "app in (traefik,traefik-edge)"}


def test_selectors() -> None:
    assert selector(None) is None and selector({}) is None
    assert selector({"type": "Warning", "metadata.name": "x"}) == "type=Warning,metadata.name=x"
    assert selector({"app.kubernetes.io/instance": ("a", "b")}) == "app.kubernetes.io/instance in (a,b)"


def test_the_lightkube_internals_edge_wizard_relies_on(tmp_path: Path) -> None:
    """``KubeConnector.http`` (lightkube's ``AsyncClient._client._client``) is the httpx2 client that
    lightkube sends through, carrying the kubeconfig's server and credentials; and every kind's URL
    in the table is the one lightkube's own list uses. A lightkube upgrade that changes either
    fails here."""
    import httpx2

    server = ApiServer(lambda target: ("200 OK", [listing([])]))
    sent: list[str] = []

    async def go() -> Any:
        conn = _connector(tmp_path, server.port, user="{token: s3cret}")
        try:
            client = conn.async_client()
            http = conn.http(client)
            assert isinstance(http, httpx2.AsyncClient)
            assert str(http.base_url).rstrip("/") == f"http://127.0.0.1:{server.port}"

            async def hook(request: Any) -> None:
                sent.append(request.url.path)

            http.event_hooks = {"request": [hook], "response": []}
            expected = []
            for k in KINDS.values():
                for ns in ("edge", "*") if k.namespaced else (None,):
                    expected.append(k.path(None if ns == "*" else ns))
                    _ = [o async for o in client.list(resource(k.kind), namespace=ns)]
            await list_dicts(http, KS.path("flux-system"))
            return expected
        finally:
            await conn.aclose()

    try:
        expected = asyncio.run(go())
    finally:
        server.close()
    lightkube_paths = [urlsplit(t).path for t in server.requests[: len(expected)]]
    assert lightkube_paths == expected  # the table's URLs are lightkube's
    assert sent == [*expected, KS.path("flux-system")]  # lightkube sent through the client we use
    assert set(server.auth) == {"Bearer s3cret"}  # which carries the kubeconfig's credentials
