"""The owner of background work: it keeps work alive until it ends, waits for it on
`drain` and at close (within the grace period, then cancels it), reports failures without
stopping, and refuses work when no application is running."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from adapters.background.task_group import BackgroundTaskGroup
from domain.errors import ServiceUnavailable


async def test_work_is_refused_when_no_application_runs() -> None:
    tasks = BackgroundTaskGroup()
    done: list[str] = []

    async def work() -> None:
        done.append("ran")

    with pytest.raises(RuntimeError, match="needs a running application"):
        tasks.spawn(work(), name="early")
    await tasks.start()
    await tasks.close(grace_seconds=1)
    with pytest.raises(RuntimeError, match="needs a running application"):
        tasks.spawn(work(), name="late")
    assert done == []


async def test_drain_waits_for_work_and_the_work_it_starts() -> None:
    tasks = BackgroundTaskGroup()
    await tasks.start()
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0)
        done.append("second")

    async def first() -> int:
        await asyncio.sleep(0)
        tasks.spawn(second(), name="second")
        done.append("first")
        return 42

    outcome = tasks.spawn(first(), name="first")
    await tasks.drain()
    assert done == ["first", "second"]
    assert outcome.result() == 42
    await tasks.close(grace_seconds=1)


async def test_a_failure_is_logged_and_handed_to_whoever_waits_and_nothing_else_stops() -> None:
    tasks = BackgroundTaskGroup()
    await tasks.start()
    done: list[str] = []

    async def failing() -> None:
        raise ServiceUnavailable("the index is down")

    async def crashing() -> None:
        raise ZeroDivisionError

    async def fine() -> None:
        await asyncio.sleep(0)
        done.append("fine")

    with capture_logs() as logs:
        failed = tasks.spawn(failing(), name="write_index")
        tasks.spawn(crashing(), name="buggy")
        tasks.spawn(fine(), name="fine")
        await tasks.drain()
    assert done == ["fine"]
    with pytest.raises(ServiceUnavailable):
        await failed
    events = {(e["event"], e["task"]) for e in logs}
    assert ("background_work_failed", "write_index") in events
    assert ("background_work_crashed", "buggy") in events
    assert tasks.running
    await tasks.close(grace_seconds=1)


async def test_close_waits_for_work_in_flight() -> None:
    tasks = BackgroundTaskGroup()
    await tasks.start()
    release = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await release.wait()
        done.append("slow")

    tasks.spawn(slow(), name="slow")
    closing = asyncio.create_task(tasks.close(grace_seconds=60))
    await asyncio.sleep(0)
    assert not closing.done() and done == []
    release.set()
    await closing
    assert done == ["slow"]


async def test_work_still_running_after_the_grace_period_is_cancelled_and_cleans_up() -> None:
    tasks = BackgroundTaskGroup()
    await tasks.start()
    cleaned: list[str] = []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()  # never set
        finally:
            cleaned.append("stuck")

    outcome = tasks.spawn(stuck(), name="stuck")
    with capture_logs() as logs:
        await tasks.close(grace_seconds=0.01)
    assert cleaned == ["stuck"]
    assert outcome.cancelled()
    assert [e["tasks"] for e in logs if e["event"] == "background_work_cancelled"] == [["stuck"]]
    assert tasks.pending == []


async def test_a_service_is_not_drained_but_ends_with_the_group() -> None:
    tasks = BackgroundTaskGroup()
    await tasks.start()
    stop = asyncio.Event()
    ticks: list[str] = []

    async def service() -> None:
        while not stop.is_set():
            ticks.append("tick")
            await asyncio.sleep(0)

    tasks.start_service(service(), name="reconciler")
    await asyncio.sleep(0)
    await tasks.drain()  # returns although the service runs on
    assert tasks.pending == ["reconciler"]
    stop.set()
    await tasks.close(grace_seconds=60)
    assert tasks.pending == [] and ticks
