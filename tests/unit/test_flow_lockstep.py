"""The channel between the stages and the consumer (wizard.flow.lockstep): lockstep, the producer's
errors after its events, a consumer that stops stops the producer."""

from __future__ import annotations

import asyncio

import pytest

from wizard import events as ev
from wizard.errors import UserError
from wizard.flow.lockstep import Channel


async def test_channel_runs_the_producer_only_as_far_as_the_consumer_has_read() -> None:
    steps: list[str] = []
    channel = Channel()

    async def producer() -> ev.Done:
        for n in range(3):
            steps.append(f"before {n}")
            await channel.emit(ev.Info(str(n)))
        steps.append("end")
        return ev.Done("done")

    events = channel.events(producer())
    first = await anext(events)
    await asyncio.sleep(0.01)  # the producer had every chance to run ahead
    assert first == ev.Info("0") and steps == ["before 0"]
    assert [e async for e in events] == [ev.Info("1"), ev.Info("2"), ev.Done("done")]
    assert steps == ["before 0", "before 1", "before 2", "end"]


@pytest.mark.parametrize("error", [UserError("refused"), KeyboardInterrupt()])
async def test_channel_raises_the_producers_error_in_the_consumer_after_its_events(error: BaseException) -> None:
    channel = Channel()

    async def producer() -> None:
        await channel.emit(ev.Info("one"))
        raise error

    seen: list[ev.Event] = []
    with pytest.raises(type(error)):
        async for e in channel.events(producer()):
            seen.append(e)
    assert seen == [ev.Info("one")]


async def test_a_consumer_that_stops_stops_the_producer_where_it_waits() -> None:
    channel = Channel()
    reached: list[str] = []

    async def producer() -> None:
        try:
            await channel.emit(ev.Info("one"))
            reached.append("after one")
        finally:
            reached.append("cleaned up")

    events = channel.events(producer())
    assert await anext(events) == ev.Info("one")
    await events.aclose()
    assert reached == ["cleaned up"]
