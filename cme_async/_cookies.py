"""A cookie jar for CME's API, which sets no cookies."""

from __future__ import annotations

import httpx


class SkipEmptyCookies(httpx.Cookies):
    """A cookie jar that skips httpx's per-response cookie parsing when there is nothing to parse.

    httpx runs ``Cookies.extract_cookies`` on every response, building urllib request and
    response shims for ``http.cookiejar`` even when the answer sets no cookie: about a
    quarter of httpx's client-side CPU per call (measured, benchmarks/README.md). CME's
    API sets no cookies; when an answer does, it is stored as usual.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)
