"""cme-async: an asyncio SDK for the Tencent Cloud CME (云剪) client API.

Quick start::

    import cme_async

    signer = cme_async.LocalSigner(SECRET_ID, SECRET_KEY, PLATFORM)
    async with cme_async.AsyncCmeClient(signer, "user_1") as client:
        data = await client.call("Material", "DescribeClass", {...})

Modules whose names start with ``_`` are private; everything public is here.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._aiohttp import aiohttp_http_client
from ._client import AsyncCmeClient
from ._errors import (
    AuthError,
    ClientClosedError,
    CmeApiError,
    CmeConnectionError,
    CmeError,
    CmeHTTPError,
    CmeTimeoutError,
    EventLoopMismatchError,
    InvalidParameterError,
    InvalidRequestError,
    LoginError,
    MalformedResponseError,
    NotFoundError,
    OperationFailedError,
    ParameterNotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimiterError,
    RateLimitError,
    RequestValidationError,
    ResponseTooLargeError,
    ServerError,
    TicketStoreError,
    error_class_for,
)
from ._hooks import LoginEvent, RequestEvent, ResponseEvent, RetryEvent
from ._limits import LocalRateLimiter, RateLimiter
from ._logging import RedactingFilter
from ._pipeline import RawResult
from ._signing import LocalSigner, SignatureAction, Signer, sign
from ._tokens import (
    Identity,
    MemoryTicketStore,
    SharedLoginStore,
    Ticket,
    TicketStore,
    TokenManager,
)
from ._transport._httpx import build_httpx_client as default_http_client

__version__ = "0.1.0"

__all__ = [
    "AsyncCmeClient",
    "AuthError",
    "ClientClosedError",
    "CmeApiError",
    "CmeConnectionError",
    "CmeError",
    "CmeHTTPError",
    "CmeTimeoutError",
    "EventLoopMismatchError",
    "Identity",
    "InvalidParameterError",
    "InvalidRequestError",
    "LocalRateLimiter",
    "LocalSigner",
    "LoginError",
    "LoginEvent",
    "MalformedResponseError",
    "MemoryTicketStore",
    "NotFoundError",
    "OperationFailedError",
    "ParameterNotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiter",
    "RateLimiterError",
    "RawResult",
    "RedactingFilter",
    "RequestEvent",
    "RequestValidationError",
    "ResponseEvent",
    "ResponseTooLargeError",
    "RetryEvent",
    "ServerError",
    "SharedLoginStore",
    "SignatureAction",
    "Signer",
    "Ticket",
    "TicketStore",
    "TicketStoreError",
    "TokenManager",
    "__version__",
    "aiohttp_http_client",
    "batch",
    "default_http_client",
    "distributed",
    "error_class_for",
    "sign",
]

# -- typed actions (generated from specs/; every model class is in cme_async.types) ---------
# Loaded on first use (PEP 562), so `import cme_async` does not build every model class;
# type checkers and IDEs see the real imports. The generated names come from one
# generated module (_generated/_exports.py); hand-written lazy names are listed here.
from ._generated import _exports

if TYPE_CHECKING:
    from . import batch, distributed, types
    from ._converter import converter
    from ._generated._exports import *  # noqa: F403

_LAZY: dict[str, str] = {
    "types": "cme_async.types",
    "batch": "cme_async.batch",
    "distributed": "cme_async.distributed",
    "converter": "cme_async._converter",
    **_exports.LAZY,
}


_MODULES = frozenset({"types", "batch", "distributed"})


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cme_async' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ += ["converter", "types", *_exports.__all__]
