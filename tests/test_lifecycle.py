"""Lifecycle and limits: loops, aclose with calls in flight, cancellation, concurrency, rate."""

import asyncio
import logging
import threading
import time

import httpx
import pytest
import respx

import cme_async
from tests.conftest import API, LoginCounter, ok

DELETE = f"{API}/PaaS/Material/DeleteMaterial"


def test_client_from_another_loop_gets_a_clear_error(signer: cme_async.LocalSigner) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(url__startswith="https://open.cme.qcloud.com").mock(side_effect=LoginCounter())
        mock.post(DELETE).respond(json=ok())
        client = cme_async.AsyncCmeClient(signer, "u")

        async def use() -> None:
            await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})

        asyncio.run(use())
        with pytest.raises(cme_async.EventLoopMismatchError) as info:
            asyncio.run(use())
        text = str(info.value)
        assert "one client per event loop" in text and "async with" in text
        assert "closed" in text  # the first loop is gone

        # A loop in another thread while the first one still runs.
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                asyncio.run(use())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert errors and isinstance(errors[0], cme_async.EventLoopMismatchError)


async def test_aclose_ends_calls_in_flight_with_a_clear_error(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200, json=ok())

    mock.post(DELETE).mock(side_effect=slow)
    client = cme_async.AsyncCmeClient(signer, "u")
    calls = [
        asyncio.create_task(client.call("Material", "DeleteMaterial", {"MaterialId": str(i)}))
        for i in range(20)
    ]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await client.aclose()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert time.monotonic() - started < 2
    assert all(isinstance(r, cme_async.ClientClosedError) for r in results), results
    assert "closed" in str(results[0])


async def test_user_cancellation_still_propagates(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200, json=ok())

    mock.post(DELETE).mock(side_effect=slow)
    task = asyncio.create_task(client.call("Material", "DeleteMaterial", {"MaterialId": "1"}))
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not client._shared.active


