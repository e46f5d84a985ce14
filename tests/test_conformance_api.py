"""Conformance of the public API to the README ("Quickstart for hook authors",
"Storage format", "Session ids", "Records"), for each kernel.

Every test runs once per backend (ids ``rust`` and ``python``) through the
``api`` fixture, which points the public ``nova_session`` functions at one
kernel and empties the process registry.

Expected values come from the README, never from running the library: exact
bytes of records, key orders, id numbering, modes, and the fail-open
contract (right return value, nothing raised, exactly one warning on the
``nova_session`` logger, nothing on stdout).
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import platform
import re
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nova_session import sessions

from support import PUBLIC_FUNCTIONS, append_raw, fails_open, new_session, nova_warnings, session_path, tree, unchained

SID_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}_[0-9a-z]{6}\Z", re.ASCII)
TIMESTAMP_RE = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z", re.ASCII)
SID = "2026-01-10_16-30-45_a1b2c3"  # a well-formed id for sessions set up by hand
INIT_KEYS = ["type", "session_id", "timestamp", "platform", "project_dir"]
END_KEYS = ["type", "session_id", "timestamp", "event_count"]


# ------------------------------------------------------------------- helpers


def real(path) -> Path:
    return Path(os.path.realpath(path))


def data_dir(project) -> Path:
    return real(project) / ".nova-protector"


def pairs(line: bytes) -> list:
    """The (key, value) pairs of one JSON object line, in order, duplicates kept."""
    return json.loads(line.decode("utf-8"), object_pairs_hook=list)


def keys(line: bytes) -> list:
    return [key for key, _ in pairs(line)]


def sha256_hex(line: bytes) -> bytes:
    return hashlib.sha256(line).hexdigest().encode("ascii")


def complete_lines(path: Path) -> list:
    """The newline-terminated lines of a file (a torn last piece is dropped)."""
    return [unchained(line) for line in path.read_bytes().split(b"\n")[:-1]]


def parsed(path: Path) -> list:
    return [json.loads(line) for line in complete_lines(path)]


def assert_only_data_dir_grew(before: dict, after: dict) -> None:
    """Existing entries unchanged; new ones (if any) only inside project/.nova-protector/."""
    assert {k: v for k, v in after.items() if k in before} == before
    new = [k for k in after if k not in before]
    assert all(k.startswith("project/.nova-protector/") for k in new), new


def write_init_by_hand(project, sid: str = SID) -> Path:
    """A session file set up without the library (for scenes the API must refuse)."""
    sessions_dir = data_dir(project) / "sessions"
    sessions_dir.mkdir(parents=True, exist_ok=True)
    path = sessions_dir / (sid + ".jsonl")
    path.write_bytes(b'{"type":"init","session_id":"%s"}\n' % sid.encode())
    return path


# ------------------------------------------------------------ session ids (§3)


def test_generate_session_id_format_uniqueness_and_time(api):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    ids = [api.generate_session_id() for _ in range(2000)]
    after = datetime.now(timezone.utc)
    assert all(type(sid) is str and SID_RE.match(sid) for sid in ids), ids[:3]
    assert len(set(ids)) == len(ids)
    for sid in (ids[0], ids[-1]):
        stamp = datetime.strptime(sid[:19], "%Y-%m-%d_%H-%M-%S").replace(tzinfo=timezone.utc)
        assert before <= stamp <= after
    seconds = [sid[:19] for sid in ids]
    assert seconds == sorted(seconds)


# ---------------------------------------------------------- storage layout (§2)


def test_get_session_paths_creates_layout_with_private_modes(api, project):
    paths = api.get_session_paths(project)
    base = data_dir(project)
    assert set(paths) == {"sessions", "reports"}
    assert all(isinstance(value, Path) for value in paths.values())
    assert paths["sessions"] == base / "sessions"
    assert paths["reports"] == base / "reports"
    for directory in (base, paths["sessions"], paths["reports"]):
        assert directory.is_dir() and not directory.is_symlink()
        assert stat.S_IMODE(directory.lstat().st_mode) == 0o700, directory
    gitignore = base / ".gitignore"
    assert gitignore.read_text().splitlines() == ["*"]
    # Nothing at all in the project besides .nova-protector.
    assert [entry.name for entry in real(project).iterdir()] == [".nova-protector"]


def test_get_session_paths_accepts_str_and_is_idempotent(api, project):
    first = api.get_session_paths(str(project))
    snapshot = tree(project)
    second = api.get_session_paths(project)
    assert first == second
    assert tree(project) == snapshot


def test_every_directory_is_0700_and_every_file_0600(api, project):
    sid, _ = new_session(api, project, claude_session_id="claude-1")
    assert api.append_event(sid, {"tool_name": "Bash"}, project)
    for directory, _dirnames, filenames in os.walk(data_dir(project)):
        assert stat.S_IMODE(os.lstat(directory).st_mode) == 0o700, directory
        for name in filenames:
            path = os.path.join(directory, name)
            assert stat.S_ISREG(os.lstat(path).st_mode), path
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(session_path(project, sid).stat().st_mode) == 0o600


def test_get_session_paths_missing_directory_returns_none_and_creates_nothing(api, tmp_path, caplog, capsys):
    missing = tmp_path / "no" / "such" / "project"
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, lambda: api.get_session_paths(missing)) is None
    assert tree(tmp_path) == snapshot


def test_init_leaves_no_temporary_file(api, project):
    sid, path = new_session(api, project)
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]


# ------------------------------------------------------------ init record (§4)


def test_init_record_exact_keys_and_formats(api, project):
    sid = api.generate_session_id()
    before = datetime.now(timezone.utc)
    path = api.init_session_file(sid, project)
    after = datetime.now(timezone.utc)
    assert isinstance(path, Path)
    assert path == session_path(project, sid)
    data = path.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    record_pairs = pairs(data[:-1])
    assert [key for key, _ in record_pairs] == INIT_KEYS
    record = dict(record_pairs)
    assert record["type"] == "init"
    assert record["session_id"] == sid
    assert TIMESTAMP_RE.match(record["timestamp"]), record["timestamp"]
    stamp = datetime.strptime(record["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamp <= after
    assert record["platform"] == platform.system().lower()
    assert record["project_dir"] == str(real(project))
    # Compact serialization of exactly these values.
    expected = (
        '{"type":"init","session_id":%s,"timestamp":%s,"platform":%s,"project_dir":%s}\n'
        % tuple(json.dumps(record[key], ensure_ascii=False) for key in INIT_KEYS[1:])
    ).encode("utf-8")
    assert data == expected


def test_init_project_dir_is_absolute_and_resolved(api, tmp_path, project, monkeypatch):
    link = tmp_path / "link-to-project"
    link.symlink_to(project, target_is_directory=True)
    sid = api.generate_session_id()
    path = api.init_session_file(sid, link)
    assert path == session_path(project, sid)
    assert parsed(path)[0]["project_dir"] == str(real(project))

    monkeypatch.chdir(tmp_path)
    other = api.generate_session_id()
    path = api.init_session_file(other, "project/../project")
    assert path == session_path(project, other)
    assert parsed(path)[0]["project_dir"] == str(real(project))


@pytest.mark.parametrize(
    "name",
    [os.fsdecode(b'proj \xc3\xa9 \xe4\xb8\xad "q" \\ x'), os.fsdecode(b"not-utf8-\xff\xfe")],
    ids=["non-ascii", "non-utf8"],
)
def test_project_directory_with_unusual_name(api, tmp_path, name):
    project = tmp_path / name
    project.mkdir()
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project)
    assert path == session_path(project, sid)
    assert api.append_event(sid, {"n": 1}, project) is True
    assert api.append_event(sid, {"n": 2}) is True  # through the registry
    assert api.get_active_session(project) == sid
    assert api.finalize_session(sid, project) == path
    records = api.read_session_events(sid, project)
    assert [r["type"] for r in records] == ["init", "event", "event", "end"]
    assert records[0]["project_dir"] == os.path.realpath(project)
    assert records[-1]["event_count"] == 2


def test_init_extras_follow_fixed_keys_in_order(api, project):
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project, claude_session_id="abc-123", model="opus", tags=["a", "b"])
    line = complete_lines(path)[0]
    assert keys(line) == INIT_KEYS + ["claude_session_id", "model", "tags"]
    record = json.loads(line)
    assert record["claude_session_id"] == "abc-123"
    assert record["model"] == "opus"
    assert record["tags"] == ["a", "b"]


def test_init_extra_never_replaces_a_fixed_key(api, project):
    sid = api.generate_session_id()
    path = api.init_session_file(sid, project, type="evil", timestamp="evil", platform="evil", extra_key=1)
    assert path is not None
    record_pairs = pairs(complete_lines(path)[0])
    names = [key for key, _ in record_pairs]
    assert len(names) == len(set(names)), "duplicate keys: %r" % names
    assert names[:5] == INIT_KEYS
    record = dict(record_pairs)
    assert record["type"] == "init"
    assert TIMESTAMP_RE.match(record["timestamp"])
    assert record["platform"] == platform.system().lower()
    assert record["extra_key"] == 1


def test_init_existing_file_returns_none_and_leaves_it_byte_identical(api, project, caplog, capsys):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    before = path.read_bytes()
    mode = path.stat().st_mode
    result = fails_open(caplog, capsys, lambda: api.init_session_file(sid, project, claude_session_id="x"))
    assert result is None
    assert path.read_bytes() == before
    assert path.stat().st_mode == mode
    # A refused init has no side effect: a finished session is not made active again.
    assert api.finalize_session(sid, project) == path
    before = path.read_bytes()
    assert fails_open(caplog, capsys, lambda: api.init_session_file(sid, project, claude_session_id="x")) is None
    assert path.read_bytes() == before
    assert api.get_active_session(project) is None
    assert api.get_active_session(project, "x") is None


def test_init_marks_session_active(api, project):
    sid, _ = new_session(api, project)
    assert api.get_active_session(project) == sid


# ---------------------------------------------------------- event records (§4)


def test_simple_event_exact_bytes(api, project):
    sid, path = new_session(api, project)
    init_line = path.read_bytes()
    event = {"tool_name": "Bash", "tool_input": {"command": "ls -la"}, "nova_severity": None, "files_accessed": []}
    assert api.append_event(sid, event, project) is True
    # README, "The hash chain": prev, the last key, is the sha256 of the line before, without its newline.
    first = (
        b'{"type":"event","id":1,"tool_name":"Bash","tool_input":{"command":"ls -la"},'
        b'"nova_severity":null,"files_accessed":[],"prev":"sha256:%s"}' % sha256_hex(init_line[:-1])
    )
    assert path.read_bytes() == init_line + first + b"\n"
    assert api.append_event(sid, {"n": 2, "prev": "caller's own"}, project) is True  # prev is reserved
    assert path.read_bytes().split(b"\n")[-2] == b'{"type":"event","id":2,"n":2,"prev":"sha256:%s"}' % sha256_hex(first)


def test_tool_event_schema_round_trips(api, project):
    sid, path = new_session(api, project)
    event = {
        "timestamp_start": "2026-01-10T16:30:45.123Z",
        "timestamp_end": "2026-01-10T16:30:45.301Z",
        "duration_ms": 178,
        "tool_name": "Read",
        "tool_input": {"file_path": "/p/app.py"},
        "tool_output": "line 1\nline 2 \u00e9\u4e2d",
        "working_dir": "/p",
        "files_accessed": ["/p/app.py"],
        "nova_verdict": "allowed",
        "nova_severity": None,
        "nova_rules_matched": [],
        "nova_scan_time_ms": 0,
    }
    assert api.append_event(sid, event, project) is True
    line = complete_lines(path)[1]
    assert keys(line) == ["type", "id"] + list(event)
    assert json.loads(line) == dict({"type": "event", "id": 1}, **event)
    assert "\u00e9\u4e2d".encode("utf-8") in line  # non-ASCII written as itself


def test_event_type_first_id_second_then_caller_order(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"zeta": 1, "alpha": 2, "type": "user_prompt", "mid": 3}, project)
    assert api.append_event(sid, {"prompt": "hi", "id": 77, "type": "custom", "after": None}, project)
    first, second = complete_lines(path)[1:]
    assert first == b'{"type":"user_prompt","id":1,"zeta":1,"alpha":2,"mid":3}'
    assert second == b'{"type":"custom","id":77,"prompt":"hi","after":null}'


def test_caller_given_ids(api, project):
    sid, path = new_session(api, project)
    appended = [
        ({"n": 1}, 1),
        ({"id": 10, "n": 2}, 10),  # an int id is written as given and moves the numbering
        ({"n": 3}, 11),
        ({"id": "abc", "n": 4}, "abc"),  # a str id is written as given and does not
        ({"n": 5}, 12),
        ({"id": 5, "n": 6}, 5),  # the last integer id counts, even when smaller
        ({"n": 7}, 6),
    ]
    for event, _ in appended:
        assert api.append_event(sid, event, project) is True
    records = parsed(path)[1:]
    assert [record["id"] for record in records] == [expected for _, expected in appended]
    assert [record["n"] for record in records] == [1, 2, 3, 4, 5, 6, 7]
    assert all(keys(line)[:2] == ["type", "id"] for line in complete_lines(path)[1:])


def test_string_ids_only_number_from_one(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"id": "first"}, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert [record["id"] for record in parsed(path)[1:]] == ["first", 1]


def test_records_with_lone_surrogates_count_for_ids(api, project):
    # The library writes a lone surrogate as \udXXX (README, "Records"): such a record is
    # complete and parsable, so it must count for the next id.
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"x": "a\udc80b", "k": "\ud800"}, project)
    assert api.append_event(sid, {"n": 2}, project)
    assert [record["id"] for record in parsed(path)[1:]] == [1, 2]
    assert len(api.read_session_events(sid, project)) == 3


def test_append_event_returns_false_and_creates_nothing_without_session_file(api, project, caplog, capsys):
    sid = api.generate_session_id()
    result = fails_open(caplog, capsys, lambda: api.append_event(sid, {"n": 1}, project))
    assert result is False
    assert list(project.iterdir()) == []
    # Also with the layout in place: the session file is never created here.
    api.get_session_paths(project)
    snapshot = tree(project)
    result = fails_open(caplog, capsys, lambda: api.append_event(sid, {"n": 1}, project))
    assert result is False
    assert tree(project) == snapshot
    assert not session_path(project, sid).exists()


def test_append_after_end_record_is_allowed(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.finalize_session(sid, project) == path
    assert api.append_event(sid, {"n": 2}, project) is True
    records = parsed(path)
    assert [record["type"] for record in records] == ["init", "event", "end", "event"]
    assert records[-1]["id"] == 2  # 1 + the last integer id; the end record has none


def test_end_record_after_a_resume_does_not_count_earlier_end_records(api, project):
    """§4: each SessionEnd of a resumed session ends it again; N counts the
    records since init that are not end records."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.finalize_session(sid, project, reason="first") == path
    assert api.finalize_session(sid, project, reason="nothing new") == path  # no record since: nothing written
    assert api.append_event(sid, {"type": "session_start", "source": "resume"}, project)
    assert api.append_event(sid, {"n": 2}, project)
    assert api.finalize_session(sid, project, reason="second") == path
    records = parsed(path)
    assert [(r["type"], r.get("event_count")) for r in records] == [
        ("init", None),
        ("event", None),
        ("end", 1),
        ("session_start", None),
        ("event", None),
        ("end", 3),
    ]
    assert [r.get("reason") for r in records if r["type"] == "end"] == ["first", "second"]


