"""The recorded reconcile: ``assets/replay/edge.yaml`` played back as the flow's watch stage, labelled
"replayed" (its Done carries ``replayed``) so nobody mistakes it for a live cluster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard import events as ev

REPLAY_LABEL = "replayed: recorded events, not a live cluster"


@dataclass(frozen=True)
class Timeline:
    name: str
    events: tuple[dict[str, Any], ...]
    done: dict[str, Any]
    source: str


def timeline_path(name: str = "edge") -> Path:
    from wizard.catalog import assets_dir

    return assets_dir() / "replay" / f"{name}.yaml"


def load_timeline(path: Path | None = None) -> Timeline:
    from wizard import yamlio

    path = path or timeline_path()
    data = yamlio.load_plain(path.read_text(encoding="utf-8"))[0]
    rows = sorted((dict(e) for e in data["events"]), key=lambda e: float(e["at"]))
    for e in rows:
        if e["phase"] not in ("waiting", "progressing", "ready", "failed"):
            raise ValueError(f"{path}: unknown phase {e['phase']!r}")
    return Timeline(
        name=data.get("name", path.stem),
        events=tuple(rows),
        done=dict(data["done"]),
        source=f"assets/replay/{path.name}",
    )


def replay_plan(
    timeline: Timeline, *, steps: Iterable[str] | None, sha: str | None, answers: Any = None
) -> list[tuple[float, ev.Event]]:
    """(seconds after the push, event) pairs for the steps that ran, placeholders filled in.
    ObjectState.since is set when the event is played."""
    ran = set(steps) if steps else None
    host = getattr(answers, "resolved_host", None) or "podinfo.apps.k8s.example.com"
    zone = getattr(answers, "resolved_zone", None) or "example.com"
    sha = sha or "0" * 40
    fill = {"sha": sha, "short": sha[:10], "host": host, "zone": zone}
    out: list[tuple[float, ev.Event]] = [
        (0.0, ev.Info(f"replayed: a recorded event timeline ({timeline.source}), not a live cluster"))
    ]
    for e in timeline.events:
        if e.get("step") and ran is not None and e["step"] not in ran:
            continue
        out.append(
            (
                float(e["at"]),
                ev.ObjectState(
                    kind=e["kind"],
                    namespace=e.get("namespace") or "",
                    name=e["name"],
                    phase=e["phase"],
                    message=str(e.get("message", "")).format(**fill),
                ),
            )
        )
    d = timeline.done
    message, url = str(d["message"]).format(**fill), str(d.get("url", "")).format(**fill)
    out.append((float(d["at"]), ev.Done(message=message, url=url, replayed=True)))
    return out


def _stamp(event: ev.Event, now: float) -> ev.Event:
    if isinstance(event, ev.ObjectState):
        from dataclasses import replace

        return replace(event, since=now)
    return event


def replay(
    plan: list[tuple[float, ev.Event]],
    pace: float = 1.0,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[ev.Event]:
    """Play the events at real speed times ``pace`` (0: all at once)."""
    last = 0.0
    for at, event in plan:
        if pace > 0 and at > last:
            sleep((at - last) * pace)
        last = max(last, at)
        yield _stamp(event, clock())


async def areplay(
    plan: list[tuple[float, ev.Event]], pace: float = 1.0, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[ev.Event]:
    last = 0.0
    for at, event in plan:
        await asyncio.sleep((at - last) * pace if pace > 0 and at > last else 0)
        last = max(last, at)
        yield _stamp(event, clock())


class ReplayWatcher:
    """The flow's watcher for the demo: the recorded timeline for the steps that ran, at ``pace``."""

    needs_cluster = False

    def __init__(
        self,
        pace: float = 1.0,
        *,
        clock: Callable[[], float] = time.time,
        timeline: Timeline | None = None,
        answers: Any = None,
    ) -> None:
        self.pace = pace
        self.clock = clock
        self.timeline = timeline or load_timeline()
        self.answers = answers

    async def follow(self, layout: Any, plan: Any, sha: str | None, *, timeout: float) -> AsyncIterator[ev.Event]:
        steps = [s.step for s in plan.steps] if plan is not None else None
        answers = self.answers if self.answers is not None else _state_answers(layout)
        for_plan = replay_plan(self.timeline, steps=steps, sha=sha, answers=answers)
        async for event in areplay(for_plan, self.pace, clock=self.clock):
            yield event


def _state_answers(layout: Any) -> Any:
    """The answers the run just committed (its state file), for the timeline's placeholders."""
    from wizard import answers as answers_mod
    from wizard.errors import UserError

    try:
        return answers_mod.build(answers_mod.read_file(answers_mod.state_path(layout.root), missing_ok=True))
    except (UserError, AttributeError):
        return None
