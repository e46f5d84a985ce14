"""NOVA rules' keyword tier in the pure-Python kernel: ``NovaRules``, the same engine as
rust/src/rules (read its module comment for the document and the steps), with ``re``
and ``unicodedata``, as nova-hunting itself matches (imported on the first scan).
"""

from __future__ import annotations

from itertools import product

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a hook milliseconds to import
    from typing import Any

FORMAT = 1
MAX_TRIED = 10
_SECTIONS = ("keywords", "semantics", "llm")
# How a regex that ignores case sees ASCII letters: every other character that ``re``
# matches to one (İ ı ſ K) folded onto it, the rest left as they are (a keyword's
# "needles" are ASCII when the regex ignores case).
FOLD: dict = {**{code: chr(code + 32) for code in range(65, 91)}, 0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}


class _Rule:
    __slots__ = ("name", "severity", "keywords", "condition", "tiers")

    def __init__(self, raw) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ValueError("a rule is an object with a name")
        self.name = raw["name"]
        self.severity = _string(raw.get("severity", ""))
        self.keywords = [_keyword(self.name, item) for item in _list(raw.get("keywords", []))]
        self.condition = _node(raw.get("condition"), 0)
        unknown = raw.get("unknown", {})
        if not isinstance(unknown, dict):
            raise ValueError("rule %s: unknown is not an object" % self.name)
        # (tier, names nova-hunting tries both ways) for each tier the rule has.
        self.tiers = [
            (tier, [_string(name) for name in _list(unknown.get(tier, []))])
            for tier in ("semantics", "llm")
            if raw.get(tier) is True
        ]

    def matches(self, text: str, lowered: str, folded: str) -> bool:
        known = {name: search(text, lowered, folded) for name, search in self.keywords}
        early = _evaluate(self.condition, known, {}, {})
        if not early:
            return False
        for tier, names in self.tiers:
            if not names:
                continue
            if len(names) > MAX_TRIED:
                return False
            for values in product((False, True), repeat=len(names)):
                tried = dict(zip(names, values))
                result = _evaluate(
                    self.condition, known, tried if tier == "semantics" else {}, tried if tier == "llm" else {}
                )
                if result != early:
                    return False
        return True


def _list(value) -> list:
    if not isinstance(value, list):
        raise ValueError("expected a list, found %s" % type(value).__name__)
    return value


def _string(value) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string, found %s" % type(value).__name__)
    return value


def _keyword(rule: str, raw) -> tuple:
    if not isinstance(raw, dict):
        raise ValueError("rule %s: a keyword is an object" % rule)
    name, pattern = _string(raw.get("name")), _string(raw.get("pattern"))
    sensitive = raw.get("case_sensitive") is True
    if raw.get("regex") is True:
        needles = [_string(needle) for needle in _list(raw.get("needles", []))]
        return name, _Regex(rule, name, pattern, sensitive, needles).search
    if sensitive:
        return name, lambda text, lowered, folded: pattern in text
    lower = pattern.lower()
    return name, lambda text, lowered, folded: lower in lowered


class _Regex:
    """A regex keyword, compiled on the first text holding one of its needles (all texts, without)."""

    def __init__(self, rule: str, name: str, pattern: str, sensitive: bool, needles: list) -> None:
        self.where = "rule %s, keyword %s" % (rule, name)
        self.pattern, self.sensitive, self.needles = pattern, sensitive, needles
        self.compiled: Any = None

    def search(self, text: str, lowered: str, folded: str) -> bool:
        if self.needles:
            haystack = text if self.sensitive else folded
            if not any(needle in haystack for needle in self.needles):
                return False
        if self.compiled is None:
            import re

            try:
                self.compiled = re.compile(self.pattern, 0 if self.sensitive else re.IGNORECASE)
            except (re.error, RecursionError, OverflowError) as exc:
                raise ValueError("%s: the regex does not compile: %s" % (self.where, exc)) from None
        return self.compiled.search(text) is not None


