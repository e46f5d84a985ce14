"""Secret redaction in the pure-Python kernel: ``Redactor``, the same engine as
rust/src/redact (read its module comment for the steps), with ``re`` over bytes.

Both kernels produce the same bytes: the rule dialect (``_check``, the twin of
rust/src/redact/dialect.rs) admits only constructs that Rust's ``regex``
(bytes, Unicode off) and ``re`` (bytes patterns) read alike, and end-of-text
assertions are rewritten for ``re`` (``\\z``, and ``$`` outside multi-line
mode, become ``\\Z``). ``re`` is imported when the first pattern is compiled.
"""

from __future__ import annotations

FORMAT = 1
MAX_ID = 64
# Top-level record keys whose values are never redacted: the structure of a record.
STRUCTURE = frozenset(("type", "id", "timestamp", "session_id", "prev"))
_SAFE_ESCAPES = "bBdDwWsStnrfvA"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_HEX = frozenset("0123456789abcdefABCDEF")


class _Refused(ValueError):
    """A pattern, rule or document outside the format; the message says why."""


# ---------------------------------------------------------------- the dialect


def _walk(pattern: str, end_of_text) -> None:
    """Check the dialect; call ``end_of_text(start, end)`` for each end-of-text assertion."""
    if not pattern:
        raise _Refused("an empty pattern")
    for at, char in enumerate(pattern):
        if not char.isascii() or (ord(char) < 32 and char != "\t") or ord(char) == 127:
            raise _Refused("a non-ASCII or control character at %d (write it as \\xHH)" % at)
    multiline = [False]
    i, size = 0, len(pattern)
    while i < size:
        char = pattern[i]
        if char == "\\":
            i = _escape(pattern, i, False, end_of_text)
            continue
        if char == "[":
            i = _class(pattern, i)
            continue
        if char == "(":
            inherited = multiline[-1]
            if pattern[i + 1 : i + 2] == "?":
                i, kind, flag = _group_head(pattern, i, len(multiline) == 1 and i == 0)
                if kind == "scoped":
                    multiline.append(inherited if flag is None else flag)
                elif kind == "global":
                    if flag is not None:
                        multiline[0] = flag
                else:
                    multiline.append(inherited)
                continue
            multiline.append(inherited)
        elif char == ")":
            if len(multiline) == 1:
                raise _Refused("an unbalanced ')' at %d" % i)
            multiline.pop()
        elif char == "$":
            if not multiline[-1]:
                end_of_text(i, i + 1)
        elif char == "{":
            if pattern[i + 1 : i + 2] == ",":
                raise _Refused("a '{,n}' repetition at %d (write '{0,n}')" % i)
        elif char in "*+?}":
            if pattern[i + 1 : i + 2] == "+":
                raise _Refused("a possessive quantifier at %d" % i)
        i += 1
    if len(multiline) != 1:
        raise _Refused("an unclosed '('")


def _group_head(pattern: str, start: int, at_start: bool):
    """``(?`` at start: (the index after the group's head, its kind, the multi-line flag or None)."""
    i = start + 2
    if pattern[i : i + 2] == "P<":
        name_start = j = i + 2
        while j < len(pattern) and (pattern[j].isalnum() or pattern[j] == "_"):
            j += 1
        if j == name_start or pattern[j : j + 1] != ">" or pattern[name_start].isdigit():
            raise _Refused("a bad group name at %d" % start)
        return j + 1, "plain", None
    multiline = None
    negated = False
    seen = False
    while i < len(pattern):
        char = pattern[i]
        if char in "is":
            seen = True
        elif char == "m":
            seen = True
            multiline = not negated
        elif char == "-" and not negated:
            negated = True
        elif char == ":":
            return i + 1, "scoped", multiline
        elif char == ")":
            if not seen:
                raise _Refused("an empty flag group at %d" % start)
            if negated:
                raise _Refused("flags turned off outside a scoped group at %d (use (?-i:...))" % start)
            if not at_start:
                raise _Refused(
                    "inline flags in the middle of the pattern at %d (use a scoped group such as (?i:...))" % start
                )
            return i + 1, "global", multiline
        else:
            raise _Refused("an unsupported group at %d (only (?:...), (?P<name>...) and the flags i, m, s)" % start)
        i += 1
    raise _Refused("an unclosed group at %d" % start)


