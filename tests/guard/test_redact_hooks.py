"""Redaction where it happens: in the hooks (on by default, after the scan, before
truncation, fail closed), with the user's own rules, and for library callers
who ask for it."""

from __future__ import annotations

import base64
import json
import os
import random
import string

import pytest
from test_hooks import hook_env, nova_warnings, only_session, run_in_process, tool_events  # noqa: F401

from nova_session import SessionManager, SessionWriter, guard, scanner
from nova_session.guard import redact

_random = random.Random(20261202)


def token(alphabet: str, size: int) -> str:
    return "".join(_random.choice(alphabet) for _ in range(size))


ALNUM = string.ascii_letters + string.digits
GITHUB = "ghp_" + token(ALNUM, 36)
AWS_ID = "AKIA" + token(string.ascii_uppercase + "234567", 16)  # base32, as AWS key ids are
PASSWORD = "Tr0ub4dor&" + token(ALNUM, 10)
JWT = ".".join(
    base64.urlsafe_b64encode(part).rstrip(b"=").decode()
    for part in (b'{"alg":"HS256","typ":"JWT"}', b'{"sub":"1234567890","name":"Ada","iat":1516239022}', os.urandom(32))
)
SECRETS = (GITHUB, AWS_ID, PASSWORD, JWT)


@pytest.fixture
def redacting(api, project, monkeypatch):
    for name in ("NOVA_SESSION_REDACT", "NOVA_SESSION_REDACT_RULES", "NOVA_SESSION_SCANNER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    scanner.set_scanner(None)
    redact._cache.clear()
    redact._warned.clear()
    yield project
    scanner.set_scanner(None)
    redact._cache.clear()
    redact._warned.clear()


def file_bytes(project) -> bytes:
    (path,) = (project / ".nova-protector" / "sessions").glob("*.jsonl")
    return path.read_bytes()


def bash_call(project, caplog, capsys, command: str, stdout: str, warnings: int = 0) -> dict:
    """A Bash call's PreToolUse then PostToolUse; ``warnings``: how many the first logs."""
    call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "toolu_%s" % token(ALNUM, 8)}
    run_in_process(project, caplog, capsys, "PreToolUse", warnings=warnings, **call)
    response = {"stdout": stdout, "stderr": "", "interrupted": False}
    run_in_process(project, caplog, capsys, "PostToolUse", tool_response=response, **call)
    return tool_events(only_session(project)[1])[-1]


def test_a_hook_writes_no_secret_and_says_what_it_redacted(redacting, caplog, capsys):
    command = 'curl -H "Authorization: Bearer %s" https://api.example.com && export GH=%s' % (JWT, GITHUB)
    stdout = "AWS_ACCESS_KEY_ID=%s\nDB_PASSWORD=%s\n" % (AWS_ID, PASSWORD)
    event = bash_call(redacting, caplog, capsys, command, stdout)
    data = file_bytes(redacting)
    for secret in SECRETS:
        assert secret.encode() not in data, secret
    assert "[REDACTED:" in event["tool_input"]["command"] and "[REDACTED:" in event["tool_output"]["stdout"]
    assert event["tool_input"]["command"].startswith('curl -H "Authorization: Bearer [REDACTED:')
    fields = {item["field"] for item in event["redactions"]}
    assert {"tool_input.command", "tool_output.stdout"} <= fields
    for item in event["redactions"]:
        assert set(item) == {"field", "rule", "count"} and item["count"] >= 1
    start = only_session(redacting)[1][1]
    assert start["type"] == "tool_start" and "[REDACTED:" in start["tool_input"]["command"]
    pending = redacting / ".nova-protector" / "pending"
    for path in pending.rglob("*"):
        if path.is_file():
            assert GITHUB.encode() not in path.read_bytes()


def test_the_scanner_sees_the_raw_text(redacting, caplog, capsys):
    seen = []

    def scan(event):
        seen.append(json.dumps(event))
        return {}

    scanner.set_scanner(scan)
    bash_call(redacting, caplog, capsys, "echo %s" % GITHUB, "")
    assert seen and GITHUB in seen[0]
    assert GITHUB.encode() not in file_bytes(redacting)


def test_redaction_comes_before_truncation(redacting, caplog, capsys, monkeypatch):
    monkeypatch.setenv("NOVA_SESSION_MAX_FIELD_BYTES", "1000")
    command = "x" * 980 + " GH=" + GITHUB  # the cut would fall inside the token
    event = bash_call(redacting, caplog, capsys, command, "")
    assert GITHUB[:12].encode() not in file_bytes(redacting)
    assert event["truncated_fields"] == [{"field": "tool_input.command", "original_bytes": 1005, "kept_bytes": 1000}]
    assert any(item["field"] == "tool_input.command" for item in event["redactions"])


def test_prompts_and_every_record_are_redacted(redacting, caplog, capsys):
    run_in_process(redacting, caplog, capsys, "UserPromptSubmit", prompt="use %s to push" % GITHUB, prompt_id="p1")
    prompt = only_session(redacting)[1][-1]
    assert prompt["prompt"].startswith("use [REDACTED:") and GITHUB.encode() not in file_bytes(redacting)
    assert prompt["redactions"][0]["field"] == "prompt"


def test_redaction_off_is_a_choice(redacting, caplog, capsys, monkeypatch):
    monkeypatch.setenv("NOVA_SESSION_REDACT", "0")
    event = bash_call(redacting, caplog, capsys, "echo %s" % GITHUB, "")
    assert GITHUB in event["tool_input"]["command"] and "redactions" not in event


