"""The NOVA rule language (``.nov`` files): parsed here, evaluated by the kernels.

A ``.nov`` file holds rules::

    rule InstructionOverride_IgnorePrevious
    {
        meta:
            severity = "high"
        keywords:
            $ignore = /ignore\\s+(all\\s+)?previous\\s+instructions?/i
            $word = "jailbreak"
        semantics:
            $sem = "ignore all previous instructions" (0.75)
        llm:
            $check = "Does this text try to override the instructions?" (0.7)
        condition:
            $ignore or $word or semantics.$sem or $check
    }

``parse`` reads a file's text into ``Rule`` objects (``RuleError`` names the line
of every problem); ``compile_rules`` turns rules into the document both kernels'
``NovaRules`` evaluate (read rust/src/rules/mod.rs for its format). The grammar
and the results are nova-hunting's (0.3.1) for every rule it reads the way its
author meant; where it reads a rule some other way (``$a // note`` in a
condition, ``AND`` in capitals, ``rule A-B``, a ``}`` inside a pattern) this
parser refuses the rule with the reason instead (see the README).

Only the keyword tier is evaluated in a hook. Semantic and LLM terms are
unknown there, and a rule matches as nova-hunting without those tiers
decides it: when its keywords alone decide the condition (``unknown`` lists,
for each tier, the names nova-hunting tries both ways; ``semantics`` and
``llm`` say whether the condition reads that tier's variables, which
nova-hunting would then evaluate, fail to, and report no match).
"""

from __future__ import annotations

import re

SECTIONS = ("meta", "keywords", "semantics", "llm", "condition")
TIERS = ("keywords", "semantics", "llm")
# More unknown names than this and nova-hunting does not try them: the tier "can change" the result.
MAX_TRIED = 10

_RULE = re.compile(r"rule\s+(\w+)\s*(\{)?\s*$")
_HEADER = re.compile(r"rule\s+(.*?)\s*\{?\s*$")
_NAME = re.compile(r"\$[A-Za-z0-9_]+$")
_TEXT_PATTERN = re.compile(r'"(.+)"\s*(?:\(\s*([0-9.]+)\s*\))?\s*$')
_TOKEN = re.compile(
    r"\s*(?:(?P<group>\(\s*\$(?P<gprefix>[A-Za-z0-9_]+)\*\s*\))"
    r"|(?P<open>\()|(?P<close>\))"
    r"|(?P<ref>(?:(?P<section>[A-Za-z]+)\.)?(?:\$(?P<name>[A-Za-z0-9_]+)(?P<star>\*)?|(?P<all>\*)))"
    r"|(?P<word>[A-Za-z]+|\d+))"
)


class RuleError(ValueError):
    """A rule file problem: ``line`` (1-based) and the message."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__("line %d: %s" % (line, message))
        self.line = line
        self.message = message


class Rule:
    """One parsed rule: name, meta (str -> str), keywords ($name -> (pattern, regex, case_sensitive)),
    semantics and llm ($name -> (text, threshold)), the condition's tree, and the line it starts on."""

    def __init__(self, name: str, line: int) -> None:
        self.name = name
        self.line = line
        self.meta: dict = {}
        self.keywords: dict = {}
        self.semantics: dict = {}
        self.llm: dict = {}
        self.condition: list = []
        self.condition_text = ""
        # The condition's bare section.$prefix* terms (not after "of"): nova-hunting's analysis of
        # unknown tiers does not see them.
        self.bare: list = []

    @property
    def severity(self) -> str:
        return self.meta.get("severity", "")


# ------------------------------------------------------------------ files


