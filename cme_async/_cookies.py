"""A cookie jar for CME's API, which sets no cookies."""

from __future__ import annotations

import httpx

#: Cookies kept at most. Every one is sent with every request: a server (or a WAF in
#: front of it) setting a cookie of a new name on each answer grew the request head by
#: ~50 bytes a call until servers refused it (nginx at 8 KiB: after ~150 calls).
MAX_COOKIES = 32


class SkipEmptyCookies(httpx.Cookies):
    """A cookie jar that skips httpx's per-response cookie parsing when there is nothing to parse.

    httpx runs ``Cookies.extract_cookies`` on every response, building urllib request and
    response shims for ``http.cookiejar`` even when the answer sets no cookie: about a
    quarter of httpx's client-side CPU per call (measured, benchmarks/README.md). CME's
    API sets no cookies; when an answer does, it is stored as usual, up to
    ``MAX_COOKIES`` (the oldest go first).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            jar = self.jar
            kept = list(jar)  # alive until compared: no id is reused meanwhile
            before = {id(cookie) for cookie in kept}
            super().extract_cookies(response)
            extra = len(jar) - MAX_COOKIES
            if extra > 0:
                # The oldest first (iteration follows insertion), but not one this answer
                # has just set again (a sticky load balancer's): set_cookie replaces the
                # object in place, so only untouched ones are still among ``before``.
                cookies = list(jar)
                untouched = [c for c in cookies if id(c) in before]
                fresh = [c for c in cookies if id(c) not in before]
                for cookie in (untouched + fresh)[:extra]:
                    jar.clear(cookie.domain, cookie.path, cookie.name)
