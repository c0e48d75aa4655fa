"""The ``cme_async`` logger and the redaction filter.

The filter is attached to the SDK's logger and to the ``httpx`` and
``httpcore`` loggers (httpx logs every request URL at INFO, and CME's ticket
rides in the query string), so no record they create carries a ticket, a
signature or a secret key, whatever handlers the application installs.

``CME_LOG=debug`` or ``CME_LOG=info`` turns the SDK's logging on without code.
"""

from __future__ import annotations

import logging
import os

from ._redact import redact

logger = logging.getLogger("cme_async")

# Loggers whose records may contain URLs or bodies. A filter on a logger only sees
# records created on that exact logger, so httpcore's children are listed one by one.
_GUARDED = (
    "cme_async",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so handlers reuse it instead of
            # formatting the raw exception text themselves.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
        return True


_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Attach the redaction filter to every guarded logger (idempotent)."""
    for name in _GUARDED:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)


def configure_from_env() -> None:
    """Honour ``CME_LOG=debug|info``: a stderr handler on the ``cme_async`` logger."""
    level_name = os.environ.get("CME_LOG", "").strip().upper()
    if level_name not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        return
    logger.setLevel(level_name)
    if not any(getattr(h, "_cme_env_handler", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._cme_env_handler = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


install_redaction()
configure_from_env()