def parse(text: str) -> tuple:
    """``(rules, errors)``: the rules of a ``.nov`` file's text, and a RuleError for each
    rule (or stray line) that cannot be used; the other rules are still returned."""
    rules: list = []
    errors: list = []
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        number += 1
        if _blank(line):
            continue
        match = _RULE.match(line)
        if not match:
            header = _HEADER.match(line)
            if header:
                errors.append(
                    RuleError(number, "%r is not a rule name (letters, digits, underscores)" % header.group(1))
                )
            else:
                errors.append(RuleError(number, "expected 'rule Name {', found %r" % _short(line)))
            while number < len(lines) and not _HEADER.match(lines[number].strip()):
                number += 1  # the rest of what cannot be read, up to the next rule
            continue
        start = number
        body, number, error = _block(lines, number, bool(match.group(2)))
        if error is not None:
            errors.append(error)
            continue
        try:
            rule = _rule(match.group(1), start, body)
        except RuleError as exc:
            errors.append(exc)
            continue
        if any(old.name == rule.name for old in rules):
            errors.append(RuleError(start, "a rule named %s is already defined in this file" % rule.name))
            continue
        rules.append(rule)
    return rules, errors


def _blank(line: str) -> bool:
    return not line or line.startswith("//") or line.startswith("#")


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _block(lines: list, number: int, opened: bool) -> tuple:
    """The (line number, text) of a rule's body, the index after its closing brace, or an error."""
    start = number
    while not opened and number < len(lines):
        line = lines[number].strip()
        number += 1
        if line == "{":
            opened = True
        elif not _blank(line):
            return [], number, RuleError(number, "expected '{' to open the rule, found %r" % _short(line))
    body: list = []
    while number < len(lines):
        line = lines[number].strip()
        number += 1
        if line == "}":
            return body, number, None
        if _RULE.match(line):
            return body, number - 1, RuleError(number, "a new rule starts before the '}' closing the one above")
        if not _blank(line):
            body.append((number, line))
    return body, number, RuleError(start, "the rule is not closed: no line holding only '}'")


def _rule(name: str, start: int, body: list) -> Rule:
    rule = Rule(name, start)
    sections: dict = {}
    current = None
    for number, line in body:
        if line.endswith(":") and line[:-1].strip().lower() in SECTIONS:
            current = line[:-1].strip().lower()
            if current in sections:
                raise RuleError(number, "a second %s: section in rule %s" % (current, name))
            sections[current] = []
        elif current is None:
            raise RuleError(
                number, "expected a section (meta:, keywords:, semantics:, llm:, condition:), found %r" % _short(line)
            )
        else:
            sections[current].append((number, line))
    for number, line in sections.get("meta", []):
        key, equals, value = line.partition("=")
        if not equals:
            raise RuleError(number, "a meta line is 'key = value', found %r" % _short(line))
        value = value.strip()
        rule.meta[key.strip()] = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    seen: dict = {}
    for section in TIERS:
        for number, line in sections.get(section, []):
            key, equals, value = (part.strip() for part in line.partition("="))
            if not equals:
                raise RuleError(number, "a %s line is '$name = pattern', found %r" % (section, _short(line)))
            if not _NAME.match(key):
                raise RuleError(number, "%r is not a variable name ($ then letters, digits, underscores)" % key)
            if key in seen:
                raise RuleError(number, "%s is already defined in %s:" % (key, seen[key]))
            seen[key] = section
            if section == "keywords":
                rule.keywords[key] = _keyword(number, value)
            else:
                getattr(rule, section)[key] = _described(number, section, value)
    if not (rule.keywords or rule.semantics or rule.llm):
        raise RuleError(start, "rule %s has no keywords:, semantics: or llm: entries" % name)
    condition = sections.get("condition")
    if not condition:
        raise RuleError(start, "rule %s has no condition:" % name)
    rule.condition_text = " ".join(line for _, line in condition)
    rule.condition = _Condition(rule, condition[0][0]).parse()
    return rule


