#!/usr/bin/env python3
"""Generate python/nova_session/guard/rules/redact.json from gitleaks' default config plus our own rules.

Dev-time tool (Python >= 3.11, stdlib only); the package only ships the generated JSON.

    python tools/vendor_gitleaks.py                      # regenerate redact.json
    python tools/vendor_gitleaks.py --check              # fail if redact.json is stale
    python tools/vendor_gitleaks.py --rust-checker BIN   # also compile + differential-test every pattern in Rust

The gitleaks config is read with ``git show <commit>:config/gitleaks.toml`` from a clone (``--git-dir``,
default ``$GITLEAKS_GIT_DIR``) or from a file (``--toml``). The conversion is deterministic: same input, same
bytes out.

Patterns are rewritten from Go RE2 syntax into "the dialect" that means the same thing in Rust ``regex::bytes``
(``unicode(false)``) and in Python ``re`` on bytes (after the engine's only rewrite, ``\\z`` -> ``\\Z``):

* ``$`` (end of text in Go) -> ``\\z``;
* a bare flag group in the middle of a pattern (``a(?i)b``) -> a scoped group around the rest of each
  alternative of the enclosing group (``a(?i:b)``), as Go applies it;
* POSIX classes (``[[:alnum:]]``) -> explicit ASCII ranges;
* literal ``{`` / ``}`` that are not a repetition -> ``\\{`` / ``\\}`` (Rust rejects them bare);
* ``\\<`` / ``\\>`` (literal in Go, word boundaries in Rust) -> ``<`` / ``>``;
* inside a class: a literal ``[`` and the second char of ``&&``, ``--``, ``~~``, ``||`` are escaped (Python
  warns about set operations, Rust performs them).
Anything else outside the common subset raises ``Untranslatable`` and the rule is dropped (none today).

``--rust-checker BIN`` talks JSON lines to a tiny Rust program (source in RUST_CHECKER_MAIN_RS below; write a
cargo project with ``--emit-rust-checker DIR`` and ``cargo build --release`` there): every pattern must compile
with ``regex::bytes::RegexBuilder::new(p).unicode(false)``, and for every rule both engines must report the same
match and group spans on the rule's examples, on random strings built from the pattern's own literals and random
bytes, and on long texts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "python" / "nova_session" / "guard" / "rules" / "redact.json"
GITLEAKS_COMMIT = "b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b"
GITLEAKS_DESCRIBE = "v8.30.0-27-gb58d3f10"
GITLEAKS_DATE = "2026-07-22"

# gitleaks rules dropped on purpose (id -> why); see NOTICE.md
DROPPED = {"pkcs12-file": "path-only rule (matches file names, has no regex); we scan text, not paths"}

# gitleaks rules that are broad (not tied to one provider's token format): they run after our own rules, so the
# precise rules redact first and these act as a backstop on what is left
BROAD = (
    "private-key",
    "jwt",
    "jwt-base64",
    "hashicorp-tf-password",
    "kubernetes-secret-yaml",
    "curl-auth-header",
    "curl-auth-user",
    "generic-api-key",
)

# gitleaks rules whose pattern has a fixed length and no end boundary, for a token that one of our rules knows in a
# longer or newer form (gitleaks id -> our rule): such a rule redacts only the start of the longer token (the rest
# leaks) and ours, running later, never sees it whole. They run right after our rules (in upstream order, before
# the broad ones), so ours redacts the whole token first and they still catch what ours leaves.
SUPERSEDED = {
    # GitHub refresh tokens are ghr_ + 76 characters today; upstream stops after 36
    "github-refresh-token": "nova-github-refresh-token",
    # GitLab gl*- tokens: upstream takes 20 (25, 40, 50, 64) characters, newer ones are longer (glcbt-, glrt-,
    # glpat- with a longer payload); the routable forms (glpat-<payload>.<version><crc>) have their own upstream
    # rules, which stay in the first group and so run before all of these
    **dict.fromkeys(
        (
            "gitlab-cicd-job-token",
            "gitlab-deploy-token",
            "gitlab-feature-flag-client-token",
            "gitlab-feed-token",
            "gitlab-incoming-mail-token",
            "gitlab-kubernetes-agent-token",
            "gitlab-oauth-app-secret",
            "gitlab-pat",
            "gitlab-ptt",
            "gitlab-runner-authentication-token",
            "gitlab-scim-token",
        ),
        "nova-gitlab-token",
    ),
}


# ---------------------------------------------------------------------------------------------------------------
# Go RE2 -> dialect
# ---------------------------------------------------------------------------------------------------------------


class Untranslatable(ValueError):
    pass


_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "digit": "0-9",
    "lower": "a-z",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
    "word": "0-9A-Za-z_",
    "space": "\\t\\n\\v\\f\\r ",
    "blank": "\\t ",
}
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_FLAGS = re.compile(r"\(\?([imsU]*(?:-[imsU]+)?)\)")
_SIMPLE_ESC = set("dDwWsSbBAznrtfv")
_CLASS_ESC = set("dDwWsSnrtfv")


class _Translator:
    """Recursive re-emitter of a Go regexp; copies the source text except for the constructs listed above."""

    def __init__(self, pattern: str) -> None:
        if any(ord(c) > 0x7E or (ord(c) < 0x20) for c in pattern):
            raise Untranslatable("non-printable or non-ASCII character in pattern")
        self.p = pattern
        self.i = 0

    def run(self) -> str:
        out = self.alternation(top=True)
        if self.i != len(self.p):
            raise Untranslatable("unbalanced ')' at %d" % self.i)
        return out

    def peek(self, n: int = 1) -> str:
        return self.p[self.i : self.i + n]

    def alternation(self, top: bool) -> str:
        active: list[str] = []  # flags set by bare (?x) groups earlier in this group: they persist across '|'
        alts = []
        while True:
            seq, active = self.sequence(active, top)
            alts.append(seq)
            if self.peek() == "|":
                self.i += 1
                continue
            return "|".join(alts)

    def sequence(self, active: list[str], top: bool) -> tuple[str, list[str]]:
        parts = ["(?%s:" % f for f in active]
        opened = len(active)
        while self.i < len(self.p) and self.peek() not in "|)":
            m = _FLAGS.match(self.p, self.i)
            if m:
                self.i = m.end()
                if top and m.start() == 0:
                    parts.append(m.group(0))  # leading global flags are fine in both engines
                else:
                    active = active + [m.group(1)]
                    parts.append("(?%s:" % m.group(1))
                    opened += 1
                continue
            parts.append(self.item())
        return "".join(parts) + ")" * opened, active

    def item(self) -> str:
        atom = self.atom()
        rep = self.repeat()
        if rep and atom in ("^", "\\z", "\\b", "\\B", "\\A"):
            raise Untranslatable("repeated assertion")
        return atom + rep

    def repeat(self) -> str:
        c = self.peek()
        if c in ("*", "+", "?"):
            self.i += 1
            rep = c
        elif c == "{" and _REPEAT.match(self.p, self.i):
            m = _REPEAT.match(self.p, self.i)
            assert m is not None
            lo, hi = int(m.group(1)), m.group(3)
            if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                raise Untranslatable("repetition count")
            self.i = m.end()
            rep = m.group(0)
        else:
            return ""
        if self.peek() == "?":
            self.i += 1
            rep += "?"
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and _REPEAT.match(self.p, self.i)):
            raise Untranslatable("nested repetition")
        return rep

    def atom(self) -> str:
        c = self.peek()
        if c == "(":
            return self.group()
        if c == "[":
            return self.cls()
        if c == "\\":
            return self.escape(in_class=False)
        self.i += 1
        if c == "$":
            return "\\z"
        if c in "{}":
            return "\\" + c  # not a repetition here (checked by repeat()): a literal brace
        if c in "*+?":
            raise Untranslatable("missing repetition argument")
        return c

    def group(self) -> str:
        p, i = self.p, self.i
        if p.startswith("(?P<", i) or p.startswith("(?<", i):
            j = p.index(">", i)
            name = p[i + (4 if p[i + 2] == "P" else 3) : j]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise Untranslatable("group name")
            head = "(?P<%s>" % name
            self.i = j + 1
        elif p.startswith("(?", i):
            m = re.compile(r"\(\?([imsU]*(?:-[imsU]+)?):").match(p, i)
            if not m:
                raise Untranslatable("unsupported group syntax at %d" % i)
            if "U" in m.group(1):
                raise Untranslatable("ungreedy flag")
            head = m.group(0)
            self.i = m.end()
        else:
            head = "("
            self.i += 1
        body = self.alternation(top=False)
        if self.peek() != ")":
            raise Untranslatable("unclosed group")
        self.i += 1
        return head + body + ")"

    def escape(self, in_class: bool) -> str:
        p, i = self.p, self.i
        if i + 1 >= len(p):
            raise Untranslatable("trailing backslash")
        c = p[i + 1]
        if c == "x":
            m = re.compile(r"\\x([0-9A-Fa-f]{2})").match(p, i)
            if not m:
                raise Untranslatable("\\x{...} escape")
            self.i = m.end()
            return m.group(0)
        self.i = i + 2
        if c in (_CLASS_ESC if in_class else _SIMPLE_ESC):
            return "\\" + c
        if c in "<>":
            return c  # literal in Go; a word boundary in Rust
        if not c.isalnum() and c.isprintable():
            return "\\" + c  # every escaped ASCII punctuation means the literal in both engines
        raise Untranslatable("escape \\%s" % c)

    def cls(self) -> str:
        p = self.p
        self.i += 1
        out = ["["]
        if self.peek() == "^":
            out.append("^")
            self.i += 1
        first = True
        prev = ""  # last emitted literal char (for '&&' style doubles)
        while True:
            if self.i >= len(p):
                raise Untranslatable("unclosed class")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                out.append("]")
                return "".join(out)
            first = False
            if p.startswith("[:", self.i):
                j = p.find(":]", self.i + 2)
                name = p[self.i + 2 : j] if j > 0 else ""
                if name not in _POSIX:
                    raise Untranslatable("POSIX class %r" % name)
                out.append(_POSIX[name])
                self.i = j + 2
                prev = ""
                continue
            if c == "\\":
                out.append(self.escape(in_class=True))
                prev = ""
                continue
            self.i += 1
            if c == "[":
                out.append("\\[")
                prev = ""
                continue
            if c in "&~|-" and prev == c:
                out.append("\\" + c)
                prev = ""
                continue
            out.append(c)
            prev = c


def translate(pattern: str) -> str:
    """Go RE2 pattern -> dialect pattern (raises Untranslatable)."""
    return _Translator(pattern).run()


# ---------------------------------------------------------------------------------------------------------------
# dialect checks (the same ones tests/guard/test_rule_data.py makes)
# ---------------------------------------------------------------------------------------------------------------


def dialect_problems(p: str) -> list[str]:
    """Lint a dialect pattern: constructs that are invalid in one engine or mean different things."""
    probs = []
    if any(ord(c) > 0x7E or ord(c) < 0x20 for c in p):
        probs.append("non-printable or non-ASCII char")
    i, in_class, class_start = 0, False, -1
    while i < len(p):
        c = p[i]
        if c == "\\":
            nxt = p[i + 1 : i + 2]
            if nxt in ("<", ">", "Z", "Q", "E", "p", "P", "e", "h", "u", "U", "N", "k", "g", "G", "K", "C", "R", "X"):
                probs.append("escape \\%s" % nxt)
            elif nxt.isdigit():
                probs.append("octal escape or backreference \\%s" % nxt)
            elif nxt == "x" and p[i + 2 : i + 3] == "{":
                probs.append("\\x{...}")
            elif nxt == "b" and in_class:
                probs.append("\\b in a class")
            elif nxt == "\\" and p[i + 2 : i + 3] == "z":
                probs.append("'\\\\z' (a naive \\z -> \\Z rewrite would break it)")
            i += 2
            continue
        if in_class:
            if c == "]" and i > class_start:
                in_class = False
            elif c == "[":
                probs.append("unescaped '[' in a class (nested class / POSIX class)")
            elif c in "&~|-" and p[i + 1 : i + 2] == c:
                probs.append("set-operation-like %r in a class" % (c * 2))
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = i + 1 + (p[i + 1 : i + 2] == "^")  # a ']' right after '[' or '[^' is literal
            i = class_start
            continue
        if c == "$" and not (p[max(0, i - 4) : i] == "(?m:" and p[i + 1 : i + 2] == ")"):
            probs.append("bare '$' (use \\z or (?m:$))")
        if c == "(" and p[i + 1 : i + 2] == "?":
            m = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]*)?)([:)])").match(p, i)
            if p.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?#", "(?|", "(?("), i):
                probs.append("lookaround/atomic/conditional group")
            elif p.startswith("(?P<", i):
                pass
            elif p.startswith("(?<", i):
                probs.append("(?<name>) group (Python 3.11 rejects it)")
            elif not m:
                probs.append("unknown group syntax")
            else:
                if set(m.group(1)) - set("ims-"):
                    probs.append("flag other than i/m/s")
                if m.group(2) == ")" and i != 0:
                    probs.append("bare flag group in the middle of the pattern")
        if c in "*+?}" and p[i + 1 : i + 2] == "+":
            probs.append("possessive quantifier")
        if c == "{" and p[i + 1 : i + 2] == ",":
            probs.append("'{,n}'")
        if c == "{" and not _REPEAT.match(p, i):
            probs.append("unescaped literal '{'")
        i += 1
    if in_class:
        probs.append("unclosed class")
    return probs


def py_compile(p: str) -> re.Pattern[bytes]:
    """Compile as the Python engine does (only \\z -> \\Z), with warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return re.compile(p.replace("\\z", "\\Z").encode(), 0)


def min_width(p: str) -> int:
    from re import _parser  # type: ignore[attr-defined]

    return _parser.parse(p.replace("\\z", "\\Z").encode()).getwidth()[0]


# ---------------------------------------------------------------------------------------------------------------
# reference semantics (what the engines implement; used to check examples)
# ---------------------------------------------------------------------------------------------------------------


def shannon(data: bytes) -> float:
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in (data.count(b) for b in set(data)))


class CompiledRule:
    def __init__(self, rule: dict, global_allow: dict) -> None:
        self.rule = rule
        self.id = rule["id"]
        self.rx = py_compile(rule["regex"])
        self.keywords = [k.encode() for k in rule["keywords"]]
        self.group = rule.get("secret_group")
        self.entropy = rule.get("entropy")
        self.allow = [_compile_allow(dict(global_allow, target="secret", condition="or"))]
        self.allow += [_compile_allow(a) for a in rule.get("allow", [])]

    def findings(self, text: bytes) -> list[tuple[int, int]]:
        """Spans of the secrets this rule reports in text (after keywords, entropy and allowlists)."""
        low = text.lower()
        if not any(k in low for k in self.keywords):
            return []
        out = []
        for m in self.rx.finditer(text):
            if self.group is not None:
                span = m.span(self.group)
            else:
                span = next((m.span(g) for g in range(1, (self.rx.groups or 0) + 1) if m.start(g) < m.end(g)), m.span())
            if span[0] < 0 or span[0] == span[1]:
                continue
            secret = text[span[0] : span[1]]
            if self.entropy is not None and shannon(secret) < self.entropy:
                continue
            line_start = text.rfind(b"\n", 0, m.start()) + 1
            line_end = text.find(b"\n", m.end())
            targets = {
                "secret": secret,
                "match": m.group(0),
                "line": text[line_start : len(text) if line_end < 0 else line_end],
            }
            if any(_allowed(a, targets, secret) for a in self.allow):
                continue
            out.append(span)
        return out


def _compile_allow(a: dict) -> dict:
    return {
        "regexes": [py_compile(r) for r in a.get("regexes", [])],
        "stopwords": [s.encode() for s in a.get("stopwords", [])],
        "target": a.get("target", "secret"),
        "condition": a.get("condition", "or"),
    }