# ------------------------------------------------------------------ ids (§4, §8)


def test_ids_continue_after_hand_written_torn_line(api, project):
    sid, path = new_session(api, project)
    for n in range(3):
        assert api.append_event(sid, {"n": n}, project)
    torn = b'{"type":"event","id":4,"n":"tor'
    append_raw(path, torn)
    before = path.read_bytes()
    assert api.append_event(sid, {"n": 4}, project) is True
    after = path.read_bytes()
    # The torn bytes stay, terminated by a newline; the new record follows on its own line and
    # links past the torn line, to the last complete one before it.
    last_good = before[: -len(torn)].split(b"\n")[-2]
    link = b',"prev":"sha256:%s"}' % sha256_hex(last_good)
    assert after == before + b'\n{"type":"event","id":4,"n":4' + link + b"\n"
    events = api.read_session_events(sid, project)
    assert [event.get("id") for event in events] == [None, 1, 2, 3, 4]


NEXT_ID_CASES = [
    # (id, complete lines written by hand after events 1 and 2, the next assigned id)
    ("garbage", b"garbage\n", 3),
    ("empty-line", b"\n", 3),
    ("bad-literal", b'{"type":"event","id":99,"x":tru}\n', 3),
    ("trailing-garbage", b'{"type":"event","id":99}garbage\n', 3),
    ("two-objects", b'{"type":"event","id":99}{"id":98}\n', 3),
    ("array", b'[{"type":"event","id":99}]\n', 3),
    ("nested-id", b'{"type":"event","x":{"id":99}}\n', 3),
    ("str-id", b'{"type":"event","id":"99"}\n', 3),
    ("float-id", b'{"type":"event","id":99.0}\n', 3),
    ("exponent-id", b'{"type":"event","id":1e2}\n', 3),
    ("bool-id", b'{"type":"event","id":true}\n', 3),
    ("null-id", b'{"type":"event","id":null}\n', 3),
    ("leading-zero", b'{"type":"event","id":099}\n', 3),
    ("invalid-utf8", b'{"type":"event","id":99,"x":"\xff"}\n', 3),
    ("raw-tab-in-string", b'{"type":"event","id":99,"x":"a\tb"}\n', 3),
    ("smaller-id", b'{"type":"event","id":7}\n', 8),
    ("id-then-idless", b'{"type":"event","id":41}\n{"type":"note"}\ngarbage\n', 42),
    ("whitespace", b'  {"type" : "event", "id" : 12 }  \n', 13),
    ("crlf", b'{"type":"event","id":12}\r\n', 13),
    ("escaped-key", b'{"type":"event","\\u0069d":7}\n', 8),  # the key is "id" once decoded
    ("lone-surrogate", b'{"type":"event","id":12,"x":"\\udc80"}\n', 13),
    ("negative", b'{"type":"event","id":-3}\n', -2),
    ("zero", b'{"type":"event","id":0}\n', 1),
    ("big", b'{"type":"event","id":123456789012345678901234567890}\n', 123456789012345678901234567891),
    # Nested deeper than the library ever writes, but a complete JSON object all the same.
    ("nested-600", b'{"type":"event","id":50,"x":' + b"[" * 600 + b"]" * 600 + b"}\n", 51),
    ("nested-100000", b'{"type":"event","id":50,"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", 3),
]


@pytest.mark.parametrize(
    "tail, expected", [case[1:] for case in NEXT_ID_CASES], ids=[case[0] for case in NEXT_ID_CASES]
)
def test_next_id_is_one_plus_last_complete_integer_id(api, project, tail, expected):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.append_event(sid, {"n": 2}, project)
    append_raw(path, tail)
    before = path.read_bytes()
    assert api.append_event(sid, {"n": "next"}, project) is True
    after = path.read_bytes()
    assert after[: len(before)] == before
    assert unchained(after[len(before) :].rstrip(b"\n")) + b"\n" == b'{"type":"event","id":%d,"n":"next"}\n' % expected


def test_next_id_after_end_record_and_corrupt_line(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.append_event(sid, {"n": 2}, project)
    assert api.finalize_session(sid, project) == path
    append_raw(path, b'{"broken": \n')
    assert api.append_event(sid, {"n": 3}, project)
    assert complete_lines(path)[-1] == b'{"type":"event","id":3,"n":3}'


def _rchar() -> int:
    with open("/proc/self/io", "rb") as handle:
        for line in handle:
            if line.startswith(b"rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_append_cost_does_not_depend_on_file_size(api, project):
    # A 24 MiB valid prefix: the next id must be right, and the append must
    # read only the end of the file (bytes read by this process, not time).
    sid, path = new_session(api, project)
    filler = "f" * 1000
    count = 24 * 1024
    with open(path, "ab") as handle:
        handle.write(
            b"".join(b'{"type":"event","id":%d,"x":"%s"}\n' % (n, filler.encode()) for n in range(1, count + 1))
        )
    size = path.stat().st_size
    assert size > 24 * 1024 * 1024
    before = _rchar()
    assert api.append_event(sid, {"n": "last"}, project) is True
    read = _rchar() - before
    assert read < 2 * 1024 * 1024, "append read %d bytes of a %d-byte file" % (read, size)
    assert complete_lines(path)[-1] == b'{"type":"event","id":%d,"n":"last"}' % (count + 1)


def test_append_scans_back_past_a_long_last_line(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.append_event(sid, {"big": "y" * 300_000}, project)  # id 2, longer than any read block
    append_raw(path, b'{"no_id":"' + b"z" * 200_000 + b'"}\n' + b'{"torn":"' + b"t" * 200_000)
    assert api.append_event(sid, {"n": 3}, project)
    assert complete_lines(path)[-1] == b'{"type":"event","id":3,"n":3}'


# -------------------------------------------------------------- end record (§4)


def test_end_record_exact_keys_count_and_extras(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"tool_name": "Bash"}, project)
    assert api.append_event(sid, {"type": "user_prompt", "prompt": "go"}, project)
    assert api.append_event(sid, {"id": "given", "x": 1}, project)
    assert api.append_event(sid, {"type": "custom"}, project)
    before = datetime.now(timezone.utc)
    result = api.finalize_session(sid, project, reason="user_exit")
    assert isinstance(result, Path)
    assert result == path
    last = complete_lines(path)[-1]
    assert keys(last) == END_KEYS + ["reason"]
    record = json.loads(last)
    assert record["type"] == "end"
    assert record["session_id"] == sid
    assert TIMESTAMP_RE.match(record["timestamp"])
    stamp = datetime.strptime(record["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((stamp - before).total_seconds()) < 60
    assert record["event_count"] == 4
    assert record["reason"] == "user_exit"
    assert (
        last
        == (
            '{"type":"end","session_id":"%s","timestamp":"%s","event_count":4,"reason":"user_exit"}'
            % (sid, record["timestamp"])
        ).encode()
    )


def test_end_record_without_events(api, project):
    sid, path = new_session(api, project)
    assert api.finalize_session(sid, project) == path
    last = complete_lines(path)[-1]
    assert keys(last) == END_KEYS
    assert json.loads(last)["event_count"] == 0


def test_end_record_extra_never_replaces_a_fixed_key(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.finalize_session(sid, project, type="evil", timestamp="evil", event_count=99, reason="r") == path
    last_pairs = pairs(complete_lines(path)[-1])
    names = [key for key, _ in last_pairs]
    assert len(names) == len(set(names)), names
    assert names[:4] == END_KEYS
    record = dict(last_pairs)
    assert record["type"] == "end"
    assert TIMESTAMP_RE.match(record["timestamp"])
    assert record["event_count"] == 1
    assert record["reason"] == "r"


def test_event_count_skips_torn_and_corrupt_lines(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    append_raw(path, b"garbage\n" + b'{"type":"event","id":2,"n":"tor')
    assert api.append_event(sid, {"n": 2}, project)  # heals the torn line
    append_raw(path, b'{"type":"event","id":9,"n":"torn again')
    before = path.read_bytes()
    assert api.finalize_session(sid, project) == path
    after = path.read_bytes()
    assert after.startswith(before + b"\n{")
    end = json.loads(complete_lines(path)[-1])
    assert end["type"] == "end"
    assert end["event_count"] == 2


def test_event_count_matches_what_readers_return(api, project):
    """A hand-written record nested deeper than the library writes is still a complete record."""
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    append_raw(path, b'{"type":"note","id":50,"x":' + b"[" * 600 + b"]" * 600 + b"}\n")
    assert api.finalize_session(sid, project) == path
    records = api.read_session_events(sid, project)
    assert [r["type"] for r in records] == ["init", "event", "note", "end"]
    assert records[-1]["event_count"] == 2


def test_finalize_is_idempotent(api, project):
    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    assert api.finalize_session(sid, project, reason="first") == path
    snapshot = path.read_bytes()
    assert api.finalize_session(sid, project, reason="second") == path
    assert api.finalize_session(sid, project) == path
    assert path.read_bytes() == snapshot
    assert [record["type"] for record in parsed(path)].count("end") == 1


# ------------------------------------------------------------- reading (§6)


def test_read_session_events_returns_records_in_order_skipping_bad_lines(api, project):
    sid, path = new_session(api, project, claude_session_id="c")
    assert api.append_event(sid, {"n": 1}, project)
    append_raw(path, b'garbage\n[1,2]\n"str"\n{"broken":\n')
    assert api.append_event(sid, {"type": "user_prompt", "prompt": "p"}, project)
    assert api.finalize_session(sid, project, reason="done") == path
    append_raw(path, b'{"type":"event","id":3,"n":"torn')
    before = path.read_bytes()
    snapshot = tree(project)
    events = api.read_session_events(sid, project)
    assert tree(project) == snapshot  # a read creates and changes nothing
    assert type(events) is list
    assert [event["type"] for event in events] == ["init", "event", "user_prompt", "end"]
    assert events[0] == json.loads(complete_lines(path)[0])
    assert [event.pop("prev", None) is not None for event in events] == [False, True, True, True]
    assert events[1] == {"type": "event", "id": 1, "n": 1}
    assert events[2] == {"type": "user_prompt", "id": 2, "prompt": "p"}
    assert events[3]["event_count"] == 2 and events[3]["reason"] == "done"
    assert path.read_bytes() == before  # reading never heals or changes the file


def test_read_session_events_creates_nothing(api, project, caplog, capsys):
    assert fails_open(caplog, capsys, lambda: api.read_session_events(SID, project)) == []
    assert list(project.iterdir()) == []


# ---------------------------------------------------------- active sessions (§6)


def test_get_active_session_most_recent_unfinalized(api, project):
    assert api.get_active_session(project) is None
    assert list(project.iterdir()) == []  # a read creates nothing
    first, _ = new_session(api, project)
    assert api.get_active_session(project) == first
    second, _ = new_session(api, project)
    snapshot = tree(project)
    assert api.get_active_session(project) == second
    assert tree(project) == snapshot
    assert api.finalize_session(second, project) is not None
    assert api.get_active_session(project) == first
    assert api.finalize_session(first, project) is not None
    assert api.get_active_session(project) is None


def test_get_active_session_per_claude_session(api, project):
    one, _ = new_session(api, project, claude_session_id="claude-1")
    two, _ = new_session(api, project, claude_session_id="claude-2")
    three, _ = new_session(api, project)
    assert api.get_active_session(project, claude_session_id="claude-1") == one
    assert api.get_active_session(project, "claude-2") == two
    assert api.get_active_session(project) == three
    assert api.get_active_session(project, claude_session_id="unknown") is None
    assert api.finalize_session(one, project) is not None
    assert api.get_active_session(project, claude_session_id="claude-1") is None
    assert api.get_active_session(project, claude_session_id="claude-2") == two


def test_get_active_session_works_from_a_fresh_registry(api, project, monkeypatch):
    sid, _ = new_session(api, project, claude_session_id="claude-1")
    monkeypatch.setattr(sessions, "_registry", {})  # as in another hook process
    assert api.get_active_session(project, "claude-1") == sid


# ------------------------------------------------------------- lookup order (§6)


def test_append_event_lookup_order(api, tmp_path, monkeypatch):
    roots = {}
    for name in ("env", "cwd", "arg", "registered"):
        roots[name] = tmp_path / name
        roots[name].mkdir()
    sid = api.generate_session_id()
    # The registry maps the id to the project of its latest init: "registered".
    for name in ("env", "cwd", "arg", "registered"):
        assert api.init_session_file(sid, roots[name]) is not None
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(roots["env"]))
    monkeypatch.chdir(roots["cwd"])

    assert api.append_event(sid, {"where": "arg"}, roots["arg"]) is True
    assert api.append_event(sid, {"where": "registered"}) is True
    monkeypatch.setattr(sessions, "_registry", {})  # a process that never saw this id
    assert api.append_event(sid, {"where": "env"}) is True
    monkeypatch.delenv("CLAUDE_PROJECT_DIR")
    assert api.append_event(sid, {"where": "cwd"}) is True
    # get_active_session also registers the id it returns.
    assert api.get_active_session(roots["registered"]) == sid
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(roots["env"]))
    assert api.append_event(sid, {"where": "registered"}) is True

    found = {name: [r.get("where") for r in parsed(session_path(root, sid))[1:]] for name, root in roots.items()}
    assert found == {
        "env": ["env"],
        "cwd": ["cwd"],
        "arg": ["arg"],
        "registered": ["registered", "registered"],
    }


# ---------------------------------------------------------- SessionManager (§6)


def test_session_manager_same_names_and_results(api, project, tmp_path):
    manager = api.SessionManager(project)
    for name in PUBLIC_FUNCTIONS:
        assert callable(getattr(manager, name)), name
    assert SID_RE.match(manager.generate_session_id())
    assert manager.get_session_paths() == api.get_session_paths(project)

    sid = manager.generate_session_id()
    path = manager.init_session_file(sid, claude_session_id="claude-m")
    assert path == session_path(project, sid)
    assert manager.init_session_file(sid) is None
    assert manager.get_active_session() == sid
    assert manager.get_active_session("claude-m") == sid
    assert manager.get_active_session(claude_session_id="other") is None
    assert manager.append_event(sid, {"n": 1}) is True
    assert manager.append_event(api.generate_session_id(), {"n": 1}) is False
    assert manager.read_session_events(sid) == api.read_session_events(sid, project)
    assert manager.finalize_session(sid, reason="bye") == path
    assert manager.finalize_session(sid) == path
    assert manager.get_active_session() is None
    records = manager.read_session_events(sid)
    assert [r["type"] for r in records] == ["init", "event", "end"]
    assert records[-1]["reason"] == "bye" and records[-1]["event_count"] == 1


@pytest.mark.parametrize("where", ["missing", None, 42], ids=["missing", "none", "int"])
def test_session_manager_fails_open(api, tmp_path, caplog, capsys, where):
    manager = api.SessionManager(tmp_path / "missing" if where == "missing" else where)
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, manager.get_session_paths) is None
    assert fails_open(caplog, capsys, lambda: manager.init_session_file(SID)) is None
    assert fails_open(caplog, capsys, lambda: manager.append_event(SID, {"n": 1})) is False
    assert fails_open(caplog, capsys, manager.get_active_session) is None
    assert fails_open(caplog, capsys, lambda: manager.finalize_session(SID)) is None
    assert fails_open(caplog, capsys, lambda: manager.read_session_events(SID)) == []
    assert tree(tmp_path) == snapshot


def test_odd_event_data_is_written_whole_not_refused(api, project, caplog):
    """README, "Records": unserializable, deeply nested or huge data is not bad input."""

    class NoStr:
        def __str__(self):
            raise RuntimeError("no")

    deep: list = []
    cursor = deep
    for _ in range(200):
        cursor.append([])
        cursor = cursor[0]
    cyclic: list = []
    cyclic.append(cyclic)
    huge = "h" * (8 * 1024 * 1024)
    sid, path = new_session(api, project)
    with caplog.at_level(logging.WARNING):
        event = {"obj": NoStr(), "deep": deep, "cyclic": cyclic, "huge": huge, "raw": b"\xff", "n": 1}
        assert api.append_event(sid, event, project) is True
        assert api.append_event(sid, collections.OrderedDict([("b", 1), ("a", 2)]), project) is True
    assert nova_warnings(caplog) == []
    first, second = complete_lines(path)[1:]
    record = json.loads(first)
    assert keys(first) == ["type", "id", "obj", "deep", "cyclic", "huge", "raw", "n"]
    assert record["id"] == 1 and record["n"] == 1
    assert record["obj"] == "<unserializable NoStr>"
    assert record["huge"] == huge
    assert record["raw"] == "\ufffd"
    for name in ("deep", "cyclic"):  # lists at depths 2..64, then the placeholder
        value, levels = record[name], 0
        while isinstance(value, list):
            assert len(value) == 1
            value, levels = value[0], levels + 1
        assert (levels, value) == (63, "<max depth>"), name
    assert second == b'{"type":"event","id":2,"b":1,"a":2}'


# ------------------------------------------------------------ fail-open (§7)

ID_SCENES = ["sid-none", "sid-int", "sid-bytes", "sid-invalid", "sid-uppercase", "sid-traversal"]
PROJECT_SCENES = ["project-none", "project-int", "project-missing", "project-is-file", "project-nul", "project-empty"]
LAYOUT_SCENES = ["nova-is-file", "sessions-is-file"]
FILE_SCENES = ["session-missing", "session-fifo", "session-symlink", "session-dir"]


def make_scene(name: str, project: Path, tmp_path: Path) -> tuple:
    """(session_id, project_dir) for a named bad situation."""
    sessions_dir = project / ".nova-protector" / "sessions"
    target = sessions_dir / (SID + ".jsonl")
    scenes_by_id = {
        "sid-none": None,
        "sid-int": 20260110,
        "sid-bytes": SID.encode(),
        "sid-invalid": "not-a-session-id",
        "sid-uppercase": SID.upper(),
        "sid-traversal": "../../../../../../../../xx",
    }
    if name in scenes_by_id:
        write_init_by_hand(project)  # a real session sits next door: it must stay untouched
        return scenes_by_id[name], project
    if name.startswith("project-"):
        plain_file = tmp_path / "plain-file"
        plain_file.write_bytes(b"x")
        return SID, {
            "project-none": None,
            "project-int": 42,
            "project-missing": tmp_path / "missing",
            "project-is-file": plain_file,
            "project-nul": str(project) + "\0x",
            "project-empty": "",
        }[name]
    if name == "nova-is-file":
        (project / ".nova-protector").write_bytes(b"")
    elif name == "sessions-is-file":
        sessions_dir.parent.mkdir(mode=0o700)
        sessions_dir.write_bytes(b"")
    elif name == "active-is-file":
        write_init_by_hand(project)
        (project / ".nova-protector" / "active").write_bytes(b"")
    else:
        sessions_dir.mkdir(parents=True, mode=0o700)
        if name == "session-fifo":
            os.mkfifo(target, 0o600)
        elif name == "session-symlink":
            outside = tmp_path / "outside.jsonl"
            outside.write_bytes(b'{"type":"init","session_id":"%s"}\n' % SID.encode())
            target.symlink_to(outside)
        elif name == "session-dir":
            target.mkdir()
        elif name == "session-exists":
            write_init_by_hand(project)
        else:
            assert name == "session-missing", name
    return SID, project


@pytest.mark.parametrize("scene", PROJECT_SCENES + LAYOUT_SCENES)
def test_get_session_paths_fails_open(api, project, tmp_path, caplog, capsys, scene):
    _, project_dir = make_scene(scene, project, tmp_path)
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, lambda: api.get_session_paths(project_dir)) is None
    assert_only_data_dir_grew(snapshot, tree(tmp_path))


@pytest.mark.parametrize(
    "scene",
    ID_SCENES
    + PROJECT_SCENES
    + LAYOUT_SCENES
    + ["session-fifo", "session-symlink", "session-dir", "session-exists", "claude-id-int"],
)
def test_init_session_file_fails_open(api, project, tmp_path, caplog, capsys, scene):
    extra = {}
    if scene == "claude-id-int":
        sid, project_dir = SID, project
        extra["claude_session_id"] = 123
    else:
        sid, project_dir = make_scene(scene, project, tmp_path)
    target = project / ".nova-protector" / "sessions" / (SID + ".jsonl")
    existed = os.path.lexists(target)
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, lambda: api.init_session_file(sid, project_dir, **extra)) is None
    assert_only_data_dir_grew(snapshot, tree(tmp_path))
    assert os.path.lexists(target) == existed


@pytest.mark.parametrize("scene", ID_SCENES + PROJECT_SCENES[1:] + LAYOUT_SCENES + FILE_SCENES)
def test_append_event_fails_open(api, project, tmp_path, caplog, capsys, monkeypatch, scene):
    sid, project_dir = make_scene(scene, project, tmp_path)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, lambda: api.append_event(sid, {"n": 1}, project_dir)) is False
    assert_only_data_dir_grew(snapshot, tree(tmp_path))


def test_append_event_fails_open_when_cwd_is_gone(api, tmp_path, caplog, capsys, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    assert fails_open(caplog, capsys, lambda: api.append_event(SID, {"n": 1})) is False
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(tmp_path / "missing"))
    assert fails_open(caplog, capsys, lambda: api.append_event(SID, {"n": 1})) is False


@pytest.mark.parametrize("event", [None, [("n", 1)], "text", 5, b"{}", {1, 2}], ids=lambda e: type(e).__name__)
def test_append_event_refuses_non_dict_event(api, project, caplog, capsys, event):
    sid, path = new_session(api, project)
    before = path.read_bytes()
    assert fails_open(caplog, capsys, lambda: api.append_event(sid, event, project)) is False
    assert path.read_bytes() == before


@pytest.mark.parametrize("scene", ID_SCENES + PROJECT_SCENES + LAYOUT_SCENES + FILE_SCENES)
def test_finalize_session_fails_open(api, project, tmp_path, caplog, capsys, scene):
    sid, project_dir = make_scene(scene, project, tmp_path)
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, lambda: api.finalize_session(sid, project_dir, reason="r")) is None
    assert_only_data_dir_grew(snapshot, tree(tmp_path))


