"""Every model class of the CME client API, generated from ``specs/``.

Requests (``SearchMaterialRequest``), answers (``SearchMaterialResponse``), the shared
structures (``Entity``, ``SearchScope``, ``MaterialInfo`` ...) and the enums of
documented values (``MaterialType``, ``EntityType`` ...)::

    from cme_async.types import Entity, SearchScope

Convert any of them to and from wire dicts with ``cme_async.converter``.
"""

from ._generated.models import *  # noqa: F403
from ._generated.models import __all__ as __all__
