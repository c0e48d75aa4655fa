"""Code generator: ``specs/*.yaml`` -> ``cme_async/_generated/`` and ``docs/actions.md``.

Run ``make codegen`` (``python -m codegen``); ``make check-codegen``
(``python -m codegen --check``) fails when the committed output is stale.  This
package is a development tool: ``cme_async`` never imports it.
"""
