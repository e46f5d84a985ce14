"""The evaluation corpus (tests/redaction_corpus) through the hooks: every text, as
a Bash command and as its output, goes through PreToolUse and PostToolUse, and the
session file is searched for every labelled secret. A secret the engine catches
never reaches the file by any path (input, output, the pending start, keys, the
file list); what does reach it is exactly what the rules miss, and that stays
within the recall the README quotes. Benign texts come through unchanged."""

from __future__ import annotations

import json
import os
import sys

import pytest

from nova_session import hooks, scanner
from nova_session.guard import redact

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "benches"))
import redaction_report  # noqa: E402

# The floor under the corpus recall the README quotes: a rule change that loses
# secrets fails here (raise it when the rules improve).
RECALL_FLOOR = 0.95


@pytest.fixture
def items():
    return redaction_report.load_corpus()


def _run(event: str, payload: dict) -> None:
    assert hooks.run(event, json.dumps(payload).encode()) == 0


def test_the_hooks_leak_nothing_the_rules_catch(api, project, monkeypatch, items):
    for name in (
        "NOVA_SESSION_REDACT",
        "NOVA_SESSION_REDACT_RULES",
        "NOVA_SESSION_SCANNER",
        "NOVA_SESSION_MAX_FIELD_BYTES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    monkeypatch.setenv("NOVA_SESSION_MAX_FIELD_BYTES", str(1 << 20))  # whole texts: only redaction may hide a secret
    scanner.set_scanner(None)
    redact._cache.clear()
    base = {"session_id": "corpus", "transcript_path": "/t", "cwd": str(project)}
    for number, item in enumerate(items):
        call = {"tool_name": "Bash", "tool_input": {"command": item["text"]}, "tool_use_id": "toolu_%d" % number}
        _run("PreToolUse", dict(base, hook_event_name="PreToolUse", **call))
        response = {"stdout": item["text"], "stderr": "", "interrupted": False}
        _run("PostToolUse", dict(base, hook_event_name="PostToolUse", tool_response=response, **call))
    (path,) = (project / ".nova-protector" / "sessions").glob("*.jsonl")
    written: dict = {}  # tool_use_id -> every string of its records
    for line in path.read_text("utf-8").splitlines():
        record = json.loads(line)
        written.setdefault(record.get("tool_use_id"), []).extend(_strings(record))

    leaked, missed, secrets = [], [], 0
    for number, item in enumerate(items):
        engine_output = redact.redact_text(item["text"])[0]
        decoded = "\x00".join(written["toolu_%d" % number])
        for secret in item["secrets"]:
            secrets += 1
            caught = redaction_report.is_caught(secret, engine_output)
            in_file = not redaction_report.is_caught(secret, decoded)
            if caught and in_file:
                leaked.append((item["id"], secret[:12]))
            if not caught:
                missed.append(item["id"])
    assert leaked == [], "the hooks wrote secrets the rules catch: %s" % leaked[:10]
    recall = 1 - len(missed) / secrets
    assert recall >= RECALL_FLOOR, "corpus recall %.1f%% (misses: %s)" % (recall * 100, missed[:20])

    for number, item in enumerate(items):
        if item["category"] == "benign" and redact.redact_text(item["text"])[1] == []:
            assert item["text"] in written["toolu_%d" % number], item["id"]  # nothing redacted: written as it came


def _strings(value) -> list:
    """Every string in parsed records, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in _strings(key) + _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []
