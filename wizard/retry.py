"""The one retry/backoff helper: exponential delays with a cap, reset on success.

    backoff = Backoff(first=0.5, cap=5.0)
    while True:
        try: ...; backoff.reset()
        except TransientError: await backoff.wait()

Every retry loop of the cluster side (the watch streams, reconcile requests, doctor's reads) uses
it, so the delays are the same everywhere and can be read in one place.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Backoff:
    first: float = 0.5
    cap: float = 5.0
    factor: float = 2.0
    attempts: int | None = None  # None: no limit
    _next: float = field(default=0.0, init=False)
    tried: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._next = self.first

    @property
    def exhausted(self) -> bool:
        return self.attempts is not None and self.tried >= self.attempts

    def delay(self) -> float:
        """The next delay (and count the attempt)."""
        d = self._next
        self._next = min(self._next * self.factor, self.cap)
        self.tried += 1
        return d

    async def wait(self) -> bool:
        """Sleep the next delay; False (without sleeping) when the attempts are used up."""
        if self.exhausted:
            return False
        await asyncio.sleep(self.delay())
        return True

    def reset(self) -> None:
        self._next = self.first
