"""Every NOVA tier, off the hot path: ``nova-session scan ID`` re-scans a recorded session
with nova-hunting itself (the optional extra ``nova_session[nova]``), whose semantic tier
(sentence-transformers, when installed) and LLM tier (an API key in the environment, as
nova-hunting reads it) the hooks never run, and appends one ``scan`` record per tool event
and prompt it scanned, chained like any other record::

    {"type": "scan", "id": …, "timestamp": …, "of": <the record's id>, "tool_use_id": …,
     "scanner": "nova-hunting 0.3.1", "nova_verdict": …, "nova_severity": …,
     "nova_rules_matched": […], "nova_scan_time_ms": …, "tier_warnings": […]}

``tier_warnings`` holds what nova-hunting said it could not evaluate (a tier missing or
failing: that rule then did not match). The text scanned is the trail's: redacted and
truncated as it was written. Readers show a scan with the record it concerns.
"""

from __future__ import annotations

import time

from .. import reading, sessions
from . import scan

SCANNED_TYPES = {"event": ("tool_input", "tool_output"), "user_prompt": ("prompt",)}
MAX_WARNINGS = 20


class Unavailable(Exception):
    """nova-hunting is not installed."""


def _scanner(files: list):
    try:
        from nova.core.rule_file import NovaRuleFileParser  # type: ignore[import-untyped]
        from nova.core.scanner import NovaScanner  # type: ignore[import-untyped]
    except ImportError as exc:
        raise Unavailable("nova-session scan needs nova-hunting: pip install 'nova_session[nova]' (%s)" % exc) from None
    scanner = NovaScanner()
    problems = []
    for path in files:
        try:
            scanner.add_rules(NovaRuleFileParser().parse_file(path))
        except Exception as exc:  # noqa: BLE001 - nova-hunting raises its own errors, and others
            problems.append("%s: %s" % (path, exc))
    return scanner, problems


def _version() -> str:
    try:
        from importlib.metadata import version

        return "nova-hunting %s" % version("nova-hunting")
    except Exception:  # noqa: BLE001 - the version is a label
        return "nova-hunting"


def rescan(root: str, sid: str, files: list) -> dict:
    """Scan every tool event and prompt of a session with every tier nova-hunting has; append
    the ``scan`` records; return ``{"scanned", "flagged", "problems", "records"}``."""
    from ..scanner import StdoutToStderr

    with StdoutToStderr():  # nova-hunting prints some warnings on stdout
        scanner, problems = _scanner(files)
        label = _version()
        session = reading.load_session(root, sid)
        out = []
        for record in session["events"]:
            fields = SCANNED_TYPES.get(record.get("type"))
            if fields is None or record.get("id") is None:
                continue
            out.append(_scan_record(scanner, label, record, fields))
    manager = sessions.SessionManager(root)
    for record in out:
        manager.append_event(sid, record)
    flagged = sum(1 for record in out if record["nova_verdict"] != "allowed")
    return {"scanned": len(out), "flagged": flagged, "problems": problems, "records": out}


def _scan_record(scanner, label: str, record: dict, fields: tuple) -> dict:
    started = time.perf_counter()
    matched: dict = {}
    warnings: list = []
    strings: list = []
    for field in fields:
        scan.texts(record.get(field), strings, scan.bound())
    for text in strings:
        details = scanner.scan_with_details(text)
        for name, result in details.get("detailed_results", {}).items():
            if result.get("matched"):
                matched.setdefault(name, str((result.get("meta") or {}).get("severity", "")))
            for warning in (result.get("debug") or {}).get("evaluation_warnings", []):
                if warning not in warnings:
                    warnings.append(str(warning))
    fields_out = scan.verdict_of(list(matched), list(matched.values()))
    return {
        "type": "scan",
        "timestamp": sessions.timestamp(),
        "of": record.get("id"),
        "tool_use_id": record.get("tool_use_id"),
        "scanner": label,
        **fields_out,
        "nova_scan_time_ms": round((time.perf_counter() - started) * 1000, 3),
        "tier_warnings": warnings[:MAX_WARNINGS],
    }


def latest_scans(events: list) -> dict:
    """{record id: the last scan record about it}."""
    found: dict = {}
    for record in events:
        if record.get("type") == "scan" and isinstance(record.get("of"), int):
            found[record["of"]] = record
    return found
