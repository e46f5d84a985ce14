"""The verdict seam: where the prompt-injection scanner fills the ``nova_*``
fields of every tool event.

By default that is the built-in NOVA scanner (``guard/scan.py``: the NOVA
rules' keyword tier in the kernel); ``NOVA_SESSION_SCAN=0`` turns it off (the
fields are then ``"allowed"``, ``None``, ``[]`` and ``0``). A plug-in replaces
it, either in code, ``nova_session.scanner.set_scanner(fn)``, or for the hook
processes with ``NOVA_SESSION_SCANNER=package.module:function``: it is called
with the complete tool event (before large strings are truncated and secrets
redacted) and returns a mapping with any of ``nova_verdict`` (``"allowed"``,
``"warned"``, ``"blocked"``, ...), ``nova_severity`` and
``nova_rules_matched``. ``nova_scan_time_ms`` is measured here. A scan that
raises, or a plug-in that returns something else, leaves ``nova_verdict:
"scan_failed"`` and one warning: the event is still recorded.
"""

from __future__ import annotations

import os
import sys
import time
from _collections_abc import Mapping

from . import _log

SCANNER_VAR = "NOVA_SESSION_SCANNER"
SWITCH_VAR = "NOVA_SESSION_SCAN"
FAILED = "scan_failed"
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
    import gc
    import importlib

    gc.enable()  # a hook process runs without it (run_hook.py); plug-in code may need it

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
        if os.environ.get(SWITCH_VAR, "").strip().lower() not in ("0", "false", "no", "off"):
            _builtin(event)
        return
    with StdoutToStderr():
        _scan(event)


_warned: set = set()


def apply_prompt(record: dict) -> None:
    """Fill the verdict fields of a user_prompt record from its prompt, with the built-in
    rules (plug-ins see tool events only), unless scanning is off. Never raises."""
    if os.environ.get(SWITCH_VAR, "").strip().lower() not in ("0", "false", "no", "off"):
        _builtin(record, "prompt")


def _builtin(event: dict, *fields: str) -> None:
    """The built-in NOVA scan of some fields of a record (no plug-in code runs: nothing to redirect)."""
    started = time.perf_counter()
    try:
        from .guard import scan

        event.update(scan.verdict([event.get(field) for field in fields or ("tool_input", "tool_output")]))
    except Exception as exc:  # noqa: BLE001 - a scan that fails must not lose the event
        if str(exc) not in _warned:  # once per process and reason
            _warned.add(str(exc))
            _log.warn("nova_session scan failed: %s: %s", type(exc).__name__, exc)
        event["nova_verdict"] = FAILED
    event["nova_scan_time_ms"] = round((time.perf_counter() - started) * 1000, 3)


def _scan(event: dict) -> None:
    try:
        scanner = _configured()
    except Exception as exc:  # noqa: BLE001 - a broken scanner must not lose the event
        _log.warn("nova_session scanner %r cannot be loaded: %s", os.environ.get(SCANNER_VAR), exc)
        event["nova_verdict"] = FAILED
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
        event["nova_verdict"] = FAILED
    event["nova_scan_time_ms"] = round((time.perf_counter() - started) * 1000, 3)
