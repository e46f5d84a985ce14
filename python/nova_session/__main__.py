"""``python -m nova_session``: the same as the ``nova-session`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
