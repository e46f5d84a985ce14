"""Backend selection: read ``NOVA_SESSION_BACKEND`` once and load one kernel.

``auto`` (default): the Rust kernel if it loads and matches this package's
version, else the pure-Python kernel, silently. ``python``: the fallback.
``rust``: the Rust kernel or ImportError saying why. Anything else: one
warning, then ``auto`` (a typo must not break the hooks).
"""

from __future__ import annotations

import os

from . import _log

ENV_VAR = "NOVA_SESSION_BACKEND"
CHOICES = ("auto", "python", "rust")
VERSION = "0.1.0"


def _load_rust():
    from . import _rust

    found = getattr(_rust, "__version__", None)
    if found != VERSION:
        raise ImportError("nova_session._rust is version %r but nova_session is %r (a stale build?)" % (found, VERSION))
    return _rust


def load():
    """Return (backend name, kernel module) as NOVA_SESSION_BACKEND asks."""
    choice = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        _log.warn("%s=%r is not one of %s; using 'auto'", ENV_VAR, choice, ", ".join(CHOICES))
        choice = "auto"
    if choice == "python":
        from . import _python

        return "python", _python
    try:
        return "rust", _load_rust()
    except ImportError as exc:
        if choice == "rust":
            raise ImportError(
                "%s=rust, but the Rust kernel nova_session._rust cannot be loaded (%s); "
                "set %s=python to use the pure-Python fallback" % (ENV_VAR, exc, ENV_VAR)
            ) from exc
    from . import _python

    return "python", _python
