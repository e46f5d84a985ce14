"""Fixtures of the guard tests (redaction, NOVA scanning)."""

from __future__ import annotations

import pytest

from nova_session import scanner
from nova_session.guard import scan


@pytest.fixture
def scanning(api, project, monkeypatch):
    for name in ("NOVA_SESSION_SCAN", "NOVA_SESSION_RULES", "NOVA_SESSION_SCANNER", "NOVA_SESSION_SCAN_MAX_CHARS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    monkeypatch.setenv("XDG_CACHE_HOME", str(project.parent / "cache"))
    scanner.set_scanner(None)
    scan._cache.clear()
    scanner._warned.clear()
    yield project
    scan._cache.clear()
    scanner._warned.clear()
