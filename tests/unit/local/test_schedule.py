"""The analytics schedule: one run per burst of ingests, after the quiet period; never while an
ingest runs; on demand without the wait."""

from __future__ import annotations

import threading

from retail_lake.local._schedule import AnalyticsSchedule


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_debounced_after_the_last_ingest() -> None:
    clock = Clock()
    s = AnalyticsSchedule(3.0, clock=clock)
    assert s.seconds_until_due() is None  # nothing to do
    s.begin()
    clock.now = 1.0
    s.end(changed=True)
    clock.now = 2.0
    s.begin()  # a second file of the same burst
    clock.now = 10.0
    assert s.seconds_until_due() == 3.0  # busy: not while an ingest runs
    s.end(changed=False)
    clock.now = 12.0
    assert s.seconds_until_due() == 1.0
    clock.now = 13.0
    assert s.seconds_until_due() == 0.0
    assert s.take() == "new uploads ingested" and s.seconds_until_due() is None


def test_an_ingest_that_changed_nothing_schedules_nothing() -> None:
    s = AnalyticsSchedule(3.0, clock=Clock())
    s.begin()
    s.end(changed=False)
    assert s.seconds_until_due() is None


def test_activity_pushes_the_run_back() -> None:
    clock = Clock()
    s = AnalyticsSchedule(3.0, clock=clock)
    s.changed()
    clock.now = 2.5
    s.activity()  # a file is still being copied
    clock.now = 5.0
    assert s.seconds_until_due() == 0.5


def test_a_request_runs_without_the_wait_but_not_during_an_ingest() -> None:
    clock = Clock()
    s = AnalyticsSchedule(3.0, clock=clock)
    s.begin()
    s.request(".refresh touched")
    assert s.seconds_until_due() == 3.0
    s.end(changed=False)
    assert s.seconds_until_due() == 0.0 and s.take() == ".refresh touched"


def test_wait_due_returns_false_when_stopped() -> None:
    s = AnalyticsSchedule(3.0)
    stop = threading.Event()
    stop.set()
    assert s.wait_due(stop) is False
    s.request()
    assert s.wait_due(threading.Event()) is True
