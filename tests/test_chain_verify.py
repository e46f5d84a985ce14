"""The verifying side of the hash chain (README, "The hash chain"): ``reading.verify`` and
``nova-session verify`` on session files built here with hashlib and hmac,
independently of both kernels, and a tamper corpus: one byte changed in each
line, records deleted, swapped, inserted, the tail cut, the whole file
re-chained, a torn line ended by a later write, and untouched files (resumed,
init-only, unchained older ones) that must verify clean. At the end, files
written by the real API on both kernels (the ``api`` fixture).

What the chain cannot see, asserted as such: records cut off the end, and a
change to the last record that leaves it parsable and its own link intact
(nothing links to the last line: only an anchor can vouch for it); a plain
chain re-computed by whoever edited the file (only a key stops that).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tracemalloc

import pytest

from nova_session import chain, cli, reading

from support import new_session

SID = "2026-01-10_16-30-45_chain1"
KEY = b"the chain key\n"
OTHER_KEY = b"another key"
KEY_ENV = "NOVA_SESSION_CHAIN_KEY_FILE"
STAMP = "2026-01-10T16:30:45.000Z"


# ------------------------------------------------------------------ building files


def link(line: bytes, key: bytes | None = None) -> str:
    """The link of README "The hash chain", computed here without the library."""
    if key is None:
        return "sha256:" + hashlib.sha256(line).hexdigest()
    return "hmac-sha256:" + hmac.new(key, line, hashlib.sha256).hexdigest()


def encode(record: dict, prev: str | None = None) -> bytes:
    """One line: the record's keys in order, then prev (always the last key)."""
    if prev is not None:
        record = dict(record, prev=prev)
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def init_record(sid: str = SID) -> dict:
    return {"type": "init", "session_id": sid, "timestamp": STAMP, "cwd": "/p", "project_dir": "/p"}


def event(number: int, **extra) -> dict:
    record = {
        "type": "event",
        "id": number,
        "timestamp_end": STAMP,
        "cwd": "/p",
        "tool_name": "Read",
        "tool_input": {"file_path": "/p/file_%d.py" % number},
        "nova_verdict": "allowed",
    }
    record.update(extra)
    return record


def end_record(count: int) -> dict:
    return {"type": "end", "session_id": SID, "timestamp": STAMP, "cwd": "/p", "event_count": count}


def records(events: int = 4, end: bool = True) -> list:
    """init, events with ids 1..events, then (if end) the end record."""
    return [init_record()] + [event(i) for i in range(1, events + 1)] + ([end_record(events)] if end else [])


def chained(items: list, key: bytes | None = None, before: bytes | None = None) -> list:
    """Lines of the records, each linked to the line before it (the first to
    ``before``, when given, else unlinked: the init record)."""
    lines: list = []
    last = before
    for record in items:
        line = encode(record, link(last, key) if last is not None else None)
        lines.append(line)
        last = line
    return lines


def relink(lines: list, start: int, key: bytes | None = None) -> list:
    """The lines with every link from index start on computed again (an editor who knows the scheme)."""
    lines = list(lines)
    for index in range(max(start, 1), len(lines)):
        record = json.loads(lines[index])
        record.pop("prev", None)
        lines[index] = encode(record, link(lines[index - 1], key))
    return lines


def body(lines: list, tail: bytes = b"") -> bytes:
    return b"".join(line + b"\n" for line in lines) + tail


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "project"
    (path / ".nova-protector" / "sessions").mkdir(parents=True)
    return path


def session_path(project, sid: str = SID) -> str:
    return os.path.join(str(project), ".nova-protector", "sessions", sid + ".jsonl")


def write(project, data: bytes, sid: str = SID) -> None:
    with open(session_path(project, sid), "wb") as handle:
        handle.write(data)


def mark_active(project, sid: str = SID) -> None:
    directory = os.path.join(str(project), ".nova-protector", "active")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, sid), "w") as handle:
        handle.write("{}")


def check(project, data, key: bytes | None = None, **options) -> dict:
    if isinstance(data, list):
        data = body(data)
    write(project, data)
    return reading.verify(reading.project_root(str(project)), SID, key=key, **options)


def found(result: dict) -> set:
    return {(problem["kind"], problem["line"]) for problem in result["problems"]}