@pytest.mark.parametrize("scene", ID_SCENES + PROJECT_SCENES + LAYOUT_SCENES + FILE_SCENES)
def test_read_session_events_fails_open(api, project, tmp_path, caplog, capsys, scene):
    sid, project_dir = make_scene(scene, project, tmp_path)
    snapshot = tree(tmp_path)
    result = fails_open(caplog, capsys, lambda: api.read_session_events(sid, project_dir))
    assert type(result) is list and result == []
    assert tree(tmp_path) == snapshot


@pytest.mark.parametrize("scene", PROJECT_SCENES + ["nova-is-file", "active-is-file", "claude-id-int"])
def test_get_active_session_fails_open(api, project, tmp_path, caplog, capsys, scene):
    claude = None
    if scene == "claude-id-int":
        project_dir = project
        claude = 123
        api.init_session_file(SID, project, claude_session_id="123")
    else:
        _, project_dir = make_scene(scene, project, tmp_path)
    snapshot = tree(tmp_path)
    assert fails_open(caplog, capsys, lambda: api.get_active_session(project_dir, claude)) is None
    assert tree(tmp_path) == snapshot


def test_successful_calls_log_nothing_and_print_nothing(api, project, caplog, capsys):
    with caplog.at_level(logging.DEBUG):
        sid, _ = new_session(api, project, claude_session_id="c")
        api.get_session_paths(project)
        api.append_event(sid, {"n": 1}, project)
        api.get_active_session(project, "c")
        api.get_active_session(project, "unknown")
        api.read_session_events(sid, project)
        api.finalize_session(sid, project)
        api.finalize_session(sid, project)
    assert nova_warnings(caplog) == []
    captured = capsys.readouterr()
    assert captured.out == ""