def _escape(pattern: str, start: int, in_class: bool, end_of_text) -> int:
    if start + 1 >= len(pattern):
        raise _Refused("a trailing backslash")
    char = pattern[start + 1]
    if char == "x":
        digits = pattern[start + 2 : start + 4]
        if len(digits) != 2 or not _HEX.issuperset(digits):
            raise _Refused("a \\x escape at %d without two hex digits" % start)
        return start + 4
    if char == "z" and not in_class:
        end_of_text(start, start + 2)
        return start + 2
    if char.isalnum():
        allowed = char in _SAFE_ESCAPES and not (in_class and char in "bBA")
        if not allowed:
            raise _Refused("an unsupported escape \\%s at %d" % (char, start))
    return start + 2


def _class(pattern: str, start: int) -> int:
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i = _escape(pattern, i, True, lambda start, end: None)
            continue
        if char == "[":
            raise _Refused("a '[' inside a class at %d (nested or POSIX classes; write \\[)" % i)
        if char == "]":
            return i + 1
        if char in "&-~|" and pattern[i + 1 : i + 2] == char:
            raise _Refused("a set operation '%s%s' inside a class at %d" % (char, char, i))
        i += 1
    raise _Refused("an unclosed class at %d" % start)


def quick_pattern(pattern: str):
    """The pattern without a leading optional lazy run (``[class]{0,n}?`` or ``[class]*?``, after
    leading flags), or None: it matches somewhere in every text where the pattern does, and is far
    cheaper to search; a rule whose quick pattern finds nothing is skipped."""
    start = 0
    if pattern.startswith("(?"):
        ends = [at for at in (pattern.find(")"), pattern.find(":")) if at >= 0]
        if not ends:
            return None
        end = min(ends)
        if all(char in "ims-" for char in pattern[2:end]):
            start = end + 1
    if pattern[start : start + 1] != "[":
        return None
    try:
        after_class = _class(pattern, start)
    except _Refused:
        return None
    rest = pattern[after_class:]
    if rest.startswith("*?"):
        run = 2
    elif rest.startswith("{0,"):
        tail = rest[3:]
        digits = len(tail) - len(tail.lstrip("0123456789"))
        if digits == 0 or not tail[digits:].startswith("}?"):
            return None
        run = 3 + digits + 2
    else:
        return None
    return pattern[:start] + rest[run:]


def any_of(patterns: list):
    """One pattern that matches wherever any of ``patterns`` does (an allowlist's regexes are
    searched as one); leading flags become a scoped group, ``(?i)x`` giving ``(?i:x)``; None for none."""
    if not patterns:
        return None
    parts = []
    for pattern in patterns:
        if pattern.startswith("(?"):
            rest = pattern[2:]
            ends = [at for at in (rest.find(")"), rest.find(":")) if at >= 0]
            end = min(ends) if ends else -1
            if end >= 0 and rest[end] == ")" and all(char in "ims" for char in rest[:end]):
                parts.append("(?%s:%s)" % (rest[:end], rest[end + 1 :]))
                continue
        parts.append("(?:%s)" % pattern)
    return "|".join(parts)


def check_pattern(pattern: str) -> None:
    """Raise ValueError (with the reason) when a pattern is outside the rule dialect."""
    _walk(pattern, lambda start, end: None)


def translate_for_python(pattern: str) -> str:
    """The pattern for ``re`` (bytes): ``\\z``, and ``$`` outside multi-line mode, become ``\\Z``."""
    out, last = [], 0

    def end_of_text(start: int, end: int) -> None:
        nonlocal last
        out.append(pattern[last:start])
        out.append("\\Z")
        last = end

    _walk(pattern, end_of_text)
    out.append(pattern[last:])
    return "".join(out)


# ---------------------------------------------------------------- the rules