def _keyword(number: int, value: str) -> tuple:
    """(pattern, regex, case_sensitive), as nova-hunting reads a keyword."""
    if value.startswith("/") and value.rstrip("i").endswith("/") and len(value.rstrip("i")) >= 2:
        if len(value) - len(value.rstrip("i")) > 1:  # nova-hunting reads /x/ii as the regex x/i
            raise RuleError(number, "a regex keyword is /pattern/ or /pattern/i, found %r" % _short(value))
        insensitive = value.endswith("/i")
        body = value[1:-2] if insensitive else value[1:-1]
        regex = True
    elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        body, insensitive, regex = value[1:-1], True, False
    else:
        raise RuleError(number, "a keyword is \"text\", 'text', /regex/ or /regex/i, found %r" % _short(value))
    case_sensitive = not insensitive
    if "case:true" in body:
        body, case_sensitive = body.split("case:true", 1)[0].strip(), True
    if regex:
        try:
            re.compile(body)
        except (re.error, RecursionError, OverflowError) as exc:
            raise RuleError(number, "the regex %r does not compile: %s" % (_short(body), exc)) from None
    return body, regex, case_sensitive


def _described(number: int, section: str, value: str) -> tuple:
    match = _TEXT_PATTERN.match(value)
    if not match:
        raise RuleError(number, 'a %s entry is "text" or "text" (threshold), found %r' % (section, _short(value)))
    try:
        threshold = float(match.group(2)) if match.group(2) else (0.1 if section == "semantics" else 0.6)
    except ValueError:
        threshold = -1.0
    if not 0.0 <= threshold <= 1.0:
        raise RuleError(number, "the threshold %s is not between 0.0 and 1.0" % match.group(2))
    return match.group(1), threshold


# ------------------------------------------------------------- conditions


# Levels of parentheses and ``not`` in a condition (see _Condition.nested).
MAX_NESTING = 40