def _allowed(a: dict, targets: dict, secret: bytes) -> bool:
    target = targets[a["target"]]
    rx_hit = any(r.search(target) for r in a["regexes"])
    low = secret.lower()
    sw_hit = any(s in low for s in a["stopwords"])
    if a["condition"] == "and":
        return (rx_hit or not a["regexes"]) and (sw_hit or not a["stopwords"])
    return rx_hit or sw_hit


def redact(rules: list[CompiledRule], text: bytes) -> bytes:
    for r in rules:
        spans = r.findings(text)
        for s, e in reversed(spans):
            text = text[:s] + b"[REDACTED:" + r.id.encode() + b"]" + text[e:]
    return text


# ---------------------------------------------------------------------------------------------------------------
# global allowlist and our own rules
# ---------------------------------------------------------------------------------------------------------------

# Placeholders and references that are never a secret. Applied (target: secret) to every finding of every rule,
# after gitleaks' global allowlist. Tight on purpose: none of these can match a random token.
OWN_GLOBAL_REGEXES = [
    r"(?i)example",  # AKIAIOSFODNN7EXAMPLE, example.com, "your-example-token"...
    r"\[REDACTED:",  # already redacted: never redact twice
    r"(?i)^\[(?:redacted|filtered|hidden|masked|removed|secret|sensitive)\]\z",  # [REDACTED], Rails' [FILTERED]
    r"(?i)^[x*]+(?:[ ._:/-]+[x*]+)*\z",  # xxxx, XXXX-XXXX, ****, x
    r"(?i)x{6}",  # sk-xxxxxxxxxx, ghp_XXXXXXXXXXXXXXXXXXXX
    r"\*{3}",  # masked values: ****1234, abc***
    r"^0+(?:[-_.:]0+)*\z",  # all zeros: 00000000-0000-0000-0000-000000000000
    r"^[\w.-]{0,12}(?:\.{3}|\xe2\x80\xa6)\z",  # a bare prefix, elided: sk_test_..., ghp_...
    r"<[A-Za-z_][\w .:/-]{0,60}>",  # <token>, <your api key>, Bearer <TOKEN>
    r"&lt;[A-Za-z_][\w .:/-]{0,60}&gt;",  # the same, HTML-escaped
    r"^<%=?[^%\r\n]{0,200}%>\z",  # <% TEMPLATE %> (ERB, ASP, EJS)
    r"^\$\$?[A-Za-z_][A-Za-z0-9_]*\z",  # $VAR, $db_password2, $$VAR (escaped $: compose files, Makefiles)
    # ${VAR} ${env:VAR} ${VAR:?msg} ${VAR:-} ${VAR:} $${VAR}
    r"^\$?\$\{[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?(?::?\?[^}]*|:?-|:)?\}\z",
    r"^\$\(",  # $(command substitution)
    r"^\$?\{\{",  # {{ template }}, ${{ secrets.X }} (possibly cut at a space)
    r"^%[A-Za-z_][A-Za-z0-9_]*%\z",  # %VAR%
    r"^\{[ \t]*[A-Za-z_][\w.]*[ \t]*\}\z",  # {var}, { var } (str.format / f-string field, templates)
    r"^#\{[A-Za-z_][\w.]*\}\z",  # #{var} (Ruby interpolation)
    r"^%\([A-Za-z_]\w*\)[sdr]\z",  # %(name)s
    r"(?i)change[_-]?(?:me|it)|placeholder|dummy",
    r"(?i)(?:^|[^a-z])your[_-]",  # your-api-key, YOUR_TOKEN_HERE, <your_password>
    r"(?i)[_-]here\z",  # insert-token-here
    r"(?i)^(?:password|passwd|pass|pwd|secret|token|api[_-]?key|redacted|none|nil|null|undefined|empty|"
    r"true|false|yes|no|on|off|required|optional|test|foo|bar|foobar|string|str|bytes|int|bool|secretstr|~|-)\z",
]

# building blocks of the assignment rule
_ASSIGN_NAMES = (
    r"password|passwd|passphrase|pwd|secret"
    r"|(?:api|secret|secret[_.-]?access|private|auth|encryption|signing|master|access)[_.-]?key|apikey"
    r"|(?:access|auth|refresh|api|bearer|session)[_.-]?token"
)
_ASSIGN_PREFIXED = r"token|pass"  # only as the last part of a longer name: GITHUB_TOKEN, DB_PASS
_ASSIGN_GLUED = r"password|passwd|secret"  # also glued to a lowercase or upper-case word: SSHpassword, jwtsecret
_KEY_NAMED_BODY = (  # a name, or one ending in [_.-]name: DB_PASSWORD, spring.datasource.password, _password
    r"_{0,2}(?:(?:[A-Za-z0-9]+[_.-])*(?:[A-Za-z0-9]+(?i:" + _ASSIGN_GLUED + r")|(?i:" + _ASSIGN_NAMES + r"))"
    r"|(?:[A-Za-z0-9]+[_-])+(?i:" + _ASSIGN_PREFIXED + r"))"
)
_KEY_NAMED = r"\b" + _KEY_NAMED_BODY
_QUOTED = (  # a quoted literal (also JSON-escaped \"...\"); the first char is not one that ends an expression
    r"\\?\"([^\"\r\n\s,;)+][^\"\r\n]*?)\\?\""
    r"|\\?'([^'\r\n\s,;)+][^'\r\n]*?)\\?'"
    r"|`([^`\r\n\s,;)+][^`\r\n]*?)`"
)
# the same with an optional Python string prefix: f"...", b'...', r"..."
_PQUOTED = "|".join("[rbfuRBFU]{0,2}" + alt for alt in _QUOTED.split("|"))
_TEMPLATE = r"\$?\{\{[^}\r\n]*\}\}|\$\{[^}\s]+\}"  # captured whole so the global allowlist sees it
_FIRST = r"[^\s'\"`,;&|<>(){}\[\]#!=\\*~-]"  # not a quote, a YAML indicator, an operator, empty, a list...
_TOKEN = r"(" + _TEMPLATE + r"|" + _FIRST + r"[^\s'\"`,;|<>)\]}\\]*)"  # up to a space / delimiter
_LINE = (  # the rest of the line (YAML/INI values may contain spaces), before a " #" comment
    r"(" + _TEMPLATE + r"|" + _FIRST + r"[^\r\n]{0,255}?)[ \t]*,?(?:[ \t]+#[^\r\n]*)?[ \t]*(?:\r?\n|\z)"
)
_AFTER_KEY = (  # operator and value after a key found anywhere on a line
    # key = value, key := value, key => value: a quoted literal or one token; key=#value (no space: not a comment)
    r"\\?[\"']?\]?[ \t]*(?:=(#[^\s'\"`,;|<>(){}\[\]\\]{2,})|(?::=|=>|=)[ \t]*(?:" + _PQUOTED + "|" + _TOKEN + ")"
    # key: "quoted", or key: token when the token ends the entry ({password: abc, ...}) or the line
    r"|:[ \t]*(?:" + _QUOTED + "|" + _TOKEN + r"[ \t]*(?:[,;}\]]|\r|\n|\\[nr]|\z)))"
)
# The assignment rules are split by the family of the key's last word (the key always ends right before the
# operator, so the family is fixed by that word and each rule's keywords occur in each of its matches): a text
# that only says "key" compiles and runs only the "key" rules.
_FAMILIES = {  # family -> (glued names, names, names only as the last part of a longer one, camelCase endings)
    "password": (r"password|passwd", r"password|passwd|passphrase|pwd", r"pass", r"Password|Passwd|Passphrase"),
    "secret": (r"secret", r"secret", None, r"Secret"),
    "key": (
        None,
        r"(?:api|secret|secret[_.-]?access|private|auth|encryption|signing|master|access)[_.-]?key|apikey",
        None,
        r"ApiKey|SecretKey|PrivateKey|AccessKey",
    ),
    "token": (None, r"(?:access|auth|refresh|api|bearer|session)[_.-]?token", r"token", r"Token"),
}
_FAMILY_KEYWORDS = {"password": ["pass", "pwd"], "secret": ["secret"], "key": ["key"], "token": ["token"]}


def _named_body(family: str) -> str:
    glued, names, prefixed, _ = _FAMILIES[family]
    alts = ([r"[A-Za-z0-9]+(?i:" + glued + ")"] if glued else []) + [r"(?i:" + names + ")"]
    body = r"_{0,2}(?:(?:[A-Za-z0-9]+[_.-])*" + ("(?:" + "|".join(alts) + ")" if len(alts) > 1 else alts[0])
    if prefixed:
        body += r"|(?:[A-Za-z0-9]+[_-])+(?i:" + prefixed + ")"
    return body + ")"


def _yaml_line(family: str) -> str:
    """YAML / header style, unquoted key first on its line: "key: value" up to the end of the line."""
    camel = r"\b[A-Za-z][A-Za-z0-9]*(?:" + _FAMILIES[family][3] + ")"
    return r"(?m:^)[ \t]*(?:-[ \t]+)?(?:\b" + _named_body(family) + "|" + camel + r")[ \t]*:[ \t]*" + _LINE


def _cases(*words: str) -> str:
    """Each word in lower, UPPER or Title case (apiKey, API_KEY, ApiKey): unlike (?i:...), a short literal set
    that the regex crate searches fast."""
    return "(?:" + "|".join("%s|%s|%s" % (w, w.upper(), w.title()) for w in words) + ")"


# A key anywhere on a line, then = / := / => / : and a value. These patterns start at the key's last word (a literal,
# so they are cheap to search): whatever precedes it is not part of the match, so the allowlists that look at the
# whole key (next_page_token, hashed_password, --password= with an empty value) look at the line instead.
_SEP = "[_.-]?"
_ANYWHERE = {  # rule id -> (the key's last word, what that is, keywords)
    "nova-secret-assignment": (
        r"(?i:password|passwd|passphrase)",
        "password, passwd, passphrase",
        ["passw", "passphrase"],
    ),
    "nova-pwd-assignment": (r"(?:\b|[_.-])(?i:pwd)", "pwd", ["pwd"]),
    "nova-pass-suffix-assignment": (r"[_-](?i:pass)", "_pass (DB_PASS)", ["_pass", "-pass"]),
    "nova-named-secret-assignment": (r"(?i:secret)", "secret (client_secret, JWT_SECRET)", ["secret"]),
    "nova-api-key-assignment": (
        r"(?:"
        + _cases("secret")
        + "(?:"
        + _SEP
        + _cases("access")
        + ")?|"
        + _cases("api", "private", "auth", "encryption", "signing", "master", "access")
        + ")"
        + _SEP
        + _cases("key"),
        "api_key, secret_key, private_key, access_key, ...",
        ["key"],
    ),
    "nova-access-token-assignment": (
        _cases("access", "auth", "refresh", "api", "bearer", "session") + _SEP + _cases("token"),
        "access_token, auth_token, refresh_token, ...",
        ["token"],
    ),
    "nova-token-suffix-assignment": (r"[_-](?i:token)", "_token (GITHUB_TOKEN)", ["_token", "-token"]),
}
_CAMEL_TOKEN_ASSIGNMENT = "Token" + _AFTER_KEY.replace("|" + _TOKEN + ")", ")", 1)  # clientToken = "x"
_NAME_WORDS = (  # the last word of any secret name (for the comparison rule)
    "(?:"
    + _cases("password", "passwd", "passphrase", "pwd", "secret")
    + "|[_-]"
    + _cases("token", "pass")
    + "|"
    + _ANYWHERE["nova-api-key-assignment"][0]
    + "|"
    + _ANYWHERE["nova-access-token-assignment"][0]
    + ")"
)

# a comparison with a literal: if password == "hunter2", password.equals("x"), password === 'x'
_COMPARISON = _NAME_WORDS + r"[ \t]*(?:[!=]==?|\.equals\()[ \t]*(?:" + _PQUOTED + ")"
# prose: the password is "x"
_PROSE = r"\b(?i:password|passphrase|passwd)[ \t]+(?:is|was)[ \t]*:?[ \t]+(?:" + _QUOTED + ")"
# Dockerfile: ENV NAME value
_DOCKERFILE_ENV = r"(?m:^)[ \t]*ENV[ \t]+" + _KEY_NAMED + r"[ \t]+" + _TOKEN
# command-line flag with a separate value: --password VALUE, --db-pass VALUE, --token VALUE, --tlspassword VALUE (no
# `...`: in a shell that is a command substitution, in prose a code span)
_CLI_FLAG = (
    r"--(?i:"
    + _ASSIGN_NAMES
    + r"|token|pass|[a-z0-9]{1,20}(?:password|passwd)|(?:[a-z0-9]+-){1,4}(?:token|pass|secret))[ \t]+(?:"
    + _QUOTED.rsplit("|", 1)[0]
    + "|"
    + _TOKEN
    + ")"
)
# XML element: <password>value</password>, <db.password>, <apiToken>
_XML_ELEMENT = r"<(?:[\w.-]*[_.:-]|[A-Za-z][A-Za-z0-9]{0,40})?(?i:" + _ASSIGN_NAMES + r")>([^<\s][^<\r\n]{0,255})</"

_CODE_NAMES = r"(?i:password|passwd|pwd|secret|token|pass|api[_-]?key|apikey)"  # names in the code-credentials rule

CODE_VALUE_ALLOW = [
    # code, not a value: calls and subscripts (os.getenv( / request.form[), member chains (self.password,
    # process.env.JWT_SECRET!), variables named after a secret (hashedPassword, new_password, DB_PASSWORD),
    # type annotations and keywords
    r"^[A-Za-z_$][\w$]*(?:(?:\.|->|::|\?\.)[A-Za-z_$][\w$]*)*[(\[]",
    r"^[A-Za-z_$][A-Za-z_$]*(?:(?:\.|->|::|\?\.)[A-Za-z_$][A-Za-z_$]*)+[!?]?\z",
    # a variable named after a secret: new_password, DB_PASSWORD, hashedPassword, passwordHash (but not a glued
    # lower-case word, which is a value as often as a name: thisismypassword)
    r"(?i)^_*[a-z0-9]*_[a-z0-9_]*(?:password|passwd|passphrase|secret|token|key|pass|pwd|credentials?)s?\z",
    r"^_*[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*(?:Password|Passwd|Passphrase|Secret|Token|Key|Pass|Pwd|Credentials?)s?\z",
    r"^_*(?i:password|passwd|secret|token)(?:[A-Z]|_[a-z])[A-Za-z0-9_]*\z",
    r"^(?:[A-Za-z_]\w*\.)?(?:str|bytes|int|bool|float|dict|list|Any|Optional|Union|List|Dict|SecretStr|"
    r"SecretBytes|string|String|number|boolean)(?:[\[ \t|=;,?]|\z)",
    r"^(?:raise|return|continue|break|pass|if|else|elif|and|or|not|in|is|def|lambda|await|yield|del|assert|"
    r"with|for|while|import|from|class|new|this|self|var|let|const|function|void|None|nil|null|user|username|"
    r"login|email|value|default|args|kwargs|options|opts|params|config|settings|env|data|ctx|context)\z",
    r"^(?:[A-Za-z_]\w*\.)*[A-Z][A-Za-z0-9]*(?:\[|[ \t]*\||[ \t]+=[ \t])",  # annotations: PageToken | None
    r"^-?\d{1,3}\z",  # flags and counts (HAVE_PASSWD = 1)
    r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\z",  # the name of a variable: ACCESS_KEY = 'AWS_ACCESS_KEY_ID'
    r"^[a-z]+(?:_[a-z]+)+\z",  # snake_case identifiers: access_key=aws_access_key_id
    r"^(?:[A-Za-z_]\w*\.)*[A-Z][A-Za-z0-9]*(?:Types?|Key|Token|Secret|Password|Credentials?)\z",  # class names
    # docstrings: "password: The password for the account."
    r"^(?:The|the|A|An|an|If|if|Whether|whether|Optional|optional|Required|required|Used|used|See|see)[ \t]+"
    r"[a-z]+[ \t]+[a-z]+",
    # instructions instead of a value: "Get this from the vault", "Enter your token", "set in CI"
    r"(?i)^(?:get|set|put|enter|insert|add|replace|fill|use|paste|provide|obtain|generate|create|ask|read|fetch|"
    r"stored?|kept|found|defined)[ \t]+(?:this|it|the|a|an|your|from|in|with|here|me|by|at|via)\b",
    # shell quoting around a variable ('"'$VAR'"'), a variable followed by a path ($BASE_URL/reset)
    r"^['\"]?\$?\$\{?[A-Za-z_]\w*\}?['\"]?\z",
    r"^\$\{?[A-Za-z_]\w*\}?/",
    r"^\.[ \t]*\$[A-Za-z_]",  # PHP concatenation: 'password = '.$p['x']
    # format / interpolation fields: "prefix_{}".format(x), f"pre_{name}", `pre${name}`
    r"^[\w./:-]*(?:\{(?:\d{0,2}|[A-Za-z_][\w.]{0,30})\}|\$\{[A-Za-z_][\w.]{0,60}\})[\w./:-]*\z",
    r"^(?:https?|ftp|wss?|s3|file)://[^@\s]*\z",  # a URL without credentials is not a password (next argument)
    r"^arn:aws[\w-]*:",  # an ARN names a resource
    r"^!(?:Ref|Sub|GetAtt|ImportValue|FindInMap|Join|If|Select|Base64|Split|GetAZs|Cidr)\b",  # CloudFormation
    r"^#[A-Za-z][\w]*(?:-\w+)+\z",  # a CSS selector / anchor: #add-password
]

