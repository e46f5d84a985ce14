"""``nova-session scan ID``: a recorded session re-scanned with nova-hunting itself (every
tier it has), scan records appended and chained, and shown with the records they concern."""

from __future__ import annotations

import json
import logging

import pytest
from test_hooks import hook_env, only_session, run_in_process  # noqa: F401
from test_nova_hooks import INJECTION, read_call

from nova_session import cli


@pytest.fixture(autouse=True)
def quiet_oracle(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_a_session_rescanned_with_every_tier(scanning, caplog, capsys):
    read_call(scanning, caplog, capsys, INJECTION)
    read_call(scanning, caplog, capsys, "all 12 tests passed", number=2)
    run_in_process(scanning, caplog, capsys, "UserPromptSubmit", prompt="summarise the README")
    sid, before = only_session(scanning)
    capsys.readouterr()
    assert cli.main(["scan", sid, "--project", str(scanning)]) == 0
    out = capsys.readouterr().out
    assert "3 records scanned, 1 flagged, with nova-hunting 0.3.1" in out
    sid, after = only_session(scanning)
    scans = after[len(before) :]
    assert [s["type"] for s in scans] == ["scan"] * 3
    by_target = {s["of"]: s for s in scans}
    injected, benign, prompt = (r["id"] for r in before if r["type"] in ("event", "user_prompt"))
    assert by_target[injected]["nova_verdict"] == "blocked"
    assert "InstructionOverride_IgnorePrevious" in by_target[injected]["nova_rules_matched"]
    assert by_target[injected]["scanner"] == "nova-hunting 0.3.1"
    # Without its semantic and LLM tiers, nova-hunting says so for rules they could have decided.
    assert by_target[benign]["nova_verdict"] == "allowed" and by_target[benign]["tier_warnings"]
    assert by_target[prompt]["tool_use_id"] is None
    # Chained like any other record.
    assert cli.main(["verify", sid, "--project", str(scanning)]) == 0
    capsys.readouterr()
    # show and the report put a scan with the record it concerns.
    assert cli.main(["show", sid, "--project", str(scanning)]) == 0
    shown = capsys.readouterr().out.splitlines()
    line = next(n for n, text in enumerate(shown) if text.startswith("#%d " % injected))
    assert "rescan by nova-hunting 0.3.1: blocked" in shown[line + 1]
    assert not any(" scan " in text.split("  ")[0] for text in shown)
    assert cli.main(["report", sid, "--project", str(scanning), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    html = open(report, encoding="utf-8").read()
    assert "Rescan (nova-session scan, every tier)" in html


def test_scan_without_nova_hunting_says_how_to_get_it(scanning, caplog, capsys, monkeypatch):
    import sys

    read_call(scanning, caplog, capsys, INJECTION)
    sid, before = only_session(scanning)
    monkeypatch.setitem(sys.modules, "nova.core.rule_file", None)
    capsys.readouterr()
    assert cli.main(["scan", sid, "--project", str(scanning)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "pip install 'nova_session[nova]'" in captured.err
    assert only_session(scanning)[1] == before
