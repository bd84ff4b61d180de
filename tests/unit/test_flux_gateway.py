"""wizard.flux.gateway: the Gateway API verdicts on status objects shaped as controllers write them
(gateway.networking.k8s.io/v1: the CRD's default Pending status, then Traefik's conditions with
observedGeneration, listener status with attachedRoutes and supportedKinds, route status per parent)."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.flux import status as st
from wizard.flux.gateway import gateway_class_verdict, gateway_verdict, http_route_verdict
from wizard.flux.kinds import KINDS

T0 = "2026-12-01T10:00:00Z"
CONTROLLER = "traefik.io/gateway-controller"


def cond(ctype: str, status: str, reason: str, message: str = "", gen: int | None = 1) -> dict[str, Any]:
    c = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": T0}
    if gen is not None:
        c["observedGeneration"] = gen
    return c


def ctx(kind: str, ns: str, name: str) -> st.Context:
    return st.Context(kind, ns, name)


# -- GatewayClass ------------------------------------------------------------------------------------------
def gateway_class(*conds: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "traefik", "generation": generation},
        "spec": {"controllerName": CONTROLLER},
        "status": {"conditions": list(conds)},
    }


CLASS_PENDING = cond("Accepted", "Unknown", "Pending", "Waiting for controller", gen=None)


def test_gateway_class() -> None:
    c = ctx("GatewayClass", "", "traefik")
    assert gateway_class_verdict(None, c) == st.Verdict("waiting", "not created yet")
    assert gateway_class_verdict(gateway_class(CLASS_PENDING), c) == st.Verdict(
        "progressing", "not accepted yet: Waiting for controller"
    )
    accepted = gateway_class(cond("Accepted", "True", "Accepted", "Handled by Traefik controller"))
    assert gateway_class_verdict(accepted, c) == st.Verdict("ready", f"accepted by {CONTROLLER}")
    newer = gateway_class(cond("Accepted", "True", "Accepted", "Handled by Traefik controller"), generation=2)
    v = gateway_class_verdict(newer, c)
    assert v.phase == "progressing" and "generation 2" in v.message and CONTROLLER in v.message
    invalid = gateway_class(
        cond("Accepted", "False", "InvalidParameters", "parametersRef kind Config is not supported")
    )
    assert gateway_class_verdict(invalid, c) == st.Verdict(
        "failed", "not accepted (InvalidParameters): parametersRef kind Config is not supported"
    )
    old_crds = gateway_class(
        cond("Accepted", "True", "Accepted"),
        cond(
            "SupportedVersion", "False", "UnsupportedVersion", "Gateway API CRD bundle version v1.0.0 is not supported"
        ),
    )
    assert gateway_class_verdict(old_crds, c).phase == "failed"


# -- Gateway -------------------------------------------------------------------------------------------------
def listener_status(name: str, *conds: dict[str, Any], attached: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "attachedRoutes": attached,
        "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
        "conditions": list(conds),
    }


LISTENER_OK = (
    cond("Accepted", "True", "Accepted", "No errors found"),
    cond("ResolvedRefs", "True", "ResolvedRefs", "No errors found"),
    cond("Programmed", "True", "Programmed", "No errors found"),
)


def gateway(**status: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "traefik", "generation": 1},
        "spec": {
            "gatewayClassName": "traefik",
            "listeners": [
                {"name": "web", "port": 8000, "protocol": "HTTP"},
                {
                    "name": "websecure",
                    "port": 8443,
                    "protocol": "HTTPS",
                    "hostname": "*.apps.example.com",
                    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "apps-tls"}]},
                },
            ],
        },
        "status": {
            "addresses": [{"type": "IPAddress", "value": "203.0.113.10"}],
            "conditions": [
                cond("Accepted", "True", "Accepted", "Gateway successfully scheduled"),
                cond("Programmed", "True", "Programmed", "Gateway successfully scheduled"),
            ],
            "listeners": [listener_status("web", *LISTENER_OK), listener_status("websecure", *LISTENER_OK)],
        },
    }
    obj["status"].update(status)
    return obj


GW = ctx("Gateway", "traefik", "edge")


def test_a_programmed_gateway_with_every_listener_ready_is_ready() -> None:
    assert gateway_verdict(gateway(), GW) == st.Verdict("ready", "programmed at 203.0.113.10")


def test_a_new_gateway_with_the_crds_default_status_is_in_progress() -> None:
    pending = {
        "conditions": [
            cond("Accepted", "Unknown", "Pending", "Waiting for controller", gen=None),
            cond("Programmed", "Unknown", "Pending", "Waiting for controller", gen=None),
        ]
    }
    obj = gateway()
    obj["status"] = pending
    assert gateway_verdict(obj, GW) == st.Verdict("progressing", "not accepted yet: Waiting for controller")


def test_a_listener_waiting_for_its_certificate_secret_is_progress_not_failure() -> None:
    waiting = listener_status(
        "websecure",
        cond("Accepted", "True", "Accepted"),
        cond("ResolvedRefs", "False", "InvalidCertificateRef", 'Secret "traefik/apps-tls" does not exist'),
        cond("Programmed", "False", "Invalid", "Listener is invalid"),
    )
    # controllers also set Programmed=False (Invalid) on a listener whose certificate Secret is missing:
    # the normal start of a listener cert-manager's gateway-shim issues the certificate of
    obj = gateway(listeners=[listener_status("web", *LISTENER_OK), waiting])
    expected = st.Verdict(
        "progressing", 'listener websecure: references not resolved yet: Secret "traefik/apps-tls" does not exist'
    )
    assert gateway_verdict(obj, GW) == expected
    waiting["conditions"][2] = cond("Programmed", "False", "Pending", "Waiting for certificate")
    assert gateway_verdict(obj, GW) == expected
    issued = gateway(listeners=[listener_status("web", *LISTENER_OK), listener_status("websecure", *LISTENER_OK)])
    assert gateway_verdict(issued, GW).phase == "ready"


@pytest.mark.parametrize(
    "change,phase,words",
    [
        (
            {"conditions": [cond("Accepted", "False", "UnsupportedAddress", "address type Hostname")]},
            "failed",
            "UnsupportedAddress",
        ),
        (
            {
                "conditions": [
                    cond("Accepted", "True", "Accepted"),
                    cond("Programmed", "False", "AddressNotAssigned", "no address yet"),
                ]
            },
            "progressing",
            "no address yet",
        ),
        ({"listeners": [listener_status("web", *LISTENER_OK)]}, "progressing", "listener websecure: no status yet"),
        (
            {
                "listeners": [
                    listener_status("web", *LISTENER_OK),
                    listener_status(
                        "websecure",
                        *LISTENER_OK,
                        cond("Conflicted", "True", "HostnameConflict", "hostname is used by web"),
                    ),
                ]
            },
            "failed",
            "listener websecure conflicts (HostnameConflict)",
        ),
        (
            {
                "listeners": [
                    listener_status(
                        "web",
                        cond("Accepted", "False", "UnsupportedProtocol", "UDP is not supported"),
                        *LISTENER_OK[1:],
                    ),
                    listener_status("websecure", *LISTENER_OK),
                ]
            },
            "failed",
            "listener web: not accepted (UnsupportedProtocol)",
        ),
    ],
)
def test_gateway_failures_and_progress_are_named(change: dict[str, Any], phase: str, words: str) -> None:
    v = gateway_verdict(gateway(**change), GW)
    assert v.phase == phase and words in v.message, v


def test_a_gateway_status_of_an_older_generation_does_not_count() -> None:
    obj = gateway()
    obj["metadata"]["generation"] = 2
    v = gateway_verdict(obj, GW)
    assert v.phase == "progressing" and "generation 2" in v.message


# -- HTTPRoute -------------------------------------------------------------------------------------------
def route(
    parents: list[dict[str, Any]], refs: list[dict[str, Any]] | None = None, generation: int = 1
) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "podinfo", "namespace": "podinfo", "generation": generation},
        "spec": {
            "parentRefs": refs
            if refs is not None
            else [{"name": "edge", "namespace": "traefik", "sectionName": "websecure"}],
            "hostnames": ["podinfo.apps.example.com"],
            "rules": [{"backendRefs": [{"name": "podinfo", "port": 9898}]}],
        },
        "status": {"parents": parents},
    }


def parent(*conds: dict[str, Any], name: str = "edge", section: str | None = "websecure") -> dict[str, Any]:
    ref: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": name,
        "namespace": "traefik",
    }
    if section:
        ref["sectionName"] = section
    return {"parentRef": ref, "controllerName": CONTROLLER, "conditions": list(conds)}


ROUTE_OK = (
    cond("Accepted", "True", "Accepted", "Route is accepted"),
    cond("ResolvedRefs", "True", "ResolvedRefs", "Resolved all references"),
)
RT = ctx("HTTPRoute", "podinfo", "podinfo")


def test_a_route_accepted_with_its_references_resolved_by_every_parent_is_ready() -> None:
    assert http_route_verdict(route([parent(*ROUTE_OK)]), RT) == st.Verdict(
        "ready", "accepted by Gateway traefik/edge (websecure)"
    )


def test_a_route_waits_for_each_of_its_parents() -> None:
    refs = [
        {"name": "edge", "namespace": "traefik", "sectionName": "websecure"},
        {"name": "internal", "namespace": "traefik"},
    ]
    v = http_route_verdict(route([parent(*ROUTE_OK)], refs=refs), RT)
    assert v == st.Verdict("progressing", "not accepted by Gateway traefik/internal yet")
    both = route([parent(*ROUTE_OK), parent(*ROUTE_OK, name="internal", section=None)], refs=refs)
    assert http_route_verdict(both, RT).phase == "ready"


def test_a_missing_backend_is_progress_and_a_route_the_listeners_refuse_fails() -> None:
    missing = route(
        [parent(ROUTE_OK[0], cond("ResolvedRefs", "False", "BackendNotFound", 'service "podinfo/podinfo" not found'))]
    )
    assert http_route_verdict(missing, RT) == st.Verdict(
        "progressing",
        'Gateway traefik/edge (websecure): references not resolved yet: service "podinfo/podinfo" not found',
    )
    refused = route(
        [
            parent(
                cond("Accepted", "False", "NotAllowedByListeners", "no listener allows routes from podinfo"),
                ROUTE_OK[1],
            )
        ]
    )
    v = http_route_verdict(refused, RT)
    assert v.phase == "failed" and "NotAllowedByListeners" in v.message


def test_a_route_status_of_an_older_generation_or_without_parents_does_not_count() -> None:
    stale = route([parent(*ROUTE_OK)], generation=2)
    v = http_route_verdict(stale, RT)
    assert v.phase == "progressing" and "generation 2" in v.message
    assert http_route_verdict(route([], refs=[]), RT).phase == "failed"
    assert http_route_verdict(None, RT).phase == "waiting"


def test_the_gateway_kinds_are_in_the_table_with_these_verdicts() -> None:
    assert KINDS["GatewayClass"].verdict is gateway_class_verdict and not KINDS["GatewayClass"].namespaced
    assert KINDS["Gateway"].verdict is gateway_verdict and KINDS["HTTPRoute"].verdict is http_route_verdict
    assert KINDS["HTTPRoute"].path("podinfo") == "/apis/gateway.networking.k8s.io/v1/namespaces/podinfo/httproutes"
    unserved = KINDS["Gateway"].unserved()
    assert unserved == st.Verdict("waiting", "the Gateway API's CRDs are not installed yet")