# match-target allowlists of the assignment rules, each given only to the rules whose matches it can apply to
_NOT_A_CREDENTIAL_TOKEN = (  # pagination / CSRF / ML tokens
    r"(?i)^[^\w\r\n]{0,3}[\w.-]*?(?:csrf|xsrf|page|next|continuation|sync|cancellation|pagination|resume|"
    r"idempotency|max|num|eos|bos|pad|unk|sep|cls|mask|start|end|last|first|prev|previous|cursor|"
    r"public)[_.-]?token(?:\W|\z)"
)
_PWD_IS_A_PATH = r"(?i)^[^\w\r\n]?pwd\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?~?/"  # $PWD, the working directory
_HASH_OF_A_SECRET = (  # the hash or digest of a secret, not the secret: password_hash, hashed_secret, token_sha256
    r"(?i)^[^:=\r\n]{0,80}?(?:hash(?:ed)?|digest|checksum|sha\d{0,3}|md5|fingerprint)[_.-]?"
    r"(?:password|passwd|pass|pwd|secret|token|key)s?\b"
)
_NSSWITCH = r"^[ \t]*passwd:[ \t]+(?:files|compat|systemd|ldap|nis|sss|db|winbind|cache)\b"  # nsswitch.conf
_FLAG_PROSE = (  # prose about a flag: "the --password option", "--token is required"
    r"(?i)^--[\w-]+[ \t]+(?:options?|flags?|arguments?|args?|parameters?|params?|switch|values?|is|"
    r"are|was|and|or|to|the|a|an|can|cannot|must|should|will|for|with|of|in|on|instead|when|if)\z"
)
# the same three, for the patterns that start at the key's last word: on the line
_NOT_A_CREDENTIAL_TOKEN_LINE = (
    r"(?i)(?:csrf|xsrf|page|next|continuation|sync|cancellation|pagination|resume|idempotency|max|num|eos|bos|pad|"
    r"unk|sep|cls|mask|start|end|last|first|prev|previous|cursor|public)[_.-]?token\\?[\"']?\]?[ \t]*"
    r"(?:[!=:]?=|=>|:|\.equals\()"
)
_HASH_OF_A_SECRET_LINE = (
    r"(?i)(?:hash(?:ed)?|digest|checksum|sha\d{0,3}|md5|fingerprint)[_.-]?"
    r"(?:password|passwd|pass|pwd|secret|token|key)s?\\?[\"']?\]?[ \t]*(?:[!=:]?=|=>|:|\.equals\()"
)
_EMPTY_FLAG_VALUE_LINE = r"(?i)--[\w-]*(?:password|passwd|passphrase|pwd|secret|key|token|pass)=[ \t]"
# the key is the last part of a URL path: "/forgot-password": "...", put '/reset-password' => "..."
_KEY_IN_A_PATH_LINE = (
    r"(?i)/[\w.-]*(?:password|passwd|passphrase|pwd|secret|key|token|pass)\\?[\"']?\]?[ \t]*(?::=|=>|[:=])"
)
_ANYWHERE_LINE = [_HASH_OF_A_SECRET_LINE, _EMPTY_FLAG_VALUE_LINE, _KEY_IN_A_PATH_LINE]
_ASSIGN_ALLOW = {  # rule id or kind -> {target: regexes}
    "password": {"match": [_PWD_IS_A_PATH, _HASH_OF_A_SECRET, _NSSWITCH]},
    "secret": {"match": [_HASH_OF_A_SECRET]},
    "key": {"match": [_HASH_OF_A_SECRET]},
    "token": {"match": [_NOT_A_CREDENTIAL_TOKEN, _HASH_OF_A_SECRET]},
    "nova-secret-assignment": {
        "match": [_NSSWITCH],
        "line": _ANYWHERE_LINE,
    },
    "nova-pwd-assignment": {
        "match": [_PWD_IS_A_PATH],
        "line": _ANYWHERE_LINE,
    },
    "nova-pass-suffix-assignment": {"line": _ANYWHERE_LINE},
    "nova-named-secret-assignment": {"line": _ANYWHERE_LINE},
    "nova-api-key-assignment": {"line": _ANYWHERE_LINE},
    "nova-access-token-assignment": {"line": _ANYWHERE_LINE},
    "nova-token-suffix-assignment": {"line": [_NOT_A_CREDENTIAL_TOKEN_LINE, *_ANYWHERE_LINE]},
    "camel": {"line": [_NOT_A_CREDENTIAL_TOKEN_LINE, _HASH_OF_A_SECRET_LINE]},
    "comparison": {"line": [_NOT_A_CREDENTIAL_TOKEN_LINE, _HASH_OF_A_SECRET_LINE]},
    "prose": {},
    "env": {"match": [_NOT_A_CREDENTIAL_TOKEN, _HASH_OF_A_SECRET]},
    "flag": {"match": [_NOT_A_CREDENTIAL_TOKEN, _HASH_OF_A_SECRET, _FLAG_PROSE]},
    "xml": {"match": [_NOT_A_CREDENTIAL_TOKEN, _HASH_OF_A_SECRET]},
}


def _assignment_allow(kind: str) -> list[dict]:
    allow = [{"regexes": CODE_VALUE_ALLOW, "target": "secret", "condition": "or"}]
    for target, regexes in _ASSIGN_ALLOW[kind].items():
        allow.append({"regexes": regexes, "target": target, "condition": "or"})
    return allow


# tokens known by their own format: (id, what, pattern, keywords); each keyword is the token's own prefix (or
# infix), so a rule only runs on a text holding one
TOKEN_FORMATS = [
    ("nova-github-refresh-token", "GitHub refresh token ghr_", r"ghr_[0-9A-Za-z]{36,}", ["ghr_"]),
    (
        "nova-gitlab-token",
        "GitLab tokens gl*- (glpat-, glcbt-, glptt-, glrt-, ...)",
        r"gl(?:pat|oas|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|ffct|wt)-[0-9A-Za-z_-]{20,}",
        ["glpat-", "gloas-", "gldt-", "glrt-", "glrtr-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-"]
        + ["glsoat-", "glffct-", "glwt-"],
    ),
    (
        "nova-vault-caes-token",
        "Vault CAES tokens (s./hvs./b./hvb./r./hvr.)",
        r"(?:hv[sbr]|[sbr])\.CAES[0-9A-Za-z_-]{40,}",
        [".caes"],
    ),
    ("nova-nuget-api-key", "NuGet API key oy2...", r"oy2[a-z0-9]{43}", ["oy2"]),
    ("nova-crates-io-token", "crates.io token cio...", r"cio[0-9A-Za-z]{32}", ["cio"]),
    ("nova-sourcegraph-token", "Sourcegraph token sgp_", r"sgp_(?:[0-9a-f]{16}_|local_)?[0-9a-f]{40}", ["sgp_"]),
    (
        "nova-new-relic-key",
        "New Relic keys NRAK-/NRAA-/NRII-/NRIQ-/NRRA-, ...NRAL",
        r"NR(?:AK|AA|II|IQ|RA)-[0-9A-Za-z]{27}|[0-9a-z]{36}NRAL",
        ["nrak-", "nraa-", "nrii-", "nriq-", "nrra-", "nral"],
    ),
    ("nova-twitch-stream-key", "Twitch stream key live_", r"live_\d{6,12}_[0-9A-Za-z]{30}", ["live_"]),
    ("nova-adafruit-io-key", "Adafruit IO key aio_", r"aio_[0-9A-Za-z]{28}", ["aio_"]),
    (
        "nova-amazon-mws-token",
        "Amazon MWS auth token",
        r"amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["amzn.mws."],
    ),
    (
        "nova-google-oauth-token",
        "Google OAuth access (ya29.) and refresh (1//0) tokens",
        r"ya29\.[0-9A-Za-z_-]{20,}|1//0[0-9A-Za-z_-]{40,}",
        ["ya29.", "1//0"],
    ),
    ("nova-pypi-macaroon", "PyPI API token (macaroon) pypi-AgE...", r"pypi-AgE[0-9A-Za-z_-]{50,}", ["pypi-age"]),
    (
        "nova-azure-identifiable-key",
        "Azure identifiable keys (...JQQJ9...AZ...)",
        r"[0-9A-Za-z]{52}JQQJ9[0-9A-Za-z]{19}AZ[0-9A-Za-z]{6}",
        ["jqqj9"],
    ),
]

_CLI_VALUE = r"(?:'([^'\r\n]+)'|\"([^\"\r\n]+)\"|([^\s'\"$-][^\s'\"]*))"  # quoted or one word, not $VAR / -flag
# command-line passwords: (id, what, pattern, keywords); each pattern starts with (or requires) its tool's name
PASSWORD_CLI = [
    (
        "nova-mysql-password",
        "mysql -pSECRET (mysqldump, mysqladmin, mariadb, ...)",
        r"\b(?:mysql(?:dump|admin|import|sh|slap|check)?|mariadb(?:-dump|-admin)?)\b[^\r\n|;&]{0,200}?[ \t]-p"
        r"(?:'([^'\r\n]+)'|\"([^\"\r\n]+)\"|([^\s'\"-][^\s'\"]*))",
        ["mysql", "mariadb"],
    ),
    (
        "nova-sshpass-password",
        "sshpass -p X, psexec -p X",
        r"\b(?i:sshpass|psexec(?:64)?(?:\.exe)?)\b[^\r\n|;&]{0,200}?[ \t]-p[ \t]+" + _CLI_VALUE,
        ["sshpass", "psexec"],
    ),
    (
        "nova-redis-cli-password",
        "redis-cli -a X / --pass X",
        r"\bredis-cli\b[^\r\n|;&]{0,200}?[ \t](?:-a|--pass)[ \t]+" + _CLI_VALUE,
        ["redis-cli"],
    ),
    (
        "nova-net-use-password",
        "net use ... /user:u X",
        r"\b(?i:net)[ \t]+(?i:use)\b[^\r\n]{0,200}?[ \t]/(?i:user|u):[^\s]+[ \t]+"
        r"(?:'([^'\r\n]+)'|\"([^\"\r\n]+)\"|([^\s'\"/$*][^\s'\"]*))",
        ["net use"],
    ),
    (
        "nova-curl-credentials",
        "curl --proxy-user u:X, curl -u KEY:",
        r"--proxy-user[ \t=]+[\"']?[^\s:\"']+:([^\s\"']+)"
        r"|\bcurl\b[^\r\n]{0,300}?[ \t](?:-u|--user)[ \t=]+[\"']?([0-9A-Za-z_.-]{16,}):[\"']?(?:[ \t]|\r|\n|\z)",
        ["--proxy-user", "curl"],
    ),
    (
        "nova-password-flag",
        "PowerShell / keytool -Password X, -storepass X, -PersonalAPIKey X, -AccessToken X",
        r"[ \t]-(?:[Pp]assword|[Pp]asswd|PersonalAPIKey|ApiKey|AccessToken|storepass|keypass|srcstorepass|"
        r"deststorepass|srckeypass|destkeypass)[ \t]+(?:'([^'\r\n]+)'|\"([^\"\r\n]+)\"|([^\s'\"$(-][^\s'\"]*))",
        ["-password", "-passwd", "-personalapikey", "-apikey", "-accesstoken", "storepass", "keypass"],
    ),
    (
        "nova-openssl-pass-arg",
        "openssl -passin/-passout pass:X",
        r"-pass(?:in|out)[ \t]+pass:([^\s'\"]+)",
        ["-passin", "-passout"],
    ),
    (
        "nova-npm-auth-token",
        "npm :_authToken / :_auth / :_password",
        r":_(?:authToken|auth|password)\b[ \t]*=?[ \t]*[\"']?([^\s\"'${<=][^\s\"']{7,})",
        [":_auth", ":_password"],
    ),
    (
        "nova-vault-unseal-key",
        "vault operator unseal X, Unseal Key 1: X",
        r"\bvault[ \t]+operator[ \t]+unseal(?:[ \t]+-[\w-]+(?:=\S*)?)*[ \t]+([A-Za-z0-9+/]{40,}={0,2})"
        r"|\bUnseal Key(?: \d+)?:[ \t]*([A-Za-z0-9+/]{40,}={0,2})",
        ["unseal"],
    ),
]

