"""The two kernels are interchangeable: same names, signatures, docstrings and
version (README, "Pure-Python fallback"), and both generate session ids as
"Session ids" asks. The public API exposes the names of "Quickstart for hook authors".
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import nova_session
from nova_session import _python

import support

SESSION_ID = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}_[0-9a-z]{6}\Z")
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

# README, "Quickstart for hook authors", plus BACKEND ("Pure-Python fallback")
# and __version__.
PUBLIC_FUNCTIONS = set(support.PUBLIC_FUNCTIONS)
# The public functions, and the public check of the hash chain.
PUBLIC_NAMES = PUBLIC_FUNCTIONS | {"SessionManager", "SessionWriter", "BACKEND", "__version__", "verify_session"}


def public_names(module) -> set:
    return {name for name in dir(module) if not name.startswith("_")}


# ------------------------------------------------------------------ parity


def test_python_kernel_all_lists_the_interface():
    assert set(_python.__all__) == {
        "generate_session_id",
        "encode",
        "loads",
        "create_file",
        "append_records",
        "finalize_file",
        "Writer",
        "Redactor",
        "NovaRules",
    }
    for name in _python.__all__:
        assert callable(getattr(_python, name)), name


def test_same_public_names(rust):
    assert public_names(rust) == set(_python.__all__)


@pytest.mark.parametrize("name", sorted(_python.__all__))
def test_same_signature(rust, name):
    assert inspect.signature(getattr(rust, name)) == inspect.signature(getattr(_python, name))


@pytest.mark.parametrize("name", sorted(_python.__all__))
def test_same_docstring(rust, name):
    rust_doc, python_doc = getattr(rust, name).__doc__, getattr(_python, name).__doc__
    assert python_doc and python_doc.strip() and "\n" not in python_doc.strip(), "a one-line docstring"
    assert rust_doc == python_doc


def test_the_redactors_have_the_same_methods(rust):
    for name in ("redact_text", "redact_record", "problems", "rule_count"):
        rust_member, python_member = getattr(rust.Redactor, name), getattr(_python.Redactor, name)
        assert rust_member.__doc__ == python_member.__doc__, name
        if callable(python_member):
            assert inspect.signature(rust_member) == inspect.signature(python_member), name


def test_same_version(rust):
    assert rust.__version__ == _python.__version__ == nova_session.__version__
    assert isinstance(nova_session.__version__, str) and nova_session.__version__


def test_backend_names_the_loaded_kernel():
    assert nova_session.BACKEND in ("rust", "python")
    assert nova_session.sessions.kernel.__name__ == "nova_session._" + nova_session.BACKEND


# ------------------------------------------------------------ session ids


def test_session_id_format(kernel):
    for _ in range(200):
        session_id = kernel.generate_session_id()
        assert type(session_id) is str
        assert SESSION_ID.match(session_id), repr(session_id)


def _stamp(session_id: str) -> datetime:
    return datetime.strptime(session_id[:19], "%Y-%m-%d_%H-%M-%S").replace(tzinfo=timezone.utc)


def test_session_id_is_current_utc_time(kernel):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    session_id = kernel.generate_session_id()
    after = datetime.now(timezone.utc)
    stamp = _stamp(session_id)
    # The id's second lies between the two clock readings (plus a little slack).
    assert before - timedelta(seconds=2) <= stamp <= after + timedelta(seconds=2), (session_id, before, after)


CHILD = r"""
import importlib, json, sys, time
kernel = importlib.import_module(sys.argv[1])
print(json.dumps({"id": kernel.generate_session_id(), "now": time.time()}))
"""


@pytest.mark.parametrize("zone", ["NPT-05:45", "HST+10", "UTC0"])
def test_session_id_is_utc_whatever_the_local_zone(kernel, zone):
    # POSIX TZ strings: UTC+05:45 and UTC-10 need no tz database.
    env = dict(os.environ, TZ=zone)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(nova_session.__file__)))
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, kernel.__name__], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert SESSION_ID.match(found["id"])
    now = datetime.fromtimestamp(found["now"], timezone.utc)
    assert abs((_stamp(found["id"]) - now).total_seconds()) <= 3, (zone, found)


def test_ten_thousand_ids_never_repeat_and_sort_by_second(kernel):
    ids = [kernel.generate_session_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    seconds = [session_id[:19] for session_id in ids]
    assert seconds == sorted(seconds), "ids sort by creation second"
    assert all(SESSION_ID.match(session_id) for session_id in ids)


def test_ids_never_repeat_within_one_second(kernel):
    # Only the 6-character suffix distinguishes ids made in the same second.
    deadline = time.monotonic() + 5
    by_second: dict = {}
    while time.monotonic() < deadline:
        session_id = kernel.generate_session_id()
        by_second.setdefault(session_id[:19], []).append(session_id[20:])
        if max(len(v) for v in by_second.values()) >= 5_000:
            break
    busiest = max(by_second.values(), key=len)
    assert len(busiest) >= 1_000
    assert len(set(busiest)) == len(busiest)


def test_suffix_is_uniform_over_the_alphabet(kernel):
    ids = [kernel.generate_session_id() for _ in range(30_000)]
    suffixes = [session_id[20:] for session_id in ids]
    chars = Counter("".join(suffixes))
    assert set(chars) == set(ALPHABET), "every character of [0-9a-z] appears"
    total = sum(chars.values())
    expected = total / len(ALPHABET)
    chi_square = sum((chars[c] - expected) ** 2 / expected for c in ALPHABET)
    # 35 degrees of freedom: P(chi2 > 100) is about 4e-8 for a uniform source,
    # while the classic `byte % 36` bias gives about 350 on this many characters.
    assert chi_square < 100, (chi_square, chars)
    # Every position is random too, not only the suffix as a whole.
    for position in range(6):
        assert set(s[position] for s in suffixes) == set(ALPHABET), position


# ------------------------------------------------------------- public API


def test_public_api_names_match_the_documented_api():
    exported = set(nova_session.__all__)
    assert exported == PUBLIC_NAMES
    assert len(nova_session.__all__) == len(exported), "no duplicates in __all__"
    for name in exported:
        assert hasattr(nova_session, name), name
    for name in PUBLIC_FUNCTIONS | {"SessionManager", "SessionWriter"}:
        assert callable(getattr(nova_session, name)), name
    assert list(inspect.signature(nova_session.SessionWriter).parameters) == [
        "session_id",
        "project_dir",
        "max_events",
        "max_bytes",
        "max_delay",
    ]
    defaults = [p.default for p in inspect.signature(nova_session.SessionWriter).parameters.values()]
    assert defaults[2:] == [256, 1048576, 1.0]


def _parameters(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


P = inspect.Parameter
PUBLIC_SIGNATURES = {
    "generate_session_id": [],
    "get_session_paths": [("project_dir", P.POSITIONAL_OR_KEYWORD, P.empty)],
    "init_session_file": [
        ("session_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("project_dir", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("extra", P.VAR_KEYWORD, P.empty),
    ],
    "append_event": [
        ("session_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("event_data", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("project_dir", P.POSITIONAL_OR_KEYWORD, None),
    ],
    "get_active_session": [
        ("project_dir", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("claude_session_id", P.POSITIONAL_OR_KEYWORD, None),
    ],
    "finalize_session": [
        ("session_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("project_dir", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
    "read_session_events": [
        ("session_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("project_dir", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
}

MANAGER_METHODS = {
    "init_session_file": [("session_id", P.POSITIONAL_OR_KEYWORD, P.empty), ("extra", P.VAR_KEYWORD, P.empty)],
    "append_event": [
        ("session_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("event_data", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
    "get_active_session": [("claude_session_id", P.POSITIONAL_OR_KEYWORD, None)],
    "finalize_session": [("session_id", P.POSITIONAL_OR_KEYWORD, P.empty)],
    "read_session_events": [("session_id", P.POSITIONAL_OR_KEYWORD, P.empty)],
    "get_session_paths": [],
    "generate_session_id": [],
}


def _assert_parameters(found, expected, where):
    # The parameters the README's function table names, in its order; only a trailing
    # **kwargs may follow (e.g. finalize_session's optional end-record keys, "Records").
    assert found[: len(expected)] == expected, (where, found)
    assert all(kind == P.VAR_KEYWORD for _, kind, _ in found[len(expected) :]), (where, found)


@pytest.mark.parametrize("name", sorted(PUBLIC_SIGNATURES))
def test_public_function_signature_matches_the_documented_one(name):
    _assert_parameters(_parameters(getattr(nova_session, name)), PUBLIC_SIGNATURES[name], name)


@pytest.mark.parametrize("name", sorted(MANAGER_METHODS))
def test_session_manager_method_signature_matches_the_documented_one(name, project):
    manager = nova_session.SessionManager(project)
    method = getattr(manager, name)
    assert callable(method)
    _assert_parameters(_parameters(method), MANAGER_METHODS[name], name)


def test_public_generate_session_id_format(api, project):
    assert SESSION_ID.match(api.generate_session_id())
    assert SESSION_ID.match(api.SessionManager(project).generate_session_id())


def test_the_stub_names_exactly_the_compiled_kernel(rust):
    """python/nova_session/_rust.pyi declares every public name of the Rust kernel, and nothing else."""
    import ast

    stub = ast.parse(Path(nova_session.__file__).with_name("_rust.pyi").read_text("utf-8"))
    declared = {node.name for node in stub.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert declared == public_names(rust)
    writer = next(node for node in stub.body if isinstance(node, ast.ClassDef) and node.name == "Writer")
    methods = {node.name for node in writer.body if isinstance(node, ast.FunctionDef)} - {"__new__"}
    assert methods == {name for name in dir(rust.Writer) if not name.startswith("_")}
