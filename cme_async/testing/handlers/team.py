"""Team actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..world.model import JSON
from ._common import Ctx, Handler, offset_limit
from ._read import strings


def describe_teams(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    ids = strings(body, "TeamIds", required=True)
    teams = [ctx.state.teams[t] for t in dict.fromkeys(ids) if t in ctx.state.teams]
    return {"TeamSet": [t.info_json() for t in teams]}


def describe_join_teams(ctx: Ctx, body: Mapping[str, Any]) -> JSON | None:
    offset, limit = offset_limit(ctx, body)
    teams = sorted(ctx.state.user_teams(ctx.user_id), key=lambda t: (t.create_time, t.team_id))
    return {
        "TotalCount": len(teams),
        "TeamSet": [
            {
                "TeamId": t.team_id,
                "Name": t.name,
                "MemberCount": len(t.members),
                "Role": t.members[ctx.user_id],
            }
            for t in teams[offset : offset + limit]
        ],
    }


HANDLERS: dict[str, Handler] = {
    "Team/DescribeTeams": describe_teams,
    "Team/DescribeJoinTeams": describe_join_teams,
}