_CODE_LITERAL = r"(?:\"([^\"\r\n]+)\"|'([^'\r\n]+)')"
# a list of two or more literals of one quote kind, captured between the first and the last quote
_LITERAL_LIST = r"(?:\"((?:[^\"\r\n]+\"[ \t]*,[ \t]*\")+[^\"\r\n]+)\"|'((?:[^'\r\n]+'[ \t]*,[ \t]*')+[^'\r\n]+)')"
# credentials in code: (id, what, pattern, keywords, whether CODE_VALUE_ALLOW applies)
CODE_CREDENTIALS = [
    (
        "nova-credential-constructor",
        "NetworkCredential(u, p), HTTPBasicAuth(u, p), .login(u, p) and the like",
        r"\b(?:NetworkCredential|HTTPBasicAuth|HTTPDigestAuth|HTTPProxyAuth|UsernamePasswordCredentials|"
        r"PasswordAuthentication|BasicAuthCredentials|\.login)[ \t]*\([ \t]*"
        r"(?:\"[^\"\r\n]*\"|'[^'\r\n]*'|[\w.]+)[ \t]*,[ \t\r\n]*" + _CODE_LITERAL,
        ["credential", "basicauth", "digestauth", "proxyauth", "passwordauthentication", ".login"],
        True,
    ),
    (
        "nova-auth-tuple",
        "requests auth=(u, p)",
        r"\bauth[ \t]*=[ \t]*\([ \t]*(?:\"[^\"\r\n]*\"|'[^'\r\n]*'|[\w.]+)[ \t]*,[ \t\r\n]*" + _CODE_LITERAL,
        ["auth"],
        True,
    ),
    (
        "nova-directory-entry",
        "DirectoryEntry(path, u, p)",
        r"\bDirectoryEntry[ \t]*\([ \t\r\n]*(?:\"[^\"\r\n]*\"[ \t]*,[ \t\r\n]*){2}\"([^\"\r\n]+)\"",
        ["directoryentry"],
        True,
    ),
    (
        "nova-dotnet-app-setting",
        '.NET <add key="*Password" value="..."/>',
        r"<add[ \t]+key[ \t]*=[ \t]*\"[\w.:-]{0,60}(?i:password|passwd|pwd|secret|token|api[_-]?key|apikey)\""
        r"[ \t]+value[ \t]*=[ \t]*\"([^\"\r\n]+)\"",
        ["<add"],
        True,
    ),
    (
        "nova-terraform-variable-default",
        'Terraform variable "*_token" { default = "..." }',
        r"\bvariable[ \t]+\"[\w-]{0,60}(?i:password|passwd|secret|token|api[_-]?key|private[_-]?key|access[_-]?key)"
        r"\"[ \t]*\{[^}]{0,300}?\bdefault[ \t]*=[ \t]*\"([^\"\r\n]+)\"",
        ["variable"],
        True,
    ),
    (
        "nova-jenkins-initial-password",
        "Jenkins' initial admin password",
        r"(?i:password to proceed to installation:)\s+([0-9a-f]{32})\b"
        r"|\binitialAdminPassword[ \t]*\r?\n[ \t]*([0-9a-f]{32})\b",
        ["proceed to installation", "initialadminpassword"],
        False,
    ),
    (
        "nova-env-default-credential",
        'a default in an environment lookup: os.getenv("DB_PASSWORD", "x")',
        r"\b(?:getenv|environ\.get|env\.get|ENV\.fetch)\([ \t]*[\"'][\w.-]{0,60}"
        + _CODE_NAMES
        + r"[\"'][ \t]*,[ \t]*"
        + _CODE_LITERAL,
        ["getenv", "environ.get", "env.get", "env.fetch"],
        True,
    ),
    (
        "nova-php-define-credential",
        'PHP constants: define("DB_PASSWORD", "x")',
        r"\bdefine\([ \t]*[\"'][\w.-]{0,60}" + _CODE_NAMES + r"\d{0,3}[\"'][ \t]*,[ \t]*" + _CODE_LITERAL,
        ["define("],
        True,
    ),
    (
        "nova-name-value-credential",
        'name/value pairs: {"key": "db_password", "value": "x"}, Kubernetes env "- name: DB_PASSWORD / value: x"',
        r"\"(?:[Kk]ey|[Nn]ame|ParameterKey)\"[ \t]*:[ \t]*\"[\w.-]{0,60}" + _CODE_NAMES + r"\"[ \t]*,[ \t]*"
        r"\"(?:[Vv]alue|ParameterValue)\"[ \t]*:[ \t]*\"([^\"\r\n]+)\""
        r"|\b(?:name|key):[ \t]*[\"']?[\w.-]{0,60}" + _CODE_NAMES + r"[\"']?[ \t]*\r?\n[ \t]*(?:-[ \t]+)?value:[ \t]*"
        r"[\"']?([^\"'\s][^\"'\r\n]*)",
        ["value"],
        True,
    ),
    (
        "nova-tuple-assignment",
        'several names assigned several literals at once, one a secret name: user, password = "u", "p" (Python), '
        'a, b_password string = "x", "y" / :=  (Go); all the literals go',
        r"(?i:password|passwd|pwd|secret|token)\d{0,3}(?:[ \t]*,[ \t]*[A-Za-z_]\w{0,60})*"
        r"(?:[ \t]+[A-Za-z_][\w.]{0,40})?[ \t]*:?=[ \t]*" + _LITERAL_LIST,
        ["pass", "pwd", "secret", "token"],
        True,
    ),
    (
        "nova-password-list",
        'a list of passwords: YAML "passwords:" and "- item" lines, JSON "passwords": ["a", "b"]',
        r"(?i:passwords|passwds)\\?[\"']?[ \t]*:[ \t]*(?:\[\s*\"((?:[^\"\r\n]+\"\s*,\s*\")*[^\"\r\n]+)\""
        r"|\r?\n[ \t]*(-[ \t]+[^\s#][^\r\n]*(?:\r?\n[ \t]*-[ \t]+[^\s#][^\r\n]*)*))",
        ["passwords", "passwds"],
        False,
    ),
]

# examples of the assignment rules, shared out among them by build() (each goes to the first rule that redacts it)
EXAMPLE_POOLS: dict[str, dict] = {
    "code-credentials": {
        "redact": [
            'client.Credentials = new NetworkCredential("svc@corp.test", "vzihlaqukn42");',
            "r = requests.get(url, auth=('admin', 'S3cr3t-Pw'))",
            "server.login(sender, 'app-pass-9x7z')",
            'new DirectoryEntry("LDAP://corp.test", "CORP\\\\svc", "Ldap-Pw-42");',
            '<add key="SmtpPassword" value="M@ilPw2024"/>',
            'variable "okta_api_token" {\n  type    = string\n  default = "00Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7"\n}',
            "Please use the following password to proceed to installation:\n\n0a1b2c3d4e5f60718293a4b5c6d7e8f9\n",
            'db_pw = os.getenv("DB_PASSWORD", "L0cal-Pw-99")',
            "define('AUTH_SECRET', 'q8Zr2Lx7Kp4Wn9');",
            '{"key": "smtp.password", "value": "M4il-Pw-77"}',
            'env:\n  - name: DB_PASSWORD\n    value: "Pg-Pw-2024"\n',
        ],
        "keep": [
            "auth = HTTPBasicAuth(user, password)",
            "server.login(user, os.environ['SMTP_PASSWORD'])",
            '<add key="PasswordResetUrl" value="https://x.test/reset"/>',
            'variable "db_password" {\n  type      = string\n  sensitive = true\n}',
            'new NetworkCredential("svc", "")',
            'os.getenv("DB_PASSWORD", "")',
            "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef: {name: db, key: pw}\n",
        ],
    },
    "password-cli": {
        "redact": [
            "mysql -h db -u admin -pK9v_Q2mL7 -e 'show databases'",
            "mysqldump -u root -p'Tr0ub4dor&3' shop > dump.sql",
            "sshpass -p 'Zx8!yW7vU6' ssh deploy@10.0.0.5 uptime",
            "PsExec.exe \\\\host -u Administrator -p Adm1nPass cmd",
            "redis-cli -h cache -p 6379 -a q8Zr2Lx7Kp4Wn9Vt ping",
            "net use Z: \\\\fs\\share /user:CORP\\svc Pa55w0rd!",
            "curl --proxy-user admin:Pr0xyPw https://x.test",
            "curl https://api.pay.test/v1/charges -u sk_test_4eC39HqLyjWDarjtT1zdp7dc: -d amount=100",
            "Connect-VIServer -Server vc01 -User admin@vsphere.local -Password 'VMw@re123'",
            "keytool -importkeystore -srcstorepass Ks8pass99 -deststorepass Ks8pass99",
            "openssl pkcs12 -export -passout pass:Exp0rtPw -out cert.p12",
            "npm config set //registry.npmjs.org/:_authToken 6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            "vault operator unseal 3kQ9rT2vW8zL5pN7mC1yD4hF6jG0sEaB3cD5eF7gH9iJ",
            "Unseal Key 1: 98mQ9rT2vW8zL5pN7mC1yD4hF6jG0sEaB3cD5eF7gH9iJ",
        ],
        "keep": [
            "mysql -u root -p shop < dump.sql",
            "//registry.npmjs.org/:_authToken={}",
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
            "mysql -u root -p$MYSQL_ROOT_PASSWORD",
            'sshpass -p "$SSHPASS" ssh host',
            "redis-cli -a $REDIS_PASSWORD ping",
            "curl -u admin https://x.test",
            "Connect-VIServer -Server vc01 -Password $cred",
            "net use Z: \\\\fs\\share /user:CORP\\svc *",
            "vault operator unseal",
        ],
    },
    "aws": {
        "redact": [
            "aws configure set aws_secret_access_key 9z7O+G/dHXg/g4L5SoGWTNmsMJoIhnBpuxaByBNq",
            'aws_key: "PA3XsxZ8d8cPQLmnZzQ1dzC6ND2a8vhbyXU/Dw7k"',
            'NewStaticCredentialsProvider("AKIAJDBBYU6HJBUZ2G5I", "R0rV91k+xKYua9B86iRFlvE7aejVkLUKpnjOplVF", "")',
            "aws_session_token = IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQD7v8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7"
            "Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0A",
        ],
        "keep": [
            "aws_commit_sha: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
            "aws s3 cp key.txt s3://bucket/",
        ],
    },
    "token-formats": {
        "redact": [
            '"refresh_token": "ghr_Zq8R2mT5vL9xK3pW7nB1cD4fG6hJ0kS2aE8uY5iO3tR7wQ1zX9vN4mB6lK2jH8gF0dS3aP5"',
            "job token: glcbt-64_Hq2wE4rT6yU8iO0pA1sD3f",
            "curl -X POST -F token=glptt-0f3e8a7c6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f https://gitlab.test/trigger",
            "VAULT_TOKEN=s.CAESIJqz4Rm2Wk9Xb7Vn3Lp8Tq5Yc1Hf6Gd0Ss2Ee4Rr7Uu9Ii1Oo3Pp5Aa8Zz0Xx2Cc4Vv6Bb8Nn",
            "nuget push pkg.nupkg oy2ujzde8gxd6ncf10epf91dhodzdoc9is0j8ht9lgmxg9 -Source https://api.test",
            "token = cioTeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vU",
            "sourcegraph token sgp_a1b2c3d4e5f60718_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c<br/>",
            "Get-NR1Catalog -PersonalAPIKey 'NRAK-7QX2MZK9PL4RWT8BN3VC6YH1JD5'",
            "license: eu01xx7f3a9c2e5b8d1f4a6c9e2b5d8f1a4cNRAL",
            "rtmp://live.twitch.tv/app/live_483920175_Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0",
            '#define IO_KEY "aio_Xk3Pq9Lm2Zr7Wt5Yn8Bv4Cd6Fh1J"',
            "MWS Auth Token: amzn.mws.4ea38b7b-f563-7709-4bae-bb2737f6a6f0",
            "creds.token = 'ya29.a0AfH6SMBx3kQ9rT2vW8zL5pN7mC1yD4hF6jG0sE'",
            "refresh_token: 1//0gX4kQ9rT2vW8zL5pN7mC1yD4hF6jG0sEaB3cD5eF7gH9iJ",
            "twine upload -u __token__ -p pypi-AgENdGVzdC5weXBpLm9yZwIkZjQ3YzJhNzEtOWQ0Yi00ZmU1LWE3NDQt dist/*",
            "AZURE_DEVOPS_EXT_PAT=CsMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rESQedUStPKR0CsJQQJ99Ty4Qwb8DwkNhFdnXsiAZDOVpzz",
        ],
        "keep": [
            "ghr_ is the prefix of GitHub refresh tokens",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
            "the cio0000000000000000000000000000000 column",
            "live_stream_settings = load()",
            "s.CAES",
            "NRAK-EXAMPLEEXAMPLEEXAMPLE1234",
        ],
    },
    "assignment": {
        "redact": [
            "DB_PASSWORD=Xk9vQ2mL7pR4",
            "export GITHUB_TOKEN=gho_0123456789abcdef",
            "password: s3cr3t-Value",
            '{"password": "hunter2!", "user": "bob"}',
            'api_key = "a1b2c3d4e5f6a7b8"',
            "[database]\npassword = Tr0ub4dor&3\n",
            "  client_secret: 'Zx8yW7vU6tS5'",
            "SECRET=abc123def",
            "passwd: qwerty123",
            "Server=db;Database=app;User Id=sa;Pwd=Sa_Pa55w0rd;",
            "mysql -u root --password=RootPw_2024 -h db",
            "vault login --token s.AbCdEfGh12345678",
            "spring.datasource.password=jdbcPw!99",
            "<password>mvnRepoPass1</password>",
            "const dbPassword = 'p@ss-w0rd-123';",
            '{\\"secret\\": \\"q8W2e4R6t8Y0\\"}',
            "curl -d 'user=bob&password=Pa55word123&remember=1' https://x.test/login",
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz",
            "- POSTGRES_PASSWORD=pgPass_42",
            "x-api-key: 3b9f0c1d2e4a5b6c",
            "db:\n  user: app\n  password: correct horse battery staple\n",
            'self._password = "Hunter2-xyz"',
            "{password: s3cr3tValue, user: admin}",
            "jwt_secret: q8Zr2Lx7Kp4Wn9Vt\n",
            "  GITLAB_TOKEN: Zq8R2mT5vL9xK3pW\n",
            'const clientToken = "Xk9vQ2mL7pR4";',
            'if password == "Tr0ub4dor-9x":',
            'the password is "Qm8Zr2Lx7"',
            "ENV DB_PASSWORD Pg-Pw-2024x",
            "SMTP_PASS=Qm8Zr2Lx7Kp4 ./send.sh",
            'session = Session(refresh_token="Zq8R2mT5vL9xK3pW")',
        ],
        "keep": [
            "password: ${DB_PASSWORD}",
            "password=",
            "password_reset_url=https://example.org/reset",
            "--password-file /run/secrets/db",
            "password = os.environ['DB_PASSWORD']",
            "password: str",
            "def login(user, password=None):",
            "password = getpass.getpass()",
            "self.password = password",
            'print("password:", pw)',
            "csrf_token = generate_token()",
            "next_page_token: offset-100",
            "PWD=/work/main",
            "passwd:         files systemd",
            'password: "{{ vault_db_password }}"',
            "token: ${{ secrets.GITHUB_TOKEN }}",
            "SECRET_KEY=$(openssl rand -hex 32)",
            "password: <your-password>",
            "password = changeme",
            "password: [REDACTED:nova-secret-assignment]",
            "Password must be at least 12 characters.",
            "docker login --password-stdin",
            "{ password: hashedPassword, email }",
            "if not password: raise ValueError('empty')",
            "Error: invalid password: expected at least 8 characters",
            "self.token = nextchar",
            "        next_token: PageToken = None,",
            "    private_key: ed25519.Ed25519PrivateKey,",
            '    "passwd:dir",',
            "# The --username and --password options cannot be combined",
            "const secret = process.env.JWT_SECRET!;",
            "    api_key: str = Field(..., description='API key')",
        ],
    },
}

