"""Redaction's cost. Group ``redact`` (ratios to encoding the same 10 KB text,
the work a write does anyway): the built-in rules over 10 KB of realistic tool
output, warm (rules compiled), in each kernel; without and with secrets in it.
Group ``redact-first`` (ratio to ``python -c pass``): a fresh process that
imports nova_session and redacts its first 10 KB text, so the rule file's
parse, the prefilter's build and the first patterns' compile are all in it.
The hook process with redaction on and off is in test_hook_process_bench.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nova_session.guard import redact

from .conftest import kernels, note

GROUP = "redact"
FIRST = "redact-first"


def text_10k(with_secrets: bool) -> str:
    lines = []
    for number in range(400):
        lines.append("%4d | src/app/handlers.py: def handle_%d(event, ctx): return ctx.ok()  # ✓" % (number, number))
        if with_secrets and number % 80 == 7:
            lines.append("export GITHUB_TOKEN=ghp_%s" % ("a1B2c3D4e5" * 4)[:36])
            lines.append(
                'curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"'
            )
            lines.append("DB_PASSWORD=Zx8-vQ2!pL0m")
    return "\n".join(lines)[:10240]


def _documents() -> list:
    with open(redact.BUILTIN, "rb") as handle:
        return [handle.read()]


@pytest.mark.parametrize("secrets", [False, True], ids=["clean", "secrets"])
@pytest.mark.parametrize("backend", ["rust", "python"])
def test_redact_10k(measure, backend, secrets):
    kernel = kernels()[backend]
    engine = kernel.Redactor(_documents())
    text = text_10k(secrets)
    result = engine.redact_text(text)
    assert (result is not None) == secrets
    measure.group = GROUP
    measure.extra_info["label"] = "%s redact_text 10 KB, %s" % (backend, "3 secrets x5" if secrets else "no secret")
    note(GROUP, "%d built-in rules; warm: each pattern compiled on its first use, before timing" % engine.rule_count)
    measure.pedantic(engine.redact_text, args=(text,), rounds=200, iterations=1, warmup_rounds=5)


def test_encode_10k_baseline(measure):
    text = text_10k(True)
    encode = kernels()["rust"].encode
    measure.group = GROUP
    measure.extra_info["label"] = "baseline: rust encode of the 10 KB text"
    measure.pedantic(encode, args=({"tool_output": text},), rounds=200, iterations=1, warmup_rounds=5)


FIRST_SOURCE = {
    "python -c pass": "pass",
    "import nova_session": "import nova_session",
    "import + first redaction of 10 KB": (
        "import nova_session\nfrom nova_session.guard import redact\nredact.redact_text(%r)" % text_10k(True)
    ),
}
FIRST_CASES = [("python -c pass", None)] + [
    (label, backend) for label in list(FIRST_SOURCE)[1:] for backend in ("rust", "python")
]


@pytest.mark.parametrize(("label", "backend"), FIRST_CASES, ids=["%s-%s" % case for case in FIRST_CASES])
def test_first_redaction_in_a_fresh_process(measure, label, backend):
    argv = [sys.executable, "-I", "-c", FIRST_SOURCE[label]]
    env = dict(os.environ, NOVA_SESSION_BACKEND=backend or "rust")

    def run():
        done = subprocess.run(argv, env=env, capture_output=True)
        assert done.returncode == 0 and done.stderr == b"", done

    run()
    measure.group = FIRST
    measure.extra_info["label"] = label if backend is None else "%s, %s" % (label, backend)
    note(FIRST, "whole processes of %s, bytecode cache as installed" % sys.executable)
    measure.pedantic(run, rounds=30, iterations=1, warmup_rounds=2)
