"""The verdict seam: where a prompt-injection scanner (for example the NOVA
framework) fills the ``nova_*`` fields of every tool event.

Without a scanner the fields are ``"allowed"``, ``None``, ``[]`` and ``0``.
Configure one either in code, ``nova_session.scanner.set_scanner(fn)``, or for
the hook processes with ``NOVA_SESSION_SCANNER=package.module:function``. The
scanner is called with the complete tool event (before large strings are
truncated) and returns a mapping with any of ``nova_verdict`` (``"allowed"``,
``"warned"``, ``"blocked"``, ...), ``nova_severity`` and ``nova_rules_matched``;
``nova_scan_time_ms`` is measured here. A scanner that raises, or returns
something else, leaves ``nova_verdict: "scan_error"`` and one warning: the event
is still recorded.
"""

from __future__ import annotations

import os
import sys
import time
from _collections_abc import Mapping

from . import _log

SCANNER_VAR = "NOVA_SESSION_SCANNER"
DEFAULTS: dict = {"nova_verdict": "allowed", "nova_severity": None, "nova_rules_matched": [], "nova_scan_time_ms": 0}
_FIELDS = ("nova_verdict", "nova_severity", "nova_rules_matched")

_scanner = None


def set_scanner(function) -> None:
    """Use function(event) -> mapping as the scanner of this process (None: no scanner)."""
    global _scanner
    _scanner = function


def _configured():
    if _scanner is not None:
        return _scanner
    spec = os.environ.get(SCANNER_VAR)
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    import importlib

    if sys.flags.no_site and "site" not in sys.modules:
        # A hook runs with -S (run_hook.py): the scanner's module may be found only
        # through the environment's .pth files, which site reads.
        import site

        site.main()

    function = getattr(importlib.import_module(module_name), attribute or "scan")
    set_scanner(function)
    return function


class StdoutToStderr:
    """While plug-in code runs in a hook, its output goes to stderr: Claude Code reads
    a hook's stdout (a printed ``{"decision": "block"}`` would be obeyed). Both
    ``sys.stdout`` and file descriptor 1 (C code, child processes) are redirected."""

    def __enter__(self) -> StdoutToStderr:
        self.stream = sys.stdout
        self.saved_fd = None
        try:
            if self.stream is not None:
                self.stream.flush()
            self.saved_fd = os.dup(1)
            os.dup2(2, 1)
        except (OSError, ValueError):
            pass  # no fd 1 or 2 to move: sys.stdout alone is redirected
        sys.stdout = sys.stderr
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if sys.stderr is not None:
                sys.stderr.flush()
        except (OSError, ValueError):
            pass
        sys.stdout = self.stream
        if self.saved_fd is not None:
            os.dup2(self.saved_fd, 1)
            os.close(self.saved_fd)


def apply(event: dict) -> None:
    """Fill the verdict fields of a tool event in place. Never raises."""
    event.update(DEFAULTS)
    event["nova_rules_matched"] = []
    if _scanner is None and not os.environ.get(SCANNER_VAR):
        return  # no scanner: nothing to load, nothing to redirect
    with StdoutToStderr():
        _scan(event)


def _scan(event: dict) -> None:
    try:
        scanner = _configured()
    except Exception as exc:  # noqa: BLE001 - a broken scanner must not lose the event
        _log.warn("nova_session scanner %r cannot be loaded: %s", os.environ.get(SCANNER_VAR), exc)
        event["nova_verdict"] = "scan_error"
        return
    if scanner is None:
        return
    started = time.perf_counter()
    try:
        verdict = scanner(event)
        if not isinstance(verdict, Mapping):
            raise TypeError("the scanner returned %s, not a mapping" % type(verdict).__name__)
        for field in _FIELDS:
            if field in verdict:
                event[field] = verdict[field]
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken scanner must not lose the event
        _log.warn("nova_session scanner failed: %s: %s", type(exc).__name__, exc)
        event["nova_verdict"] = "scan_error"
    event["nova_scan_time_ms"] = round((time.perf_counter() - started) * 1000, 3)
