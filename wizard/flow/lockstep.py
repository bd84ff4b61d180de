"""Blocking work off the event loop: one call in a worker thread, or a blocking generator (the
engine's writes) in lockstep with the consumer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from wizard import events as ev

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def iterate_in_thread(gen: Iterator[ev.Event], cancel: threading.Event) -> AsyncIterator[ev.Event]:
    """Run a blocking generator (the engine's writes) in a worker thread, in lockstep with the consumer:
    the next file is written only after the consumer is done with the previous event. So when the
    consumer stops (Ctrl-C while rendering, a quit, ``cancel``), nothing was written that it did not
    see, and the thread stops before the next file."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    go_on = threading.Event()
    stop = threading.Event()

    def put(kind: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is gone: nobody listens any more
            stop.set()

    def pump() -> None:
        try:
            for item in gen:
                put("event", item)
                go_on.wait()
                go_on.clear()
                if stop.is_set() or cancel.is_set():
                    break
        except BaseException as exc:  # handed to the event loop, raised there
            put("error", exc)
        else:
            put("end", None)
        finally:
            gen.close()  # type: ignore[attr-defined]

    worker = threading.Thread(target=pump, name="edge-wizard-write", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "event":
                yield value
                go_on.set()  # the consumer is done with it: write the next file
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        go_on.set()
        worker.join(timeout=60)
