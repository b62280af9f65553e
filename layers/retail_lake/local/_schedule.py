"""The nightly schedule, on demand: analytics re-run once ingests settle, and when asked.

Ingests arrive in bursts (a folder of files copied at once); running analytics after each file
would recompute every table per file. The schedule waits until nothing has happened for
``debounce_seconds`` and no ingest is running, then runs once for the whole burst.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["AnalyticsSchedule"]


class AnalyticsSchedule:
    """When to run analytics: ``changed()`` after an ingest that changed the lake, ``activity()``
    for anything that means more may come (a file settling, a batch received), ``request()`` to run
    as soon as no ingest is running. Thread-safe; ``clock`` is injectable for tests."""

    def __init__(self, debounce_seconds: float = 3.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.debounce_seconds = debounce_seconds
        self.clock = clock
        self._cond = threading.Condition()
        self._pending = False
        self._requested = False
        self._last_activity = clock()
        self._busy = 0
        self.reason = ""

    def activity(self) -> None:
        with self._cond:
            self._last_activity = self.clock()
            self._cond.notify_all()

    def begin(self) -> None:
        """An ingest started: no analytics until it ends."""
        with self._cond:
            self._busy += 1
            self._last_activity = self.clock()

    def end(self, changed: bool) -> None:
        with self._cond:
            self._busy = max(0, self._busy - 1)
            self._last_activity = self.clock()
            if changed:
                self._pending = True
                self.reason = self.reason or "new uploads ingested"
            self._cond.notify_all()

    def changed(self, reason: str = "new uploads ingested") -> None:
        with self._cond:
            self._pending = True
            self.reason = self.reason or reason
            self._last_activity = self.clock()
            self._cond.notify_all()

    def request(self, reason: str = "requested") -> None:
        with self._cond:
            self._requested = True
            self.reason = reason
            self._cond.notify_all()

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._pending or self._requested

    def seconds_until_due(self) -> float | None:
        """0 when a run is due now, None when nothing is pending, else how long to wait."""
        with self._cond:
            return self._due_in()

    def _due_in(self) -> float | None:
        if not (self._pending or self._requested):
            return None
        if self._busy:
            return self.debounce_seconds
        if self._requested:
            return 0.0
        return max(0.0, self._last_activity + self.debounce_seconds - self.clock())

    def take(self) -> str:
        """Mark the due run as started (changes from now on make another one pending); its reason."""
        with self._cond:
            reason = self.reason or "requested"
            self._pending = self._requested = False
            self.reason = ""
            return reason

    def wait_due(self, stop: threading.Event, poll: float = 0.5) -> bool:
        """Block until a run is due (True) or ``stop`` is set (False)."""
        with self._cond:
            while not stop.is_set():
                due = self._due_in()
                if due == 0.0:
                    return True
                self._cond.wait(poll if due is None else min(poll, due))
        return False
