"""The redaction rule data (python/nova_session/guard/rules/redact.json) is well formed and in the dialect.

The dialect is the common subset of Rust ``regex::bytes`` (``unicode(false)``) and Python ``re`` on bytes (after
the Python engine's only rewrite, ``\\z`` -> ``\\Z``); tools/vendor_gitleaks.py --rust-checker also checks the
Rust side. Each rule's examples run through both kernels' engines, the rule alone and the whole file.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "python" / "nova_session" / "guard" / "rules"
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
TARGETS = ("secret", "match", "line")
REPEAT = re.compile(r"\{\d+(?:,\d*)?\}")
# escapes that are not in the dialect: Rust word boundaries (literal in Python), Python-only or Rust-only
# escapes, \Z (the engine writes it from \z), \Q..\E, \p{..}, backreferences / octal
BAD_ESCAPES = set("<>ZQEpPehuUNkgGKCRX0123456789")


def _load() -> dict:
    with open(RULES_DIR / "redact.json", encoding="utf-8") as f:
        return json.load(f)


DOC = _load()
RULES = DOC["rules"]


def _compile(pattern: str) -> re.Pattern[bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FutureWarning on set-operation look-alikes, DeprecationWarning on escapes
        return re.compile(pattern.replace("\\z", "\\Z").encode(), 0)


def _min_width(pattern: str) -> int:
    try:
        from re import _parser  # type: ignore[attr-defined]  # Python >= 3.11
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse as _parser  # type: ignore[no-redef]
    return _parser.parse(pattern.replace("\\z", "\\Z").encode()).getwidth()[0]


def dialect_problems(p: str) -> list[str]:
    probs = []
    if any(ord(c) > 0x7E or ord(c) < 0x20 for c in p):
        probs.append("non-printable or non-ASCII character")
    i, in_class, class_start = 0, False, -1
    while i < len(p):
        c = p[i]
        nxt = p[i + 1 : i + 2]
        if c == "\\":
            if nxt in BAD_ESCAPES:
                probs.append("escape \\%s" % nxt)
            elif nxt == "x" and p[i + 2 : i + 3] == "{":
                probs.append("\\x{...}")
            elif nxt == "b" and in_class:
                probs.append("\\b in a class")
            elif nxt == "\\" and p[i + 2 : i + 3] == "z":
                probs.append("'\\\\z' would break the \\z -> \\Z rewrite")
            i += 2
            continue
        if in_class:
            if c == "]" and i > class_start:
                in_class = False
            elif c == "[":
                probs.append("'[' inside a class (nested or POSIX class)")
            elif c in "&~|-" and nxt == c:
                probs.append("%r inside a class (a set operation in Rust)" % (c * 2))
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = i + 1 + (nxt == "^")  # ']' first in a class is a literal
            i = class_start
            continue
        if c == "$" and not (p[max(0, i - 4) : i] == "(?m:" and nxt == ")"):
            probs.append("bare '$' (use \\z or (?m:$))")
        if c == "(" and nxt == "?":
            if p.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?#", "(?|", "(?("), i):
                probs.append("lookaround / atomic / conditional group")
            elif p.startswith("(?<", i):
                probs.append("(?<name>...): use (?P<name>...)")
            elif not p.startswith("(?P<", i):
                m = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]*)?)([:)])").match(p, i)
                if not m:
                    probs.append("unknown group syntax")
                elif set(m.group(1)) - set("ims-"):
                    probs.append("flag other than i, m, s")
                elif m.group(2) == ")" and i != 0:
                    probs.append("bare flag group in the middle (use a scoped (?i:...))")
        if c in "*+?}" and nxt == "+":
            probs.append("possessive quantifier")
        if c == "{" and not REPEAT.match(p, i):
            probs.append("'{' that is not a repetition (escape it)")
        i += 1
    if in_class:
        probs.append("unclosed class")
    return probs


# --- the engines ------------------------------------------------------------------------------------------------
# The examples run through both kernels' engines (nova_session._rust and _python), not a model of them.

_ENGINES: dict = {}


def engine(kernel, *rules: dict):
    """The kernel's redactor with these rules under the file's global allowlist, or with the whole file."""
    key = (kernel.__name__,) + tuple(r["id"] for r in rules)
    if key not in _ENGINES:
        if rules:
            document = json.dumps({"format": 1, "allow": DOC["allow"], "rules": list(rules)}).encode()
        else:
            document = (RULES_DIR / "redact.json").read_bytes()
        _ENGINES[key] = kernel.Redactor([document])
    return _ENGINES[key]


def redacts(redactor, text: str) -> bool:
    return redactor.redact_text(text) is not None


# --- tests --------------------------------------------------------------------------------------------------------


def test_shape() -> None:
    assert DOC["format"] == 1
    assert isinstance(DOC["source"], str) and "gitleaks" in DOC["source"]
    assert set(DOC) == {"format", "source", "allow", "rules"}
    assert set(DOC["allow"]) <= {"regexes", "stopwords"}
    assert all(s == s.lower() for s in DOC["allow"]["stopwords"])
    assert len(RULES) > 200


def test_ids_unique_and_well_formed() -> None:
    ids = [r["id"] for r in RULES]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not ID_RE.match(i)] == []
    assert "pkcs12-file" not in ids


def test_order_specific_then_ours_then_broad() -> None:
    ids = [r["id"] for r in RULES]
    ours = [n for n, i in enumerate(ids) if i.startswith("nova-")]
    assert len(ours) >= 6 and ours == list(range(ours[0], ours[-1] + 1)), "our rules form one block"
    broad = {"generic-api-key", "curl-auth-header", "curl-auth-user", "private-key", "jwt"}
    assert {i for i in ids[ours[-1] + 1 :]} >= broad
    assert not broad & set(ids[: ours[0]])


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_rule(rule: dict) -> None:
    assert set(rule) <= {"id", "description", "regex", "keywords", "secret_group", "entropy", "allow", "examples"}
    assert isinstance(rule["description"], str) and rule["description"]
    kws = rule["keywords"]
    assert kws and all(isinstance(k, str) and k and k.isascii() and k == k.lower() for k in kws)
    assert dialect_problems(rule["regex"]) == []
    rx = _compile(rule["regex"])
    assert _min_width(rule["regex"]) > 0, "the regex can match the empty string"
    if "secret_group" in rule:
        assert isinstance(rule["secret_group"], int) and 0 < rule["secret_group"] <= rx.groups
    if "entropy" in rule:
        assert isinstance(rule["entropy"], (int, float)) and 0 < rule["entropy"] < 8
    for a in rule.get("allow", []):
        assert set(a) <= {"regexes", "stopwords", "target", "condition"}
        assert a.get("regexes") or a.get("stopwords")
        assert a.get("target", "secret") in TARGETS and a.get("condition", "or") in ("or", "and")
        assert all(s == s.lower() for s in a.get("stopwords", []))
        for p in a.get("regexes", []):
            assert dialect_problems(p) == [], p
            _compile(p)
    if rule["id"].startswith("nova-"):
        assert len(rule["examples"]["redact"]) >= 3 and len(rule["examples"]["keep"]) >= 3


def test_global_allow_regexes() -> None:
    for p in DOC["allow"]["regexes"]:
        assert dialect_problems(p) == [], p
        _compile(p)


EXAMPLES = [
    (r["id"], kind, t) for r in RULES for kind in ("redact", "keep") for t in r.get("examples", {}).get(kind, [])
]


@pytest.mark.parametrize("rule_id,kind,text", EXAMPLES)
def test_examples(kernel, rule_id: str, kind: str, text: str) -> None:
    rule = next(r for r in RULES if r["id"] == rule_id)
    alone, everything = engine(kernel, rule), engine(kernel)
    if kind == "redact":
        assert any(k in text.lower() for k in rule["keywords"])
        assert redacts(alone, text), "no finding"
        once = everything.redact_text(text)
        assert once is not None and once[0] != text
        assert not redacts(everything, once[0]), "redaction is not idempotent"
    else:
        assert not redacts(alone, text)
        assert not redacts(everything, text), "some rule redacts a text that must be kept"


# A rule that takes any whole text as its secret: what the global allowlist lets through stays.
ANYTHING = {"id": "anything", "regex": "^[\\s\\S]+\\z"}


def test_placeholders_are_kept_and_random_tokens_are_not(kernel) -> None:
    allowed = engine(kernel, ANYTHING)
    keep = [
        "${DB_PASSWORD}",
        "$API_TOKEN",
        "{{ .Values.token }}",
        "<your-token>",
        "xxxxxxxx",
        "****",
        "changeme",
        "[REDACTED:x]",
        "%APPDATA%",
        "your-api-key-here",
        "AKIAIOSFODNN7EXAMPLE",
    ]
    for text in keep:
        assert not redacts(allowed, text), text
    for text in (
        "Zx8qL2vN0pR5tY7wB4mK",
        "9f86d081884c7d659a2feaa0c55ad015",
        "ghp_a8F2kL9qZ0xW3nV7bM1cD5eR6tY4uI8oP2sQ",
        "nullable9Rk2",
        "falsePositive7Qx",
    ):
        assert redacts(allowed, text), text


def test_licence_and_notice() -> None:
    lic = (RULES_DIR / "LICENSE.gitleaks").read_text(encoding="utf-8")
    assert lic.startswith("MIT License") and "Zachary Rice" in lic
    notice = (RULES_DIR / "NOTICE.md").read_text(encoding="utf-8")
    assert "gitleaks" in notice and "b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b" in notice