# rule id -> (more redact examples, more keep examples): every rule has at least three of each
EXTRA_EXAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "nova-github-refresh-token": (
        [
            "GH_REFRESH=ghr_Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4",
            "token ghr_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX3yZ4 ok",
        ],
        ["see ghr_ tokens in the GitHub docs", "ghr_short123"],
    ),
    "nova-gitlab-token": (
        ["GL_DEPLOY=gldt-q8Zr2Lx7Kp4Wn9Vt3Hy6Bc1"],
        ["glcbt- is the CI job token prefix", "glrt-abc"],
    ),
    "nova-vault-caes-token": (
        [
            "export VAULT_TOKEN=hvs.CAESIHq8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4Wn9Vt3Hy6Bc1",
            "batch: hvb.CAESIKp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr",
        ],
        ["hvs.CAES is how service tokens start", "s.CAESshort"],
    ),
    "nova-nuget-api-key": (
        [
            "NUGET_API_KEY=oy2k9zde8gxd6ncf10epf91dhodzdoc9is0j8ht9lgmxq7",
            "dotnet nuget push x.nupkg -k oy2lx7kp4wn9vt3hy6bc1fd5gs0aq8zr2lx7kp4wn9vt3h",
        ],
        ["oy2 is a NuGet key prefix", "toy2 boy2", "oy2abc"],
    ),
    "nova-crates-io-token": (
        ["CARGO_REGISTRY_TOKEN=cioQm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq", "cargo login cioLx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx"],
        ["the social precious cio", "cio is a crates.io token prefix"],
    ),
    "nova-sourcegraph-token": (
        [
            "SRC_ACCESS_TOKEN=sgp_local_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
            "src login --token sgp_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
        ],
        ["sgp_ is the Sourcegraph prefix", "sgp_local_", "sgp_0000"],
    ),
    "nova-new-relic-key": (
        ["NEW_RELIC_API_KEY=NRAK-Q8ZR2LX7KP4WN9VT3HY6BC1FD5G"],
        ["NRAK- keys are user keys", "NRII-short"],
    ),
    "nova-twitch-stream-key": (
        [
            "stream_key: live_102938475_Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8",
            "ffmpeg -f flv rtmp://x/app/live_55501234_Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7",
        ],
        ["live_reload = true", "live_123_abc"],
    ),
    "nova-adafruit-io-key": (
        [
            "ADAFRUIT_IO_KEY=aio_Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5G",
            "client = Client('me', 'aio_Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Z')",
        ],
        ["aio_ is the Adafruit IO key prefix", "import aio_pika", "aio_short"],
    ),
    "nova-amazon-mws-token": (
        [
            "mws_auth_token=amzn.mws.9ab3c2d1-e4f5-4a6b-8c7d-0e1f2a3b4c5d",
            "token: amzn.mws.0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
        ],
        ["amzn.mws. tokens are MWS auth tokens", "amzn.mws.short", "amzn.mws.xxxxxxxx-xxxx"],
    ),
    "nova-google-oauth-token": (
        ["curl -H 'x: ya29.a0Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4Wn9Vt' https://x.test"],
        ["ya29. tokens are Google access tokens", "1//0 is a refresh token prefix", "ya29.short"],
    ),
    "nova-pypi-macaroon": (
        [
            "password = pypi-AgEIcHlwaS5vcmcCJGE3ZDk0MjQ1LTExZjQtNGE3Ni05ZmJkLTJkZDY0MjE2ZjE5NwACKlszLCJm",
            "UV_PUBLISH_TOKEN=pypi-AgENdGVzdC5weXBpLm9yZwIkNmU5ZjM4YTAtMGRhYi00YzJkLWI3YzctNDFlYmVh",
        ],
        ["pypi-AgE is how PyPI tokens start", "pypi-AgEshort", "pip install pypi-agent"],
    ),
    "nova-azure-identifiable-key": (
        [
            "key=tEkDnNfribxUdl7dXTPyLsxPFkThf4VucSmEHgaKwVJ7faC9qEwjJQQJ9ky40UVsWmflzdE1F8ReAZsqEDus",
            "AZURE_KEY=Tpkr0cStY4qWB8dWKnHfDNxSIvPZZ63fFKcZjR4I0b3jRtaWr4Y9JQQJ9OJFLJOqOAf1lLQSAJaiAZXnkU8I",
        ],
        ["JQQJ9 marks Azure identifiable keys", "AZDO", "JQQJ99ABCAZDO"],
    ),
    "nova-mysql-password": (
        ["mariadb -u app -pMaria_Pw9 shop"],
        ["mysql --help", "mariadb-dump --all-databases > all.sql"],
    ),
    "nova-sshpass-password": (
        ['psexec64 \\\\srv -u admin -p "Ps3x-Pw!" cmd'],
        ["sshpass -f ~/.pw ssh host", "psexec \\\\srv -u admin cmd"],
    ),
    "nova-redis-cli-password": (
        ["redis-cli --pass 'Rd1s-Pw-77' -h cache", 'redis-cli -h r1 -a "q8Zr2Lx7" info'],
        ["redis-cli ping", 'redis-cli --pass "$PW" ping'],
    ),
    "nova-net-use-password": (
        ['net use \\\\srv\\c$ /user:admin "S3rv-Pw!"', "NET USE X: \\\\nas\\backup /u:nas\\bk B4ckup-9"],
        ["net use", "net use Z: /delete"],
    ),
    "nova-curl-credentials": (
        ["curl -x http://proxy:3128 --proxy-user bob:Pr0xy-Pw-9 https://x.test"],
        ["curl -u user:pass https://x.test", 'curl --proxy-user "$PROXY_CREDS" https://x.test'],
    ),
    "nova-password-flag": (
        ["New-LocalUser -Name svc -Password 'S3cure-Pw!'"],
        ["Get-Credential -Password", "keytool -list -storepass $STOREPASS"],
    ),
    "nova-openssl-pass-arg": (
        [
            "openssl rsa -in k.pem -passin pass:Kp4Wn9Vt -out plain.pem",
            "openssl pkcs12 -in c.p12 -passout pass:'x' -passin pass:Imp0rt-Pw",
        ],
        [
            "openssl rsa -in k.pem -passin env:KEY_PW",
            "openssl pkcs12 -passin file:pw.txt",
            "openssl req -passout stdin",
        ],
    ),
    "nova-npm-auth-token": (
        ["//npm.pkg.github.com/:_authToken=ghx_Kp4Wn9Vt3Hy6Bc1Fd5Gs0", '//registry.test/:_password="cTBzc3dvcmQxMjM="'],
        ["//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}"],
    ),
    "nova-vault-unseal-key": (
        ["vault operator unseal -address=https://v:8200 Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4Wn9V"],
        ["Unseal Key 1: <hidden>", "vault operator unseal -migrate"],
    ),
    "nova-aws-key-pair": (
        [
            "AKIAD5ZZZZG6ZDMEN4KH:rGNATMuDJawTgsu8PO/799nKSNrh9UCauSDmLhuV",
            "creds = ('ASIAWOVOMPZOM7WBBR6Q', 'Ys5suKcNd8Zra9A9sKPxZ9W3qLy7zKUVQDT7S8sT')",
        ],
        [
            "AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "ASIA is the prefix of temporary keys",
            "akia: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        ],
    ),
    "nova-credential-constructor": (["auth = HTTPDigestAuth('admin', 'D1gest-Pw')"], []),
    "nova-auth-tuple": (
        ["session.auth = ('svc', 'S3ss-Pw-42')", 'httpx.get(url, auth=("bot", "B0t-Pw-77"))'],
        ["requests.get(url, auth=(user, pw))", "auth = ('user', '')", "auth=(u, os.environ['PW'])"],
    ),
    "nova-directory-entry": (
        [
            'var de = new DirectoryEntry("LDAP://dc1", "admin", "Ad-Pw-9");',
            'DirectoryEntry entry = new DirectoryEntry(\n  "LDAP://x", "u", "Pw-Dir-1");',
        ],
        ["new DirectoryEntry(path)", 'new DirectoryEntry("LDAP://x", user, pass)', "DirectoryEntry docs"],
    ),
    "nova-dotnet-app-setting": (
        ['<add key="ApiKey" value="Kp4Wn9Vt3Hy6Bc1F"/>', '<add key="Db.Secret" value="S3cr3t-Db"/>'],
        ['<add key="Timeout" value="30"/>', '<add key="SmtpPassword" value=""/>'],
    ),
    "nova-terraform-variable-default": (
        ['variable "db_password" {\n  default = "Tf-Pw-2024"\n}', 'variable "api_key" { default = "Kp4Wn9Vt3Hy6" }'],
        ['variable "region" {\n  default = "eu-west-1"\n}', 'variable "api_token" {}'],
    ),
    "nova-jenkins-initial-password": (
        [
            "$ cat /var/jenkins_home/secrets/initialAdminPassword\n9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "Jenkins initial setup is required. Please use the following password to proceed to installation:\n\n"
            "5b4a39281706f5e4d3c2b1a09f8e7d6c",
        ],
        [
            "cat initialAdminPassword",
            "password to proceed to installation: see the log",
            "initialAdminPassword\nnot-hex",
        ],
    ),
    "nova-env-default-credential": (
        ['token = ENV.fetch("API_TOKEN", "Kp4Wn9Vt3Hy6")', "secret = environ.get('APP_SECRET', 'S3cr3t-App')"],
        ['os.getenv("DB_HOST", "localhost")', "os.environ.get('API_TOKEN')"],
    ),
    "nova-php-define-credential": (
        ["define('DB_PASSWORD', 'Wp-Db-Pw-9');", 'define("API_KEY", "Kp4Wn9Vt3Hy6");'],
        ["define('DB_HOST', 'localhost');", "define('DB_PASSWORD', getenv('DB_PASSWORD'));", "define('AUTH_KEY', '');"],
    ),
    "nova-tuple-assignment": (
        [
            'user, password = "admin", "Tr0ub4dor-3"',
            'const dbUser, dbPassword string = "svc", "Pg-Pw-2024"',
            "access_token, refresh_token := 'q8Zr2Lx7Kp4W', 'n9Vt3Hy6Bc1F'",
        ],
        [
            "user, password = get_credentials()",
            'password, err := prompt("Password: ")',
            'if password == "a" or token == "b": pass',
        ],
    ),
    "nova-password-list": (
        [
            'passwords:\n  - "Tr0ub4dor-3"\n  - "Pg-Pw-2024"\n',
            '{"old_passwords": [\n  "Tr0ub4dor-3",\n  "Pg-Pw-2024"\n]}',
            "rotated_passwds:\n- q8Zr2Lx7Kp4W\n",
        ],
        [
            "passwords: []",
            "passwords:\n  # none yet\n",
            "Passwords: see the vault",
        ],
    ),
    "nova-name-value-credential": (
        ['{"ParameterKey": "DbPassword", "ParameterValue": "Cfn-Pw-42"}'],
        ['{"name": "db_host", "value": "db"}', "- name: API_TOKEN\n  valueFrom: {secretKeyRef: {name: t, key: v}}"],
    ),
    "nova-secret-yaml": (
        ["client_secret: Qm8Zr2Lx7Kp4 # rotate\n", "- APP_SECRET: Zr2Lx7Kp4Wn9\n"],
        [],
    ),
    "nova-key-yaml": (
        ["api_key: Kp4Wn9Vt3Hy6Bc1F\n", "  PRIVATE_KEY: Qm8Zr2Lx7Kp4Wn\n"],
        ["sort_key: created_at"],
    ),
    "nova-token-yaml": (["GITHUB_TOKEN: Qm8Zr2Lx7Kp4Wn9Vt\n", "auth_token: Zr2Lx7Kp4Wn9\n"], []),
    "nova-secret-assignment": (
        [],
        ["password = get_password()", "self.password = password", "PASSWORD_MIN_LENGTH = 12"],
    ),
    "nova-pwd-assignment": (
        ['conn = "Server=db;Uid=sa;Pwd=Kp4Wn9Vt;"', "DB_PWD=Qm8Zr2Lx7"],
        ["PWD=/home/me", "cd $PWD", "OLDPWD=/tmp"],
    ),
    "nova-pass-suffix-assignment": (
        ["export MAIL_PASS=Qm8Zr2Lx7", 'db_pass = "Zr2Lx7Kp4"'],
        ["DB_PASS=$DB_PASS", "bypass = True", "compass = north"],
    ),
    "nova-named-secret-assignment": (
        [],
        ["secret = secrets.token_hex(32)", "JWT_SECRET=${JWT_SECRET}", "client_secret = None"],
    ),
    "nova-api-key-assignment": (
        ["API_KEY=Kp4Wn9Vt3Hy6Bc1F"],
        ["api_key = os.environ['API_KEY']", "apiKey: string;", "private_key = load_key(path)"],
    ),
    "nova-access-token-assignment": (
        ["ACCESS_TOKEN=Qm8Zr2Lx7Kp4Wn9Vt", '{"refresh_token": "Zr2Lx7Kp4Wn9Vt3H"}'],
        ["access_token = response.json()['access_token']", "accessToken: string;", "refresh_token = None"],
    ),
    "nova-token-suffix-assignment": (
        ["SLACK_BOT_TOKEN=Qm8Zr2Lx7Kp4Wn9", 'deploy_token = "Zr2Lx7Kp4Wn9"'],
        ["next_page_token = resp.next_page_token", "csrf_token = 'Zr2Lx7Kp4Wn9'", "CI_JOB_TOKEN=$CI_JOB_TOKEN"],
    ),
    "nova-camelcase-token-assignment": (
        ["const botToken = 'Qm8Zr2Lx7Kp4';", 'this.deployToken = "Zr2Lx7Kp4Wn9";'],
        ["const nextPageToken = 'abc123def';", "this.userToken = token;", 'csrfToken = "Zr2Lx7Kp4Wn9"'],
    ),
    "nova-secret-comparison": (
        ["if (apiKey === 'Kp4Wn9Vt3Hy6') {", 'assert secret != "S3cr3t-Cmp"'],
        ["if password == confirm:", "if token != None:", 'if key == "Enter":'],
    ),
    "nova-password-prose": (
        ["The passphrase was 'Correct-Horse-9'.", "your new password is: `Zr2Lx7Kp4`"],
        ["the password is required", "the password was changed", 'the password is ""'],
    ),
    "nova-dockerfile-env-secret": (
        ["ENV API_TOKEN Qm8Zr2Lx7Kp4", "  ENV APP_SECRET Zr2Lx7Kp4Wn9"],
        ["ENV DB_PASSWORD ${DB_PASSWORD}", "ENV PATH /usr/local/bin:$PATH", "ENV DB_HOST db"],
    ),
    "nova-secret-cli-flag": (
        ["gh auth login --with-token --token Qm8Zr2Lx7Kp4", "psql --db-pass 'Zr2Lx7Kp4' -h db"],
        ["--password is required", '--token "$GITHUB_TOKEN"', "--api-key <key>"],
    ),
    "nova-secret-xml-element": (
        ["<apiKey>Kp4Wn9Vt3Hy6Bc1F</apiKey>", "<db.password>Qm8Zr2Lx7</db.password>"],
        ["<password></password>", "<password>${env.DB_PASSWORD}</password>", "<apiKey>{{ api_key }}</apiKey>"],
    ),
}