def kinds(result: dict) -> set:
    return set(result["problems_by_kind"])


def key_file(tmp_path, data: bytes = KEY, mode: int = 0o600, name: str = "chain.key") -> str:
    path = str(tmp_path / name)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


def assert_clean(result: dict, status: str = "intact") -> None:
    assert result["ok"], result["problems"]
    assert result["problems"] == [] and result["tampered"] is False
    assert result["chain"]["status"] == status


# ------------------------------------------------------------------ untouched files


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_an_untouched_chain_verifies_clean(project, key):
    lines = chained(records(5), key)
    result = check(project, lines, key)
    assert_clean(result)
    summary = result["chain"]
    assert summary["links"] == len(lines) - 1 and summary["unchained"] == 0
    assert (summary["plain_links"], summary["keyed_links"]) == ((6, 0) if key is None else (0, 6))
    assert summary["key"] == ("the key given" if key else None)
    assert not any("unchained" in note for note in result["notes"])


def test_the_digests_are_sha256_and_hmac_sha256():
    assert chain.digest(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert chain.digest(b"The quick brown fox jumps over the lazy dog", b"key") == (
        "hmac-sha256:f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )
    assert chain.digest(b'{"a":1}', KEY) == link(b'{"a":1}', KEY)
    assert chain.parse_link("sha256:" + "0" * 64) == ("sha256", "0" * 64)
    for bad in ("sha256:" + "A" * 64, "sha256:" + "0" * 63, "md5:" + "0" * 64, "0" * 64, None, 7, ["sha256:"]):
        assert chain.parse_link(bad) is None


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_a_resumed_session_with_several_end_records_verifies_clean(project, key):
    items = records(2) + [event(3), event(4), end_record(4), event(5), end_record(5)]
    result = check(project, chained(items, key), key)
    assert_clean(result)
    assert "continued after an end record 2 times (resumed)" in result["notes"]


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_an_init_only_file_has_no_links_and_is_clean(project, key):
    mark_active(project)  # an init-only session that is still running: no end record expected yet
    result = check(project, chained([init_record()], key), key)
    assert_clean(result, "none")
    assert result["chain"]["links"] == 0 and result["lines"] == 1


def test_an_unchained_older_file_is_clean_with_a_note(project):
    lines = [encode(record) for record in records(3)]
    result = check(project, lines)
    assert_clean(result, "none")
    assert result["chain"]["unchained"] == 4 and result["chain"]["unchained_lines"] == [2, 3, 4, 5]
    note = [note for note in result["notes"] if "unchained" in note]
    assert note and "4 unchained records" in note[0] and "lines 2, 3, 4, 5" in note[0]


def test_an_older_file_continued_by_a_chaining_version_is_clean(project):
    """The first chained record links to the last unchained one: the chain needs nothing more."""
    old = [encode(record) for record in records(2, end=False)]
    lines = old + chained([event(3), end_record(3)], before=old[-1])
    result = check(project, lines)
    assert_clean(result)
    assert result["chain"]["unchained"] == 2 and result["chain"]["links"] == 2


def test_records_written_by_hand_after_chained_ones_are_unchained_not_tampered(project):
    lines = chained(records(2, end=False)) + [encode(event(3))]
    lines += chained([end_record(3)], before=lines[-1])
    result = check(project, lines)
    assert_clean(result)
    assert any("1 unchained record (1 after chained records)" in note for note in result["notes"])


def test_a_chain_that_becomes_keyed_midway_is_clean_with_the_key(project):
    plain = chained(records(2, end=False))
    keyed = chained([event(3), end_record(3)], KEY, before=plain[-1])
    result = check(project, plain + keyed, KEY)
    assert_clean(result)
    assert "plain sha256 links up to line 3, keyed from line 4 on" in result["notes"]


def test_a_torn_last_line_is_torn_not_outside_the_chain(project):
    lines = chained(records(2, end=False))
    torn = encode(event(3), link(lines[-1]))  # the whole record, all but its newline
    mark_active(project)
    result = check(project, body(lines, torn))
    assert found(result) == {("torn", 4)} and result["tampered"] is False
    assert result["chain"]["status"] == "intact"


# ------------------------------------------------------------------ one byte changed


def _change_content(line: bytes) -> bytes:
    """One byte of a string value changed; the line still parses."""
    assert line.count(b'"cwd":"/p"') == 1
    return line.replace(b'"cwd":"/p"', b'"cwd":"/q"')


def _change_link(line: bytes) -> bytes:
    """One hex digit of the line's own prev changed."""
    head, digits = line[:-66], line[-66:-2]
    return head + bytes([digits[0] ^ 1]) + digits[1:] + b'"}'


LINES = 6  # init, events 1-4, end


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
@pytest.mark.parametrize("position", range(1, LINES + 1))
def test_one_byte_changed_in_any_record_breaks_the_next_link(project, key, position):
    lines = chained(records(4), key)
    assert len(lines) == LINES
    lines[position - 1] = _change_content(lines[position - 1])
    result = check(project, lines, key)
    if position == LINES:
        # Nothing links to the last line: its change cannot be seen without an anchor.
        assert_clean(result)
        return
    assert found(result) == {("broken_link", position + 1)}
    assert result["ok"] is False and result["tampered"] is True
    assert result["chain"]["status"] == "tampered" and result["chain"]["broken_links"] == 1
    assert "line %d" % position in result["problems"][0]["message"]


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
@pytest.mark.parametrize("position", range(2, LINES + 1))
def test_one_hex_digit_changed_in_any_link_breaks_that_link_and_the_next(project, key, position):
    lines = chained(records(4), key)
    lines[position - 1] = _change_link(lines[position - 1])
    result = check(project, lines, key)
    expected = {("broken_link", position), ("broken_link", position + 1)}
    assert found(result) == (expected if position < LINES else {("broken_link", position)})
    assert result["tampered"] is True


@pytest.mark.parametrize("position", range(1, LINES + 1))
def test_a_record_made_unparsable_is_unparsable_and_breaks_the_next_link(project, position):
    lines = chained(records(4))
    lines[position - 1] = lines[position - 1][:-1] + b"]"
    result = check(project, lines)
    problems = found(result)
    assert ("unparsable", position) in problems
    if position < LINES:
        assert ("broken_link", position + 1) in problems and result["tampered"] is True
    else:  # the last line: unparsable (an integrity problem), no link names it
        assert result["tampered"] is False and "broken_link" not in kinds(result)


def test_a_broken_link_is_reported_once_and_the_chain_goes_on(project):
    lines = chained(records(8))
    lines[2] = _change_content(lines[2])
    lines[6] = _change_content(lines[6])
    result = check(project, lines)
    assert found(result) == {("broken_link", 4), ("broken_link", 8)}
    assert result["chain"]["broken_links"] == 2 and result["problem_count"] == 2


# ------------------------------------------------------------------ removed, moved, inserted


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
@pytest.mark.parametrize("position", range(2, LINES))
def test_a_record_deleted_breaks_the_link_after_it(project, key, position):
    lines = chained(records(4), key)
    del lines[position - 1]
    result = check(project, lines, key)
    assert ("broken_link", position) in found(result)
    assert result["tampered"] is True


def test_the_init_record_deleted_leaves_a_link_to_nothing(project):
    lines = chained(records(3))[1:]
    result = check(project, lines)
    assert found(result) == {("broken_link", 1), ("init", 1), ("init", None)}
    broken = [problem for problem in result["problems"] if problem["kind"] == "broken_link"]
    assert "head of the file" in broken[0]["message"] and result["tampered"] is True


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_two_records_swapped(project, key):
    lines = chained(records(4), key)
    lines[1], lines[2] = lines[2], lines[1]  # events 1 and 2
    result = check(project, lines, key)
    assert result["tampered"] is True
    problems = found(result)
    assert ("broken_link", 2) in problems  # event 2 now follows the init record it was not written after
    assert ("outside_chain", 2) in problems and ("outside_chain", 3) in problems
    assert [problem["line"] for problem in result["problems"]] == sorted(p["line"] for p in result["problems"])


def test_two_distant_records_swapped(project):
    lines = chained(records(6))
    lines[1], lines[5] = lines[5], lines[1]
    result = check(project, lines)
    assert result["tampered"] is True
    assert {("broken_link", 2), ("broken_link", 3), ("broken_link", 6), ("broken_link", 7)} <= found(result)


def test_a_hand_written_record_inserted_is_outside_the_chain(project):
    lines = chained(records(4))
    lines.insert(3, encode(event(9)))  # no prev: the next record links past it
    result = check(project, lines)
    assert ("outside_chain", 4) in found(result) and "broken_link" not in kinds(result)
    assert result["tampered"] is True and result["chain"]["outside_chain"] == 1


def test_a_record_inserted_with_a_valid_link_of_its_own_is_outside_the_chain(project):
    lines = chained(records(4))
    lines.insert(3, encode(event(9), link(lines[2])))
    result = check(project, lines)
    assert ("outside_chain", 4) in found(result) and result["tampered"] is True


def test_two_records_inserted_break_the_next_link(project):
    lines = chained(records(4))
    lines[3:3] = [encode(event(8)), encode(event(9))]
    result = check(project, lines)
    assert ("broken_link", 6) in found(result) and result["tampered"] is True


def test_a_plain_chain_recomputed_after_an_edit_is_not_caught_without_a_key(project):
    """Whoever edits a plain-chained file and knows how links are made can compute the
    links again: only the keyed chain stops that."""
    lines = chained(records(4))
    lines[2] = _change_content(lines[2])
    assert_clean(check(project, relink(lines, 3)))


# ------------------------------------------------------------------ the tail cut


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_a_cut_tail_verifies_as_a_shorter_chain(project, key):
    """Records cut off the end leave a valid, shorter chain: only an anchor reveals it."""
    lines = chained(records(2) + [event(3), event(4), end_record(4)], key)
    result = check(project, lines[:4], key)  # cut back to the first end record: a complete session
    assert_clean(result)
    mark_active(project)
    result = check(project, lines[:5], key)  # cut after event 3: nothing more than an unended session
    assert_clean(result)


# ------------------------------------------------------------------ keys


def test_a_keyed_chain_without_the_key_needs_the_key(project):
    result = check(project, chained(records(3), KEY))
    assert found(result) == {("needs_key", None)}
    assert result["ok"] is False and result["tampered"] is False
    assert result["chain"]["status"] == "needs_key" and result["chain"]["unchecked_links"] == 4
    assert KEY_ENV in result["problems"][0]["message"]


def test_the_wrong_key_is_one_key_mismatch_not_a_broken_link_per_record(project):
    result = check(project, chained(records(30), KEY), OTHER_KEY)
    assert found(result) == {("key_mismatch", None)}
    assert result["tampered"] is True and result["problem_count"] == 1
    assert "31 keyed links" in result["problems"][0]["message"]


def test_a_file_re_chained_with_another_key_is_a_key_mismatch(project):
    lines = chained(records(3), KEY)
    lines[2] = _change_content(lines[2])
    result = check(project, relink(lines, 3, OTHER_KEY), KEY)  # the tail: links 2-3 show the key is right
    assert found(result) == {("broken_link", 4), ("broken_link", 5)}
    whole = check(project, relink(chained(records(3), KEY), 1, OTHER_KEY), KEY)
    assert found(whole) == {("key_mismatch", None)} and whole["tampered"] is True


def test_an_edited_init_record_of_a_keyed_file_is_a_broken_link_not_a_key_mismatch(project):
    """The first keyed link fails, the next ones match: the key is right, the record was edited."""
    lines = chained(records(3), KEY)
    lines[0] = _change_content(lines[0])
    result = check(project, lines, KEY)
    assert found(result) == {("broken_link", 2)}


def test_failures_held_until_a_keyed_link_matches_are_all_counted(project, monkeypatch):
    monkeypatch.setattr(chain, "HELD_FAILURES", 3)
    lines = chained(records(10), KEY)
    for index in range(1, 8):  # the links of lines 2-8 replaced by wrong keyed digests
        record = json.loads(lines[index])
        record["prev"] = link(b"nothing %d" % index, KEY)
        lines[index] = encode(record)
    lines = lines[:8] + relink(lines, 8, KEY)[8:]
    result = check(project, lines, KEY)
    assert result["problems_by_kind"] == {"broken_link": 7} and result["problem_count"] == 7
    assert len(result["problems"]) == 3 and result["chain"]["broken_links"] == 7


@pytest.mark.parametrize("given", [False, True], ids=["no-key", "key"])
def test_a_keyed_file_re_chained_plain_is_caught_only_with_the_key(project, given):
    fresh = chained(records(4))  # every record rewritten, a fresh plain chain: no trace of the old one
    result = check(project, fresh, KEY if given else None)
    if not given:
        assert_clean(result)
        return
    assert found(result) == {("unkeyed", None)} and result["ok"] is False
    assert result["chain"]["status"] == "unkeyed"


def test_an_unchained_file_given_a_key_is_unkeyed(project):
    result = check(project, [encode(record) for record in records(2)], KEY)
    assert found(result) == {("unkeyed", None)}


@pytest.mark.parametrize("given", [False, True], ids=["no-key", "key"])
def test_a_keyed_tail_re_chained_plain_is_a_mixed_chain(project, given):
    lines = chained(records(4), KEY)
    lines[2] = _change_content(lines[2])
    lines = relink(lines, 3)  # lines 4-6 linked again, plain: the editor has no key
    result = check(project, lines, KEY if given else None)
    assert {("mixed_chain", 4), ("mixed_chain", 5), ("mixed_chain", 6)} <= found(result)
    assert "broken_link" not in kinds(result) and result["tampered"] is True
    if not given:
        assert "needs_key" in kinds(result)


def test_links_stripped_after_keyed_ones_are_a_mixed_chain(project):
    lines = chained(records(4), KEY)
    lines[2] = _change_content(lines[2])
    for index in range(3, len(lines)):
        record = json.loads(lines[index])
        del record["prev"]
        lines[index] = encode(record)
    result = check(project, lines, KEY)
    assert {("mixed_chain", 4), ("mixed_chain", 5), ("mixed_chain", 6)} <= found(result)
    assert result["tampered"] is True


@pytest.mark.parametrize("value", ["sha256:zz", "sha256:" + "0" * 64, 42, None, "hmac-sha256:"])
def test_a_malformed_or_wrong_prev_is_a_broken_link(project, value):
    lines = chained(records(2))
    record = json.loads(lines[2])
    record["prev"] = value
    lines[2] = encode(record)
    result = check(project, lines)
    assert ("broken_link", 3) in found(result) and result["tampered"] is True


def test_the_key_comes_from_the_environment_or_a_key_file(project, tmp_path, monkeypatch):
    lines = chained(records(3), KEY)
    path = key_file(tmp_path)
    result = check(project, lines, key_file=path)
    assert_clean(result)
    assert result["chain"]["key"] == "key file %s" % path
    monkeypatch.setenv(KEY_ENV, path)
    result = check(project, lines)
    assert_clean(result)
    assert result["chain"]["key"] == "%s=%s" % (KEY_ENV, path)
    assert check(project, lines, key=OTHER_KEY)["chain"]["status"] == "tampered"  # the argument wins
    os.chmod(path, 0o400)
    assert check(project, lines)["ok"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_key_file_others_may_read_is_refused(project, tmp_path, monkeypatch, mode):
    lines = chained(records(3), KEY)
    monkeypatch.setenv(KEY_ENV, key_file(tmp_path, mode=mode))
    result = check(project, lines)
    assert found(result) == {("key_file", None), ("needs_key", None)}
    assert "%04o" % mode in [p for p in result["problems"] if p["kind"] == "key_file"][0]["message"]
    assert result["tampered"] is False and result["chain"]["key"] is None


def test_a_missing_or_linked_key_file_is_refused(project, tmp_path):
    lines = chained(records(2), KEY)
    assert kinds(check(project, lines, key_file=str(tmp_path / "absent"))) == {"key_file", "needs_key"}
    os.symlink(key_file(tmp_path), str(tmp_path / "link.key"))  # the writers do not follow a link either
    assert kinds(check(project, lines, key_file=str(tmp_path / "link.key"))) == {"key_file", "needs_key"}
    os.mkdir(str(tmp_path / "dir.key"))
    assert kinds(check(project, lines, key_file=str(tmp_path / "dir.key"))) == {"key_file", "needs_key"}


# ------------------------------------------------------------------ torn lines ended later


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_a_torn_line_that_parses_once_ended_is_reported_not_tampering(project, key):
    """A writer died just before the newline; the next write ended the line, took
    its id again and linked past it to the line before:
    reported as outside the chain, not vouched for, and not called tampering."""
    lines = chained(records(2, end=False), key)
    torn = encode(event(3), link(lines[-1], key))  # complete JSON, even a valid link of its own
    after = chained([event(3, tool_output="another"), end_record(4)], key, before=lines[-1])
    result = check(project, lines + [torn] + after, key)
    assert found(result) == {("torn_ended", 4)}
    assert result["ok"] is False and result["tampered"] is False and result["chain"]["status"] == "intact"
    message = result["problems"][0]["message"]
    assert "line 5 ended" in message and "same id 3" in message and "line 3" in message


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_a_record_duplicated_in_place_is_outside_the_chain(project, key):
    """A copy of the next record (the same bytes) is not what a crash leaves."""
    lines = chained(records(3), key)
    lines.insert(2, lines[2])
    result = check(project, lines, key)
    assert ("outside_chain", 3) in found(result) and result["tampered"] is True


def test_a_line_shaped_like_a_torn_write_with_another_link_is_outside_the_chain(project):
    lines = chained(records(3))
    forged = encode(event(2), link(lines[0]))  # the next record's id, not its link
    lines.insert(2, forged)
    result = check(project, lines)
    assert ("outside_chain", 3) in found(result) and result["tampered"] is True


def test_a_torn_line_that_does_not_parse_is_unparsable_only(project):
    """Unparsable lines are never links and are reported as unparsable, not twice."""
    lines = chained(records(2, end=False))
    after = chained([event(3), end_record(3)], before=lines[-1])
    result = check(project, lines + [b'{"type":"event","id":3,"tool'] + after)
    assert found(result) == {("unparsable", 4)} and result["tampered"] is False
    assert result["chain"]["status"] == "intact"


def test_unparsable_lines_are_skipped_by_the_links(project):
    lines = chained(records(3))
    lines.insert(2, b"")
    lines.insert(3, b"garbage")
    result = check(project, lines)
    assert found(result) == {("unparsable", 3), ("unparsable", 4)} and result["chain"]["status"] == "intact"


# ------------------------------------------------------------------ the command


def run(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_exit_status_and_output(project, tmp_path, capsys):
    where = ("--project", str(project))
    write(project, body(chained(records(3), KEY)))
    code, out, _ = run(capsys, "verify", SID, *where, "--key-file", key_file(tmp_path))
    assert code == 0 and ": OK (" in out and "chain: intact (4 links: 4 keyed; key from key file" in out
    code, out, _ = run(capsys, "verify", SID, *where)
    assert code == 1 and "needs_key" in out and "keyed: not checked without the key" in out
    lines = chained(records(3))
    lines[1] = _change_content(lines[1])
    write(project, body(lines))
    code, out, _ = run(capsys, "verify", SID, *where)
    assert code == cli.EXIT_TAMPERED == 6
    assert "line 3: broken_link: prev does not match line 2" in out and "chain: TAMPERED" in out
    code, out, _ = run(capsys, "verify", SID, *where, "--json")
    result = json.loads(out)
    assert code == 6 and result["tampered"] is True and result["chain"]["broken_links"] == 1
    write(project, body(chained(records(3))) + b'{"type":"event","id":9')
    code, out, _ = run(capsys, "verify", SID, *where)  # torn, and the session never ended: not tampering
    assert code == 1 and "line 6: torn" in out


def test_verify_memory_does_not_grow_with_a_chained_file(project):
    items = [init_record()] + [event(i, tool_output="y" * 4000) for i in range(1, 2501)]
    data = body(chained(items, KEY))
    assert len(data) > 10_000_000
    write(project, data)
    mark_active(project)
    root = reading.project_root(str(project))
    tracemalloc.start()
    try:
        result = reading.verify(root, SID, key=KEY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_clean(result)
    assert peak < 4 * reading.CHUNK_BYTES, peak


# ------------------------------------------------------------------ the real writers


def _written_by(api, project, tool_output: str = "out") -> str:
    """A session written through the public API: single appends, a buffered writer, a resume."""
    sid = api.generate_session_id()
    assert api.init_session_file(sid, project, claude_session_id="claude-chain") is not None
    for index in range(3):
        assert api.append_event(sid, {"tool_name": "Bash", "tool_output": "%s %d" % (tool_output, index)}, project)
    with api.SessionWriter(sid, project, max_events=2) as writer:
        for index in range(5):
            assert writer.append({"tool_name": "Read", "tool_input": {"file_path": "/p/%d" % index}})
    assert api.finalize_session(sid, project, reason="exit") is not None
    assert api.append_event(sid, {"tool_name": "Edit", "prev": "sha256:" + "0" * 64}, project)  # prev is reserved
    assert api.finalize_session(sid, project) is not None
    return sid


def _flip_content(path: str, line_number: int) -> None:
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    line = lines[line_number - 1]
    assert b'"type":"' in line
    lines[line_number - 1] = line.replace(b'"type":"', b'"type":"X', 1)
    with open(path, "wb") as handle:
        handle.write(b"\n".join(lines))


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "keyed"])
def test_files_written_by_the_api_verify_clean_and_a_changed_byte_is_caught(api, project, tmp_path, monkeypatch, keyed):
    if keyed:
        monkeypatch.setenv(KEY_ENV, key_file(tmp_path))
    sid = _written_by(api, project)
    root = reading.project_root(str(project))
    result = reading.verify(root, sid)
    assert result["ok"], result["problems"]
    total = result["lines"]
    assert result["chain"]["status"] == "intact" and result["chain"]["links"] == total - 1
    assert result["chain"]["keyed_links" if keyed else "plain_links"] == total - 1
    if keyed:
        monkeypatch.delenv(KEY_ENV)
        assert reading.verify(root, sid)["chain"]["status"] == "needs_key"
        assert reading.verify(root, sid, key=KEY)["ok"]
        assert reading.verify(root, sid, key=OTHER_KEY)["tampered"]
    path = os.path.join(str(project), ".nova-protector", "sessions", sid + ".jsonl")
    _flip_content(path, 5)
    result = reading.verify(root, sid, key=KEY if keyed else None)
    assert ("broken_link", 6) in found(result) and result["tampered"] is True


def test_a_torn_line_ended_by_the_api_is_reported_not_tampering(api, project):
    sid = api.generate_session_id()
    api.init_session_file(sid, project)
    api.append_event(sid, {"tool_name": "Bash"}, project)
    path = os.path.join(str(project), ".nova-protector", "sessions", sid + ".jsonl")
    with open(path, "rb") as handle:
        last = handle.read().split(b"\n")[-2]
    with open(path, "ab") as handle:  # a writer that died just before its newline
        handle.write(encode({"type": "event", "id": 2, "tool_name": "Read"}, link(last)))
    api.append_event(sid, {"tool_name": "Edit"}, project)
    api.finalize_session(sid, project)
    result = reading.verify(reading.project_root(str(project)), sid)
    assert found(result) == {("torn_ended", 3)} and result["tampered"] is False
    assert result["chain"]["status"] == "intact"


def test_concurrent_writers_form_one_chain(api, project):
    """README, "The hash chain": the link is computed under the write's lock, so writers in
    several threads (each open file its own flock) still form one chain."""
    import threading

    sid = api.generate_session_id()
    api.init_session_file(sid, project)

    def work(tag):
        for index in range(40):
            assert api.append_event(sid, {"tool_name": "Bash", "tool_output": "%s %d" % (tag, index)}, project)

    threads = [threading.Thread(target=work, args=("t%d" % number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    api.finalize_session(sid, project)
    result = reading.verify(reading.project_root(str(project)), sid)
    assert result["ok"], result["problems"]
    assert result["chain"]["status"] == "intact" and result["chain"]["links"] == 161


def test_verify_session_is_the_public_check_and_fails_open(api, project, caplog):
    import nova_session

    sid, path = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project) and api.append_event(sid, {"n": 2}, project)
    report = nova_session.verify_session(sid, project)
    assert report["ok"] and report["chain"]["status"] == "intact" and not report["tampered"]
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"n":1', b'"n":7')  # an edit after the fact
    path.write_bytes(b"\n".join(lines))
    report = nova_session.verify_session(sid, project)
    assert report["tampered"] and [(p["line"], p["kind"]) for p in report["problems"]] == [(3, "broken_link")]
    assert nova_session.verify_session("not-an-id", project) is None
    assert "verify_session failed" in caplog.text