async def test_max_concurrency_bounds_calls_in_flight(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    in_flight = 0
    peak = 0

    async def count(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return httpx.Response(200, json=ok())

    mock.post(DELETE).mock(side_effect=count)
    async with cme_async.AsyncCmeClient(signer, "u", max_concurrency=7) as c:
        await asyncio.gather(
            *(c.call("Material", "DeleteMaterial", {"MaterialId": "1"}) for _ in range(100))
        )
        assert c._shared.limits.in_flight() == 0
    assert peak == 7


async def test_cancelled_calls_free_their_concurrency_slot(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=ok())

    mock.post(DELETE).mock(side_effect=slow)
    async with cme_async.AsyncCmeClient(signer, "u", max_concurrency=5) as c:
        tasks = [
            asyncio.create_task(c.call("Material", "DeleteMaterial", {"MaterialId": "1"}))
            for _ in range(50)
        ]
        await asyncio.sleep(0.01)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Exchanges already on the wire finish in the background and keep their slot
        # until then (issue 9: orphans count against max_concurrency).
        assert c._shared.limits.in_flight() <= 5
        for _ in range(200):
            if c._shared.limits.in_flight() == 0:
                break
            await asyncio.sleep(0.01)
        assert c._shared.limits.in_flight() == 0
        assert await c.call("Material", "DeleteMaterial", {"MaterialId": "1"}) is None


async def test_rate_limit_per_action(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    mock.post(DELETE).respond(json=ok())
    mock.post(f"{API}/PaaS/Task/DeleteTask").respond(json=ok())
    async with cme_async.AsyncCmeClient(
        signer, "u", action_rate_limit={"Material/DeleteMaterial": 20}
    ) as c:
        started = time.monotonic()
        await asyncio.gather(
            *(c.call("Material", "DeleteMaterial", {"MaterialId": "1"}) for _ in range(30))
        )
        limited = time.monotonic() - started
        started = time.monotonic()
        await asyncio.gather(*(c.call("Task", "DeleteTask", {"TaskId": "1"}) for _ in range(30)))
        free = time.monotonic() - started
    # a burst of 20, then 10 more at 20/s: about 0.5 s; the unlimited action does not wait
    assert 0.4 <= limited < 1.5
    assert free < 0.3


async def test_overall_rate_limit(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    mock.post(DELETE).respond(json=ok())
    async with cme_async.AsyncCmeClient(signer, "u", rate_limit=50) as c:
        started = time.monotonic()
        await asyncio.gather(
            *(c.call("Material", "DeleteMaterial", {"MaterialId": "1"}) for _ in range(75))
        )
        elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.5


async def test_hooks_get_structured_events_and_a_failing_hook_is_ignored(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[object] = []

    async def record(event: object) -> None:
        seen.append(event)

    async def broken(event: object) -> None:
        raise RuntimeError("metrics backend down")

    mock.post(DELETE).mock(
        side_effect=[httpx.Response(200, json=ok(), headers={"x-request-id": "rq-7"})]
    )
    async with cme_async.AsyncCmeClient(
        signer, "u", on_request=[broken, record], on_response=record, on_login=record
    ) as c:
        with caplog.at_level(logging.WARNING, logger="cme_async"):
            assert await c.call("Material", "DeleteMaterial", {"MaterialId": "1"}) is None
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["LoginEvent", "RequestEvent", "ResponseEvent"]
    login, _, response = seen
    assert isinstance(login, cme_async.LoginEvent) and login.ok and login.attempts == 1
    assert isinstance(response, cme_async.ResponseEvent)
    assert (
        response.http_status == 200 and response.code == "Success" and response.request_id == "rq-7"
    )
    assert any("hook" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)


async def test_debug_line_per_attempt(
    mock: respx.MockRouter,
    logins: LoginCounter,
    client: cme_async.AsyncCmeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock.post(DELETE).respond(json=ok(), headers={"x-request-id": "rq-8"})
    with caplog.at_level(logging.DEBUG, logger="cme_async"):
        await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "cme_async" and r.levelno == logging.DEBUG
    ]
    assert any(
        "Material/DeleteMaterial attempt=1 status=200 code=Success" in line and "rq-8" in line
        for line in lines
    )
    infos = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.INFO and r.name == "cme_async"
    ]
    assert any("login ok" in line for line in infos)


def test_cme_log_env_turns_logging_on() -> None:
    import subprocess
    import sys

    code = (
        "import logging, cme_async; lg = logging.getLogger('cme_async'); "
        "print(lg.level, len(lg.handlers)); lg.debug('hello %s', 'auth=tf_secretticket_1')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"CME_LOG": "debug", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["10", "1"]
    assert "hello auth=***" in out.stderr and "tf_secretticket_1" not in out.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", code], env={"PATH": ""}, capture_output=True, text=True, check=True
    )
    assert quiet.stdout.split() == ["0", "0"] and quiet.stderr == ""


async def test_with_options_per_request_shares_everything_and_leaks_nothing(
    mock: respx.MockRouter, logins: LoginCounter, client: cme_async.AsyncCmeClient
) -> None:
    import gc
    import tracemalloc

    mock.post(DELETE).respond(json=ok())
    await client.with_options(timeout=3).call("Material", "DeleteMaterial", {"MaterialId": "1"})
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(5_000):
            view = client.with_options(timeout=5 + i % 3, max_retries=i % 2, deadline=30)
            assert view._shared is client._shared
        del view
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 200_000, growth
    await client.with_options(max_retries=0).call("Material", "DeleteMaterial", {"MaterialId": "2"})
    assert logins.count == 1


async def test_slots_serve_urgent_waiters_first_and_survive_cancellation() -> None:
    from cme_async._limits import Slots

    slots = Slots(1)
    await slots.acquire()
    order: list[str] = []

    async def wait(name: str, urgent: bool) -> None:
        await slots.acquire(urgent=urgent)
        order.append(name)

    normal = asyncio.create_task(wait("normal", False))
    cancelled = asyncio.create_task(wait("cancelled", True))
    urgent = asyncio.create_task(wait("urgent", True))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    assert slots.in_use == 1 and slots.free == 0
    slots.release()  # goes to the urgent waiter, not the normal one queued earlier
    await asyncio.sleep(0)
    assert order == ["urgent"] and slots.in_use == 1
    slots.release()
    await asyncio.sleep(0)
    assert order == ["urgent", "normal"]
    slots.release()
    assert slots.free == 1 and slots.in_use == 0
    await asyncio.gather(normal, urgent)
    assert cancelled.cancelled()


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    from cme_async._limits import Slots

    slots = Slots(1)
    await slots.acquire()
    first = asyncio.create_task(slots.acquire())
    second = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # hands the slot to `first` ...
    first.cancel()  # ... which is cancelled before it runs
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert second.done() and slots.in_use == 1
    slots.release()
    assert slots.free == 1
