"""Typed events: everything the flow tells a front end, and every ``--json`` record.

Front ends only render these. Each event is a frozen dataclass; ``to_json()`` gives one JSON
object with ``"event": <class name>`` and the fields, and :func:`json_schema` documents all of
them at once (README "JSON output"; a test validates every record the tests produce against it).
"""

from __future__ import annotations

import dataclasses
import time
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base class. The JSON discriminator is the class name."""

    doc: ClassVar[str] = ""
    # fields left out of the JSON record while they hold their default (``replayed``: only a replay says so)
    sparse: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in self.sparse:
            if not data[name]:
                del data[name]
        data["event"] = type(self).__name__
        return data


# -- stages -----------------------------------------------------------------------------------------
STAGES = ("preflight", "answers", "steps", "token", "review", "write", "watch", "prove", "diagnose", "done")


@dataclass(frozen=True)
class Stage(Event):
    """The flow entered a stage (one of ``STAGES``)."""

    name: str


# -- preflight --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check(Event):
    """One preflight finding: ``ok``, ``warn`` or ``fail``. A failed check with ``blocking`` stops the
    flow before anything is written."""

    name: str
    status: str
    detail: str
    fix: str = ""
    blocking: bool = False


# -- steps and plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepRow(Event):
    """A step and its state: ``new``, ``changes``, ``up to date``, ``blocked`` or ``removed`` (``problem``
    says why, or how to add a removed step back)."""

    step: str
    title: str
    state: str
    summary: str
    problem: str = ""


@dataclass(frozen=True)
class FileChange(Event):
    """A file the plan writes: ``new`` or ``changed``, with its unified diff."""

    path: str
    status: str
    steps: tuple[str, ...] = ()
    diff: str = ""


@dataclass(frozen=True)
class SecretChange(Event):
    """A sops-encrypted Secret the plan writes (its value is never shown)."""

    path: str
    status: str  # new | exists | replace | rekey (exists under another key: written anew with the token)
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class Migration(Event):
    """What a step adopts as the repository has it, or migrates in it (an old key replaced, a beta API
    moved to GA, an object managed in the file that declares it); shown before the confirmation."""

    step: str
    message: str


@dataclass(frozen=True)
class Attention(Event):
    """Changes that need their own confirmation, under their own heading (the values of an ingress
    controller that already serves other apps). ``flag`` is the ``run`` option that accepts them."""

    step: str
    heading: str
    items: tuple[str, ...] = ()
    flag: str = "--accept-controller-changes"


@dataclass(frozen=True)
class OutsideAction(Event):
    """Something the run will do outside the repository (age key, cluster Secret); announced before
    the confirmation."""

    description: str


@dataclass(frozen=True)
class PlanReady(Event):
    steps: tuple[str, ...]
    files: tuple[str, ...]
    secrets: tuple[str, ...] = ()


# -- write, commit, push ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FileWritten(Event):
    path: str
    removed: bool = False  # the plan deleted the file (Flux prunes what it declared)


@dataclass(frozen=True)
class SecretEncrypted(Event):
    path: str
    recipients: tuple[str, ...] = ()
    changed: bool = True


@dataclass(frozen=True)
class Committed(Event):
    sha: str
    subject: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class PushProgress(Event):
    stage: str
    percent: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Pushed(Event):
    sha: str
    remote: str
    branch: str


# -- the cluster ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectState(Event):
    """A Flux or workload object's phase: ``waiting``, ``progressing``, ``ready`` or ``failed``."""

    kind: str
    namespace: str
    name: str
    phase: str
    message: str = ""
    since: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Finding(Event):
    """A doctor finding (``error``, ``warning`` or ``info``) with why it matters and the fix."""

    id: str
    severity: str
    seen: str
    why: str
    fix: str
    path: str | None = None
    object: str | None = None
    command: str | None = None