OWN_RULES: list[dict] = [
    {
        "id": "nova-private-key-block",
        "description": "Private key block (PEM/OpenSSH/PGP), also with JSON-escaped \\n; the BEGIN/END lines stay.",
        "regex": r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:((?:[^-]|-{1,4}[^-]){32,}?)-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"|((?:(?:\r?\n|\\r?\\n)[ \t]*(?:[A-Za-z][\w-]*:[^\r\n\\]*)?)*"
        r"(?:\r?\n|\\r?\\n)[ \t]*[A-Za-z0-9+/=]{16,}(?:(?:\r?\n|\\r?\\n)[ \t]*[A-Za-z0-9+/=]{16,})*))",
        "keywords": ["private key"],
        "examples": {
            "redact": [
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
                "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n",
                '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n'
                'VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNb\\n-----END PRIVATE KEY-----\\n"}',
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
                "QyNTUxOQAAACDc3MWZsZWQtc2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQAAAJg=\n-----END OPENSSH PRIVATE KEY-----",
                "-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIIm9wVr4f3gKQdY1w8mX0pJ8rK2zq7TnS5cV6bH4eLd0oAoGCCqGSM49\r\n"
                "AwEHoUQDQgAE4Yb8ZsLq1N2r0pM9vT3xK7cW5jH6dF8gA1sQ2wE3rT4yU5iO6pL7\r\n-----END EC PRIVATE KEY-----\r\n",
                "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQD3s9v1q2w8e7r6t5y4u3i2o1p0a9s8d7f6g5h4j3k2l1z0x9c8v7\n"
                "-----END DSA PRIVATE KEY-----",
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF4u8DABCAC3yq1r5o6m8n9b0v1c2x3z4a5s6d7f8g9h0j1k2l3q4w5e6r7t\n"
                "=kd8P\n-----END PGP PRIVATE KEY BLOCK-----",
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQIr5g1sA8cZ0YCAggA\n"
                "-----END ENCRYPTED PRIVATE KEY-----",
                "$ head -3 id_rsa\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n"
                "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n",
                "key = -----BEGIN PRIVATE KEY----- MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7 -----END PRIVATE KEY-----",
            ],
            "keep": [
                "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----",
                "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----",
                "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
                "-----BEGIN PRIVATE KEY-----\n<your private key here>\n-----END PRIVATE KEY-----",
                "grep -r 'BEGIN RSA PRIVATE KEY' .",
            ],
        },
    },
    {
        "id": "nova-jwt",
        "description": "JSON Web Token (three base64url segments, header and payload starting with eyJ), anywhere.",
        "regex": r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
        "keywords": ["eyj"],
        "secret_group": 1,
        "examples": {
            "redact": [
                "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4i"
                "LCJpYXQiOjE1MTYyMzkwMjJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
                "https://app.test/cb?id_token=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcCJ9.c2lnbmF0dXJlLXZhbHVl&state=1",
                '{"access_token":"eyJraWQiOiJrMSIsImFsZyI6IkVTMjU2In0.eyJzdWIiOiJ1MSIsImV4cCI6MTcwMDAwMDAwMH0.MEUCIQ'
                'D4k2Vx9Qz7sPq1y0nL3mW8tR5uJ6hG2fD1aS0zX9cV8bN7mQIgT5"}',
                "token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
            ],
            "keep": [
                "eyJhbGciOiJIUzI1NiJ9 is just a base64 header",
                "commit 3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
                "eyJ.eyJ.abc",
                "token: eyJhbGciOiJIUzI1NiJ9.eyJFWEFNUExFIjoxfQ.EXAMPLE-signature",
            ],
        },
    },
    {
        "id": "nova-docker-config-auth",
        "description": "Docker config.json registry credential (auths.*.auth base64 user:password, identitytoken, "
        "registrytoken).",
        "regex": r"\\?\"(?:auth|identitytoken|registrytoken)\\?\"[ \t]*:[ \t]*\\?\"([A-Za-z0-9+/=._~-]{8,})\\?\"",
        "keywords": ["auth", "identitytoken", "registrytoken"],
        "secret_group": 1,
        "allow": [{"regexes": [r"^[a-z_-]+\z"], "target": "secret", "condition": "or"}],
        "examples": {
            "redact": [
                '{"auths": {"https://index.docker.io/v1/": {"auth": "bm92YXVzZXI6czNjcjN0LXBhc3N3MHJk"}}}',
                '{\n  "auths": {\n    "ghcr.io": {\n      "auth": "Z2l0aHViOmdocF9hYmNkZWYxMjM0NTY="\n    }\n  }\n}',
                '"registry.example.org": {"identitytoken": "3d7e9c1a-5b2f-4e8d-9a6c-1f0b2e3d4c5a"}',
                '{\\"auths\\":{\\"quay.io\\":{\\"auth\\":\\"cXVheXVzZXI6cXVheXBhc3MxMjM=\\"}}}',
                '"registrytoken": "dGhpc2lzYXJlZ2lzdHJ5dG9rZW4xMjM="',
            ],
            "keep": [
                '{"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}',
                '{"auth": "oauth2", "type": "bearer"}',
                '{"auth": ""}',
                '"auth": "${DOCKER_AUTH}"',
            ],
        },
    },
    {
        "id": "nova-docker-login-password",
        "description": "Password given on the command line of docker/podman/nerdctl/buildah/skopeo/oras/helm "
        "registry login (-p / --password).",
        "regex": r"\b(?:(?:docker|podman|nerdctl|buildah|skopeo|oras)[ \t]+login|helm[ \t]+registry[ \t]+login)\b"
        r"(?:[^\r\n|;&]|\\\r?\n){0,300}?[ \t](?:-p|--password)(?:=|[ \t]+)"
        r"(?:\"([^\"\r\n]+)\"|'([^'\r\n]+)'|([^\s'\"-][^\s'\"]*))",
        "keywords": ["login"],
        "examples": {
            "redact": [
                "docker login -u admin -p s3cr3tP4ss registry.internal:5000",
                "docker login --username ci --password 'Zx9!kq2#Lm' ghcr.io",
                'podman login quay.io -u robot --password="hQ7tR2mW9pL4"',
                "docker login \\\n  -u deploy \\\n  -p Tr0ub4dor3 \\\n  registry.gitlab.com",
                "helm registry login registry.io --username me --password hunter22",
            ],
            "keep": [
                "echo $TOKEN | docker login ghcr.io -u me --password-stdin",
                "docker login -u admin -p $REGISTRY_PASSWORD registry.io",
                'docker login -u admin -p "${CI_REGISTRY_PASSWORD}" $CI_REGISTRY',
                "docker login registry.io",
                "docker run -p 8080:80 nginx && echo login",
            ],
        },
    },
    {
        "id": "nova-authorization-header",
        "description": "Value of an Authorization / Proxy-Authorization header (any scheme or a raw value): the "
        "scheme name stays, the credential is redacted.",
        "regex": r"(?i:\b(?:proxy-)?authorization)\\?[\"']?[ \t]*(?:=>|[:=,])[ \t]*(?:[bfrBFR]{0,2}\\?[`\"'])?[ \t]*"
        r"(?:(?i:digest|aws4-hmac-sha256|oauth|signature|hoba|mutual|sharedkey|sharedkeylite)[ \t]+([^\r\n'`]{8,})"
        r"|(?:[A-Za-z][\w-]{0,30}[ \t]+)?(\$?\{\{[^}\r\n]{0,100}\}\}|[\w+/=.~:@!#$%&*?^|(\[-]{8,}))",
        "keywords": ["authorization"],
        "allow": [
            {
                "regexes": [
                    r"(?i)^(?:basic|bearer|token|digest|negotiate|ntlm|undefined|required|optional|header|headers)\z",
                    # code: header names, variables, member chains, calls and subscripts
                    r"^[A-Z][a-z]+(?:-[A-Z][a-z]+)+\z",
                    r"(?i)^[a-z_]*(?:authorization|auth|token|credentials?|header|key|secret|password|value)\z",
                    r"^[A-Za-z_$][A-Za-z_$]*(?:(?:\.|->|::)[A-Za-z_$][A-Za-z_$]*)+\z",
                    r"^[A-Za-z_$][\w$]*(?:(?:\.|->|::|\?\.)[A-Za-z_$][\w$]*)*[(\[]",
                ],
                "target": "secret",
                "condition": "or",
            }
        ],
        "examples": {
            "redact": [
                'curl -H "Authorization: Bearer sk-live-8f3Kq1ZpL0aW9xY2" https://api.test/v1',
                "curl -H 'authorization: token ghx_0123456789abcdefAB' https://api.test",
                "GET /v1/items HTTP/1.1\r\nHost: api.test\r\nAuthorization: Basic YWxpY2U6czNjcjN0UGFzcw==\r\n",
                "> Proxy-Authorization: Basic cHJveHl1c2VyOnByb3h5cGFzcw==",
                "2024-01-01 INFO request headers={'Authorization': 'Bearer 9f8e7d6c5b4a39281706'}",
                'headers = {"Authorization": "a8Fh2Kq9Zl0PwX3m"}',
                'Authorization: Digest username="Mufasa", realm="testrealm@host.test", '
                'response="8ca523f5e9506fed4657c9700eebdbec"',
                'req.Header.Set("Authorization", "Bearer 4f2d9c8b7a6e5d4c3b2a")',
                "authorization=Bearer%20abcdef123456 and more",
                "AUTHORIZATION: AWS4-HMAC-SHA256 Credential=AKIDQ3W2E1R4T5Y6U7I8/20130524/us-east-1/s3/aws4_request, "
                "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
            ],
            "keep": [
                'curl -H "Authorization: Bearer $TOKEN" https://api.test',
                "Authorization: Bearer ${GITHUB_TOKEN}",
                "Authorization: Bearer {{ api_token }}",
                "Authorization: Bearer <token>",
                "headers['Authorization'] = 'Bearer ' + token",
                "const auth = { authorization: req.headers.authorization };",
                "The Authorization header carries the credentials.",
                'headers = {"Authorization": f"Bearer {token}"}',
                "authorization: Bearer ${{ secrets.API_TOKEN }}",
                "Authorization: Basic [REDACTED:nova-authorization-header]",
                "    authorization=authorization,",
                'retry_headers = ["Cookie", "Authorization", "Proxy-Authorization"]',
                "        authorization = base64.decodebytes(authorization)",
            ],
        },
    },
    {
        "id": "nova-url-credentials",
        "description": "Password in the userinfo of a URL (scheme://user:password@host); the user name stays.",
        "regex": r"\b[A-Za-z][A-Za-z0-9+.-]{1,30}://[^\s:/?#@\[\]'\"<>`]{0,128}:([^\s/?'\"<>`]{1,256})@[\w\[.-]",
        "keywords": ["://"],
        "secret_group": 1,
        "examples": {
            "redact": [
                "postgres://app:Xk9vQ2mL7pR4@db.internal:5432/prod",
                "DATABASE_URL=mysql://root:hunter2@127.0.0.1/app",
                "git clone https://oauth2:glpat-AbCdEf123456@gitlab.com/org/repo.git",
                "redis://:s3cr3tR3dis@cache:6379/0",
                "mongodb+srv://admin:p%40ss:w0rd@cluster0.abcde.mongodb.net/test",
                '"url": "amqp://guest:gu3st-pw@rabbit:5672/"',
            ],
            "keep": [
                "git@github.com:org/repo.git",
                "ssh://git@github.com/org/repo.git",
                "https://user@example.org/path",
                "https://github.com/org/repo",
                "http://localhost:8080/path?next=http://a@b",
                "postgres://app:${DB_PASSWORD}@db:5432/app",
                "postgres://user:password@localhost/db",
                "mailto:someone@example.org",
                "https://user:[REDACTED:nova-url-credentials]@host",
            ],
        },
    },
    {
        "id": "nova-base64-private-key",
        "description": "A PEM private key encoded in base64 (LS0tLS1CRUdJTi... decodes to -----BEGIN ... PRIVATE KEY).",
        # base64 of "-----BEGIN " then, within the label, "PRIVATE KEY" at any of the three base64 alignments
        "regex": r"\b(LS0tLS1CRUdJTi[A-Za-z0-9+/]{0,60}?(?:UFJJVkFURSBLRV|BSSVZBVEUgS0VZ|QUklWQVRFIEtFW)"
        r"[A-Za-z0-9+/]*={0,2})",
        "keywords": ["ls0tls1crudjti"],
        "examples": {
            "redact": [
                "PRIVATE_KEY_B64=LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVBNXhZ",
                '"signingKey": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2Z0lCQURBTkJna3Foa2lHOXcw"',
                "key: LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0KYjNCbGJuTnphQzFyWlhrdGRqRUFB",
            ],
            "keep": [
                "ca.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURCVENDQWUyZ0F3SUJBZ0lJ",
                "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUlJQklqQU5CZ2txaGtpRzl3MEJBUUVG",
                "echo LS0tLS1CRUdJTi | base64 -d",
            ],
        },
    },
    *(
        {
            "id": rid,
            "description": "%s (a token recognisable by its own format that gitleaks misses or anchors too "
            "tightly)." % what,
            "regex": r"\b(" + token + r")(?:[^0-9A-Za-z_-]|\z)",
            "keywords": keywords,
            "entropy": 3.0,
            "examples_from": "token-formats",
        }
        for rid, what, token, keywords in TOKEN_FORMATS
    ),
    {
        "id": "nova-telegram-bot-token",
        "description": "Telegram bot token (bot id, colon, 35 chars starting with AA), also in api.telegram.org/bot... "
        "URLs.",
        "regex": r"(?:\bbot|\b)(\d{6,16}:AA[0-9A-Za-z_-]{33})(?:[^0-9A-Za-z_-]|\z)",
        "keywords": [":aa"],
        "examples": {
            "redact": [
                "https://api.telegram.org/bot123456789:AAF3kQ9rT2vW8zL5pN7mC1yD4hF6jG0sEaB/getMe",
                "TELEGRAM_TOKEN=7012345678:AAGx9Lm2Zr7Wt5Yn8Bv4Cd6Fh1JkQ3pT5sW",
                'bot = Bot("5551234567:AAH_q8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq")',
            ],
            "keep": [
                "12:30:AA meeting",
                "build 123456789:AA is short",
                "https://api.telegram.org/bot<token>/getMe",
            ],
        },
    },
    {
        "id": "nova-webhook-url",
        "description": "Incoming-webhook URLs whose path is the credential: Slack hooks.slack.com/services|workflows|"
        "triggers, Discord /api/webhooks/<id>/<token>, Microsoft Teams/Office 365 connectors (outlook.office.com/"
        "webhook, *.webhook.office.com/webhookb2).",
        "regex": r"((?:https?://)?(?:hooks\.slack\.com/(?:services|workflows|triggers)/[0-9A-Za-z_/+-]{16,}"
        r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{15,22}/[0-9A-Za-z_-]{30,}"
        r"|(?:outlook\.office(?:365)?\.com|[0-9A-Za-z-]+\.webhook\.office\.com)/webhook(?:b2)?/"
        r"[0-9A-Za-z@/_-]{30,}))",
        "keywords": ["hooks.slack.com", "/api/webhooks/", "outlook.office", "webhook.office.com"],
        "examples": {
            "redact": [
                "SLACK_URL=https://hooks.slack.com/services/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",
                "curl -X POST https://discord.com/api/webhooks/112233445566778899/Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Z"
                "r2Lx7Kp4Wn9Vt3Hy6Bc",
                "webhook: https://outlook.office.com/webhook/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b@9a8b7c6d-5e4f-4a3b"
                "-2c1d-0e9f8a7b6c5d/IncomingWebhook/0a1b2c3d4e5f60718293a4b5c6d7e8f9/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            ],
            "keep": [
                "see https://api.slack.com/messaging/webhooks for incoming webhooks",
                "https://hooks.slack.com/services/",
                "https://discord.com/developers/docs/resources/webhook",
            ],
        },
    },
    {
        "id": "nova-url-query-password",
        "description": "Password in a URL query string or form body (?password=, &pwd=, &userpass=, ;passwd=).",
        "regex": r"[?&;](?i:[a-z_.-]{0,20}?(?:password|passwd|pwd)|(?:[a-z]{0,10}[_.-])?pass|userpass)=([^&#\s\"'<>\\]{3,256})",
        "keywords": ["pass", "pwd"],
        "allow": [{"regexes": CODE_VALUE_ALLOW, "target": "secret", "condition": "or"}],
        "examples": {
            "redact": [
                "jdbc:mysql://db/app?user=svc&password=Q8zr-2Lx7",
                "url = 'https://router.test/login.cgi?username=admin&pwd=s3cr3tPw'",
                'connectionURL="jdbc:mysql://localhost/app?user=dbuser&amp;userpass=tr0ub4dor"',
            ],
            "keep": [
                "https://site.test/reset?password=",
                "https://site.test/login?password=${PASSWORD}",
                "https://site.test/?compass=north&bypass=cache",
            ],
        },
    },
    {
        "id": "nova-url-query-token",
        "description": "API key or token in a URL query string (?api_key=, &apikey=, &token=, access_token=, "
        "&key=, &appid=, &sig=, &signature=, &client_secret=).",
        "regex": r"[?&;](?i:[a-z_.-]{0,20}?(?:api[_-]?key|apikey|app[_-]?key|appid|token|secret|key|sig|signature))"
        r"=([0-9A-Za-z_.~%+/=-]{12,})",
        "keywords": ["key=", "token=", "secret=", "appid=", "sig=", "signature="],
        "entropy": 3.0,
        "allow": [
            {
                "regexes": [
                    r"(?i)^[?&;][\w.-]*?(?:csrf|xsrf|page|next|continuation|sync|pagination|resume|cursor|public|"
                    r"idempotency|push|device|registration|fcm|hub\.verify)[_.-]?token=",
                    r"(?i)^[?&;](?:pub|public|publishable|site|primary|partition|sort|row|cache|object|idempotency)"
                    r"[_.-]?key=",
                ],
                "target": "match",
                "condition": "or",
            }
        ],
        "examples": {
            "redact": [
                "https://api.weather.test/data/2.5?q=Berlin&appid=26cf43f5b90bc0af709b7b9865ae9422&units=metric",
                "curl 'https://gitlab.test/api/v4/projects/4/trigger/pipeline?token=9f8e7d6c5b4a39281706&ref=main'",
                "GET /v1/me?access_token=EAAGm0PX4ZCpsBAKZCZBq8Zr2Lx7Kp4Wn HTTP/1.1",
                "https://maps.test/api?key=Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5&sensor=false",
            ],
            "keep": [
                "https://api.test/items?sort_key=created_at_desc_42",
                "https://api.test/items?key=name&order=asc",
                "https://api.test/?token=${TOKEN}",
            ],
        },
    },
    {
        "id": "nova-session-cookie",
        "description": "Values of session-like cookies (session, sessionid, sid, *_session, auth*, *token, jwt, "
        "remember_*) in Cookie: / Set-Cookie: headers; CSRF cookies stay.",
        "regex": r"(?:(?i:cookie)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?|;[ \t]*)"
        r"(?i:[\w.-]{0,40}?(?:sess(?:ion)?(?:[_.-]?(?:id|key|token))?|sid|auth[\w-]{0,20}|token|jwt|remember[\w-]{0,20}))"
        r"=([^;\s,\"'\\]{8,})",
        "keywords": ["cookie"],
        "entropy": 3.0,
        "allow": [{"regexes": [r"(?i)(?:csrf|xsrf)[\w.-]*="], "target": "match", "condition": "or"}],
        "examples": {
            "redact": [
                "Cookie: theme=dark; sessionid=k2m9q8zr2lx7kp4wn9vt3hy6; csrftoken=abc",
                "Set-Cookie: __Host-session=Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0; Path=/; Secure; HttpOnly",
                "curl -b 'cookie: laravel_session=eyJpdiI6IkZ4b2Qxa2V5In0' https://x.test",
                "Cookie: PHPSESSID=9a8b7c6d5e4f3a2b1c0d9e8f7a",
            ],
            "keep": [
                "Cookie: csrftoken=mTqdAqJDAN8WIsmm6evPDYc5mmi3q6aa; theme=dark",
                "Set-Cookie: sessionid=; expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "cookie: session=${SESSION}",
            ],
        },
    },
    *(
        {
            "id": rid,
            "description": "Password given on a command line: %s." % what,
            "regex": regex,
            "keywords": keywords,
            "examples_from": "password-cli",
        }
        for rid, what, regex, keywords in PASSWORD_CLI
    ),
    {
        "id": "nova-netrc-password",
        "description": "The password of a .netrc entry (machine HOST login USER password PASS, on one line or "
        "several).",
        "regex": r"\b(?:machine[ \t]+\S+|default)(?:\s+(?:login|account|port)[ \t]+\S+)+\s+password[ \t]+([^\s]+)",
        "keywords": ["machine", "default"],
        "allow": [{"regexes": CODE_VALUE_ALLOW, "target": "secret", "condition": "or"}],
        "examples": {
            "redact": [
                "machine api.github.com login octo password Gh0-q8Zr2Lx7",
                "machine api.heroku.com\n  login ops@example.org\n  password 7d4f4634-18c6-4628-9fd2-f7218fed5336\n",
                "default login anonymous password guest@Pw1",
            ],
            "keep": [
                "machine api.github.com login octo password $GH_TOKEN",
                "the machine learning password manager",
                "machine host login user",
            ],
        },
    },
    {
        "id": "nova-htpasswd-hash",
        "description": "Password hashes in htpasswd / shadow lines (user:$apr1$..., $2y$, $1$, $5$, $6$, $y$, {SHA}): "
        "crackable offline.",
        "regex": r"(?m:^)[ \t]*[\w.@-]{1,64}:((?:\$(?:apr1|2[abxy]?|1|5|6|y|gy|7)\$[./0-9A-Za-z$]{8,}"
        r"|\{S?SHA\}[A-Za-z0-9+/]{20,}={0,2}))",
        "keywords": ["$apr1$", "$2y$", "$2a$", "$2b$", "$1$", "$5$", "$6$", "$y$", "$gy$", "$7$", "{sha}", "{ssha}"],
        "examples": {
            "redact": [
                "admin:$apr1$l0cpzs5a$vQK3lmgMGvcXcRP8bq1Rt/",
                "root:$6$Zr2Lx7Kp$Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Z:19000:0:99999:7:::",
                "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
            ],
            "keep": [
                "root:x:0:0:root:/root:/bin/bash",
                "daemon:*:19000:0:99999:7:::",
                "echo '$apr1$' is the Apache MD5 prefix",
            ],
        },
    },
    {
        "id": "nova-aws-secret-key",
        "description": "AWS secret access keys (40 base64 chars) and session tokens next to an AWS-named key "
        "(aws_key: ..., aws configure set aws_secret_access_key ...).",
        "regex": r"(?i:aws)[\w.-]{0,40}?(?i:secret|key|token)[\w.-]{0,20}\\?[\"']?[ \t]*(?:[:=]|:=|=>|[ \t])[ \t]*"
        r"\\?[\"']?([A-Za-z0-9/+]{40}|[A-Za-z0-9/+=]{100,})(?:[^A-Za-z0-9/+=]|\z)",
        "keywords": ["aws"],
        "entropy": 3.5,
        "allow": [{"regexes": [r"^[0-9a-f]{40}\z", r"^[0-9A-F]{40}\z"], "target": "secret", "condition": "or"}],
        "examples_from": "aws",
    },
    {
        "id": "nova-aws-key-pair",
        "description": "AWS secret access keys (40 base64 chars) right after an access key id literal "
        "(('AKIA...', '...')).",
        "regex": r"(?:\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}|\[REDACTED:aws-access-token\])[\"']?[ \t]*"
        r"[,:;=|][ \t]*[\"']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)",
        "keywords": ["akia", "asia", "abia", "acca", "a3t", "[redacted:aws-access-token]"],
        "entropy": 3.5,
        "allow": [{"regexes": [r"^[0-9a-f]{40}\z", r"^[0-9A-F]{40}\z"], "target": "secret", "condition": "or"}],
        "examples_from": "aws",
    },
    {
        "id": "nova-azure-devops-pat",
        "description": "Azure DevOps personal access tokens in the 52-char base32 format, next to a pat/ado/azure/"
        "devops/vsts-named key.",
        "regex": r"(?i:pat|ado|azure|devops|vsts|tfs)[\w.-]{0,40}?\\?[\"']?[ \t]*(?:[:=]|:=|=>)[ \t]*\\?[\"']?"
        r"([a-z2-7]{52})(?:[^0-9A-Za-z]|\z)",
        # not "pat" alone (path, pattern, update): the name's own spellings
        "keywords": [
            "azure",
            "devops",
            "vsts",
            "tfs_",
            "ado_",
            "_ado",
            "-ado",
            "pat_",
            "-pat",
            ".pat",
            "pat=",
            "pat:",
            'pat"',
            "pat'",
            "pat =",
            "pat :",
        ],
        "entropy": 3.5,
        "examples": {
            "redact": [
                'ado_pat = "iyfmob6xjrfmit67anxbot64umfx2clwx7dz5ynxi4q2z3uqegvq"',
                "AZURE_DEVOPS_EXT_PAT=q3bx7kzm2w5ypt4rnv6hj2dc7fg5ls3ka6ye4wu7io2pq5ra3tzb",
                "vsts_token: m4n5b6v7c2x3z4l5k6j7h2g3f4d5s6a7q2w3e4r5t6y7u2i3o4p5",
            ],
            "keep": [
                'path = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
                "AZURE_DEVOPS_EXT_PAT=$(cat pat.txt)",
                "patch: abcdefghijklmnopqrstuvwxyz",
            ],
        },
    },
    {
        "id": "nova-truenas-api-key",
        "description": "TrueNAS API keys (<id>-<64 alphanumerics>).",
        "regex": r"\b(\d{1,5}-[0-9A-Za-z]{64})\b",
        "keywords": ["truenas", "api_key", "apikey", "api-key", "api key"],
        "entropy": 4.0,
        "examples": {
            "redact": [
                '{"method": "auth.login_with_api_key", "params": ["7-63FfkCzJr4i0B3JrTAwR4y9ojfljoQoaF1LlqsajAIxNKu8iS2G8NPRVdD53X83R"]}',
                "TRUENAS_API_KEY=12-ZJzzzzgEOzdmenCkhvMdgaKjIg8xNbe3nNyjOq9wMxEhh2FDEEtfjgVvVqE1SkHb",
                "truenas: 3-n88HxjSI6bWHtP3fS2qHx6kwXoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM9wCZ",
            ],
            "keep": [
                "see the truenas api key documentation",
                "api_key = load()",
                "truenas version 13-U5",
            ],
        },
    },
    *(
        {
            "id": rid,
            "description": "Credentials in well-known calls and declarations: %s." % what,
            "regex": regex,
            "keywords": keywords,
            **({"allow": [{"regexes": CODE_VALUE_ALLOW, "target": "secret", "condition": "or"}]} if allow else {}),
            "examples_from": "code-credentials",
        }
        for rid, what, regex, keywords, allow in CODE_CREDENTIALS
    ),
    {
        "id": "nova-maven-master-password",
        "description": "Maven's encrypted master password (<master>{...}</master> in settings-security.xml).",
        "regex": r"<master>(\{[A-Za-z0-9+/=]{16,}\\?\})</master>",
        "keywords": ["<master>"],
        "examples": {
            "redact": [
                "<settingsSecurity>\n  <master>{jSMOWnoPFgsHVpMvz5VrIt5kRbzGpI8u+9EF1iFQyJQ=}</master>\n</settingsSecurity>",
                "<master>{Qm8Zr2Lx7Kp4Wn9Vt3Hy6Bc1Fd5Gs0Aq8Z\\}</master>",
                "  <master>{COQLCE6DU6GtcS5P=}</master>",
            ],
            "keep": [
                "<master>true</master>",
                "<master>{master}</master>",
                "<branch>master</branch>",
            ],
        },
    },
    *(
        {
            "id": "nova-%s-yaml" % family,
            "description": "Value of a %s-named key first on its line, YAML / header style (key: value up to the end "
            "of the line)." % family,
            "regex": _yaml_line(family),
            "keywords": _FAMILY_KEYWORDS[family],
            "allow": _assignment_allow(family),
            "examples_from": "assignment",
        }
        for family in _FAMILIES
    ),
    *(
        {
            "id": rid,
            "description": "Value assigned to a key whose name ends in %s, anywhere on a line (env files, shell, "
            'JSON, TOML, INI, code: key = value, key := value, key => value, key: "value").' % what,
            "regex": word + _AFTER_KEY,
            "keywords": keywords,
            "allow": _assignment_allow(rid),
            "examples_from": "assignment",
        }
        for rid, (word, what, keywords) in _ANYWHERE.items()
    ),
    {
        "id": "nova-camelcase-token-assignment",
        "description": 'Quoted value assigned to a camelCase *Token name (clientToken = "x").',
        "regex": _CAMEL_TOKEN_ASSIGNMENT,
        "keywords": ["token"],
        "allow": _assignment_allow("camel"),
        "examples_from": "assignment",
    },
    {
        "id": "nova-secret-comparison",
        "description": 'A secret-named variable compared with a literal (password == "x", token.equals("x")).',
        "regex": _COMPARISON,
        "keywords": ["==", "!=", ".equals("],
        "allow": _assignment_allow("comparison"),
        "examples_from": "assignment",
    },
    {
        "id": "nova-password-prose",
        "description": 'A password quoted in prose (the password is "x").',
        "regex": _PROSE,
        "keywords": ["passw", "passphrase"],
        "allow": _assignment_allow("prose"),
        "examples_from": "assignment",
    },
    {
        "id": "nova-dockerfile-env-secret",
        "description": "Dockerfile ENV NAME value with a secret-named NAME.",
        "regex": _DOCKERFILE_ENV,
        "keywords": ["env ", "env\t"],
        "allow": _assignment_allow("env"),
        "examples_from": "assignment",
    },
    {
        "id": "nova-secret-cli-flag",
        "description": "Command-line flag with a separate value: --password VALUE, --db-pass VALUE, --token VALUE.",
        "regex": _CLI_FLAG,
        "keywords": ["--"],
        "allow": _assignment_allow("flag"),
        "examples_from": "assignment",
    },
    {
        "id": "nova-secret-xml-element",
        "description": "Text of a secret-named XML element: <password>x</password>, <db.password>, <apiToken>.",
        "regex": _XML_ELEMENT,
        "keywords": ["password>", "passwd>", "passphrase>", "pwd>", "secret>", "key>", "token>"],
        "allow": _assignment_allow("xml"),
        "examples_from": "assignment",
    },
]


# ---------------------------------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------------------------------


def load_gitleaks(toml_path: str | None, git_dir: str | None, commit: str) -> dict:
    if toml_path:
        data = Path(toml_path).read_bytes()
    else:
        if not git_dir:
            sys.exit("need --toml PATH or --git-dir DIR (or $GITLEAKS_GIT_DIR)")
        data = subprocess.run(
            ["git", "-C", git_dir, "show", "%s:config/gitleaks.toml" % commit], check=True, capture_output=True
        ).stdout
    return tomllib.loads(data.decode("utf-8"))


def convert_allowlist(a: dict, rule_id: str, notes: list[str]) -> dict | None:
    regexes = [translate(r) for r in a.get("regexes", [])]
    stopwords = [s.lower() for s in a.get("stopwords", [])]
    cond = a.get("condition", "OR").lower()
    if a.get("paths"):
        if not regexes and not stopwords:
            notes.append("%s: dropped an allowlist that only had paths" % rule_id)
            return None
        if cond == "and":
            # "path AND regex": without the path the regexes alone would allow far more than upstream intended
            notes.append("%s: dropped a path-scoped AND allowlist (paths %s)" % (rule_id, ", ".join(a["paths"])))
            return None
        notes.append("%s: dropped the paths of an allowlist, kept its regexes/stopwords" % rule_id)
    out: dict = {}
    if regexes:
        out["regexes"] = regexes
    if stopwords:
        out["stopwords"] = stopwords
    out["target"] = a.get("regexTarget", "secret")
    out["condition"] = cond
    return out


# Equivalent rewrites that only make Python's backtracking faster. Two adjacent lazy loops over the same class
# find the same leftmost-first match as one loop over the summed range (the match depends only on the total length
# consumed, tried shortest first either way): 2500 -> 100 steps per start position in Python. validate() checks
# the equivalence on generated texts.
SPEEDUPS = [(r"[\w.-]{0,50}?(?i:[\w.-]{0,50}?", r"(?i:[\w.-]{0,100}?")]
_ORIGINAL_REGEX: dict[str, str] = {}  # rule id -> translated regex before SPEEDUPS


def convert_rule(r: dict, notes: list[str]) -> dict:
    rx = translate(r["regex"])
    for slow, fast in SPEEDUPS:
        if rx.startswith(slow):
            _ORIGINAL_REGEX[r["id"]] = rx
            rx = fast + rx[len(slow) :]
            notes.append("%s: rewrote the leading %s as %s (same matches, faster in Python)" % (r["id"], slow, fast))
    out: dict = {"id": r["id"], "description": r["description"], "regex": rx}
    out["keywords"] = [k.lower() for k in r["keywords"]]
    if "secretGroup" in r:
        out["secret_group"] = r["secretGroup"]
    if "entropy" in r:
        out["entropy"] = r["entropy"]
    allow = [a for a in (convert_allowlist(a, r["id"], notes) for a in r.get("allowlists", [])) if a]
    allow += EXTRA_ALLOW.get(r["id"], [])
    if allow:
        out["allow"] = allow
    if "path" in r:
        notes.append("%s: dropped its path condition %s (the rule now applies to any text)" % (r["id"], r["path"]))
    return out


# Deviation: allowlists added to upstream rules (documented in NOTICE.md). generic-api-key: a hex digest (MD5,
# SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 lengths) under a key that names the hash of a secret (hashed_secret,
# password_hash, token_sha256, api_key_digest, ...) is the hash, not the secret (detect-secrets' baseline files
# store exactly that). Both halves must hold: a random token under such a key, or a digest under a plain key, counts.
_HASH_WORD = r"(?:hash(?:ed)?|digest|checksum|sha\d{0,3}|md5|fingerprint)"
_SECRET_WORD = r"(?:password|passwd|pass|pwd|secret|token|api[_.-]?key|key|credential)s?"
EXTRA_ALLOW = {
    "generic-api-key": [
        {
            "regexes": [
                r"(?i)^[\w.-]{0,50}?(?:"
                + _HASH_WORD
                + r"[_.-]?"
                + _SECRET_WORD
                + r"|"
                + _SECRET_WORD
                + r"[_.-]?"
                + _HASH_WORD
                + r")[\s'\"]{0,3}(?:=|:{1,3}=?|=>)[\x60'\"\s=]{0,5}"
                r"(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})"
                r"(?:[\x60'\"\s;]|\\[nr]|\z)"
            ],
            "target": "match",
            "condition": "or",
        }
    ]
}

# Deviations from upstream's global allowlist (documented in NOTICE.md)
GLOBAL_REGEX_FIXES = {
    # upstream's alternation is unanchored in the middle: it allows any secret *containing* "false" or ending in
    # "null"; anchor it as intended so a random token containing those letters is never allowed
    "(?i)^true|false|null$": "(?i)^(?:true|false|null)\\z",
}


def build(cfg: dict) -> tuple[dict, list[str]]:
    notes: list[str] = []
    g = cfg["allowlist"]
    notes.append("global allowlist: dropped its %d paths" % len(g.get("paths", [])))
    global_regexes = [translate(GLOBAL_REGEX_FIXES.get(r, r)) for r in g.get("regexes", [])]
    global_regexes += [x for x in OWN_GLOBAL_REGEXES if x not in global_regexes]
    allow = {"regexes": global_regexes, "stopwords": [s.lower() for s in g.get("stopwords", [])]}

    provider, broad = [], {}
    for r in cfg["rules"]:
        if r["id"] in DROPPED:
            continue
        try:
            conv = convert_rule(r, notes)
        except Untranslatable as exc:  # pragma: no cover - none today
            notes.append("%s: dropped, not expressible in the dialect (%s)" % (r["id"], exc))
            continue
        if r["id"] in BROAD:
            broad[r["id"]] = conv
        else:
            provider.append(conv)
    superseded = [r for r in provider if r["id"] in SUPERSEDED]
    provider = [r for r in provider if r["id"] not in SUPERSEDED]
    rules = provider + share_examples([dict(x) for x in OWN_RULES], allow) + superseded
    rules += [broad[i] for i in BROAD if i in broad]
    doc = {
        "format": 1,
        "source": "gitleaks %s config/gitleaks.toml (commit %s, %s, MIT, see LICENSE.gitleaks) converted by "
        "tools/vendor_gitleaks.py, plus nova_session's own rules (ids nova-*); see NOTICE.md"
        % (GITLEAKS_DESCRIBE, GITLEAKS_COMMIT, GITLEAKS_DATE),
        "allow": allow,
        "rules": rules,
    }
    return doc, notes


def share_examples(own: list[dict], global_allow: dict) -> list[dict]:
    """Give the rules marked ``examples_from: POOL`` the examples of EXAMPLE_POOLS[POOL]: a redact example goes to
    the first of them that redacts it (as the others left it), a keep example to the first whose keywords it
    contains (else the first rule). A rule left without a redact example is an error of validate()."""
    for pool, examples in EXAMPLE_POOLS.items():
        members = [r for r in own if r.get("examples_from") == pool]
        for r in members:
            r["examples"] = {"redact": [], "keep": []}
        compiled = [CompiledRule(r, global_allow) for r in members]
        for text in examples["redact"]:
            b = text.encode()
            for cr in compiled:
                if cr.findings(b):
                    cr.rule["examples"]["redact"].append(text)
                    break
                b = redact([cr], b)
            else:
                members[0]["examples"]["redact"].append(text)
        for text in examples["keep"]:
            low = text.lower()
            home = next((r for r in members if any(k in low for k in r["keywords"])), members[0])
            home["examples"]["keep"].append(text)
    for r in own:
        r.pop("examples_from", None)
        more_redact, more_keep = EXTRA_EXAMPLES.get(r["id"], ([], []))
        if more_redact or more_keep:
            r["examples"] = {
                "redact": r["examples"]["redact"] + more_redact,
                "keep": r["examples"]["keep"] + more_keep,
            }
    return own


def render(doc: dict) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=True) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------------

ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def validate(doc: dict) -> list[str]:
    errs = []
    patterns = [("global allow", p) for p in doc["allow"]["regexes"]]
    seen = set()
    for r in doc["rules"]:
        rid = r["id"]
        if not ID_RE.fullmatch(rid) or rid in seen:
            errs.append("%s: bad or duplicate id" % rid)
        seen.add(rid)
        if not r.get("keywords") or any(k != k.lower() or not k.isascii() or not k for k in r["keywords"]):
            errs.append("%s: keywords" % rid)
        patterns.append((rid, r["regex"]))
        patterns += [("%s allow" % rid, p) for a in r.get("allow", []) for p in a.get("regexes", [])]
    for where, p in patterns:
        for prob in dialect_problems(p):
            errs.append("%s: %s: %s" % (where, prob, p[:80]))
        try:
            py_compile(p)
        except (re.error, Warning) as exc:
            errs.append("%s: python: %s" % (where, exc))
            continue
        if where == "global allow" or " allow" in where:
            continue
        if min_width(p) == 0:
            errs.append("%s: can match the empty string" % where)
    if errs:
        return errs
    rng = random.Random(1)
    for r in doc["rules"]:
        if r["id"] in _ORIGINAL_REGEX:
            slow, fast = py_compile(_ORIGINAL_REGEX[r["id"]]), py_compile(r["regex"])
            for t in corpus(r, rng, 4000):
                if [m.regs for m in slow.finditer(t)] != [m.regs for m in fast.finditer(t)]:
                    errs.append("%s: SPEEDUPS rewrite changed the matches on %r" % (r["id"], t[:100]))
                    break
    compiled = [CompiledRule(r, doc["allow"]) for r in doc["rules"]]
    for cr in compiled:
        ex = cr.rule.get("examples", {})
        if cr.id.startswith("nova-") and (len(ex.get("redact", [])) < 3 or len(ex.get("keep", [])) < 3):
            errs.append("%s: fewer than three redact or keep examples" % cr.id)
        for text in ex.get("redact", []):
            b = text.encode()
            if not cr.findings(b):
                errs.append("%s: redact example not found: %r" % (cr.id, text))
            out = redact(compiled, b)
            if redact(compiled, out) != out:
                errs.append("%s: redaction not idempotent on %r -> %r" % (cr.id, text, out))
        for text in ex.get("keep", []):
            b = text.encode()
            out = redact(compiled, b)
            if out != b:
                errs.append("%s: keep example redacted: %r -> %r" % (cr.id, text, out.decode("latin-1")))
    return errs


