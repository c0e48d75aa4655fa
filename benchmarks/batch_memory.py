"""The batch runner over a generator of 1,000,000 items: memory stays flat.

    python -m benchmarks.batch_memory [--items 1000000] [--check-duplicates]

Runs against a stub transport that answers at once (no emulator state), writes the
checkpoint to a temporary file, and prints the resident set size every 100,000 items.
Takes a few minutes on two cores. ``tests/batch/test_memory.py`` checks a prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx

import cme_async
from cme_async import batch
from tests.batch.test_memory import StubTransport


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def items(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "id": f"item-{i:07d}",
            "action": "Material/DescribeMaterials",
            "body": {"MaterialIds": [f"material-{i:07d}"], "Padding": "x" * 200},
        }


async def main(n: int, check_duplicates: bool) -> None:
    signer = cme_async.LocalSigner("AKIDbench", "bench-secret-key-0123", "1000000009")
    http = httpx.AsyncClient(transport=StubTransport())
    marks = set(range(100_000, n + 1, 100_000))
    started = time.monotonic()

    def progress(counts: batch.BatchCounts) -> None:
        if counts.done in marks:
            print(
                f"{counts.done:>9} items  {counts.rate:7.0f}/s  RSS {_rss_mib():7.1f} MiB",
                flush=True,
            )

    print(f"start: RSS {_rss_mib():.1f} MiB", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with cme_async.AsyncCmeClient(signer, "u", http_client=http) as client:
            summary = await batch.run_batch(
                client,
                items(n),
                concurrency=64,
                checkpoint=os.path.join(tmp, "out.jsonl"),
                progress=progress,
                check_duplicates=check_duplicates,
            )
    await http.aclose()
    print(f"done: {summary.ok} ok in {time.monotonic() - started:.0f}s, RSS {_rss_mib():.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--check-duplicates", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.check_duplicates))
