"""Memory follows ``concurrency``, not the batch size.

A generator of 1,000,000 items runs against a fast in-process transport; the test
samples a prefix (the resident set size at 1,000 and at 8,000 results) so it stays
quick. ``benchmarks/batch_memory.py`` runs the whole million (RSS flat at ~44 MiB).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

import cme_async
from cme_async import batch

from .conftest import signer

N_ITEMS = 1_000_000
EARLY, LATE = 1_000, 8_000


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class StubTransport(httpx.AsyncBaseTransport):
    """Answers the login and every action at once, keeping no state."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            body: dict[str, Any] = {
                "Response": {"AppId": 1, "Authorization": "tf_stub_ticket_0123456789"}
            }
        else:
            body = {"Code": "Success", "Message": "成功", "EnglishMessage": "ok", "Data": {}}
        return httpx.Response(200, content=json.dumps(body).encode())


def items() -> Iterator[dict[str, Any]]:
    for i in range(N_ITEMS):
        yield {
            "id": f"item-{i:07d}",
            "action": "Material/DescribeMaterials",
            "body": {"MaterialIds": [f"material-{i:07d}"], "Padding": "x" * 200},
        }


async def _growth(tmp_path: Path, *, check_duplicates: bool) -> tuple[int, int]:
    http = httpx.AsyncClient(transport=StubTransport())
    samples: dict[int, int] = {}

    def progress(counts: batch.BatchCounts) -> None:
        if counts.done in (EARLY, LATE):
            samples[counts.done] = rss()

    try:
        async with cme_async.AsyncCmeClient(signer(), "u", http_client=http) as client:
            run = batch.run(
                client,
                items(),
                concurrency=64,
                checkpoint=tmp_path / f"out-{check_duplicates}.jsonl",
                progress=progress,
                check_duplicates=check_duplicates,
            )
            async with run:
                seen = 0
                async for _ in run:
                    seen += 1
                    if seen >= LATE:
                        break
    finally:
        await http.aclose()
    return samples[EARLY], samples[LATE]


async def test_memory_does_not_grow_with_the_number_of_items(tmp_path: Path) -> None:
    early, late = await _growth(tmp_path, check_duplicates=False)
    # 7,000 more items went through (~2 MB of bodies, ~7 MB with their results and
    # answers): the process did not grow by even one of those megabytes.
    assert late - early < 1024 * 1024, f"grew {late - early} bytes"


async def test_duplicate_check_keeps_only_a_hash_per_id(tmp_path: Path) -> None:
    early, late = await _growth(tmp_path, check_duplicates=True)
    per_item = (late - early) / (LATE - EARLY)
    # The hash of each id in a set (docs/batch.md: about 160 bytes per id); an item kept
    # whole (body, result, answer) would cost over 1,000 bytes.
    assert per_item < 400, f"{per_item:.0f} bytes per item"
