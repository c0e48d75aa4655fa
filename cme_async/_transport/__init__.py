"""The SDK's internal transport seam (see ``_base``): httpx (default) and native aiohttp."""

from __future__ import annotations

from ._base import READ_HEADERS, Answer, Method, OnSettled, Secret, Transport

__all__ = ["READ_HEADERS", "Answer", "Method", "OnSettled", "Secret", "Transport"]
