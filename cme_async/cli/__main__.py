"""``python -m cme_async.cli``: the same as the ``cme`` command."""

import sys

from . import main

sys.exit(main())
