"""Every model class of the CME client API, generated from ``specs/``.

Requests (``SearchMaterialRequest``), answers (``SearchMaterialResponse``), the shared
structures (``Entity``, ``SearchScope``, ``MaterialInfo`` ...), the enums of documented
values (``MaterialType``, ``EntityType`` ...) and the wire-shaped ``TypedDict`` of each
structure a request carries (``EntityDict``, ``SearchScopeDict`` ...)::

    from cme_async.types import Entity, SearchScope

Every model converts to and from its wire form: ``model.to_dict()``, ``model.to_json()``,
``Model.from_dict(data)`` (or ``cme_async.converter.structure`` / ``.unstructure``).
"""

from ._generated.models import *  # noqa: F403
from ._generated.models import __all__ as __all__