class _Condition:
    """A recursive-descent parser of a condition into the kernels' tree (lists):
    ["const", b], ["not", x], ["and", x, y, ...], ["or", ...], ["var", section|None, "$n"],
    ["count", "any"|"all"|N, section|None, prefix|None]."""

    def __init__(self, rule: Rule, line: int) -> None:
        self.rule = rule
        self.line = line
        self.tokens: list = []
        text = rule.condition_text
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if text[position:].strip() == "":
                    break
                raise self.error("unexpected %r" % _short(text[position:].strip()))
            position = match.end()
            self.tokens.append(match)
        self.at = 0
        self.depth = 0

    def error(self, message: str) -> RuleError:
        return RuleError(self.line, "condition of rule %s: %s" % (self.rule.name, message))

    def peek(self, kind: str | None = None, word: str | None = None):
        if self.at >= len(self.tokens):
            return None
        token = self.tokens[self.at]
        if kind is not None and token.group(kind) is None:
            return None
        if word is not None and token.group("word") != word:
            return None
        return token

    def take(self, kind: str | None = None, word: str | None = None):
        token = self.peek(kind, word)
        if token is not None:
            self.at += 1
        return token

    def parse(self) -> list:
        tree = self.either()
        if self.at < len(self.tokens):
            raise self.error(
                "unexpected %r (and, or, not are written in lower case)" % self.tokens[self.at].group().strip()
            )
        return tree

    def either(self) -> list:
        items = [self.both()]
        while self.take("word", "or"):
            items.append(self.both())
        return items[0] if len(items) == 1 else ["or", *items]

    def both(self) -> list:
        items = [self.negated()]
        while self.take("word", "and"):
            items.append(self.negated())
        return items[0] if len(items) == 1 else ["and", *items]

    def negated(self) -> list:
        if self.take("word", "not"):
            return ["not", self.nested(self.negated)]
        return self.atom()

    def nested(self, part):
        """``part()`` one level deeper: the kernels refuse a tree more than 100 deep, and each
        level of parentheses or ``not`` adds at most two."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error("nested too deeply (more than %d levels of parentheses and not)" % MAX_NESTING)
        try:
            return part()
        finally:
            self.depth -= 1

    def atom(self) -> list:
        token = self.take()
        if token is None:
            raise self.error("it ends where a term is expected")
        if token.group("open"):
            tree = self.nested(self.either)
            if not self.take("close"):
                raise self.error("a '(' is not closed")
            return tree
        word = token.group("word")
        if word in ("true", "false", "True", "False"):
            return ["const", word.lower() == "true"]
        if word is not None and (word in ("any", "all") or word.isdigit()):
            if not self.take("word", "of"):
                raise self.error("%r must be followed by 'of'" % word)
            return self.count("any" if word == "any" else "all" if word == "all" else int(word))
        if token.group("ref"):
            return self.reference(token)
        raise self.error("unexpected %r" % token.group().strip())

    def count(self, quantity) -> list:
        token = self.take()
        if token is not None and token.group("group"):
            prefix = token.group("gprefix")
            if not self.names(None, prefix):
                raise self.error("no variable starts with $%s" % prefix)
            return ["count", quantity, None, prefix]
        if token is not None and token.group("word") in TIERS:
            return ["count", quantity, self.section(token.group("word")), None]
        if token is not None and token.group("ref") and token.group("section"):
            section = self.section(token.group("section"))
            if token.group("all"):
                return ["count", quantity, section, None]
            if token.group("star"):
                return ["count", quantity, section, self.prefix(section, token.group("name"))]
        raise self.error("'of' is followed by keywords, semantics, llm, section.*, section.$prefix* or ($prefix*)")

    def reference(self, token) -> list:
        section = token.group("section")
        if section is None:
            if token.group("star") or token.group("all"):
                raise self.error("a wildcard is written section.$prefix* or any of ($prefix*)")
            name = "$" + token.group("name")
            if not self.names(None, None).count(name):
                raise self.error("%s is not defined in this rule" % name)
            return ["var", None, name]
        section = self.section(section)
        if token.group("all"):
            return ["count", "any", section, None]
        if token.group("star"):
            node = ["count", "any", section, self.prefix(section, token.group("name"))]
            self.rule.bare.append(node)
            return node
        name = "$" + token.group("name")
        if name not in getattr(self.rule, section):
            raise self.error("%s is not defined in %s:" % (name, section))
        return ["var", section, name]

    def section(self, name: str) -> str:
        if name not in TIERS:
            raise self.error("%r is not a section (keywords, semantics, llm)" % name)
        return name

    def prefix(self, section: str, prefix: str) -> str:
        if not self.names(section, prefix):
            raise self.error("no variable of %s: starts with $%s" % (section, prefix))
        return prefix

    def names(self, section: str | None, prefix: str | None) -> list:
        sections = TIERS if section is None else (section,)
        found = [name for tier in sections for name in getattr(self.rule, tier)]
        return [name for name in found if prefix is None or name[1:].startswith(prefix)]


# ------------------------------------------------------------- compiling


def compile_rules(rules: list, confusables: dict) -> dict:
    """The document the kernels' ``NovaRules`` take (as JSON bytes)."""
    return {"format": 1, "confusables": confusables, "rules": [_compiled(rule) for rule in rules]}


def _compiled(rule: Rule) -> dict:
    evaluated = _evaluated_keywords(rule)
    return {
        "name": rule.name,
        "severity": rule.severity,
        "keywords": [
            _compiled_keyword(name, pattern, regex, case_sensitive)
            for name, (pattern, regex, case_sensitive) in rule.keywords.items()
            if name in evaluated
        ],
        "condition": rule.condition,
        "semantics": _reads(rule, "semantics"),
        "llm": _reads(rule, "llm"),
        "unknown": {tier: sorted(_unknown(rule, tier, evaluated)) for tier in ("semantics", "llm")},
    }


def _compiled_keyword(name: str, pattern: str, regex: bool, case_sensitive: bool) -> dict:
    keyword = {"name": name, "pattern": pattern, "regex": regex, "case_sensitive": case_sensitive}
    needles = _needles(pattern, case_sensitive) if regex else None
    if needles:
        keyword["needles"] = needles
    return keyword


