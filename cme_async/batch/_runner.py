"""The batch engine: stream items, bound what is in flight, checkpoint, stop cleanly.

Items are pulled from the source one at a time, only when a slot is free, and every
task keeps its slot until its result has been handed on; so memory follows
``concurrency``, never the batch size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Sized
from math import inf
from typing import Any

from .._catalogue import action_spec
from . import _checkpoint, _signals
from ._items import BatchItem, SourceLine, parse_item
from ._local import Executor
from ._progress import ProgressArg, Reporter, reporter
from ._results import (
    CUT_SHORT,
    IN_FLIGHT_AT_STOP,
    BatchResult,
    ItemError,
    failure,
    invalid,
    one_line,
)
from ._summary import BatchSummary, Tally

logger = logging.getLogger("cme_async.batch")

_END = object()
#: Seconds between the snapshots a reporter with ``tick`` gets while calls are in flight.
HEARTBEAT = 1.0


class BatchRun:
    """An async iterator of ``BatchResult`` (one per item handled in this run).

    After the iteration ends, ``summary`` holds the ``BatchSummary``; ``stopped_by``
    names the signal that stopped it early (if one did). ``stop()`` stops it from code.
    See ``cme_async.batch.run`` for the arguments.
    """

    def __init__(
        self,
        executor: Executor,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        checkpoint: str | os.PathLike[str] | None = None,
        retry_unknown: bool = False,
        progress: ProgressArg = None,
        total: int | None = None,
        stop_signals: bool = True,
        grace: float = 30.0,
        check_duplicates: bool = True,
        durable: bool = False,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace < inf:
            raise ValueError(f"grace must be a finite number of seconds >= 0, got {grace!r}")
        self._executor = executor
        self._items = items
        self._concurrency = concurrency
        self._checkpoint = checkpoint
        self._retry_unknown = retry_unknown
        self._progress = progress
        if total is None and isinstance(items, Sized):
            total = len(items)
        self._total = total
        self._stop_signals = stop_signals
        self._grace = grace
        self._check_duplicates = check_duplicates
        self._durable = durable
        self.summary: BatchSummary | None = None
        self.stopped_by: signal.Signals | None = None
        self._stopping = False
        self._started = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._abandoned = 0
        self._aborted = False
        self._saved_signals: _signals.Saved = []
        self._reporter_failed = False
        self._results: AsyncGenerator[BatchResult, None] | None = None
        self._fatal: BaseException | None = None  # the checkpoint could not be written
        self._late: list[BatchResult] = []  # calls cut short at the end of the grace

    # -- stopping ---------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """True once a signal or ``stop()`` asked the run to end early."""
        return self._stopping

    def stop(self) -> None:
        """Take no new items; give those in flight ``grace`` seconds, then cancel them."""
        if self._stopping:
            self._cancel_in_flight()
            return
        self._stopping = True
        logger.warning(
            "cme batch: stopping; waiting up to %.0fs for %d call(s) in flight",
            self._grace,
            len(self._tasks),
        )
        asyncio.get_running_loop().call_later(self._grace, self._cancel_in_flight)

    def _cancel_in_flight(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.stopped_by is None:
            self.stopped_by = sig
        elif self._saved_signals:
            # Second signal: cancel what is in flight now, and give the process its own
            # handlers back, so that a third one acts as it would without the runner.
            _signals.restore(self._saved_signals)
            self._saved_signals = []
        self.stop()

    # -- the run ------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        if self._started:
            raise RuntimeError("a BatchRun can be iterated once; call run() again")
        self._started = True
        results = self._results = self._iterate()
        return results

    async def aclose(self) -> None:
        """End the run now (after a ``break``): calls in flight are cancelled, the
        checkpoint keeps what finished. ``async with batch.run(...) as run:`` does it."""
        if self._results is not None:
            await self._results.aclose()

    async def __aenter__(self) -> BatchRun:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _iterate(self) -> AsyncGenerator[BatchResult, None]:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=self._concurrency * 2)
        saved: _signals.Saved = _signals.install(self._on_signal) if self._stop_signals else []
        self._saved_signals = saved
        stack = contextlib.AsyncExitStack()
        if hasattr(self._executor, "__aenter__"):  # e.g. the arq executor's pool and reader
            try:
                await stack.enter_async_context(self._executor)  # type: ignore[arg-type]
            except BaseException:
                _signals.restore(saved)
                raise
        producer = asyncio.create_task(self._produce())
        try:
            while True:
                result = await self._queue.get()
                if result is _END:
                    break
                yield result
            await producer
        finally:
            if not producer.done():
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer
            await stack.aclose()
            _signals.restore(self._saved_signals)
            self._saved_signals = []

    async def _produce(self) -> None:
        try:
            # Synchronous on purpose: it runs once, before anything is in flight.
            state, writer, existed = _checkpoint.open_checkpoint(self._checkpoint, self._durable)
        except BaseException:
            await self._queue.put(_END)  # the consumer learns of it instead of waiting
            raise
        self._writer = writer
        self._tally = Tally(self._total)
        self._reporter: Reporter = reporter(self._progress)
        tick = getattr(self._reporter, "tick", None)
        self._beat = asyncio.create_task(self._heartbeat(tick)) if tick is not None else None
        try:
            await self._feed(state)
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._fatal is not None:
                raise self._fatal
        except asyncio.CancelledError:
            # The consumer went away (or our task was cancelled): nobody will read the
            # results of the calls in flight, so end them rather than wait on the queue.
            self._aborted = True
            self._cancel_in_flight()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._finish(writer, compact=False)
            raise
        except BaseException:
            try:
                self._stopping = True
                await asyncio.gather(*self._tasks, return_exceptions=True)
                self._finish(writer, compact=False)
            finally:
                await self._queue.put(_END)
            raise
        try:
            for result in self._late:
                await self._queue.put(result)
            compact = existed or (writer is not None and writer.wrote_ahead)
            self._finish(writer, compact=compact, resumed=existed)
        finally:
            await self._queue.put(_END)  # the consumer always learns that the run ended

    def _finish(
        self,
        writer: _checkpoint.CheckpointWriter | None,
        *,
        compact: bool,
        resumed: bool = True,
    ) -> None:
        if self._beat is not None:
            self._beat.cancel()
        tally = self._tally
        counts = tally.snapshot()
        interrupted = self._stopping or self._aborted or self._abandoned > 0
        not_started = None
        if interrupted and self._total is not None:
            not_started = max(0, self._total - counts.done)
        self.summary = tally.summary(
            interrupted=interrupted,
            not_started=not_started if not_started is not None else self._abandoned,
        )
        try:
            self._reporter.close(counts)
        except Exception:  # a progress callback's bug must not stop the run from ending
            logger.warning("cme batch: the progress reporter raised at the end", exc_info=True)
        if writer is not None:
            try:
                if compact and not interrupted:  # still under the writer's lock
                    _checkpoint.compact(writer.path, resumed=resumed)
            finally:
                writer.close()

    async def _source(self) -> AsyncIterator[Any]:
        items = self._items
        if isinstance(items, AsyncIterable):
            async for raw in items:
                yield raw
        else:
            for raw in items:
                yield raw

    async def _feed(self, state: _checkpoint.CheckpointState | None) -> None:
        seen: set[int] = set()
        slots = asyncio.Semaphore(self._concurrency)
        index = 0
        async for raw in self._source():
            if self._stopping:
                break
            index += 1
            where = f"line {raw.number}" if isinstance(raw, SourceLine) else f"item {index}"
            parsed = parse_item(raw, where)
            # Duplicates first, invalid items included: a later bad line with the id of
            # an item that ran must not become that id's last result (a resume would
            # then send the item again).
            if self._check_duplicates and parsed.id is not None:
                key = hash(parsed.id)
                if key in seen:
                    await self._deliver(
                        invalid(
                            parsed.id,
                            where,
                            f"duplicate id {parsed.id!r}: ids must be unique in a batch",
                            "DuplicateId",
                        )
                    )
                    continue
                seen.add(key)
            if isinstance(parsed, BatchResult):
                await self._deliver(parsed)
                continue
            item = parsed
            spec = action_spec(item.action_class, item.action_name)
            replay_safe = spec is not None and spec.replay_safe
            status = state.status(item.id) if state is not None else None
            if status == "done":
                self._tally.skip()
                self._report()
                continue
            if status == "unknown" and not self._retry_unknown:
                assert state is not None
                self._tally.add(state.unknown[item.id])
                self._report()
                continue
            if status == "in_flight" and not self._retry_unknown and not replay_safe:
                error = ItemError("OutcomeUnknown", IN_FLIGHT_AT_STOP, may_have_run=True)
                await self._deliver(
                    failure(item.id, item.action, error, replay_safe=False, attempts=0)
                )
                continue
            await slots.acquire()
            if self.stopping:
                slots.release()
                break
            task = asyncio.create_task(self._one(item, replay_safe, slots))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _one(self, item: BatchItem, replay_safe: bool, slots: asyncio.Semaphore) -> None:
        tally = self._tally
        calling = False
        try:
            refuse = getattr(self._executor, "refuse", None)
            refused = refuse(item) if refuse is not None else None
            if refused is not None:  # before any write-ahead line: nothing is sent
                await self._deliver(refused)
                return
            if not replay_safe and self._writer is not None:
                self._writer.write_ahead(item.id, item.action)
            tally.in_flight += 1
            calling = True
            try:
                result = await self._executor(item, replay_safe)
            finally:
                tally.in_flight -= 1
            calling = False
            if result.outcome != "invalid":  # an executor may refuse an item unsent
                tally.sent += 1
            await self._deliver(result)
        except asyncio.CancelledError:
            self._abandoned += 1
            if calling and not self._aborted:
                self._cut_short(item, replay_safe)
            raise
        except Exception as exc:  # the checkpoint could not be written (or an executor bug)
            self._fail(exc)
        finally:
            slots.release()

    def _cut_short(self, item: BatchItem, replay_safe: bool) -> None:
        """A call cancelled when the grace ran out: it may have run, so say so."""
        error = ItemError("OutcomeUnknown", CUT_SHORT, may_have_run=True)
        result = failure(item.id, item.action, error, replay_safe=replay_safe, attempts=1)
        try:
            if self._writer is not None:
                self._writer.result(result)
        except Exception as exc:
            self._fail(exc)
            return
        self._tally.add(result)
        self._late.append(result)

    def _fail(self, exc: BaseException) -> None:
        """The checkpoint cannot be written: take no new items, end with this error."""
        if self._fatal is None:
            self._fatal = exc
            logger.error("cme batch: stopping: %s", one_line(f"{type(exc).__name__}: {exc}"))
        self._stopping = True

    async def _deliver(self, result: BatchResult) -> None:
        if self._writer is not None:
            self._writer.result(result)
        self._tally.add(result)
        self._report()
        await self._queue.put(result)

    async def _heartbeat(self, tick: Any) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                tick(self._tally.snapshot())
            except Exception:  # progress must never stop the run
                return

    def _report(self) -> None:
        try:
            self._reporter.update(self._tally.snapshot())
        except Exception:  # a progress callback's bug must not lose a result
            if not self._reporter_failed:
                self._reporter_failed = True
                logger.warning("cme batch: the progress callback raised", exc_info=True)
