"""A faithful in-memory emulator of the CME login endpoint and client API.

    fake = FakeCme.seeded()
    signer = LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    client = AsyncCmeClient(signer, DEMO_USER_ID,
                            http_client=httpx.AsyncClient(transport=fake.transport()))

or over TCP: ``async with fake.serve() as url: ...`` (needs ``cme-async[testing]``).
See docs/testing.md.  Importing this package loads only the standard library and
httpx; uvicorn is imported when a server is started.
"""

from ._fake import IN_PROCESS_URL, FakeCme, RequestLogOverflow
from ._faults import Fault
from ._ledger import RequestRecord
from ._remote import RemoteFakeCme
from .world.seed import (
    DEMO_FRIEND_ID,
    DEMO_PLATFORM,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    DEMO_TEAM_ID,
    DEMO_USER_ID,
    demo_seed,
)

__all__ = [
    "DEMO_FRIEND_ID",
    "DEMO_PLATFORM",
    "DEMO_SECRET_ID",
    "DEMO_SECRET_KEY",
    "DEMO_TEAM_ID",
    "DEMO_USER_ID",
    "IN_PROCESS_URL",
    "FakeCme",
    "Fault",
    "RemoteFakeCme",
    "RequestLogOverflow",
    "RequestRecord",
    "demo_seed",
]

# The ticket store contract kit (docs/many-processes.md); standard library only.
from .store_contract import StoreCheck, check_ticket_store, ticket_store_checks

__all__ += ["StoreCheck", "check_ticket_store", "ticket_store_checks"]