def _node(raw, depth: int) -> list:
    """A condition tree, checked."""
    if depth > 100:  # the Rust kernel's MAX_DEPTH
        raise ValueError("a condition is nested too deeply")
    if not isinstance(raw, list) or not raw:
        raise ValueError("a condition node is a non-empty list")
    kind = raw[0]
    if kind == "const" and len(raw) == 2 and isinstance(raw[1], bool):
        return raw
    if kind == "not" and len(raw) == 2:
        return ["not", _node(raw[1], depth + 1)]
    if kind in ("and", "or") and len(raw) >= 3:
        return [kind, *(_node(item, depth + 1) for item in raw[1:])]
    if kind == "var" and len(raw) == 3 and (raw[1] is None or raw[1] in _SECTIONS) and isinstance(raw[2], str):
        return raw
    if kind == "count" and len(raw) == 4 and (raw[2] is None or raw[2] in _SECTIONS):
        quantity, prefix = raw[1], raw[3]
        counts = quantity in ("any", "all") or (type(quantity) is int and quantity >= 0)
        if counts and (prefix is None or isinstance(prefix, str)) and (raw[2] is not None or prefix is not None):
            return raw
    raise ValueError("not a condition node: %.80r" % (raw,))


def _evaluate(node: list, known: dict, semantics: dict, llm: dict) -> bool:
    kind = node[0]
    if kind == "or":
        return any(_evaluate(item, known, semantics, llm) for item in node[1:])
    if kind == "and":
        return all(_evaluate(item, known, semantics, llm) for item in node[1:])
    if kind == "not":
        return not _evaluate(node[1], known, semantics, llm)
    if kind == "const":
        return node[1]
    dicts = {"keywords": known, "semantics": semantics, "llm": llm}
    if kind == "var":
        name = node[2]
        if node[1] is not None:
            return bool(dicts[node[1]].get(name, False))
        for values in (known, semantics, llm):
            if name in values:
                return bool(values[name])
        return False
    quantity, section, prefix = node[1], node[2], node[3]
    values = dicts[section] if section is not None else {**known, **semantics, **llm}
    if prefix is not None:
        values = {name: value for name, value in values.items() if name[1:].startswith(prefix)}
    true = sum(1 for value in values.values() if value)
    if quantity == "any":
        return true > 0
    if quantity == "all":
        return bool(values) and true == len(values)
    return true >= quantity


class NovaRules:
    """NOVA prompt-injection rules, keyword tier, from a compiled rule-set document (JSON bytes)."""

    def __init__(self, document):
        from ._python import loads

        try:
            raw = loads(bytes(document))
            if not isinstance(raw, dict) or raw.get("format") != FORMAT:
                raise ValueError('"format" is not %d' % FORMAT)
            confusables = raw.get("confusables", {})
            if not isinstance(confusables, dict) or any(len(key) != 1 for key in confusables):
                raise ValueError("confusables maps single characters to strings")
            self._table = {ord(key): _string(value) for key, value in confusables.items()}
            self._rules = [_Rule(rule) for rule in _list(raw.get("rules"))]
        except (ValueError, RecursionError, TypeError) as exc:
            raise ValueError("bad NOVA rule set: %s" % exc) from None

    @property
    def rule_count(self) -> int:
        """The number of rules."""
        return len(self._rules)

    @property
    def names(self) -> list:
        """Each rule's name, in order."""
        return [rule.name for rule in self._rules]

    @property
    def severities(self) -> list:
        """Each rule's severity (its "severity", "" when it has none), in order."""
        return [rule.severity for rule in self._rules]

    def scan(self, texts: list) -> list:
        """The indices (ascending) of the rules that match at least one of the texts."""
        import unicodedata

        matched: set = set()
        for text in texts:
            text = unicodedata.normalize("NFKC", text).translate(self._table)
            if not text.strip():
                continue  # a blank text matches no rule
            lowered, folded = text.lower(), text.translate(FOLD)
            matched.update(
                number
                for number, rule in enumerate(self._rules)
                if number not in matched and rule.matches(text, lowered, folded)
            )
        return sorted(matched)
