"""One AsyncCmeClient for a whole web app, acting for each request's end user.

Run against the embedded emulator (prints the CME_* variables to export first):

    python -m cme_async.testing --seed --port 8765 &
    export CME_SECRET_ID=... CME_SECRET_KEY=... CME_PLATFORM=... \\
           CME_API_URL=http://127.0.0.1:8765 CME_LOGIN_URL=http://127.0.0.1:8765
    uvicorn examples.webapp:app --port 8000
    curl -H 'X-User-Id: demo_user' http://127.0.0.1:8000/classes

Needs `pip install cme-async[examples]` (FastAPI and uvicorn).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse

import cme_async


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One root client for the process: one connection pool, one token manager, one set
    # of limits. It acts for nobody itself (user_id=None); requests use views.
    async with cme_async.AsyncCmeClient.from_env(user_id=None) as client:
        app.state.cme = client
        yield


app = FastAPI(title="cme-async web example", lifespan=lifespan)


def cme_for(request: Request, x_user_id: Annotated[str, Header()]) -> cme_async.AsyncCmeClient:
    """The client acting for this request's end user: no I/O, shares everything.

    A real app takes the user from its own session or token, never from a header the
    browser may set freely; the header keeps this example short.
    """
    root: cme_async.AsyncCmeClient = request.app.state.cme
    return root.as_user(x_user_id)


Cme = Annotated[cme_async.AsyncCmeClient, Depends(cme_for)]


def _owner(cme: cme_async.AsyncCmeClient) -> dict[str, str]:
    return {"Type": "PERSON", "Id": cme.user_id or ""}


@app.get("/classes")
async def classes(cme: Cme) -> dict[str, Any]:
    """The user's class (folder) tree, as CME's own JSON (wire names)."""
    tree = await cme.material.describe_class(platform=cme.platform, owner=_owner(cme))
    return tree.to_dict()


@app.get("/materials/{material_id}")
async def material(material_id: str, cme: Cme) -> dict[str, Any]:
    found = await cme.material.describe_materials(material_ids=[material_id])
    return found.to_dict()


@app.delete("/materials/{material_id}", status_code=204)
async def delete_material(material_id: str, cme: Cme) -> None:
    await cme.material.delete_material(material_id=material_id)


@app.exception_handler(cme_async.NotFoundError)
async def not_found(request: Request, exc: cme_async.NotFoundError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "request_id": exc.request_id}, status_code=404)


@app.exception_handler(cme_async.InvalidParameterError)
async def bad_parameter(request: Request, exc: cme_async.InvalidParameterError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "request_id": exc.request_id}, status_code=400)


@app.exception_handler(cme_async.CmeError)
async def upstream_error(request: Request, exc: cme_async.CmeError) -> JSONResponse:
    # str(exc) is safe to show: SDK errors never carry a ticket or a signature.
    return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=502)
