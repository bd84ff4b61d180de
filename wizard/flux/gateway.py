"""Pure status logic of the Gateway API kinds (gateway.networking.k8s.io/v1): GatewayClass, Gateway
(with its listeners) and HTTPRoute (per parent), each read as its controller reports it.

Failed only for reasons the specification gives to configuration that no retry fixes (an invalid
Gateway, an unsupported protocol, a route its listeners do not allow); a reference that does not
resolve yet (a certificate Secret cert-manager has not issued, a backend Service a chart has not
created) is progress, named, and the timeout names it if it never resolves. ``Programmed`` is never
a failure by itself: controllers set it False (reason Invalid) on a listener whose certificate
Secret does not exist yet, which is the normal start of a cert-manager-issued listener. A condition counts
only at the object's current generation (its ``observedGeneration``).
"""

from __future__ import annotations

from typing import Any

from wizard.flux.status import FAILED, PROGRESSING, READY, WAITING, Context, Verdict, conditions
from wizard.flux.status import _msg as said

GROUP = "gateway.networking.k8s.io"

CLASS_TERMINAL = frozenset({"InvalidParameters", "Unsupported", "UnsupportedVersion"})
GATEWAY_TERMINAL = frozenset({"Invalid", "InvalidParameters", "UnsupportedAddress"})
LISTENER_TERMINAL = {
    "Accepted": frozenset({"UnsupportedProtocol", "UnsupportedValue"}),
    "ResolvedRefs": frozenset({"InvalidRouteKinds", "InvalidCACertificateKind"}),
    "Programmed": frozenset(),
}
ROUTE_TERMINAL = {
    "Accepted": frozenset(
        {"NotAllowedByListeners", "NoMatchingListenerHostname", "UnsupportedValue", "IncompatibleFilters"}
    ),
    "ResolvedRefs": frozenset({"InvalidKind", "UnsupportedProtocol"}),
}


NOT = {"Accepted": "not accepted", "Programmed": "not programmed", "ResolvedRefs": "references not resolved"}


def _generation(obj: dict[str, Any]) -> int | None:
    gen = (obj.get("metadata") or {}).get("generation")
    return int(gen) if gen is not None else None


def _current(obj: dict[str, Any], c: dict[str, Any] | None) -> bool:
    """A condition written for the object's current generation (or one that does not say)."""
    gen, seen = _generation(obj), (c or {}).get("observedGeneration")
    return c is not None and (gen is None or seen is None or int(seen) >= gen)


def _check(
    obj: dict[str, Any], conds: dict[str, dict[str, Any]], ctype: str, terminal: frozenset[str], who: str
) -> Verdict | None:
    """None when condition ``ctype`` is True now; else why not (failed for a ``terminal`` reason)."""
    c = conds.get(ctype)
    if not _current(obj, c):
        return Verdict(PROGRESSING, f"waiting for {who} to report {ctype} for generation {_generation(obj)}")
    assert c is not None
    status, reason = str(c.get("status")), str(c.get("reason") or "")
    if status == "True":
        return None
    text = said(c) or f"{ctype} is {status}"
    if status == "False" and reason in terminal:
        return Verdict(FAILED, f"{NOT[ctype]} ({reason}): {text}")
    return Verdict(PROGRESSING, f"{NOT[ctype]} yet: {text}")


def _worst(found: list[Verdict]) -> Verdict | None:
    """The first failure, else the first thing in progress."""
    return next((v for v in found if v.phase == FAILED), None) or (found[0] if found else None)


def gateway_class_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    """Ready once its controller has Accepted it."""
    if obj is None:
        return Verdict(WAITING, "not created yet")
    controller = str((obj.get("spec") or {}).get("controllerName") or "its controller")
    conds = conditions(obj)
    found = [_check(obj, conds, "Accepted", CLASS_TERMINAL, controller)]
    version = conds.get("SupportedVersion")
    if version is not None and str(version.get("status")) == "False":
        found.append(Verdict(FAILED, f"SupportedVersion is False: {said(version)}"))
    worst = _worst([v for v in found if v is not None])
    return worst or Verdict(READY, f"accepted by {controller}")