class _Pattern:
    __slots__ = ("source", "compiled", "error")

    def __init__(self, source: str) -> None:
        self.source = source
        self.compiled = None
        self.error: str | None = None

    def get(self):
        if self.compiled is None:
            if self.error is not None:
                raise _Refused(self.error)
            import re
            import warnings

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # a FutureWarning marks a construct re reads otherwise
                    self.compiled = re.compile(translate_for_python(self.source).encode("ascii"))
            except (re.error, ValueError, Warning) as exc:
                self.error = "pattern %r does not compile: %s" % (self.source, exc)
                raise _Refused(self.error) from None
        return self.compiled


class _Allow:
    __slots__ = ("regexes", "stopwords", "target", "all")

    def __init__(self, allow: dict, is_global: bool, check: bool = True) -> None:
        target = allow.get("target", "secret")
        if target not in ("secret", "match", "line") or (is_global and "target" in allow):
            raise _Refused('an allowlist\'s "target" must be "secret", "match" or "line"')
        condition = allow.get("condition", "or")
        if condition not in ("or", "and") or (is_global and "condition" in allow):
            raise _Refused('an allowlist\'s "condition" must be "or" or "and"')
        joined = any_of(_patterns(allow.get("regexes"), "allowlist regexes", check))
        self.regexes = None if joined is None else _Pattern(joined)  # searched as one
        self.stopwords = _lowercase_words(allow.get("stopwords"), "allowlist stopwords")
        self.target = target
        self.all = condition == "and"

    def allows(self, secret: bytes, lowered: bytes, matched: bytes, line: bytes) -> bool:
        target = secret if self.target == "secret" else matched if self.target == "match" else line
        regex_hit = self.regexes is not None and self.regexes.get().search(target) is not None
        stop_hit = any(word in lowered for word in self.stopwords)
        if self.all:
            return (self.regexes is None or regex_hit) and (not self.stopwords or stop_hit)
        return regex_hit or stop_hit


def _strings(value, what: str) -> list:
    if value is None:
        return []
    if type(value) is not list or not all(type(item) is str and item for item in value):
        raise _Refused("%s must be a list of non-empty strings" % what)
    return value


def _patterns(value, what: str, check: bool = True) -> list:
    sources = _strings(value, what)
    for source in sources if check else ():
        try:
            check_pattern(source)
        except _Refused as exc:
            raise _Refused("%s: %s" % (what, exc)) from None
    return sources


def _lowercase_words(value, what: str) -> list:
    words = _strings(value, what)
    if not all(word.isascii() for word in words):
        raise _Refused("%s must be ASCII" % what)
    return [word.lower().encode("ascii") for word in words]


def _checked_id(rule_id) -> str:
    if (
        type(rule_id) is not str
        or not rule_id
        or len(rule_id) > MAX_ID
        or not _ID_CHARS.issuperset(rule_id)
        or rule_id.startswith("-")
    ):
        raise _Refused("\"id\" must be 1 to %d of [a-z0-9-], not starting with '-'" % MAX_ID)
    return rule_id


def _number(value) -> bool:
    return type(value) in (int, float)


class _Rule:
    __slots__ = ("id", "regex", "quick", "keywords", "secret_group", "entropy", "allow", "placeholder")

    def __init__(self, rule, check: bool = True) -> None:
        if type(rule) is not dict:
            raise _Refused("not a JSON object")
        rule_id = _checked_id(rule.get("id"))
        source = rule.get("regex")
        if type(source) is not str:
            raise _Refused('"regex" must be a string')
        try:
            if check:
                check_pattern(source)
        except _Refused as exc:
            raise _Refused('"regex": %s' % exc) from None
        self.keywords = [word.decode("ascii") for word in _lowercase_words(rule.get("keywords"), '"keywords"')]
        group = rule.get("secret_group")
        if group is not None and (type(group) is not int or not 0 <= group <= 99):
            raise _Refused('"secret_group" must be an integer from 0 to 99')
        entropy = rule.get("entropy")
        if entropy is not None and (not _number(entropy) or not 0.0 <= entropy <= 8.0):
            raise _Refused('"entropy" must be a number from 0 to 8')
        allow = rule.get("allow")
        if allow is not None and (type(allow) is not list or not all(type(item) is dict for item in allow)):
            raise _Refused('"allow" must be a list of objects')
        self.allow = [_Allow(item, False, check) for item in allow or ()]
        self.id = rule_id
        self.regex = _Pattern(source)
        quick = quick_pattern(source)
        self.quick = None if quick is None else _Pattern(quick)
        self.secret_group = group
        self.entropy = None if entropy is None else float(entropy)
        self.placeholder = ("[REDACTED:%s]" % rule_id).encode("ascii")

    def compile(self) -> None:
        """A user rule is compiled when it is loaded, so a bad one is refused up front."""
        groups = self.regex.get().groups + 1
        if self.quick is not None:
            self.quick.get()
        if self.secret_group is not None and self.secret_group >= groups:
            raise _Refused('"secret_group" %d, but the pattern has %d group(s)' % (self.secret_group, groups - 1))
        for allow in self.allow:
            if allow.regexes is not None:
                allow.regexes.get()


