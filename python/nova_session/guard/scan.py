"""NOVA verdicts at hook speed: the built-in scanner of tool events.

The rules are ``.nov`` files (the NOVA rule language, ``guard/nova.py``): by
default the four files of ``rules/nova/`` (the shipped Claude Code hook's own
rules, MIT, see ``rules/nova/NOTICE.md``), read from the compiled document
``rules/nova/compiled.json`` beside them (``tools/compile_nova_rules.py``
writes it; a test checks it), so a hook parses nothing. ``NOVA_SESSION_RULES``
names other files or directories (``os.pathsep``-separated): they replace the
built-in rules, unless the list holds the word ``builtin``, which adds them.
Those are parsed once and kept, compiled, in the user's cache directory under
the hash of their content; a file or rule that cannot be used is refused with
one warning naming it and the line, the others stay in force.

A tool event's verdict comes from the kernel's ``NovaRules`` (the keyword
tier, as nova-hunting evaluates it without its semantic and LLM tiers) over
every string of its input and output, keys included, each cut to
``NOVA_SESSION_SCAN_MAX_CHARS`` characters (50,000, as the shipped hook): the
highest severity of the rules matched decides (``high`` or ``critical``:
``"blocked"``; ``medium``, ``low`` or none given: ``"warned"``; no match:
``"allowed"``).
"""

from __future__ import annotations

import os

from .. import _log, sessions

RULES_ENV = "NOVA_SESSION_RULES"
BOUND_ENV = "NOVA_SESSION_SCAN_MAX_CHARS"
DEFAULT_BOUND = 50_000
# All strings of one event together are scanned up to this many characters.
TOTAL_BOUND = 1 << 20
BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules", "nova")
COMPILED = os.path.join(BUILTIN_DIR, "compiled.json")
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}

_cache: dict = {}


def builtin_files() -> list:
    """The built-in ``.nov`` files, in name order."""
    return sorted(os.path.join(BUILTIN_DIR, name) for name in os.listdir(BUILTIN_DIR) if name.endswith(".nov"))


def confusables() -> dict:
    """nova-hunting's homoglyph and invisible-character table (rules/nova/confusables.json)."""
    with open(os.path.join(BUILTIN_DIR, "confusables.json"), "rb") as handle:
        return sessions.kernel.loads(handle.read())


def rule_files(entries: list) -> list:
    """The ``.nov`` files of a list of files and directories (a directory's, in name order)."""
    files = []
    for entry in entries:
        if os.path.isdir(entry):
            files.extend(sorted(os.path.join(entry, name) for name in os.listdir(entry) if name.endswith(".nov")))
        else:
            files.append(entry)
    return files


def load(files: list) -> tuple:
    """``(rules, problems)``: the rules of .nov files, and a line per file or rule refused."""
    from . import nova

    rules: list = []
    problems: list = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append("%s: cannot read it: %s" % (path, getattr(exc, "strerror", None) or exc))
            continue
        parsed, errors = nova.parse(text)
        problems.extend("%s:%d: %s" % (path, error.line, error.message) for error in errors)
        for rule in parsed:
            if any(old.name == rule.name for old in rules):
                problems.append("%s:%d: a rule named %s is already loaded; not used" % (path, rule.line, rule.name))
            else:
                rules.append(rule)
    return rules, problems


class Engine:
    """The rules of a process: the kernel's NovaRules and each rule's name and severity."""

    def __init__(self, document: bytes) -> None:
        self.rules = sessions.kernel.NovaRules(document)
        self.names = self.rules.names
        self.severities = self.rules.severities


def engine() -> Engine:
    """The process's rules (built on first use); ValueError when they cannot be loaded."""
    setting = os.environ.get(RULES_ENV, "")
    key = (sessions.kernel.__name__, setting)
    cached = _cache.get(key)
    if cached is None:
        cached = Engine(_document(setting))
        _cache.clear()
        _cache[key] = cached
    return cached


def configured_files(setting: str | None = None) -> list:
    """The .nov files in force: NOVA_SESSION_RULES's (with the built-in ones for "builtin"), or the built-in ones."""
    setting = os.environ.get(RULES_ENV, "") if setting is None else setting
    entries = [entry for entry in setting.split(os.pathsep) if entry.strip()]
    files = rule_files([entry for entry in entries if entry != "builtin"])
    return builtin_files() + files if "builtin" in entries or not entries else files


def _document(setting: str) -> bytes:
    if not setting.strip(os.pathsep + " "):
        with open(COMPILED, "rb") as handle:
            return handle.read()
    return _compiled_cached(configured_files(setting))


def _compiled_cached(files: list) -> bytes:
    """The compiled document of rule files, from the cache when their content was compiled before."""
    import hashlib

    from . import nova

    digest = hashlib.sha256(b"nova-session compiled rules 1\0")
    for path in files:
        try:
            with open(path, "rb") as handle:
                digest.update(b"%d\0" % len(path) + path.encode("utf-8", "surrogateescape") + handle.read())
        except OSError:
            digest.update(b"unreadable\0" + path.encode("utf-8", "surrogateescape"))
    cache = os.path.join(_cache_dir(), "nova-rules-%s.json" % digest.hexdigest()[:32])
    try:
        with open(cache, "rb") as handle:
            return handle.read()
    except OSError:
        pass
    rules, problems = load(files)
    for problem in problems:
        _log.warn("nova_session rules: %s", problem)
    document = sessions.kernel.encode(nova.compile_rules(rules, confusables()))
    _store(cache, document)
    return document


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nova_session")


def _store(path: str, data: bytes) -> None:
    """Write a cache file atomically (temp file, then rename); a cache that cannot be written is skipped."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        temp = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        pass


def bound() -> int:
    """The characters of each string scanned (NOVA_SESSION_SCAN_MAX_CHARS, default 50,000)."""
    value = os.environ.get(BOUND_ENV, "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else DEFAULT_BOUND


def texts(value, out: list, limit: int) -> list:
    """The strings of a value (keys too), each cut to ``limit`` characters, until TOTAL_BOUND."""
    stack = [value]
    total = 0
    while stack and total < TOTAL_BOUND:
        item = stack.pop()
        if isinstance(item, str):
            if item.strip():
                out.append(item[:limit])
                total += min(len(item), limit)
        elif isinstance(item, dict):
            for key, inner in item.items():
                stack.append(inner)
                stack.append(key)
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    return out


def verdict(values: list) -> dict:
    """The verdict fields for values (a tool event's input and output, a prompt): every
    string in them is scanned. Raises when the rules cannot run."""
    rules = engine()
    limit = bound()
    strings: list = []
    for value in values:
        texts(value, strings, limit)
    matched = rules.rules.scan(strings) if strings else []
    return verdict_of([rules.names[index] for index in matched], [rules.severities[index] for index in matched])


def verdict_of(names: list, severities: list) -> dict:
    """The verdict fields for the rules matched (names, and their severities from meta)."""
    if not names:
        return {"nova_verdict": "allowed", "nova_severity": None, "nova_rules_matched": []}
    folded = [severity.strip().lower() for severity in severities]
    highest = max(folded, key=lambda severity: SEVERITY_RANK.get(severity, 2))
    rank = SEVERITY_RANK.get(highest, 2)
    return {
        "nova_verdict": "blocked" if rank >= SEVERITY_RANK["high"] else "warned",
        "nova_severity": highest if highest in SEVERITY_RANK else "medium",
        "nova_rules_matched": list(names),
    }