# ------------------------------------------------------------ hash chain (§10)


def linked_records(data: bytes, key: bytes | None = None) -> list:
    """The parsable records of a file, without their ``prev``, each record after the
    first checked to end with the link to the last complete, parsable line before it:
    ``sha256:`` of that line's bytes (without its newline) or, with ``key``,
    ``hmac-sha256:`` keyed with it. Unparsable and torn lines are skipped, never links."""
    import hmac

    records = []
    last_good = None
    for line in data.split(b"\n")[:-1]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if type(record) is not dict:
            continue
        if last_good is None:
            assert "prev" not in record, "the init record has no prev"
        else:
            assert list(record)[-1] == "prev", "prev is not the last key: %r" % line
            if key is None:
                expected = "sha256:" + hashlib.sha256(last_good).hexdigest()
            else:
                expected = "hmac-sha256:" + hmac.new(key, last_good, hashlib.sha256).hexdigest()
            assert record.pop("prev") == expected, "wrong link: %r" % line
        last_good = line
        records.append(record)
    return records


def chain_key_file(tmp_path, mode: int, key: bytes = b"k\x00ey \xff bytes\n") -> Path:
    path = tmp_path / "chain.key"
    path.write_bytes(key)
    path.chmod(mode)
    return path


def other_kernel(kernel):
    """The other backend's kernel module."""
    from nova_session import _python, _rust

    return _rust if kernel is _python else _python


def test_chain_key_file_gives_hmac_links(api, project, tmp_path, monkeypatch, caplog):
    """§10: with NOVA_SESSION_CHAIN_KEY_FILE naming a 0600 file, every link is
    ``hmac-sha256:`` keyed with the file's bytes, for appends, batches and the end record."""
    key = b"k\x00ey \xff bytes\n"
    monkeypatch.setenv("NOVA_SESSION_CHAIN_KEY_FILE", str(chain_key_file(tmp_path, 0o600, key)))
    with caplog.at_level(logging.DEBUG):
        sid, path = new_session(api, project)
        assert api.append_event(sid, {"n": 1}, project) is True
        assert api.append_event(sid, {"n": 2, "prev": "sha256:" + "0" * 64}, project) is True  # reserved
        with api.SessionWriter(sid, project, max_events=2, max_delay=3600) as writer:
            for n in (3, 4, 5):
                assert writer.append({"n": n}) is True
        assert api.finalize_session(sid, project, reason="done") == path
    assert nova_warnings(caplog) == []
    data = path.read_bytes()
    lines = data.split(b"\n")[:-1]
    assert all(b'"prev":"hmac-sha256:' in line for line in lines[1:]) and b'"prev"' not in lines[0]
    # The exact bytes of the first link: the HMAC of the init line, without its newline.
    import hmac

    assert lines[1] == b'{"type":"event","id":1,"n":1,"prev":"hmac-sha256:%s"}' % hmac.new(
        key, lines[0], hashlib.sha256
    ).hexdigest().encode("ascii")
    records = linked_records(data, key)
    assert [(r["type"], r.get("id"), r.get("n")) for r in records] == [("init", None, None)] + [
        ("event", n, n) for n in range(1, 6)
    ] + [("end", None, None)]
    assert records[-1]["event_count"] == 5 and records[-1]["reason"] == "done"
    with pytest.raises(AssertionError):
        linked_records(data)  # not the plain chain