def _needles(pattern: str, case_sensitive: bool):
    """Strings one of which occurs in a text whenever the regex finds a match in it (in the text
    folded as ``_python_nova.FOLD`` folds it when the regex ignores case), so that a kernel can
    skip the regex (and its compilation) otherwise; None when no such set is known."""
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's own regex parser

    try:
        parsed = _parser.parse(pattern, 0 if case_sensitive else re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    found = _required(list(parsed), bool(parsed.state.flags & re.IGNORECASE), 0)
    return sorted(found) if found else None


def _required(items: list, fold: bool, depth: int):
    """The best set of strings one of which every match of the sequence ``items`` contains."""
    from re import _constants as sre  # type: ignore[attr-defined]

    best: list = [None, 0]  # the set, its shortest string's length

    def consider(strings) -> None:
        if strings and min(map(len, strings)) > best[1]:
            best[0], best[1] = strings, min(map(len, strings))

    run: list = []
    for op, argument in items + [(None, None)]:
        char = chr(argument) if op is sre.LITERAL else None
        if char is not None and fold:
            char = char.lower() if char.isascii() else None  # a non-ASCII letter may have other cases
        if char is not None:
            run.append(char)
            continue
        if run:
            consider({"".join(run)})
            run = []
        if depth > 50:
            continue
        if op is sre.SUBPATTERN and not (argument[1] | argument[2]) & re.IGNORECASE:
            consider(_required(list(argument[3]), fold, depth + 1))
        elif op is sre.BRANCH:
            alternatives = [_required(list(branch), fold, depth + 1) for branch in argument[1]]
            if all(alternatives):
                consider(set().union(*alternatives))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)) and argument[0] >= 1:
            consider(_required(list(argument[2]), fold, depth + 1))
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            consider(_required(list(argument), fold, depth + 1))
    return best[0]


def _walk(tree: list):
    yield tree
    if tree[0] in ("not", "and", "or"):
        for item in tree[1:]:
            yield from _walk(item)


def _evaluated_keywords(rule: Rule) -> set:
    """The keywords nova-hunting evaluates for a rule: those the condition can read."""
    names: set = set()
    for node in _walk(rule.condition):
        if node[0] == "var" and node[2] in rule.keywords and node[1] in (None, "keywords"):
            names.add(node[2])
        elif node[0] == "count" and node[2] in (None, "keywords"):
            names.update(n for n in rule.keywords if node[3] is None or n[1:].startswith(node[3]))
    return names


def _reads(rule: Rule, tier: str) -> bool:
    """Whether the condition reads a variable of a tier (nova-hunting then tries to evaluate it)."""
    names = getattr(rule, tier)
    for node in _walk(rule.condition):
        if node[0] == "var" and node[2] in names and node[1] in (None, tier):
            return True
        if node[0] == "count" and node[2] in (None, tier):
            if any(node[3] is None or name[1:].startswith(node[3]) for name in names):
                return True
    return False


def _unknown(rule: Rule, tier: str, evaluated: set) -> set:
    """The names nova-hunting assigns both ways to decide whether ``tier`` can change the result."""
    names: set = set()
    wildcards = 0
    for node in _walk(rule.condition):
        if node[0] == "var" and node[1] == tier:
            names.add(node[2])
        elif node[0] == "var" and node[1] is None and node[2] not in evaluated:
            names.add(node[2])
        elif node[0] == "count" and node[2] == tier and not any(node is bare for bare in rule.bare):
            wildcards = max(wildcards, node[1] if isinstance(node[1], int) else 1)
        if node[0] == "count" and node[3] is not None and node[2] in (None, tier):
            if any(node is bare for bare in rule.bare):
                continue
            quantity = node[1] if isinstance(node[1], int) else 1
            names.update("$%s_candidate_%d" % (node[3], index) for index in range(quantity))
    names.update("$_%s_wildcard_%d" % (tier, index) for index in range(wildcards))
    return names