def test_user_rules_add_to_the_built_in_ones(redacting, caplog, capsys, monkeypatch, tmp_path):
    rules = tmp_path / "mine.json"
    rules.write_text(
        json.dumps({"format": 1, "rules": [{"id": "acme-key", "regex": "acme_[0-9]{6}", "keywords": ["acme_"]}]})
    )
    monkeypatch.setenv("NOVA_SESSION_REDACT_RULES", str(rules))
    event = bash_call(redacting, caplog, capsys, "deploy --key acme_123456 --gh %s" % GITHUB, "")
    assert event["tool_input"]["command"].startswith("deploy --key [REDACTED:acme-key] --gh [REDACTED:")


def test_a_bad_user_rule_is_refused_once_and_the_rest_still_redact(redacting, caplog, capsys, monkeypatch, tmp_path):
    rules = tmp_path / "mine.json"
    good = {"id": "acme-key", "regex": "acme_[0-9]{6}", "keywords": ["acme_"]}
    rules.write_text(json.dumps({"format": 1, "rules": [{"id": "broken", "regex": "(?<=x)y"}, good]}))
    monkeypatch.setenv("NOVA_SESSION_REDACT_RULES", "%s%s%s" % (rules, os.pathsep, tmp_path / "missing.json"))
    command = "deploy --key acme_123456 --gh %s" % GITHUB
    call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "toolu_bad_rule"}
    run_in_process(redacting, caplog, capsys, "PreToolUse", warnings=2, **call)
    messages = [w.getMessage() for w in nova_warnings(caplog)]
    assert "missing.json: cannot read it" in messages[0]
    assert messages[1].endswith(
        'mine.json: rule 0 (broken): "regex": an unsupported group at 0 (only (?:...), (?P<name>...) and the flags i, m, s); not used'
    )
    record = only_session(redacting)[1][-1]
    assert record["tool_input"]["command"].startswith("deploy --key [REDACTED:acme-key] --gh [REDACTED:")


def test_when_the_engine_cannot_run_the_record_is_written_without_its_text(redacting, caplog, capsys, monkeypatch):
    monkeypatch.setattr(redact, "BUILTIN", "/nonexistent/redact.json")
    event = bash_call(redacting, caplog, capsys, "echo %s" % GITHUB, "out", warnings=1)
    assert GITHUB.encode() not in file_bytes(redacting)
    assert event["tool_name"] == "Bash" and event["tool_input"] == {"[REDACTED:redaction-failed]": redact.FAILED}
    assert "cannot read the built-in rules" in event["redaction_error"]


def test_library_callers_ask_for_it(redacting):
    api_manager = SessionManager(str(redacting))
    sid = api_manager.generate_session_id()
    api_manager.init_session_file(sid)
    api_manager.append_event(sid, {"tool_name": "Bash", "tool_input": {"command": "echo %s" % GITHUB}})
    api_manager.redact = True
    data = {"tool_name": "Bash", "tool_input": {"command": "echo %s" % AWS_ID}}
    api_manager.append_event(sid, data)
    assert data["tool_input"]["command"] == "echo %s" % AWS_ID  # the caller's dict is untouched
    writer = SessionWriter(sid, str(redacting))
    writer.redact = True
    writer.append({"tool_output": "token %s" % JWT})
    writer.close()
    api_manager.append_event(sid, guard.redact.redact_event({"prompt": PASSWORD}))
    body = file_bytes(redacting)
    assert GITHUB.encode() in body  # not asked for: written as given
    for secret in (AWS_ID, JWT):
        assert secret.encode() not in body
    events = api_manager.read_session_events(sid)
    assert [bool(e.get("redactions")) for e in events[1:]] == [False, True, True, False]


def test_a_secret_found_once_is_removed_from_the_whole_record(redacting, caplog, capsys):
    """The output prints the value alone, where no rule could know it: it goes too,
    and so do the paths cut out of the command."""
    secret = "Zq" + token(ALNUM, 18)
    command = "export DB_PASSWORD=%s; cat /srv/%s/x; echo $DB_PASSWORD" % (secret, secret)
    event = bash_call(redacting, caplog, capsys, command, secret + "\n")
    assert secret.encode() not in file_bytes(redacting)
    assert event["tool_output"]["stdout"] == "[REDACTED:nova-secret-assignment]\n"
    assert event["files_accessed"] == []  # from the redacted command: a bracketed path is not taken as a file
    fields = [item["field"] for item in event["redactions"]]
    assert "tool_input.command" in fields and "tool_output.stdout" in fields


def test_a_huge_output_is_cut_before_redaction_and_reported_whole(redacting, caplog, capsys):
    """Redacting megabytes the truncation then drops would only cost the hook time: strings
    are cut at the limit plus a margin first; the record still reports the original size."""
    stdout = "GH=%s\n" % GITHUB + "x" * (3 << 20)
    event = bash_call(redacting, caplog, capsys, "cat big.log", stdout)
    assert event["tool_output"]["stdout"].startswith("GH=[REDACTED:github-pat]\n")
    (cut,) = [note for note in event["truncated_fields"] if note["field"] == "tool_output.stdout"]
    assert cut["original_bytes"] == len(stdout) and cut["kept_bytes"] <= 10240
    assert GITHUB.encode() not in file_bytes(redacting)
