"""Typed events the engine emits; front ends only render them."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base class. ``kind`` is the JSON discriminator."""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["event"] = type(self).__name__
        return data


@dataclass(frozen=True)
class PlanReady(Event):
    steps: tuple[str, ...]
    files: tuple[str, ...]
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileWritten(Event):
    path: str


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


@dataclass(frozen=True)
class ObjectState(Event):
    kind: str
    namespace: str
    name: str
    phase: str  # waiting | progressing | ready | failed
    message: str = ""
    since: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Hint(Event):
    message: str


@dataclass(frozen=True)
class Warning(Event):  # noqa: A001 - the design names it so
    message: str
    step: str = ""


@dataclass(frozen=True)
class Info(Event):
    message: str


@dataclass(frozen=True)
class Failed(Event):
    message: str
    exit_code: int = 1


@dataclass(frozen=True)
class Done(Event):
    message: str = ""
    url: str = ""
