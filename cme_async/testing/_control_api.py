"""The ``/_emulator/*`` endpoints: the test controls over HTTP, for tests in other processes.

    GET  /_emulator/counters                      logins, attempts, calls, per-user counts
    GET  /_emulator/requests?since=N&limit=M&action=A&user_id=U&platform=P
                                                  the request log (records after seq N)
    POST /_emulator/expire-tickets    {"UserId", "Platform"}
    POST /_emulator/expire-randomly   {"Probability", "Seed", "MinUses", "Users"}
    POST /_emulator/fail-next         {"Action", "Code" | "HttpStatus" | "Malformed" |
                                       "DropConnection", "Times", "Message", "RetryAfter"}
    POST /_emulator/fail-randomly     {"Probability", "Action", "Seed", and a fail-next kind}
    POST /_emulator/latency           {"Seconds", "Action"}       ("Login" = the login endpoint)
    POST /_emulator/rate-limit        {"Action", "PerSecond", "Burst"}
    POST /_emulator/add-credentials   {"SecretId", "SecretKey", "Platform"}
    POST /_emulator/request-log       {"Size"}                    (records kept from now on)
    POST /_emulator/reset             {}

The functions below (``expire``, ``add_credentials``, ``reset``) are shared with
``FakeCme``, so the façade and the endpoints change the emulator the same way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ._controls import Controls
from ._credentials import CredentialRegistry, Credentials
from ._replies import Reply, json_reply, plain
from .world import World


class _UnknownControl(Exception):
    pass


def expire(world: World, user_id: str | None = None, platform: str | None = None) -> int:
    return len(world.tickets.expire(user_id, platform))


def add_credentials(
    world: World, registry: CredentialRegistry, secret_id: str, secret_key: str, platform: str
) -> Credentials:
    for name, value in (
        ("secret_id", secret_id),
        ("secret_key", secret_key),
        ("platform", platform),
    ):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    creds = registry.add(Credentials(secret_id, secret_key, platform))
    world.space(platform)
    return creds


def reset(world: World, controls: Controls) -> None:
    controls.reset()
    world.tickets.ended.clear()


def counters(world: World, controls: Controls) -> dict[str, Any]:
    out = controls.ledger.counters_json()
    ended = sorted(world.tickets.ended.items())
    out["ExpiriesByUser"] = [{"Platform": p, "UserId": u, "Expiries": n} for (p, u), n in ended]
    return out


def requests(controls: Controls, params: Mapping[str, str]) -> dict[str, Any]:
    since = int(params.get("since", 0))
    limit = int(params.get("limit", 10_000))
    action, user_id, platform = params.get("action"), params.get("user_id"), params.get("platform")
    if action is not None:
        action = controls.action_key(action)
    out = []
    for record in controls.ledger.requests:
        if record.seq <= since:
            continue
        if action is not None and record.action != action:
            continue
        if user_id is not None and record.user_id != user_id:
            continue
        if platform is not None and record.platform != platform:
            continue
        out.append(record.to_json())
        if len(out) >= limit:
            break
    last = out[-1]["Seq"] if out else since
    return {"Requests": out, "Last": last}


def _post(
    world: World, controls: Controls, creds: CredentialRegistry, what: str, args: dict[str, Any]
) -> Any:
    if what == "expire-tickets":
        return expire(world, args.get("UserId"), args.get("Platform"))
    if what == "expire-randomly":
        controls.expire_randomly(
            float(args.get("Probability", 0)),
            seed=args.get("Seed"),
            min_uses=int(args.get("MinUses", 1)),
            users=args.get("Users"),
        )
    elif what == "fail-next":
        retry_after = args.get("RetryAfter")
        controls.fail_next(
            args.get("Action"),
            code=args.get("Code"),
            http_status=args.get("HttpStatus"),
            malformed=bool(args.get("Malformed", False)),
            drop_connection=bool(args.get("DropConnection", False)),
            times=int(args.get("Times", 1)),
            message=args.get("Message"),
            retry_after=None if retry_after is None else float(retry_after),
        )
    elif what == "fail-randomly":
        retry_after = args.get("RetryAfter")
        controls.fail_randomly(
            float(args.get("Probability", 0)),
            args.get("Action"),
            seed=args.get("Seed"),
            code=args.get("Code"),
            http_status=args.get("HttpStatus"),
            malformed=bool(args.get("Malformed", False)),
            drop_connection=bool(args.get("DropConnection", False)),
            message=args.get("Message"),
            retry_after=None if retry_after is None else float(retry_after),
        )
    elif what == "latency":
        controls.latency(float(args.get("Seconds", 0)), action=args.get("Action"))
    elif what == "rate-limit":
        per_second = args.get("PerSecond")
        burst = args.get("Burst")
        controls.rate_limit(
            args.get("Action"),
            None if per_second is None else float(per_second),
            burst=None if burst is None else float(burst),
        )
    elif what == "add-credentials":
        add_credentials(
            world,
            creds,
            args.get("SecretId", ""),
            args.get("SecretKey", ""),
            args.get("Platform", ""),
        )
    elif what == "request-log":
        controls.ledger.resize(int(args["Size"]))
    elif what == "reset":
        reset(world, controls)
    else:
        raise _UnknownControl(what)
    return True


def control(
    world: World,
    controls: Controls,
    creds: CredentialRegistry,
    method: str,
    what: str,
    params: Mapping[str, str],
    raw: bytes,
) -> Reply:
    request_id = str(uuid.uuid4())
    try:
        if method == "GET" and what == "counters":
            return json_reply(counters(world, controls), request_id)
        if method == "GET" and what == "requests":
            return json_reply(requests(controls, params), request_id)
        if method != "POST":
            return plain(405, b"Method Not Allowed", (b"allow", b"POST"))
        args = json.loads(raw) if raw.strip() else {}
        if not isinstance(args, dict):
            raise ValueError("expected a JSON object")
        result = _post(world, controls, creds, what, args)
    except _UnknownControl:
        return plain(404, b"Not Found")
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        return json_reply({"Error": str(exc)}, request_id, 400)
    return json_reply({"Result": result}, request_id)
