"""The generated paginators against the emulator's paging rules, over TCP."""

from __future__ import annotations

import cme_async
from cme_async.testing import DEMO_PLATFORM, FakeCme

from .conftest import ME, SCOPE, make_client


async def test_iter_search_material_yields_every_material_once(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    seen = [
        m.basic_info.material_id
        async for m in client.material.iter_search_material(search_scopes=[SCOPE], page_size=7)
        if m.basic_info is not None
    ]
    assert sorted(seen) == sorted(fake.material_ids())
    pages = -(-len(seen) // 7)
    assert fake.calls["Material/SearchMaterial"] in (pages, pages + 1)


async def test_iter_list_media_and_max_items(
    client: cme_async.AsyncCmeClient, fake: FakeCme
) -> None:
    video = fake.state.ensure_path(("PERSON", "demo_user"), "/个人/视频")
    items = [
        m
        async for m in client.material.iter_list_media(
            platform=DEMO_PLATFORM, class_id=video.class_id, owner=ME, page_size=3
        )
    ]
    assert len(items) == len(video.materials)
    first = [
        m async for m in client.material.iter_search_material(search_scopes=[SCOPE], max_items=5)
    ]
    assert len(first) == 5


async def test_iter_describe_projects(client: cme_async.AsyncCmeClient, fake: FakeCme) -> None:
    ids = [p.project_id async for p in client.project.iter_describe_projects(page_size=2)]
    visible = [
        p for p in fake.state.projects.values() if fake.state.can_access("demo_user", p.owner)
    ]
    assert sorted(ids) == sorted(p.project_id for p in visible)
    assert len(ids) == len(set(ids))


async def test_time_window_paginator_covers_the_result() -> None:
    fake_small_pages = FakeCme.seeded(ai_page_size=3)
    async with fake_small_pages.serve() as small_url, make_client(small_url) as client:
        mid = next(
            m for m in fake_small_pages.material_ids() if fake_small_pages.state.materials[m].ai
        )
        items = [
            s.item_id
            async for s in client.material.iter_describe_material_subtitle(
                material_id=mid, end_time_offset=100_000.0
            )
        ]
    expected = fake_small_pages.state.materials[mid].ai["subtitle"].items
    assert sorted(items) == sorted(i["ItemId"] for i in expected)
    assert fake_small_pages.calls["Material/DescribeMaterialSubtitle"] >= len(expected) // 3