def _printable(text: str) -> str:
    return "".join("?" if not char.isprintable() else char for char in text[:MAX_ID])


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte, summed over byte values in ascending order."""
    if not data:
        return 0.0
    from math import log2

    counts = [0] * 256
    for byte in data:
        counts[byte] += 1
    total = float(len(data))
    result = 0.0
    for count in counts:
        if count:
            p = count / total
            result -= p * log2(p)
    return result


def _widen(text: bytes, start: int, end: int):
    """The span widened to whole UTF-8 characters."""
    while 0 < start < len(text) and text[start] & 0xC0 == 0x80:
        start -= 1
    while end < len(text) and text[end] & 0xC0 == 0x80:
        end += 1
    return start, end


def _replace(text: bytes, spans: list, placeholder: bytes) -> bytes:
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(placeholder)
        last = end
    out.append(text[last:])
    return b"".join(out)


class _LazyRule:
    """A rule of the package's own file, not built yet: its id and keywords are enough to merge and prefilter."""

    __slots__ = ("item", "id", "keywords")

    def __init__(self, item) -> None:
        if type(item) is not dict:
            raise _Refused("not a JSON object")
        self.item = item
        self.id = _checked_id(item.get("id"))
        if type(item.get("regex")) is not str:
            raise _Refused('"regex" must be a string')
        self.keywords = [word.decode("ascii") for word in _lowercase_words(item.get("keywords"), '"keywords"')]


def _gather(value, texts: list, top: bool = False) -> None:
    """Every string of a value, keys included (not the values of STRUCTURE at the top)."""
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                if top and key in STRUCTURE:
                    continue
                texts.append(key)
            _gather(item, texts)
    elif isinstance(value, list):
        for item in value:
            _gather(item, texts)


def _push(path: str, name: str) -> str:
    return "%s.%s" % (path, name) if path else name