def _listeners(obj: dict[str, Any]) -> list[Verdict]:
    """What is wrong with the Gateway's listeners, each named (a listener without status yet too)."""
    out: list[Verdict] = []
    reported = {
        str(ls.get("name")): ls for ls in (obj.get("status") or {}).get("listeners") or [] if isinstance(ls, dict)
    }
    for spec in (obj.get("spec") or {}).get("listeners") or []:
        name = str((spec or {}).get("name") or "")
        ls = reported.get(name)
        if ls is None:
            out.append(Verdict(PROGRESSING, f"listener {name}: no status yet"))
            continue
        conds = {str(c.get("type")): c for c in ls.get("conditions") or [] if isinstance(c, dict)}
        conflict = conds.get("Conflicted")
        if conflict is not None and str(conflict.get("status")) == "True":
            out.append(Verdict(FAILED, f"listener {name} conflicts ({conflict.get('reason')}): {said(conflict)}"))
        for ctype, terminal in LISTENER_TERMINAL.items():
            v = _check(obj, conds, ctype, terminal, "the controller")
            if v is not None:
                out.append(Verdict(v.phase, f"listener {name}: {v.message}"))
    return out


def gateway_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    """Ready once Accepted and Programmed, with every listener Accepted, ResolvedRefs and Programmed
    and none Conflicted, all at the current generation."""
    if obj is None:
        return Verdict(WAITING, "not created yet")
    conds = conditions(obj)
    accepted = _check(obj, conds, "Accepted", GATEWAY_TERMINAL, "the controller")
    if accepted is not None and accepted.phase == FAILED:
        return accepted
    found = [v for v in (accepted, _check(obj, conds, "Programmed", frozenset(), "the controller")) if v]
    worst = _worst(found + _listeners(obj))
    if worst is not None:
        return worst
    addresses = [str(a.get("value")) for a in (obj.get("status") or {}).get("addresses") or [] if isinstance(a, dict)]
    return Verdict(READY, f"programmed at {', '.join(addresses)}" if addresses else said(conds.get("Programmed")))


def _parent_key(ref: dict[str, Any], namespace: str) -> tuple[str, str, str, str, str, str]:
    return (
        str(ref.get("group") if ref.get("group") is not None else GROUP),
        str(ref.get("kind") or "Gateway"),
        str(ref.get("namespace") or namespace),
        str(ref.get("name") or ""),
        str(ref.get("sectionName") or ""),
        str(ref.get("port") or ""),
    )


def _parent_label(key: tuple[str, str, str, str, str, str]) -> str:
    _, kind, ns, name, section, port = key
    return f"{kind} {ns}/{name}" + (f" ({section})" if section else "") + (f" port {port}" if port else "")


def http_route_verdict(obj: dict[str, Any] | None, ctx: Context) -> Verdict:
    """Ready once every parent in ``spec.parentRefs`` reports it Accepted with ResolvedRefs."""
    if obj is None:
        return Verdict(WAITING, "not created yet")
    ns = str((obj.get("metadata") or {}).get("namespace") or ctx.namespace)
    reported = {
        _parent_key(p.get("parentRef") or {}, ns): p
        for p in (obj.get("status") or {}).get("parents") or []
        if isinstance(p, dict)
    }
    refs = [_parent_key(r, ns) for r in (obj.get("spec") or {}).get("parentRefs") or [] if isinstance(r, dict)]
    if not refs:
        return Verdict(FAILED, "it names no parent (spec.parentRefs is empty), so no Gateway serves it")
    found: list[Verdict] = []
    for key in refs:
        label, parent = _parent_label(key), reported.get(key)
        if parent is None:
            found.append(Verdict(PROGRESSING, f"not accepted by {label} yet"))
            continue
        conds = {str(c.get("type")): c for c in parent.get("conditions") or [] if isinstance(c, dict)}
        for ctype, terminal in ROUTE_TERMINAL.items():
            v = _check(obj, conds, ctype, terminal, label)
            if v is not None:
                found.append(Verdict(v.phase, f"{label}: {v.message}"))
    worst = _worst(found)
    return worst or Verdict(READY, "accepted by " + ", ".join(_parent_label(k) for k in refs))
