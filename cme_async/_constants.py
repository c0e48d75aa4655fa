"""Every tunable default of the SDK, in one place."""

from __future__ import annotations

DEFAULT_API_URL = "https://web-paas-api.cme.qcloud.com"
DEFAULT_LOGIN_URL = "https://open.cme.qcloud.com"

# Seconds per attempt (httpx applies it to each phase: connect, write, read, pool).
DEFAULT_TIMEOUT = 30.0
# Replays after a retryable failure; the auth replay after a new login is not counted.
DEFAULT_MAX_RETRIES = 2

# The signature is only needed for the login exchange; every official example uses 5 minutes.
DEFAULT_SIGNATURE_EXPIRE_SECONDS = 300

# Connection pool sized for batch work: every connection is kept warm (no churn when a
# batch runs at full concurrency), and calls beyond it queue in the SDK, not in httpx.
# httpcore's pool does work proportional to the requests queued in it on every request
# (httpx issue 3215), so a queue of thousands inside it costs more CPU than the calls.
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_KEEPALIVE_CONNECTIONS = 100
DEFAULT_KEEPALIVE_EXPIRY = 30.0
# Calls in flight per client; the rest wait in the SDK's queue (never into a PoolTimeout).
DEFAULT_MAX_CONCURRENCY = DEFAULT_MAX_CONNECTIONS

# Backoff: exponential with full jitter, base * 2**(retry-1), capped.
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 8.0
# A Retry-After longer than this is not waited for: the error is raised instead.
RETRY_AFTER_MAX = 60.0

# The largest answer body read (decoded); past it the connection is closed and the
# attempt fails with MalformedResponseError (a 300 MB answer is never held in memory).
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# A login answer is a few hundred bytes: its bound does not follow max_response_bytes.
LOGIN_MAX_RESPONSE_BYTES = 1024 * 1024

# At most this many characters of an unexpected body are quoted in an error.
BODY_SNIPPET_CHARS = 200

USER_AGENT = "cme-async/0.1.0"