class Redactor:
    """Redact secrets with rule documents (JSON bytes, the first the built-in rules; later ones may be refused rule by rule, see problems)."""

    STRUCTURE = STRUCTURE

    def __init__(self, documents):
        self._rules: list = []
        self._global: list = []
        self._problems: list = []
        for index, document in enumerate(documents):
            try:
                self._add_document(bytes(document), index)
            except (_Refused, ValueError, RecursionError) as exc:
                if not index:
                    raise ValueError("bad rule file: %s" % exc) from None
                self._problems.append("rule file %d: %s; none of its rules used" % (index, exc))
        self._always = [number for number, rule in enumerate(self._rules) if not rule.keywords]
        self._by_keyword: dict = {}
        for number, rule in enumerate(self._rules):
            for keyword in rule.keywords:
                self._by_keyword.setdefault(keyword.encode("ascii"), []).append(number)

    def _add_document(self, document: bytes, index: int) -> None:
        from . import _python

        user = index > 0
        try:
            top = _python.loads(document)
        except (ValueError, RecursionError):
            raise _Refused("not valid JSON") from None
        if type(top) is not dict:
            raise _Refused("not a JSON object")
        if top.get("format") != FORMAT or type(top.get("format")) is not int:
            raise _Refused('"format" is not %d' % FORMAT)
        rules = top.get("rules", [])
        if type(rules) is not list:
            raise _Refused('"rules" is not a list')
        allow = top.get("allow")
        if allow is not None and type(allow) is not dict:
            raise _Refused('"allow" is not an object')
        # The package's own rule file (the first) is checked by the tests, not here: walking
        # its patterns in Python would cost a hook 20 ms (the Rust kernel compiles it in).
        check = user
        glob = _Allow(allow, True, check) if allow is not None else None
        parsed: list = []
        for number, item in enumerate(rules):
            if not user:
                # The package's own rules are built when the prefilter first picks them: a
                # hook process needs a handful of the hundreds.
                try:
                    parsed.append(_LazyRule(item))
                except _Refused as exc:
                    raise _Refused("rule %d: %s" % (number, exc)) from None
                continue
            try:
                rule = _Rule(item, check)
                if user:
                    rule.compile()
            except _Refused as exc:
                if not user:
                    raise _Refused("rule %d: %s" % (number, exc)) from None
                rule_id = item.get("id") if type(item) is dict else None
                shown = _printable(rule_id) if type(rule_id) is str else "?"
                self._problems.append("rule file %d, rule %d (%s): %s; not used" % (index, number, shown, exc))
                continue
            parsed.append(rule)
        if glob is not None:
            if user and glob.regexes is not None:
                glob.regexes.get()
            self._global.append(glob)
        where = {old.id: at for at, old in enumerate(self._rules)}
        for rule in parsed:
            at = where.get(rule.id)
            if at is None:
                where[rule.id] = len(self._rules)
                self._rules.append(rule)
            else:
                self._rules[at] = rule

    @property
    def problems(self) -> list:
        """What was refused in the user rule documents, one line each."""
        return list(self._problems)

    @property
    def rule_count(self) -> int:
        """The number of rules."""
        return len(self._rules)

    def _candidates(self, text: bytes, scope=None) -> list:
        """The rules whose keywords occur in text; ``scope``: the only keywords that can
        (those found in the whole record), or None for all."""
        chosen = set(self._always)
        if self._by_keyword:
            lowered = text.lower()  # bytes.lower folds ASCII only, like the prefilter's
            for keyword in self._by_keyword if scope is None else scope:
                if keyword in lowered:
                    chosen.update(self._by_keyword[keyword])
        return sorted(chosen)

    def _rule(self, number: int) -> _Rule:
        rule = self._rules[number]
        if type(rule) is _LazyRule:
            try:
                rule = self._rules[number] = _Rule(rule.item, False)
            except _Refused as exc:
                raise _Refused("rule %s: %s" % (rule.id, exc)) from None
        return rule

    def _redact(self, text: bytes, scope=None):
        """``(new bytes, [(rule, count)], [(rule, secret bytes)])``, or None when nothing was found."""
        fired: list = []
        secrets: list = []
        for number in self._candidates(text, scope):
            rule = self._rule(number)
            spans = self._find(rule, text)
            if spans:
                secrets.extend((number, text[start:end]) for start, end in spans)
                text = _replace(text, spans, rule.placeholder)
                fired.append((number, len(spans)))
        return (text, fired, secrets) if fired else None

    def _find(self, rule: _Rule, text: bytes) -> list:
        if rule.quick is not None and rule.quick.get().search(text) is None:
            return []
        regex = rule.regex.get()
        spans: list = []
        position = 0
        while position <= len(text):
            found = regex.search(text, position)
            if found is None:
                break
            whole_start, whole_end = found.span()
            if whole_start == whole_end:
                position = whole_end + 1
                continue
            position = whole_end
            group = rule.secret_group
            if group == 0:
                start, end = whole_start, whole_end
            elif group is not None:
                if group > regex.groups:
                    continue  # no such group: never a secret (user rules are refused for it when loaded)
                start, end = found.span(group)
            else:
                start, end = whole_start, whole_end
                for index in range(1, (regex.groups or 0) + 1):
                    g_start, g_end = found.span(index)
                    if g_start < g_end:
                        start, end = g_start, g_end
                        break
            if start < 0 or start == end or not self._counts(rule, text, start, end, whole_start, whole_end):
                continue
            start, end = _widen(text, start, end)
            if spans and start < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        return spans

    def _counts(self, rule: _Rule, text: bytes, start: int, end: int, whole_start: int, whole_end: int) -> bool:
        value = text[start:end]
        if rule.entropy is not None and entropy(value) < rule.entropy:
            return False
        lowered = value.lower()
        matched = text[whole_start:whole_end]
        line_start = text.rfind(b"\n", 0, whole_start) + 1
        line_end = text.find(b"\n", whole_end)
        line = text[line_start : len(text) if line_end < 0 else line_end]
        for allow in self._global + rule.allow:
            if allow.allows(value, lowered, matched, line):
                return False
        return True

    def _text(self, text: str, scope=None):
        raw = str.encode(text, "utf-8", "surrogatepass")
        try:
            result = self._redact(raw, scope)
        except _Refused as exc:
            raise ValueError("redaction failed: %s" % exc) from None
        if result is None:
            return None
        new, fired, secrets = result
        return new.decode("utf-8", "surrogatepass"), fired, secrets

    def redact_text(self, /, text):
        """The text with each secret replaced by [REDACTED:<rule id>], and [(rule id, count)]; None when nothing was redacted."""
        result = self._text(text)
        if result is None:
            return None
        return result[0], [(self._rules[number].id, count) for number, count in result[1]]

    def redact_record(self, /, record):
        """A copy of a record (dict) with secrets redacted in every string, keys included (not the values of type, id, timestamp, session_id, prev), [(field, rule id, count)] and [(rule id, secret)]; None when nothing was redacted."""
        found: list = []
        secrets: list = []
        new = self._dict(record, "", (found, secrets, self._scope(record)), True)
        if new is None:
            return None
        return new, found, [(self._rules[number].id, raw.decode("utf-8", "surrogatepass")) for number, raw in secrets]

    def _scope(self, record: dict) -> list:
        """The keywords found anywhere in the record's strings (keys included): each string
        is then checked for those only. Joined with NUL, which no keyword holds, so no keyword
        is found across two strings."""
        texts: list = []
        _gather(record, texts, True)
        lowered = "\x00".join(texts).encode("utf-8", "surrogatepass").lower()
        return [keyword for keyword in self._by_keyword if keyword in lowered]

    def _note(self, path: str, result, found) -> None:
        fields, secrets = found[0], found[1]
        for number, count in result[1]:
            fields.append((path, self._rules[number].id, count))
        for secret in result[2]:
            if secret not in secrets:
                secrets.append(secret)

    def _value(self, value, path: str, found):
        if isinstance(value, str):
            result = self._text(value, found[2])
            if result is None:
                return None
            self._note(path, result, found)
            return result[0]
        if isinstance(value, dict):
            return self._dict(value, path, found, False)
        if isinstance(value, list):
            items, changed = [], False
            for index, item in enumerate(value):
                new = self._value(item, _push(path, str(index)), found)
                if new is not None:
                    changed = True
                    item = new
                items.append(item)
            return items if changed else None
        return None

    def _dict(self, value: dict, path: str, found, top: bool):
        items, changed = [], False
        for key, item in value.items():
            new_key = key
            if isinstance(key, str):
                if top and key in STRUCTURE:
                    items.append((key, item))
                    continue
                result = self._text(key, found[2])
                name = key if result is None else result[0]
                here = _push(path, str.encode(name, "utf-8", "surrogatepass").decode("utf-8", "replace"))
                if result is not None:
                    self._note(here, result, found)
                    new_key = result[0]
                    changed = True
            else:
                here = _push(path, str(key))
            new = self._value(item, here, found)
            if new is not None:
                changed = True
                item = new
            items.append((new_key, item))
        if not changed:
            return None
        out: dict = {}
        for key, item in items:
            if key in out:
                # Two keys redacted alike (or a key alike an earlier redacted one): number the later one.
                stem, number = str(key), 2
                while "%s#%d" % (stem, number) in out:
                    number += 1
                key = "%s#%d" % (stem, number)
            out[key] = item
        return out