def test_chain_key_file_readable_by_others_gives_one_warning_and_the_plain_chain(
    api, project, tmp_path, monkeypatch, caplog
):
    """§10: a key file of mode 0644 is refused: one warning, and the plain sha256 chain."""
    key_file = chain_key_file(tmp_path, 0o644)
    monkeypatch.setenv("NOVA_SESSION_CHAIN_KEY_FILE", str(key_file))
    with caplog.at_level(logging.DEBUG):
        sid, path = new_session(api, project)
        assert api.append_event(sid, {"n": 1}, project) is True
        assert api.append_event(sid, {"n": 2}, project) is True
        with api.SessionWriter(sid, project, max_events=2, max_delay=3600) as writer:
            for n in (3, 4, 5):
                assert writer.append({"n": n}) is True
        assert api.finalize_session(sid, project) == path
    warnings = nova_warnings(caplog)
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    assert warnings[0].levelno == logging.WARNING
    assert "NOVA_SESSION_CHAIN_KEY_FILE" in warnings[0].getMessage()
    records = chained_records_of(path)
    assert [r.get("n") for r in records[1:-1]] == [1, 2, 3, 4, 5] and records[-1]["type"] == "end"
    assert b"hmac-sha256" not in path.read_bytes()


def chained_records_of(path: Path) -> list:
    from support import chained_records

    return chained_records(path.read_bytes())


