"""The run's SIGINT/SIGTERM handlers on the event loop, and giving the old ones back."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: What ``install`` replaced: (signal, previous handler) pairs for ``restore``.
Saved = list[tuple[int, Any]]


def install(on_signal: Callable[[signal.Signals], None]) -> Saved:
    """Route SIGINT and SIGTERM to ``on_signal`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    loop = asyncio.get_running_loop()
    saved: Saved = []
    for sig in STOP_SIGNALS:
        try:
            previous = signal.getsignal(sig)
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        saved.append((sig, previous))
    return saved


def restore(saved: Saved) -> None:
    """Give back the handlers ``install`` replaced."""
    loop = asyncio.get_running_loop()
    for sig, previous in saved:
        loop.remove_signal_handler(sig)
        with contextlib.suppress(TypeError, ValueError):
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
