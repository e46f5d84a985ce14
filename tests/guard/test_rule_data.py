"""The redaction rule data (python/nova_session/guard/rules/redact.json) is well formed and in the dialect.

Stdlib only, and independent of the engines (nova_session.guard): it checks the data the engines consume. The
dialect is the common subset of Rust ``regex::bytes`` (``unicode(false)``) and Python ``re`` on bytes (after the
Python engine's only rewrite, ``\\z`` -> ``\\Z``); tools/vendor_gitleaks.py --rust-checker also checks the Rust
side. The examples are checked with a small reference implementation of the matching semantics.
"""

from __future__ import annotations

import json
import math
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


# --- reference semantics ----------------------------------------------------------------------------------------


def _entropy(data: bytes) -> float:
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in (data.count(b) for b in set(data)))


def _allowlist(a: dict) -> dict:
    return {
        "regexes": [_compile(r) for r in a.get("regexes", [])],
        "stopwords": [s.encode() for s in a.get("stopwords", [])],
        "target": a.get("target", "secret"),
        "condition": a.get("condition", "or"),
    }


GLOBAL_ALLOW = _allowlist(DOC["allow"])


class Rule:
    def __init__(self, rule: dict) -> None:
        self.id = rule["id"]
        self.rx = _compile(rule["regex"])
        self.keywords = [k.encode() for k in rule["keywords"]]
        self.group = rule.get("secret_group")
        self.entropy = rule.get("entropy")
        self.allow = [GLOBAL_ALLOW] + [_allowlist(a) for a in rule.get("allow", [])]

    def findings(self, text: bytes) -> list[tuple[int, int]]:
        low = text.lower()
        if not any(k in low for k in self.keywords):
            return []
        out = []
        for m in self.rx.finditer(text):
            if self.group is not None:
                span = m.span(self.group)
            else:
                groups = range(1, self.rx.groups + 1)
                span = next((m.span(g) for g in groups if m.start(g) < m.end(g)), m.span())
            if span[0] < 0 or span[0] == span[1]:
                continue
            secret = text[span[0] : span[1]]
            if self.entropy is not None and _entropy(secret) < self.entropy:
                continue
            start = text.rfind(b"\n", 0, m.start()) + 1
            end = text.find(b"\n", m.end())
            targets = {"secret": secret, "match": m.group(0), "line": text[start : len(text) if end < 0 else end]}
            if not any(self._allowed(a, targets) for a in self.allow):
                out.append(span)
        return out

    @staticmethod
    def _allowed(a: dict, targets: dict) -> bool:
        rx_hit = any(r.search(targets[a["target"]]) for r in a["regexes"])
        low = targets["secret"].lower()
        sw_hit = any(s in low for s in a["stopwords"])
        if a["condition"] == "and":
            return (rx_hit or not a["regexes"]) and (sw_hit or not a["stopwords"])
        return rx_hit or sw_hit


COMPILED = [Rule(r) for r in RULES]


def redact(text: bytes) -> bytes:
    for rule in COMPILED:
        for s, e in reversed(rule.findings(text)):
            text = text[:s] + b"[REDACTED:" + rule.id.encode() + b"]" + text[e:]
    return text


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
def test_examples(rule_id: str, kind: str, text: str) -> None:
    rule = next(r for r in COMPILED if r.id == rule_id)
    data = text.encode()
    if kind == "redact":
        assert any(k in data.lower() for k in rule.keywords)
        assert rule.findings(data), "no finding"
        once = redact(data)
        assert once != data
        assert redact(once) == once, "redaction is not idempotent"
    else:
        assert rule.findings(data) == []
        assert redact(data) == data, "some rule redacts a text that must be kept"


def test_placeholders_are_kept_and_random_tokens_are_not() -> None:
    keep = [
        b"${DB_PASSWORD}",
        b"$API_TOKEN",
        b"{{ .Values.token }}",
        b"<your-token>",
        b"xxxxxxxx",
        b"****",
        b"changeme",
        b"[REDACTED:x]",
        b"%APPDATA%",
        b"your-api-key-here",
        b"AKIAIOSFODNN7EXAMPLE",
    ]
    for s in keep:
        assert Rule._allowed(GLOBAL_ALLOW, {"secret": s, "match": s, "line": s}), s
    for s in (
        b"Zx8qL2vN0pR5tY7wB4mK",
        b"9f86d081884c7d659a2feaa0c55ad015",
        b"ghp_a8F2kL9qZ0xW3nV7bM1cD5eR6tY4uI8oP2sQ",
        b"nullable9Rk2",
        b"falsePositive7Qx",
    ):
        assert not Rule._allowed(GLOBAL_ALLOW, {"secret": s, "match": s, "line": s}), s


def test_licence_and_notice() -> None:
    lic = (RULES_DIR / "LICENSE.gitleaks").read_text(encoding="utf-8")
    assert lic.startswith("MIT License") and "Zachary Rice" in lic
    notice = (RULES_DIR / "NOTICE.md").read_text(encoding="utf-8")
    assert "gitleaks" in notice and "b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b" in notice
