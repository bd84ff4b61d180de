"""Events in lockstep with the one who renders them: a stage's next step runs only after the
consumer is done with its last event. So when the consumer stops (Ctrl-C while rendering, a quit,
``Services.cancel``), nothing was done that it did not see.

Two producers: a coroutine (the run's stages, which ``await emit(event)`` and return their result,
:class:`Channel`) and a blocking generator in a worker thread (the engine's writes,
:func:`iterate_in_thread`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from wizard import events as ev

T = TypeVar("T")
Emit = Callable[[ev.Event], Awaitable[None]]


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


class Channel:
    """Carries the events a producer coroutine emits to the consumer of :meth:`events`, one at a
    time: :meth:`emit` returns once the consumer asks for the next event. The producer runs as its
    own task; whatever it raises (KeyboardInterrupt included) is raised in the consumer, after every
    event emitted before it. Emit from the producer's own task only, one event at a time."""

    def __init__(self) -> None:
        self._offered: asyncio.Future[ev.Event] | None = None
        self._taken: asyncio.Future[None] | None = None

    async def emit(self, event: ev.Event) -> None:
        offered = self._offered
        assert offered is not None and not offered.done(), "emit outside Channel.events, or from two tasks at once"
        taken = self._taken = asyncio.get_running_loop().create_future()
        offered.set_result(event)
        await taken

    async def events(self, producer: Coroutine[Any, Any, ev.Event | None]) -> AsyncGenerator[ev.Event, None]:
        """Each event the producer emits, then the one it returns (if any)."""
        loop = asyncio.get_running_loop()
        self._offered = loop.create_future()
        task = loop.create_task(_caught(producer))
        try:
            while True:
                await asyncio.wait((self._offered, task), return_when=asyncio.FIRST_COMPLETED)
                if self._offered.done():
                    event = self._offered.result()
                    self._offered = loop.create_future()
                    yield event
                    assert self._taken is not None
                    self._taken.set_result(None)  # the consumer is back for the next one: go on
                    continue
                last, error = task.result()
                if error is not None:
                    raise error
                if last is not None:
                    yield last
                return
        finally:
            if not task.done():  # the consumer stopped: so does the producer, where it waits
                task.cancel()
                await asyncio.wait((task,))


async def _caught(producer: Coroutine[Any, Any, T]) -> tuple[T | None, BaseException | None]:
    """The producer's result or what it raised, to be raised in the consumer's task (a
    KeyboardInterrupt raised inside a task would otherwise stop the event loop itself)."""
    try:
        return await producer, None
    except BaseException as exc:
        return None, exc


async def iterate_in_thread(gen: Iterator[ev.Event], cancel: threading.Event) -> AsyncGenerator[ev.Event, None]:
    """Run a blocking generator (the engine's writes) in a worker thread, in lockstep with the consumer:
    the generator goes on only after the consumer is done with the previous event. So when the
    consumer stops (Ctrl-C while rendering, a quit, ``cancel``), the thread stops before its next step.
    Close it (``contextlib.aclosing``) to stop the thread at once."""
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
                go_on.set()  # the consumer is done with it: the generator goes on
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        go_on.set()
        worker.join(timeout=60)