# ---------------------------------------------------------------------------------------------------------------
# differential check against Rust
# ---------------------------------------------------------------------------------------------------------------

RUST_CHECKER_CARGO = """[package]
name = "regexcheck"
version = "0.1.0"
edition = "2021"

[dependencies]
regex = "1"
serde_json = "1"
"""

RUST_CHECKER_MAIN_RS = r"""// JSON lines on stdin: {"pattern": "...", "texts": ["latin-1 mapped bytes", ...]}
// answers {"ok": true, "results": [[[[s,e] | null, ...groups], ...matches], ...texts]} or {"ok": false, "error": ".."}
use regex::bytes::RegexBuilder;
use serde_json::{json, Value};
use std::io::{self, BufRead, Write};

fn main() {
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let req: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let ans = match RegexBuilder::new(req["pattern"].as_str().unwrap()).unicode(false).build() {
            Err(e) => json!({"ok": false, "error": e.to_string()}),
            Ok(re) => {
                let mut results = Vec::new();
                for t in req["texts"].as_array().unwrap() {
                    let b: Vec<u8> = t.as_str().unwrap().chars().map(|c| c as u32 as u8).collect();
                    let ms: Vec<Value> = re
                        .captures_iter(&b)
                        .map(|c| (0..c.len()).map(|i| c.get(i).map_or(Value::Null, |m| json!([m.start(), m.end()]))).collect())
                        .collect();
                    results.push(Value::Array(ms));
                }
                json!({"ok": true, "results": results})
            }
        };
        writeln!(out, "{}", ans).unwrap();
        out.flush().unwrap();
    }
}
"""


