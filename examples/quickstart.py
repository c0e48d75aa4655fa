"""cme-async quickstart: the SDK's main job, step by step.

Reads its settings from the environment, so the same script runs against the
embedded emulator (``make demo`` sets everything) or the real service:

    CME_SECRET_ID, CME_SECRET_KEY, CME_PLATFORM   the API key and platform to sign with
    CME_USER_ID                                   the end user to act for
    CME_API_URL, CME_LOGIN_URL                    endpoints (default: Tencent's)
    CME_EMULATOR_URL                              set only for the emulator: enables the
                                                  forced ticket expiry of step 9
    CME_VOD_FILE_ID                               real service: a VOD file id you uploaded
                                                  with the VodUploadSign of step 6

Everything it writes (a class, one uploaded material) it creates itself and
deletes again; it never touches existing materials.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time

import cme_async
from cme_async.types import ClassInfo

DEFAULT_API_URL = "https://web-paas-api.cme.qcloud.com"
DEFAULT_LOGIN_URL = "https://open.cme.qcloud.com"


def step(n: int, title: str) -> None:
    print(f"\n[{n:>2}] {title}")


def say(text: str) -> None:
    print(f"     {text}")


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        sys.exit(f"quickstart: set {name} (see the top of examples/quickstart.py)")
    return value


def print_tree(classes: list[ClassInfo]) -> None:
    children: dict[int, list[ClassInfo]] = {}
    for c in classes:
        children.setdefault(c.parent_class_id if c.parent_class_id is not None else -1, []).append(
            c
        )

    def show(parent: int, depth: int) -> None:
        for c in children.get(parent, []):
            say(f"{'  ' * depth}{c.name}  (ClassId {c.class_id})")
            if c.class_id is not None:
                show(c.class_id, depth + 1)

    show(-1, 0)


async def main() -> int:
    secret_id, secret_key = setting("CME_SECRET_ID"), setting("CME_SECRET_KEY")
    platform, user_id = setting("CME_PLATFORM"), setting("CME_USER_ID")
    api_url = setting("CME_API_URL", DEFAULT_API_URL)
    login_url = setting("CME_LOGIN_URL", DEFAULT_LOGIN_URL)
    emulator_url = os.environ.get("CME_EMULATOR_URL")
    me = {"Type": "PERSON", "Id": user_id}
    started = time.monotonic()
    logins: list[float] = []

    async def on_login(event: cme_async.LoginEvent) -> None:
        if event.ok:
            logins.append(event.elapsed)

    print(f"cme-async quickstart: user {user_id!r}, platform {platform!r}, API {api_url}")

    step(1, "Sign a Login signature (HMAC-SHA1 with the API key; the key never leaves here)")
    signature = cme_async.sign(
        secret_id=secret_id, secret_key=secret_key, platform=platform, user_id=user_id
    )
    signed = [pair.split("=")[0] for pair in base64.b64decode(signature)[20:].decode().split("&")]
    # A signature is a credential for its lifetime: show its size and fields, never its text.
    say(f"a signature of {len(signature)} chars signs {', '.join(signed)}")

    signer = cme_async.LocalSigner(secret_id, secret_key, platform)
    async with cme_async.AsyncCmeClient(
        signer, user_id, api_url=api_url, login_url=login_url, on_login=on_login
    ) as client:
        m = client.material

        step(2, "Log in: the first call trades a fresh signature for an Authorization ticket")
        tree = await m.describe_class(platform=platform, owner=me)
        ticket = client.ticket
        assert ticket is not None
        say(
            f"logged in ({logins[-1] * 1000:.0f} ms): ticket kept in memory (never printed), "
            f"AppId {ticket.app_id}, TfUid {ticket.tf_uid}"
        )

        step(3, "List the class tree (Material/DescribeClass)")
        classes = list(tree.class_info_set or [])
        print_tree(classes)
        root = next(c for c in classes if c.parent_class_id == -1)
        assert root.class_id is not None

        step(4, "Create a class (Material/CreateClass)")
        name = f"quickstart-{int(time.time())}"
        made = await m.create_class(parent_class_id=root.class_id, name=name, owner=me)
        assert made.class_id is not None
        say(f"created {root.class_path}/{name} with ClassId {made.class_id}")

        step(5, "Search and page through materials (iter_search_material, 10 per page)")
        scope = {"Platform": platform, "Owner": me, "ClassId": root.class_id}
        first = await m.search_material(search_scopes=[scope], limit=10)
        say(f"TotalCount {first.total_count}; the first page:")
        for info in (first.material_info_set or [])[:3]:
            b = info.basic_info
            if b is not None:
                say(f"  {b.material_type:<5} {b.name}  ({b.class_path}, {b.create_time})")
        kinds: dict[str, int] = {}
        async for info in m.iter_search_material(search_scopes=[scope], page_size=10):
            kind = info.basic_info.material_type if info.basic_info else None
            kinds[str(kind)] = kinds.get(str(kind), 0) + 1
        say(
            f"paged through all {sum(kinds.values())}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        )
        hits = await m.search_material(search_scopes=[scope], text="脱口秀", limit=5)
        say(f"text search '脱口秀': {hits.total_count} hit(s)")

        step(6, "Upload a material of our own into the new class (CreateUpload/FinishUpload)")
        upload = await m.create_upload_material(
            class_id=made.class_id, material_type="VIDEO", name="quickstart clip", owner=me
        )
        assert upload.upload_context is not None
        say("upload context and VOD upload signature received (neither is printed)")
        vod_file_id = os.environ.get("CME_VOD_FILE_ID", "5285890811566343555")
        mid: str | None = None
        try:
            mid = (
                await m.finish_upload_material(
                    upload_context=upload.upload_context, vod_file_id=vod_file_id
                )
            ).material_id
            say(f"material {mid} created from VOD file {vod_file_id}")
        except cme_async.CmeApiError as exc:
            say(f"finish upload refused ({exc.code}); set CME_VOD_FILE_ID to a real upload")

        if mid is not None:
            step(7, "Read the material's details (Material/DescribeMaterials)")
            details = await m.describe_materials(material_ids=[mid])
            for info in details.material_info_set or []:
                basic, status = info.basic_info, info.material_status
                if basic is not None:
                    say(
                        f"{basic.name}: {basic.material_type} in {basic.class_path}, "
                        f"created {basic.create_time}, "
                        f"status {status.transcode_status if status else '?'}"
                    )

            step(8, "Modify, then delete it (ModifyMaterial, DeleteMaterial)")
            await m.modify_material(
                material_id=mid, name="quickstart clip (renamed)", tags=["quickstart"]
            )
            renamed = await m.describe_materials(material_ids=[mid])
            for info in renamed.material_info_set or []:
                if info.basic_info is not None:
                    say(f"renamed to {info.basic_info.name!r}, tags {info.basic_info.tag_set}")
            await m.delete_material(material_id=mid)
            say("deleted")

        step(9, "List projects with the paginator (iter_describe_projects, 2 per page)")
        try:
            async for project in client.project.iter_describe_projects(page_size=2):
                say(f"{project.project_id}  {project.category:<18} {project.name}")
        except cme_async.NotFoundError:
            say("no projects (the service answers ResourceNotFound for an empty list)")

        step(10, "Force the ticket to expire; the next call logs in again by itself")
        if emulator_url:
            from cme_async.testing import RemoteFakeCme

            dropped = await RemoteFakeCme(emulator_url).expire_tickets(user_id)
            say(f"emulator dropped {dropped} ticket(s); calling again...")
            before = len(logins)
            again = await client.team.describe_join_teams()
            # Never print a ticket, not even part of one: say when the new one was obtained.
            obtained = client.ticket.obtained_at if client.ticket else time.time()
            say(
                f"call succeeded ({again.total_count} team(s)) after {len(logins) - before} "
                f"transparent new login; new ticket obtained at "
                f"{time.strftime('%H:%M:%S', time.localtime(obtained))}"
            )
        else:
            say("not talking to the emulator (CME_EMULATOR_URL unset): skipped")

        step(11, "Deleting what no longer exists raises a typed NotFoundError")
        try:
            await m.delete_material(material_id=mid or "00000000000000000000")
        except cme_async.NotFoundError as exc:
            say(f"{type(exc).__name__}: code {exc.code}, request id {exc.request_id}")
            say(f"message: {exc}")

        await m.delete_class(class_id=made.class_id)
        say(f"(cleaned up: deleted class {name})")

    print(f"\ndone in {time.monotonic() - started:.2f} s: {len(logins)} login(s)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