def test_chain_links_batches_and_plain_appends_of_both_kernels(api, kernel, project, monkeypatch):
    """§9/§10: SessionWriter batches link record to record, and with plain appends and
    batches of both kernels interleaved in one file every link is right (each kernel
    finds the other's last line, whatever it remembered of the file)."""
    other = other_kernel(kernel)
    sid, path = new_session(api, project)
    first = api.SessionWriter(sid, project, max_events=3, max_delay=3600)  # this kernel's Writer
    monkeypatch.setattr(sessions, "kernel", other)
    second = api.SessionWriter(sid, project, max_events=2, max_delay=3600)  # the other's
    try:
        assert first.append({"w": "first", "i": 0}) is True
        assert first.append({"w": "first", "i": 1, "prev": "sha256:" + "0" * 64}) is True  # reserved
        assert api.append_event(sid, {"w": "plain-other", "i": 0}, project) is True  # id 1
        assert second.append({"w": "second", "i": 0}) is True
        assert second.append({"w": "second", "i": 1}) is True  # ids 2, 3: a batch of the other kernel
        assert first.append({"w": "first", "i": 2}) is True  # ids 4-6: a batch of this kernel
        monkeypatch.setattr(sessions, "kernel", kernel)
        assert api.append_event(sid, {"w": "plain", "i": 0, "prev": "not mine"}, project) is True  # id 7
        assert second.append({"w": "second", "i": 2}) is True
        assert first.append({"w": "first", "i": 3}) is True
        assert api.append_event(sid, {"w": "plain", "i": 1}, project) is True  # id 8
        assert second.flush() == 1  # id 9, the other kernel
        monkeypatch.setattr(sessions, "kernel", other)
        assert api.append_event(sid, {"w": "plain-other", "i": 1}, project) is True  # id 10
    finally:
        second.close()
        first.close()  # id 11, this kernel
    assert api.finalize_session(sid, project, reason="done") == path  # the other kernel
    records = chained_records_of(path)
    assert records[0]["type"] == "init"
    assert [(r["id"], r["w"], r["i"]) for r in records[1:-1]] == [
        (1, "plain-other", 0),
        (2, "second", 0),
        (3, "second", 1),
        (4, "first", 0),
        (5, "first", 1),
        (6, "first", 2),
        (7, "plain", 0),
        (8, "plain", 1),
        (9, "second", 2),
        (10, "plain-other", 1),
        (11, "first", 3),
    ]
    assert records[-1]["type"] == "end" and records[-1]["event_count"] == 11