# -- the proof ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProofCheck(Event):
    """One check of the proof (``dns-record``, ``addresses``, ``port-80``, ``certificate``, ``https``):
    ``ok``, ``warn``, ``skip`` or ``fail``, with what was seen and, when it is not ok, the fix.
    ``replayed`` (present only when true): a recorded check played back (the demo), nothing was checked."""

    sparse: ClassVar[tuple[str, ...]] = ("replayed",)

    check: str
    status: str
    seen: str
    fix: str = ""
    replayed: bool = False


@dataclass(frozen=True)
class Proof(Event):
    """The edge as checked: the addresses the host resolves to, the certificate served (issuer, names,
    expiry, whether its chain was verified), the HTTPS status and how long the request took.
    ``issuer`` is the ClusterIssuer proven (``letsencrypt-staging`` or ``letsencrypt-production``).
    ``replayed`` (present only when true): a recorded proof played back (the demo): nothing was resolved
    or requested, so nothing is proven."""

    sparse: ClassVar[tuple[str, ...]] = ("replayed",)

    host: str
    proven: bool
    issuer: str = ""
    addresses: tuple[str, ...] = ()
    cert_issuer: str = ""
    names: tuple[str, ...] = ()
    not_after: str = ""
    verified: bool = False
    status: int | None = None
    seconds: float | None = None
    replayed: bool = False


# -- messages -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hint(Event):
    message: str


@dataclass(frozen=True)
class Warning(Event):  # noqa: A001 - the design names it so; used qualified or imported by name
    message: str
    step: str = ""


@dataclass(frozen=True)
class Info(Event):
    message: str


@dataclass(frozen=True)
class Caption(Event):
    """Why this stage is there, in one short line (``edge-wizard demo``: screencasts that teach);
    ``stage`` is the stage it belongs to (one of ``STAGES``)."""

    stage: str
    text: str


# -- the end ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failed(Event):
    """The flow stopped: ``exit_code`` 1 (a stage failed), 2 (bad input, nothing written) or 3 (timed
    out waiting for the cluster)."""

    message: str
    exit_code: int = 1


@dataclass(frozen=True)
class Done(Event):
    """The flow finished (exit 0). ``outcome``: ``nothing-to-do``, ``declined``, ``written``
    (not committed), ``committed`` (not pushed), ``pushed`` (not followed: ``message`` says why),
    ``reconciled`` (Flux reported every object ready), ``proven`` (the edge was checked) or ``removed``
    (``run STEP --remove``: Flux pruned what the steps had set up). ``replayed`` (present only when
    true): the watch and the proof were recorded events played back (the demo), not a live cluster:
    the outcome is what the recording shows, and nothing was checked."""

    sparse: ClassVar[tuple[str, ...]] = ("replayed",)

    message: str = ""
    url: str = ""
    outcome: str = "reconciled"
    sha: str = ""
    replayed: bool = False


ALL: tuple[type[Event], ...] = (
    Stage,
    Check,
    StepRow,
    FileChange,
    SecretChange,
    Migration,
    Attention,
    OutsideAction,
    PlanReady,
    FileWritten,
    SecretEncrypted,
    Committed,
    PushProgress,
    Pushed,
    ObjectState,
    Finding,
    ProofCheck,
    Proof,
    Hint,
    Warning,
    Info,
    Caption,
    Failed,
    Done,
)


# -- the JSON schema --------------------------------------------------------------------------------
def _type_schema(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a) for a in typing.get_args(tp)]}
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return {"type": "array", "items": _type_schema(item)}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON schema for {tp!r}")


def json_schema() -> dict[str, Any]:
    """One JSON Schema (draft 2020-12) for every record ``--json`` prints."""
    variants = []
    for cls in ALL:
        hints = typing.get_type_hints(cls)
        props: dict[str, Any] = {"event": {"const": cls.__name__}}
        required = ["event"]
        for f in dataclasses.fields(cls):
            props[f.name] = _type_schema(hints[f.name])
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        doc = (cls.__doc__ or "").strip()
        variants.append(
            {
                "title": cls.__name__,
                "description": " ".join(doc.split()),
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "edge-wizard --json records (one per line)",
        "oneOf": variants,
    }
