"""``client.team``: the generated methods post the right path and wire body and parse."""

from __future__ import annotations

import json

import httpx
import pytest
from actions_support import mocked_client, route, sent

from cme_async import InvalidParameterError
from cme_async._generated.models import DescribeTeamsResponse, JoinTeamInfo, TeamInfo


async def test_describe_teams() -> None:
    team = {
        "TeamId": "cmetid_1",
        "Name": "腾讯云团队",
        "MemberCount": 1000,
        "CreateTime": "2020-12-23T08:18:12Z",
        "UpdateTime": "2020-12-23T10:20:12Z",
    }
    async with mocked_client() as (client, router):
        r = route(router, "Team", "DescribeTeams").respond(
            json={
                "Code": "Success",
                "Message": "",
                "EnglishMessage": "",
                "Data": {"TeamSet": [team]},
            }
        )
        result = await client.team.describe_teams(team_ids=["cmetid_1"])
    assert sent(r) == {"TeamIds": ["cmetid_1"]}
    assert isinstance(result, DescribeTeamsResponse)
    assert result.team_set == [
        TeamInfo(
            team_id="cmetid_1",
            name="腾讯云团队",
            member_count=1000,
            create_time="2020-12-23T08:18:12Z",
            update_time="2020-12-23T10:20:12Z",
        )
    ]


async def test_describe_join_teams_limit_error() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Team", "DescribeJoinTeams").respond(
            json={
                "Code": "InvalidParameterValue.Limit",
                "Message": "参数错误",
                "EnglishMessage": "Limit greate than max",
            }
        )
        with pytest.raises(InvalidParameterError) as info:
            await client.team.describe_join_teams(limit=50)
    assert info.value.code == "InvalidParameterValue.Limit"
    assert sent(r) == {"Limit": 50}


async def test_iter_describe_join_teams_three_pages() -> None:
    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        offset, limit = body["Offset"], body["Limit"]
        teams = [
            {"TeamId": f"t{i}", "Role": "Member"} for i in range(offset, min(offset + limit, 7))
        ]
        data = {"TotalCount": 7, "TeamSet": teams}
        return httpx.Response(200, json={"Code": "Success", "Data": data})

    async with mocked_client() as (client, router):
        r = route(router, "Team", "DescribeJoinTeams").mock(side_effect=page)
        teams = [t async for t in client.team.iter_describe_join_teams(page_size=3)]
    assert [t.team_id for t in teams] == [f"t{i}" for i in range(7)]
    assert all(isinstance(t, JoinTeamInfo) and t.role == "Member" for t in teams)
    assert [sent(r, i) for i in range(r.call_count)] == [
        {"Offset": 0, "Limit": 3},
        {"Offset": 3, "Limit": 3},
        {"Offset": 6, "Limit": 3},
    ]


async def test_iter_describe_join_teams_checks_page_size_before_sending() -> None:
    async with mocked_client() as (client, router):
        r = route(router, "Team", "DescribeJoinTeams").respond(json={"Code": "Success"})
        with pytest.raises(ValueError, match="page_size must be at most 30"):
            client.team.iter_describe_join_teams(page_size=31)
        assert r.call_count == 0
