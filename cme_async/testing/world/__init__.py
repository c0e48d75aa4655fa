"""The emulator's world: one data space per platform, and the tickets that act in them.

``World`` holds no HTTP and no test controls; the app reads and changes it, the
façade (``FakeCme``) builds it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ... import _options
from .state import State
from .tickets import Session, Tickets

__all__ = ["Session", "State", "Tickets", "World"]


class World:
    """Every platform's records (a :class:`State` each) plus the tickets.

    A platform's space is created the first time it is asked for; ``primary`` is the
    platform of the credentials ``FakeCme`` was built with (and where seeds go by default).
    """

    def __init__(
        self,
        primary: str,
        *,
        clock: Callable[[], float],
        app_id: int = 1200000001,
        task_duration: float = 1.0,
        rng_seed: int | str | None = None,
        ticket_ttl: float | None = None,
        ai_page_size: int = 20,
    ) -> None:
        if isinstance(ai_page_size, bool) or not isinstance(ai_page_size, int) or ai_page_size < 1:
            raise ValueError(
                f"ai_page_size must be a whole number, at least 1, got {ai_page_size!r}"
            )
        self.primary = primary
        self.clock = clock
        self.app_id = app_id
        if task_duration != 0 or isinstance(task_duration, bool):
            _options.positive(task_duration, "task_duration", "seconds (or 0)")
        self.task_duration = task_duration
        self.ai_page_size = ai_page_size
        self._rng_seed = rng_seed
        self.spaces: dict[str, State] = {}
        ttl = _options.seconds(ticket_ttl, "ticket_ttl")
        self.tickets = Tickets(clock=clock, ttl=ttl, hex_id=self.space(primary).hex_id)

    def space(self, platform: str) -> State:
        found = self.spaces.get(platform)
        if found is None:
            seed = self._rng_seed
            if seed is not None and platform != self.primary:
                seed = f"{seed}/{platform}"
            found = self.spaces[platform] = State(
                clock=self.clock,
                app_id=self.app_id,
                task_duration=self.task_duration,
                rng=random.Random(seed),
            )
        return found
