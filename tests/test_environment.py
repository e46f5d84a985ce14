"""The append path reads its environment variables from os.environ's own dict
(sessions.environ_value): it must say what os.environ.get says, always."""

from __future__ import annotations

import os

import pytest

from nova_session import paths, sessions

NAME = "NOVA_SESSION_TEST_ENVIRON_VALUE"


@pytest.mark.parametrize("value", [None, "", "1", "a b", "ünï ✓", "\udcff\udcfe", "x" * 5000])
def test_environ_value_is_os_environ_get(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(NAME, raising=False)
    else:
        monkeypatch.setenv(NAME, value)
    assert sessions.environ_value(NAME) == os.environ.get(NAME)


def test_environ_value_follows_changes_and_a_replaced_environ(monkeypatch):
    monkeypatch.setenv(NAME, "first")
    assert sessions.environ_value(NAME) == "first"
    monkeypatch.setenv(NAME, "second")
    assert sessions.environ_value(NAME) == "second"
    monkeypatch.delenv(NAME)
    assert sessions.environ_value(NAME) is None
    # A mapping put in os.environ's place (no encoded dict behind it) is read as it is.
    monkeypatch.setattr(os, "environ", {NAME: "replaced"})
    assert sessions.environ_value(NAME) == "replaced"


def test_the_accepted_session_id_is_never_a_shortcut_for_another():
    valid = "2026-01-10_16-30-45_a1b2c3"
    assert paths.check_session_id(valid) == valid
    assert paths.check_session_id(valid) is valid
    for bad in ("", valid[:-1], valid + "\n"):
        with pytest.raises(paths.Refused):
            paths.check_session_id(bad)

    class Sub(str):
        pass

    checked = paths.check_session_id(Sub(valid))
    assert type(checked) is str and checked == valid
