"""Backend selection and import hygiene (README, "Pure-Python fallback").

Each case runs in a fresh interpreter with a clean environment: the choice is
made once at import, so changing the environment in this process would prove
nothing. A missing extension is simulated by putting ``None`` in
``sys.modules["nova_session._rust"]`` before ``import nova_session``.

Tests that need the compiled kernel carry ``rust`` in their id, so that
``--no-rust`` deselects them on a machine without it.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nova_session

from support import PUBLIC_FUNCTIONS

PYTHON_SOURCE = str(Path(nova_session.__file__).resolve().parent.parent)
MARK = "RESULT "

# The child reports on one line that starts with MARK; anything else on its
# stdout was printed by the import.
CHILD = r"""
import sys
if HIDE_RUST:
    sys.modules["nova_session._rust"] = None
before = set(sys.modules)
try:
    import nova_session
except ImportError as exc:
    result = {"error": str(exc), "error_type": type(exc).__name__}
else:
    result = {
        "backend": nova_session.BACKEND,
        "rust_imported": sys.modules.get("nova_session._rust") is not None,
        "new_modules": sorted(set(sys.modules) - before),
        "kernel": getattr(nova_session.sessions.kernel, "__name__", None),
    }
import json
sys.stdout.write("RESULT " + json.dumps(result) + "\n")
"""


def clean_env(backend) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": PYTHON_SOURCE, "PYTHONDONTWRITEBYTECODE": "1"}
    if backend is not None:
        env["NOVA_SESSION_BACKEND"] = backend
    return env


def run(backend=None, hide_rust: bool = False, flags=()):
    code = CHILD.replace("HIDE_RUST", repr(hide_rust))
    done = subprocess.run(
        [sys.executable, *flags, "-c", code],
        env=clean_env(backend),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # Nothing but the child's own report on stdout: the import printed nothing.
    assert len(lines) == 1 and lines[0].startswith(MARK), done.stdout
    return json.loads(lines[0][len(MARK) :]), done.stderr


@pytest.mark.parametrize("backend", [None, "auto"], ids=["unset-rust", "auto-rust"])
def test_default_is_rust_when_built(backend):
    result, stderr = run(backend)
    assert result["backend"] == "rust"
    assert result["rust_imported"] is True
    assert result["kernel"] == "nova_session._rust"
    assert stderr == ""


def test_forced_python_never_imports_rust():
    result, stderr = run("python")
    assert result["backend"] == "python"
    assert result["rust_imported"] is False
    assert "nova_session._rust" not in result["new_modules"]
    assert result["kernel"] == "nova_session._python"
    assert stderr == ""


@pytest.mark.parametrize("hide_rust", [False, True], ids=["rust", "hidden"])
def test_forced_python_ignores_the_extension_either_way(hide_rust):
    result, stderr = run("python", hide_rust=hide_rust)
    assert result["backend"] == "python"
    assert stderr == ""


@pytest.mark.parametrize("backend", ["rust"], ids=["rust"])
def test_forced_rust(backend):
    result, stderr = run(backend)
    assert result["backend"] == "rust"
    assert result["kernel"] == "nova_session._rust"
    assert stderr == ""


def test_forced_rust_without_extension_raises_import_error_naming_the_fallback():
    result, stderr = run("rust", hide_rust=True)
    assert result.get("error_type") in ("ImportError", "ModuleNotFoundError"), result
    message = result["error"]
    assert "NOVA_SESSION_BACKEND=python" in message
    assert "_rust" in message  # says what could not be loaded


def test_auto_without_extension_falls_back_silently():
    result, stderr = run("auto", hide_rust=True)
    assert result["backend"] == "python"
    assert result["kernel"] == "nova_session._python"
    assert stderr == ""
    result, stderr = run(None, hide_rust=True)
    assert result["backend"] == "python"
    assert stderr == ""


def warning_lines(stderr: str) -> list:
    return [line for line in stderr.splitlines() if "NOVA_SESSION_BACKEND" in line]


@pytest.mark.parametrize("value", ["rsut", "pure-python", "1"], ids=["typo-rust", "other-rust", "number-rust"])
def test_unknown_value_warns_once_then_behaves_as_auto(value):
    result, stderr = run(value)
    assert result["backend"] == "rust"
    assert len(warning_lines(stderr)) == 1, stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr


def test_unknown_value_without_extension_warns_once_and_falls_back():
    result, stderr = run("pyhton", hide_rust=True)
    assert result["backend"] == "python"
    assert len(warning_lines(stderr)) == 1, stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr


def stdlib_names() -> set:
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return set(names)
    import pkgutil  # Python 3.9: what the standard library directory holds
    import sysconfig

    found = set(sys.builtin_module_names)
    for directory in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]):
        found.update(module.name for module in pkgutil.iter_modules([directory]))
        found.update(module.name for module in pkgutil.iter_modules([os.path.join(directory, "lib-dynload")]))
    return found


@pytest.mark.parametrize(
    "backend, hide_rust",
    [(None, False), ("python", False), ("auto", True), ("rsut", False)],
    ids=["auto-rust", "python", "auto-hidden", "typo-rust"],
)
def test_import_needs_only_the_standard_library(backend, hide_rust):
    result, _ = run(backend, hide_rust=hide_rust)
    stdlib = stdlib_names()
    foreign = [
        name
        for name in result["new_modules"]
        if name.split(".")[0] not in stdlib and name != "nova_session" and not name.startswith("nova_session.")
    ]
    assert foreign == []


@pytest.mark.parametrize("backend", [None, "python"], ids=["auto-rust", "python"])
def test_import_works_without_site_packages(backend):
    # -S: no site module, so no site-packages on sys.path: the standard library alone.
    result, stderr = run(backend, flags=("-S",))
    assert result["backend"] == ("python" if backend == "python" else "rust")
    assert stderr == ""


@pytest.mark.parametrize("mix", ["python-rust"])
def test_kernels_share_names_signatures_and_docstrings(mix):
    from nova_session import _python, _rust

    names = ["generate_session_id", "encode", "create_file", "append_records", "finalize_file"]
    for name in names:
        rust_fn, python_fn = getattr(_rust, name), getattr(_python, name)
        assert inspect.signature(rust_fn) == inspect.signature(python_fn), name
        assert rust_fn.__doc__ == python_fn.__doc__, name
        assert rust_fn.__doc__, name
    assert _rust.__version__ == _python.__version__ == nova_session.__version__


def test_public_api_names():
    assert nova_session.BACKEND in ("rust", "python")
    for name in PUBLIC_FUNCTIONS + ("SessionManager", "SessionWriter", "BACKEND"):
        assert hasattr(nova_session, name), name
    params = {
        "get_session_paths": ["project_dir"],
        "init_session_file": ["session_id", "project_dir", "extra"],
        "append_event": ["session_id", "event_data", "project_dir"],
        "get_active_session": ["project_dir", "claude_session_id"],
        "read_session_events": ["session_id", "project_dir"],
    }
    for name, expected in params.items():
        assert list(inspect.signature(getattr(nova_session, name)).parameters) == expected, name
    assert inspect.signature(nova_session.append_event).parameters["project_dir"].default is None
    assert inspect.signature(nova_session.get_active_session).parameters["claude_session_id"].default is None
