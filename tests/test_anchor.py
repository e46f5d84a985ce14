"""Anchors (README, "The hash chain"): with NOVA_SESSION_ANCHOR_DIR, every write replaces
{dir}/{session}.anchor under the session file's lock; verify then sees a cut-off
tail or a file replaced whole, which the chain alone cannot show."""

from __future__ import annotations

import hashlib
import json
import os

import nova_session
from nova_session import cli

from support import chained_records, new_session


def _anchored(api, project, tmp_path, monkeypatch):
    anchors = tmp_path / "anchors"
    anchors.mkdir(mode=0o700)
    monkeypatch.setenv("NOVA_SESSION_ANCHOR_DIR", str(anchors))
    sid, path = new_session(api, project)
    for n in range(4):
        assert api.append_event(sid, {"n": n}, project)
    with nova_session.SessionWriter(sid, project) as writer:
        writer.append({"n": "batched"})
    return sid, path, anchors / ("%s.anchor" % sid)


def test_every_write_replaces_the_anchor(api, project, tmp_path, monkeypatch):
    sid, path, anchor_file = _anchored(api, project, tmp_path, monkeypatch)
    anchor = json.loads(anchor_file.read_bytes())
    lines = path.read_bytes().split(b"\n")[:-1]
    assert anchor == {
        "session_id": sid,
        "project_dir": os.path.realpath(str(project)),
        "size": path.stat().st_size,
        "id": 5,
        "digest": "sha256:" + hashlib.sha256(lines[-1]).hexdigest(),
    }
    assert oct(anchor_file.stat().st_mode & 0o777) == "0o600"
    assert nova_session.finalize_session(sid, project, reason="done")
    anchor = json.loads(anchor_file.read_bytes())
    assert anchor["size"] == path.stat().st_size and anchor["id"] is None  # the end record has no id
    assert len(chained_records(path.read_bytes())) == 7
    report = nova_session.verify_session(sid, project)
    assert report["ok"] and report["anchor"] == "ok"


def test_a_cut_tail_and_a_replaced_file_show_against_the_anchor(api, project, tmp_path, monkeypatch, capsys):
    sid, path, _ = _anchored(api, project, tmp_path, monkeypatch)
    whole = path.read_bytes()
    lines = whole.split(b"\n")
    path.write_bytes(b"\n".join(lines[:-2]) + b"\n")  # the last record cut off: a valid, shorter chain
    report = nova_session.verify_session(sid, project)
    assert report["tampered"] and report["anchor"] == "cut"
    assert [p["kind"] for p in report["problems"]] == ["anchor_cut"]
    assert cli.main(["verify", sid, "--project", str(project)]) == 6
    # Replaced by a file of the same size whose last line differs (still a valid plain chain).
    path.write_bytes(whole.replace(b'"n":"batched"', b'"n":"hidden!"'))
    report = nova_session.verify_session(sid, project)
    assert report["tampered"] and report["anchor"] == "mismatch"
    capsys.readouterr()


def test_without_anchors_nothing_is_written_and_verify_says_so(api, project, tmp_path, monkeypatch):
    monkeypatch.delenv("NOVA_SESSION_ANCHOR_DIR", raising=False)
    sid, _ = new_session(api, project)
    assert api.append_event(sid, {"n": 1}, project)
    report = nova_session.verify_session(sid, project)
    assert report["anchor"] == "none" and report["ok"]
    report = nova_session.verify_session(sid, project, anchor_dir=str(tmp_path))
    assert report["anchor"] == "none" and any("no anchor" in note for note in report["notes"])


def test_a_failed_anchor_write_never_fails_the_append(api, project, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOVA_SESSION_ANCHOR_DIR", str(tmp_path / "missing" / "dir"))
    sid, path = new_session(api, project)
    caplog.clear()
    assert api.append_event(sid, {"n": 1}, project) is True
    assert chained_records(path.read_bytes())[-1]["n"] == 1
    assert len([r for r in caplog.records if "anchor" in r.getMessage()]) == 1
