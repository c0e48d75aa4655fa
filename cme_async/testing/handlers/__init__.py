"""The emulated actions, one module per ActionClass, each with an explicit ``HANDLERS`` table.

``material_ai`` holds the Material class's AI-result ("媒体物料") actions, kept apart
from ``material`` for size.  Nothing registers itself on import: :func:`dispatch_table`
joins the tables, and the app builds its routes from it.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import material, material_ai, project, task, team
from ._common import Ctx, Handler

__all__ = ["Ctx", "Handler", "dispatch_table"]

_TABLES: tuple[Mapping[str, Handler], ...] = (
    material.HANDLERS,
    material_ai.HANDLERS,
    project.HANDLERS,
    team.HANDLERS,
    task.HANDLERS,
)


def dispatch_table() -> dict[str, Handler]:
    """Every handler keyed ``"Class/Name"`` (a fresh dict: callers may change theirs)."""
    table: dict[str, Handler] = {}
    for handlers in _TABLES:
        for key, handler in handlers.items():
            if key in table:
                raise RuntimeError(f"two handlers for {key}")
            table[key] = handler
    return table
