"""The one backoff helper: doubling delays with a cap, a limit on attempts, reset on success."""

from __future__ import annotations

import asyncio

from wizard.retry import Backoff


def test_delays_double_up_to_the_cap_and_reset() -> None:
    b = Backoff(first=0.5, cap=3.0)
    assert [b.delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.delay() == 0.5


def test_wait_stops_after_the_attempts_without_sleeping() -> None:
    b = Backoff(first=0.0, cap=0.0, attempts=2)

    async def go() -> list[bool]:
        return [await b.wait() for _ in range(4)]

    assert asyncio.run(go()) == [True, True, False, False]
    assert b.exhausted and b.tried == 2