def _literal_chars(p: str) -> bytes:
    chars = set(re.sub(r"\\[dDwWsSbBAznrtfv]", "", p).encode()) | set(b"\n\r\t \"'\\=:")
    return bytes(sorted(chars))


_WORD = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_CATEGORY = {
    "CATEGORY_DIGIT": b"0123456789",
    "CATEGORY_NOT_DIGIT": b"a-_ .Z\n",
    "CATEGORY_SPACE": b" \t\n\r\f\v",
    "CATEGORY_NOT_SPACE": b"aZ9_-./+=",
    "CATEGORY_WORD": _WORD,
    "CATEGORY_NOT_WORD": b" -./:=\"'\n\t\x80\xff",
}


def _gen(tree, rng: random.Random, out: bytearray, depth: int = 0) -> None:
    """Append to out a random string that (mostly) matches a parsed Python pattern."""
    from re import _constants as C  # type: ignore[attr-defined]

    for op, av in tree:
        if op is C.LITERAL:
            out.append(av if rng.random() > 0.05 else (av ^ 0x20 if chr(av).isalpha() else av))
        elif op is C.NOT_LITERAL:
            out.append(rng.choice([c for c in b"aZ9_ -.\n\"'" if c != av]))
        elif op is C.ANY:
            out.append(rng.choice(b"aZ9_ -./\"'\t"))
        elif op is C.IN:
            out.append(_gen_in(av, rng))
        elif op is C.BRANCH:
            _gen(rng.choice(av[1]), rng, out, depth + 1)
        elif op is C.SUBPATTERN:
            _gen(av[-1], rng, out, depth + 1)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            hi = min(hi, lo + rng.choice((0, 1, 3, 10, 40)))
            for _ in range(rng.randint(lo, hi) if depth < 6 else lo):
                _gen(sub, rng, out, depth + 1)
        elif op is C.AT:
            if av is C.AT_BOUNDARY and rng.random() < 0.5:
                out.append(rng.choice(b" .-\n"))
        elif op is C.CATEGORY:
            out.append(rng.choice(_CATEGORY[str(av)]))


def _gen_in(items, rng: random.Random) -> int:
    from re import _constants as C  # type: ignore[attr-defined]

    if items and items[0][0] is C.NEGATE:
        banned = set()
        for op, av in items[1:]:
            if op is C.LITERAL:
                banned.add(av)
            elif op is C.RANGE:
                banned.update(range(av[0], av[1] + 1))
            elif op is C.CATEGORY:
                banned.update(_CATEGORY[str(av)])
        pool = [c for c in b"aZ9_ -./\"'\n\t\\{}$@:=,;\x80\xff" if c not in banned]
        return rng.choice(pool or [0])
    op, av = rng.choice(items)
    if op is C.LITERAL:
        return av
    if op is C.RANGE:
        return rng.randint(av[0], av[1])
    if op is C.CATEGORY:
        return rng.choice(_CATEGORY[str(av)])
    return rng.choice(b"aZ9")


def generate(p: str, rng: random.Random) -> bytes:
    from re import _parser  # type: ignore[attr-defined]

    out = bytearray()
    _gen(_parser.parse(p.replace("\\z", "\\Z").encode()), rng, out)
    return bytes(out)


def corpus(rule: dict, rng: random.Random, n_random: int) -> list[bytes]:
    """Examples, strings generated from the pattern (most match), mutations of both, random strings over the
    pattern's own literal characters and random bytes, and long texts."""
    ex = rule.get("examples", {})
    texts = [t.encode() for t in ex.get("redact", []) + ex.get("keep", [])]
    alphabet = _literal_chars(rule["regex"])
    noise = lambda n: bytes(rng.choice(alphabet) if rng.random() < 0.7 else rng.randrange(256) for _ in range(n))  # noqa: E731
    generated = [generate(rule["regex"], rng) for _ in range(n_random // 2)]
    texts += [noise(rng.choice((0, 1, 5))) + g + noise(rng.choice((0, 1, 5))) for g in generated]
    for t in texts[: len(texts) // 2]:  # mutations
        b = bytearray(t)
        for _ in range(rng.randint(1, 4)):
            if b:
                b[rng.randrange(len(b))] = rng.choice(alphabet)
        texts.append(bytes(b))
    for _ in range(n_random // 4):
        texts.append(noise(rng.choice((8, 24, 64, 200))))
    # long texts: many generated matches glued with noise; a long run of the pattern's own characters
    texts.append(b"".join(g + noise(rng.randint(0, 30)) for g in generated[:300]))
    texts.append(bytes(rng.choice(alphabet) for _ in range(20000)))
    return texts


def differential(doc: dict, checker: str, n_random: int, seed: int) -> tuple[int, int, int, list[str]]:
    proc = subprocess.Popen([checker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout
    errs: list[str] = []
    n_patterns = n_texts = n_matches = 0

    def ask(pattern: str, texts: list[bytes]) -> dict:
        proc.stdin.write(json.dumps({"pattern": pattern, "texts": [t.decode("latin-1") for t in texts]}) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    rng = random.Random(seed)
    jobs: list[tuple[str, str, list[bytes]]] = []
    for p in doc["allow"]["regexes"]:
        jobs.append(("global allow", p, corpus({"regex": p}, rng, n_random // 10)))
    for r in doc["rules"]:
        jobs.append((r["id"], r["regex"], corpus(r, rng, n_random)))
        for a in r.get("allow", []):
            for p in a.get("regexes", []):
                jobs.append(("%s allow" % r["id"], p, corpus(dict(r, regex=p), rng, n_random // 10)))
    for where, p, texts in jobs:
        n_patterns += 1
        ans = ask(p, texts)
        if not ans["ok"]:
            errs.append("%s: rust: %s" % (where, ans["error"].replace("\n", " ")))
            continue
        rx = py_compile(p)
        before = n_matches
        for t, rust_ms in zip(texts, ans["results"]):
            n_texts += 1
            py_ms = [
                [list(m.span(g)) if m.start(g) >= 0 else None for g in range(rx.groups + 1)] for m in rx.finditer(t)
            ]
            n_matches += len(py_ms)
            if py_ms != rust_ms:
                errs.append("%s: spans differ on %r: python %s rust %s" % (where, t[:120], py_ms[:3], rust_ms[:3]))
                break
        if n_matches - before < 10:
            print("differential: only %d matches for %s %s" % (n_matches - before, where, p[:60]))
    proc.stdin.close()
    proc.wait()
    return n_patterns, n_texts, n_matches, errs


# ---------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toml", help="path to gitleaks.toml (instead of --git-dir)")
    ap.add_argument("--git-dir", default=os.environ.get("GITLEAKS_GIT_DIR"), help="a gitleaks clone (bare is fine)")
    ap.add_argument("--commit", default=GITLEAKS_COMMIT)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--check", action="store_true", help="fail if --out differs from what would be generated")
    ap.add_argument("--rust-checker", help="binary built from RUST_CHECKER_MAIN_RS: run the differential check")
    ap.add_argument("--random", type=int, default=3000, help="random texts per rule for the differential check")
    ap.add_argument("--seed", type=int, default=20260722)
    ap.add_argument("--emit-rust-checker", metavar="DIR", help="write the checker's cargo project to DIR and exit")
    args = ap.parse_args(argv)

    if args.emit_rust_checker:
        d = Path(args.emit_rust_checker)
        (d / "src").mkdir(parents=True, exist_ok=True)
        (d / "Cargo.toml").write_text(RUST_CHECKER_CARGO)
        (d / "src" / "main.rs").write_text(RUST_CHECKER_MAIN_RS)
        print("wrote %s; build with: cargo build --release --manifest-path %s/Cargo.toml" % (d, d))
        return 0

    if args.commit != GITLEAKS_COMMIT and not args.toml:
        print("note: --commit differs from the pinned GITLEAKS_COMMIT; update the constants and NOTICE.md")
    doc, notes = build(load_gitleaks(args.toml, args.git_dir, args.commit))
    for n in notes:
        print("note:", n)
    errs = validate(doc)
    for e in errs:
        print("error:", e)
    if errs:
        return 1
    text = render(doc)
    n_own = sum(r["id"].startswith("nova-") for r in doc["rules"])
    print("rules: %d (%d gitleaks, %d ours)" % (len(doc["rules"]), len(doc["rules"]) - n_own, n_own))

    if args.rust_checker:
        n_p, n_t, n_m, derrs = differential(doc, args.rust_checker, args.random, args.seed)
        for e in derrs:
            print("differential:", e)
        print("differential: %d patterns, %d texts, %d matches compared, %d mismatches" % (n_p, n_t, n_m, len(derrs)))
        if derrs:
            return 1

    out = Path(args.out)
    if args.check:
        if not out.exists() or out.read_text() != text:
            print("%s is stale: run tools/vendor_gitleaks.py" % out)
            return 1
        print("%s is up to date" % out)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
