"""Low-level Kubernetes helpers of wizard.flux: the kinds followed (as lightkube generic resources),
API error codes, durations. lightkube is imported lazily."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

from wizard.errors import UserError

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
HEARTBEAT = 30.0
INSTANCE_LABEL = "app.kubernetes.io/instance"

# kind -> (group, version, plural, namespaced)
KINDS: dict[str, tuple[str, str, str, bool]] = {
    "GitRepository": ("source.toolkit.fluxcd.io", "v1", "gitrepositories", True),
    "HelmRepository": ("source.toolkit.fluxcd.io", "v1", "helmrepositories", True),
    "Kustomization": ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", True),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Event": ("", "v1", "events", True),
    "ClusterIssuer": ("cert-manager.io", "v1", "clusterissuers", False),
    "Certificate": ("cert-manager.io", "v1", "certificates", True),
    "CertificateRequest": ("cert-manager.io", "v1", "certificaterequests", True),
    "Order": ("acme.cert-manager.io", "v1", "orders", True),
    "Challenge": ("acme.cert-manager.io", "v1", "challenges", True),
}


@functools.cache
def resource(kind: str) -> Any:
    """The lightkube generic resource class of ``kind`` (created once: lightkube's registry
    refuses a second class for a core-group kind)."""
    from lightkube.generic_resource import create_global_resource, create_namespaced_resource

    group, version, plural, namespaced = KINDS[kind]
    make = create_namespaced_resource if namespaced else create_global_resource
    return make(group, version, kind, plural)


def parse_duration(text: str | float | int) -> float:
    """``90s``, ``20m``, ``1h30m``, ``45`` (seconds) -> seconds."""
    import re

    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise UserError(f"--timeout {text!r} is not a duration. Use e.g. 90s, 20m or 1h.")
    mult = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * mult[u] for n, u in parts)


def error_code(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    code = getattr(status, "code", None)
    if code:
        return int(code)
    resp = getattr(exc, "response", None)
    return getattr(resp, "status_code", None) if resp is not None else None


def transport_errors() -> tuple[type[BaseException], ...]:
    import httpx2

    return (httpx2.TransportError, OSError)


async def watch_dicts(
    client: Any,
    res: Any,
    *,
    namespace: str | None = None,
    labels: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    resource_version: str | None = None,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """lightkube's ``AsyncClient.watch`` without its models: ``(type, object dict)`` for each event of
    one watch request, each line decoded once (msgspec), until the server ends the watch (the caller
    watches again from the last resourceVersion). The request is lightkube's own (its URL, selectors,
    auth and timeouts); what is skipped is its per-event model building (the object, its ObjectMeta
    with every managedFields entry, then back to a dict), which sat between every status write and
    its line. A watch ERROR event raises lightkube's ApiError (410 Gone: list again), an HTTP error
    the status error, as lightkube's watch does."""
    import msgspec
    from lightkube.core.exceptions import ApiError
    from lightkube.core.selector import build_selector
    from lightkube.models.meta_v1 import Status

    gc = client._client
    br = gc.prepare_request(
        "list",
        res=res,
        namespace=namespace,
        watch=True,
        params={
            "resourceVersion": resource_version,
            "labelSelector": build_selector(labels) if labels else None,
            "fieldSelector": build_selector(fields, for_fields=True) if fields else None,
        },
    )
    req = gc._client.build_request(br.method, br.url, params=br.params, timeout=gc._watch_timeout)
    resp = await gc.send(req, stream=True)
    try:
        resp.raise_for_status()
        decode = msgspec.json.Decoder().decode
        rest = b""
        async for chunk in resp.aiter_bytes():
            *lines, rest = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                event = decode(line)
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    raise ApiError(status=Status.from_dict(obj))  # type: ignore[arg-type]
                yield etype, obj
    finally:
        await resp.aclose()