def test_both_kernels_write_the_same_chained_bytes(api, kernel, tmp_path, monkeypatch):
    """§10: the same calls on the same file give the same bytes on both kernels, links
    included: past an unparsable line and a torn one, a caller's prev dropped, batches,
    the end record."""
    other = other_kernel(kernel)
    projects = [tmp_path / "a", tmp_path / "b"]
    for directory in projects:
        directory.mkdir()
    sid, path_a = new_session(api, projects[0])  # this kernel's create_file
    assert api.get_session_paths(projects[1]) is not None
    path_b = session_path(projects[1], sid)
    other.create_file(str(path_b), path_a.read_bytes(), False)  # the same init line
    assert path_b.read_bytes() == path_a.read_bytes()
    monkeypatch.setattr(sessions, "timestamp", lambda millis=None: "2026-01-10T16:30:45.123Z")

    def calls(project, path):
        assert api.append_event(
            sid, {"tool_name": "Bash", "tool_input": {"command": "ls"}, "t": "\u00e9 \u2713\n"}, project
        )
        assert api.append_event(sid, {"n": 2, "prev": "hmac-sha256:" + "f" * 64}, project)
        assert api.append_event(sid, {"type": "user_prompt", "id": "custom", "prompt": "p"}, project)
        append_raw(path, b"not json\n")
        with api.SessionWriter(sid, project, max_events=2, max_delay=3600) as writer:
            assert writer.append({"b": 1}) is True
            assert writer.append({"b": 2, "prev": "x"}) is True
            assert writer.append({"b": 3, "id": 40}) is True
        append_raw(path, b'{"type":"event","id":99,"torn":"ab')
        assert api.append_event(sid, {"after": "torn"}, project)
        assert api.finalize_session(sid, project, reason="done", prev="mine") == path

    calls(projects[0], path_a)
    monkeypatch.setattr(sessions, "kernel", other)
    calls(projects[1], path_b)
    data = path_a.read_bytes()
    assert path_b.read_bytes() == data
    records = linked_records(data)
    assert [r.get("id") for r in records] == [None, 1, 2, "custom", 3, 4, 40, 41, None]
    assert [r.get("prev") for r in records] == [None] * len(records)
    assert records[-1] == {
        "type": "end",
        "session_id": sid,
        "timestamp": "2026-01-10T16:30:45.123Z",
        "event_count": 7,
        "reason": "done",
    }
    # The record after the unparsable line links to the line before it; the one after the
    # torn line, to the last batch record.
    lines = data.split(b"\n")
    assert lines[4] == b"not json" and lines[8] == b'{"type":"event","id":99,"torn":"ab'
    assert lines[5].endswith(b'"prev":"sha256:%s"}' % sha256_hex(lines[3]))
    assert lines[9].endswith(b'"prev":"sha256:%s"}' % sha256_hex(lines[7]))
