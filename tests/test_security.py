"""Where the library may write, and what it refuses (README, "Storage format", "Session ids"
and "Records"), for each kernel.

- A session id that is not of the format in "Session ids" never reaches a path:
  every function taking one fails open and nothing is created anywhere.
- A symbolic link at the session file is never followed (append, finalize,
  read, init); a symbolic link in place of ``.nova-protector`` (or of its
  ``sessions`` directory) is refused.
- A whole session lifecycle writes nothing outside ``.nova-protector/``.
- Directories are 0700 and files 0600 even under ``umask 0``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from support import fails_open as one_warning
from support import tree

VALID = "2026-01-10_16-30-45_a1b2c3"

BAD_IDS = {
    "parent": "../../x",
    "parent-26-chars": "../../../../../../../../xx",
    "absolute": "/etc/passwd",
    "nul": "2026-01-10_16-30-45_a1\0b2c",
    "nul-short": "a\0b",
    "uppercase": "2026-01-10_16-30-45_A1B2C3",
    "too-short": "2026-01-10_16-30-45_a1b2c",
    "too-long": "2026-01-10_16-30-45_a1b2c3d",
    "trailing-newline": VALID + "\n",
    "leading-space": " " + VALID[1:],
    "unicode-digits": "\u0662\u0660\u0662\u0666" + VALID[4:],
    "fullwidth-digits": "\uff12\uff10\uff12\uff16" + VALID[4:],
    "suffix-punctuation": "2026-01-10_16-30-45_a1b./.",
    "wrong-separators": "2026_01_10-16_30_45-a1b2c3",
    "sessions-relative": "../sessions/" + VALID,
    "empty": "",
}


def real(path) -> Path:
    return Path(os.path.realpath(path))


def digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


# ------------------------------------------------------------- bad session ids


@pytest.mark.parametrize("bad", list(BAD_IDS.values()), ids=list(BAD_IDS))
def test_bad_session_id_refused_everywhere_and_nothing_created(
    api, tmp_path, project, monkeypatch, caplog, capsys, bad
):
    # A real session next door, which a traversal id could reach.
    real_sid = api.generate_session_id()
    real_path = api.init_session_file(real_sid, project)
    assert real_path is not None
    assert api.append_event(real_sid, {"n": 1}, project)
    sessions_dir = real_path.parent
    monkeypatch.chdir(project)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    # Where a naive implementation would write.
    naive = []
    if "\0" not in bad:
        naive = [os.path.normpath(os.path.join(str(sessions_dir), bad + suffix)) for suffix in (".jsonl", "")]
    naive_existed = {path: os.path.lexists(path) for path in naive}
    passwd = digest("/etc/passwd")
    snapshot = tree(tmp_path)
    manager = api.SessionManager(project)

    calls = [
        (lambda: api.init_session_file(bad, project), None),
        (lambda: api.init_session_file(bad, project, claude_session_id="c"), None),
        (lambda: api.append_event(bad, {"n": 2}, project), False),
        (lambda: api.append_event(bad, {"n": 2}), False),
        (lambda: api.finalize_session(bad, project), None),
        (lambda: api.read_session_events(bad, project), []),
        (lambda: manager.init_session_file(bad), None),
        (lambda: manager.append_event(bad, {"n": 2}), False),
        (lambda: manager.finalize_session(bad), None),
        (lambda: manager.read_session_events(bad), []),
    ]
    for call, expected in calls:
        result = one_warning(caplog, capsys, call)
        assert result == expected and type(result) is type(expected)

    assert tree(tmp_path) == snapshot
    assert {path: os.path.lexists(path) for path in naive} == naive_existed
    assert digest("/etc/passwd") == passwd
    assert not os.path.lexists("/etc/passwd.jsonl")
    assert api.get_active_session(project) == real_sid


def test_str_subclass_of_a_valid_id_is_accepted_as_plain_str(api, project):
    class Sneaky(str):
        def __str__(self):
            return "../../x"

        def __fspath__(self):
            return "../../x"

    sid = Sneaky(api.generate_session_id())
    path = api.init_session_file(sid, project)
    assert path is not None and path.name == str.__str__(sid) + ".jsonl"
    assert api.append_event(sid, {"n": 1}, project)
    assert not (real(project) / "x.jsonl").exists()
    assert not (real(project) / "x").exists()


# ------------------------------------------------------ symbolic links refused


@pytest.fixture
def linked_session(api, tmp_path, project):
    """A session id whose session file is a symbolic link to a file outside the project."""
    paths = api.get_session_paths(project)
    assert paths is not None
    outside = tmp_path / "outside.jsonl"
    body = b'{"type":"init","session_id":"%s"}\n{"type":"event","id":1}\n' % VALID.encode()
    outside.write_bytes(body)
    os.chmod(outside, 0o644)
    link = paths["sessions"] / (VALID + ".jsonl")
    link.symlink_to(outside)
    return link, outside, body


def assert_link_intact(link: Path, outside: Path, body: bytes) -> None:
    assert link.is_symlink() and os.readlink(link) == str(outside)
    assert outside.read_bytes() == body
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


def test_append_does_not_follow_symlinked_session_file(api, project, linked_session, caplog, capsys):
    link, outside, body = linked_session
    assert one_warning(caplog, capsys, lambda: api.append_event(VALID, {"n": 2}, project)) is False
    assert_link_intact(link, outside, body)


def test_finalize_does_not_follow_symlinked_session_file(api, project, linked_session, caplog, capsys):
    link, outside, body = linked_session
    assert one_warning(caplog, capsys, lambda: api.finalize_session(VALID, project)) is None
    assert_link_intact(link, outside, body)


def test_read_does_not_follow_symlinked_session_file(api, project, linked_session, caplog, capsys):
    link, outside, body = linked_session
    assert one_warning(caplog, capsys, lambda: api.read_session_events(VALID, project)) == []
    assert_link_intact(link, outside, body)


def test_init_does_not_follow_symlinked_session_file(api, project, linked_session, caplog, capsys):
    link, outside, body = linked_session
    assert one_warning(caplog, capsys, lambda: api.init_session_file(VALID, project)) is None
    assert_link_intact(link, outside, body)


def test_init_does_not_create_the_target_of_a_dangling_link(api, tmp_path, project, caplog, capsys):
    paths = api.get_session_paths(project)
    target = tmp_path / "created-through-link.jsonl"
    (paths["sessions"] / (VALID + ".jsonl")).symlink_to(target)
    assert one_warning(caplog, capsys, lambda: api.init_session_file(VALID, project)) is None
    assert not os.path.lexists(target)
    assert one_warning(caplog, capsys, lambda: api.append_event(VALID, {"n": 1}, project)) is False
    assert one_warning(caplog, capsys, lambda: api.finalize_session(VALID, project)) is None
    assert not os.path.lexists(target)


@pytest.mark.parametrize("linked", [".nova-protector", ".nova-protector/sessions"])
def test_symlinked_storage_directory_refused(api, tmp_path, project, caplog, capsys, linked):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if linked == ".nova-protector/sessions":
        (project / ".nova-protector").mkdir(mode=0o700)
    (project / linked).symlink_to(elsewhere, target_is_directory=True)
    assert one_warning(caplog, capsys, lambda: api.get_session_paths(project)) is None
    assert one_warning(caplog, capsys, lambda: api.init_session_file(VALID, project)) is None
    assert list(elsewhere.iterdir()) == []
    assert (project / linked).is_symlink()


@pytest.mark.parametrize("swapped", [".nova-protector", ".nova-protector/sessions"])
def test_storage_directory_swapped_for_a_link_after_init_is_refused(api, tmp_path, project, caplog, capsys, swapped):
    """A link swapped in after init must not lead appends, ends or reads outside."""
    sid = api.generate_session_id()
    assert api.init_session_file(sid, project) is not None
    elsewhere = tmp_path / "elsewhere"
    os.rename(project / swapped, elsewhere)  # the real directory moves out, a link takes its place
    (project / swapped).symlink_to(elsewhere, target_is_directory=True)
    before = tree(elsewhere)
    assert one_warning(caplog, capsys, lambda: api.append_event(sid, {"n": 1}, project)) is False
    assert one_warning(caplog, capsys, lambda: api.finalize_session(sid, project)) is None
    assert one_warning(caplog, capsys, lambda: api.read_session_events(sid, project)) == []
    if swapped == ".nova-protector":
        assert one_warning(caplog, capsys, lambda: api.get_active_session(project)) is None
    assert tree(elsewhere) == before


# ------------------------------------------------- nothing outside the data dir


def test_lifecycle_writes_nothing_outside_nova_protector(api, tmp_path, project, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(project))
    (project / "src.py").write_text("print('hi')\n")
    before = tree(tmp_path)

    manager = api.SessionManager(project)
    assert manager.get_session_paths() is not None
    sid = manager.generate_session_id()
    assert manager.init_session_file(sid, claude_session_id="c") is not None
    assert api.get_active_session(project, "c") == sid
    for n in range(5):
        assert api.append_event(sid, {"n": n, "path": str(project / "src.py")}) is True
    assert api.append_event(sid, {"type": "user_prompt", "prompt": "p"}, project)
    assert len(api.read_session_events(sid, project)) == 7
    assert api.finalize_session(sid, project, reason="done") is not None
    assert api.finalize_session(sid, project) is not None

    after = tree(tmp_path)
    outside = {k: v for k, v in after.items() if not k.startswith("project/.nova-protector")}
    assert outside == before
    inside = sorted(k[len("project/.nova-protector/") :] for k in after if k.startswith("project/.nova-protector/"))
    allowed = {".gitignore", "sessions", "reports", "active", "sessions/%s.jsonl" % sid}
    assert set(inside) <= allowed, inside
    assert {".gitignore", "sessions", "reports", "sessions/%s.jsonl" % sid} <= set(inside)
    assert [name for name in inside if name.startswith("active/")] == []  # finalize cleared the mark


# -------------------------------------------------------------- modes, umask 0


def test_modes_are_private_even_under_umask_zero(api, project):
    old = os.umask(0)
    try:
        sid = api.generate_session_id()
        assert api.init_session_file(sid, project, claude_session_id="c") is not None
        assert api.append_event(sid, {"n": 1}, project)
        other = api.generate_session_id()
        assert api.init_session_file(other, project) is not None
        assert api.finalize_session(other, project) is not None
    finally:
        os.umask(old)
    base = real(project) / ".nova-protector"
    seen_files = 0
    for directory, _dirnames, filenames in os.walk(base):
        assert stat.S_IMODE(os.lstat(directory).st_mode) == 0o700, directory
        for name in filenames:
            path = os.path.join(directory, name)
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, path
            seen_files += 1
    assert seen_files >= 3  # .gitignore and two session files at least
    for name in ("sessions", "reports"):
        assert (base / name).is_dir()
