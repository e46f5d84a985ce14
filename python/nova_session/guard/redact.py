"""Secret redaction at write time: the one Python layer over the kernels' ``Redactor``.

The rules are data: ``rules/redact.json`` (gitleaks' default rules, MIT, see
``rules/NOTICE.md``, and our own), plus the files ``NOVA_SESSION_REDACT_RULES``
names (``os.pathsep``-separated; same format; a rule with a built-in id
replaces it). They are loaded once per process, on the first redaction. A
user file or rule that cannot be used is refused with one warning, the others
stay in force.

``apply(record)`` redacts a record in place (every string, keys too, but the
values of type, id, timestamp, session_id and prev) and adds ``redactions``:
``[{"field", "rule", "count"}]``, never the secret. A secret a rule finds in one
string is then replaced wherever else it occurs in the record (a path cut out of
the command, the value printed alone in the output). It fails closed: when the
engine cannot run, the record's strings are replaced, not written in the
clear (``redaction_error`` says why), and the record is still written.

The hooks redact unless ``NOVA_SESSION_REDACT=0``. Library callers ask for it
per call (``append_event(sid, redact_event(data))``) or per object (set
``redact = True`` on a ``SessionManager`` or ``SessionWriter``); the public
functions' signatures stay as they are.
"""

from __future__ import annotations

import os
import stat

from .. import _log, sessions

STRUCTURE = sessions.kernel.Redactor.STRUCTURE  # top-level keys whose values are never redacted

RULES_ENV = "NOVA_SESSION_REDACT_RULES"
SWITCH_ENV = "NOVA_SESSION_REDACT"
# The package's own rule file, by path: importlib.resources costs a hook process milliseconds.
BUILTIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules", "redact.json")
MAX_RULE_FILE = 4 << 20
FAILED = "[REDACTED:redaction-failed]"
# A secret found in one string is also replaced in every other string of the record, when at
# least this long (shorter ones would hit unrelated text).
MIN_SCRUBBED = 6
# How far past the truncation limit strings are cut before redaction (see precut).
MARGIN = 64 << 10
# What a record keeps when the engine cannot run: its structure and what the hook computed.
_KEPT_ON_FAILURE = STRUCTURE | {"hook_event", "agent", "tool_name", "tool_use_id"}

_cache: dict = {}
_warned: set = set()


def enabled(environ=None) -> bool:
    """Whether the hooks redact: always, unless NOVA_SESSION_REDACT is "0" (or "false", "no", "off")."""
    value = (os.environ if environ is None else environ).get(SWITCH_ENV, "")
    return value.strip().lower() not in ("0", "false", "no", "off")


def _read(path: str) -> bytes:
    """A rule file's bytes: a regular file (links followed: a config file may be one), at most MAX_RULE_FILE."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(22, "not a regular file")
        chunks, size = [], 0
        while size <= MAX_RULE_FILE:
            chunk = os.read(fd, MAX_RULE_FILE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_RULE_FILE:
        raise OSError(27, "larger than %d bytes" % MAX_RULE_FILE)
    return b"".join(chunks)


def redactor():
    """The process's redactor (built on first use, with the kernel loaded); ValueError when it cannot be built."""
    user = os.environ.get(RULES_ENV, "")
    key = (sessions.kernel.__name__, user)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        documents = [_read(BUILTIN)]
    except OSError as exc:
        raise ValueError("cannot read the built-in rules %s: %s" % (BUILTIN, exc.strerror or exc)) from None
    sources = [BUILTIN]
    for path in filter(None, user.split(os.pathsep)):
        try:
            documents.append(_read(path))
            sources.append(path)
        except OSError as exc:
            _log.warn(
                "nova_session redaction: %s: %s: cannot read it (%s); its rules are not used",
                RULES_ENV,
                path,
                exc.strerror or exc,
            )
    engine = sessions.kernel.Redactor(documents)
    for problem in engine.problems:
        # "rule file N, ..." from the kernel: N counts the documents given, the built-in one being 0.
        head, _, rest = problem.partition(",") if problem.startswith("rule file ") else ("", "", problem)
        number = head[len("rule file ") :].partition(":")[0]
        where = sources[int(number)] if number.isdigit() and int(number) < len(sources) else "?"
        text = problem if not head else "%s:%s" % (where, rest if rest else head.partition(":")[2])
        _log.warn("nova_session redaction: %s: %s", RULES_ENV, text.strip())
    _cache.clear()
    _cache[key] = engine
    return engine


def redact_text(text: str):
    """``(text with each secret replaced by [REDACTED:<rule id>], [(rule id, count)])``; raises ValueError when the engine cannot run."""
    result = redactor().redact_text(text)
    return (text, []) if result is None else result


def apply(record: dict) -> list:
    """Redact a record in place and list the redactions (also in ``record["redactions"]``). Never raises."""
    try:
        result = redactor().redact_record(record)
    except Exception as exc:  # noqa: BLE001 - fail closed: the record is written, its secrets are not
        if str(exc) not in _warned:  # once per process and reason: a hook may write several records
            _warned.add(str(exc))
            _log.warn("nova_session redaction failed, the record's text is withheld: %s", exc)
        _withhold(record, str(exc))
        return []
    if result is None:
        return []
    new, found, secrets = result
    scrub = [(secret, rule) for rule, secret in secrets if len(secret) >= MIN_SCRUBBED]
    if scrub:
        scrub.sort(key=lambda pair: -len(pair[0]))
        new = _scrub(new, "", scrub, found, True)
    record.clear()
    record.update(new)
    redactions = [{"field": field, "rule": rule, "count": count} for field, rule, count in found]
    record["redactions"] = redactions
    return redactions


def _scrub_text(text: str, path: str, scrub: list, found: list) -> str:
    for secret, rule in scrub:
        count = text.count(secret)
        if count:
            text = text.replace(secret, "[REDACTED:%s]" % rule)
            found.append((path, rule, count))
    return text


def _scrub(value, path: str, scrub: list, found: list, top: bool = False):
    """Copies of the secrets found elsewhere in the record (a path cut out of a command,
    a value printed alone in the output), replaced too."""
    if isinstance(value, str):
        return _scrub_text(value, path, scrub, found)
    if isinstance(value, list):
        return [_scrub(item, "%s.%d" % (path, n) if path else str(n), scrub, found) for n, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict = {}
    for key, item in value.items():
        if top and key in STRUCTURE:
            out[key] = item
            continue
        name = str(key)
        here = "%s.%s" % (path, name) if path else name
        if isinstance(key, str):
            key = _scrub_text(key, here, scrub, found)
            here = "%s.%s" % (path, key) if path else key
        while key in out:  # a key scrubbed into one already there: numbered, not lost
            key = "%s#2" % key
        out[key] = _scrub(item, here, scrub, found)
    return out


def precut(record: dict, limit: int) -> dict:
    """Cut a record's strings at ``limit`` + MARGIN bytes, before redaction: the truncation that
    follows keeps ``limit`` bytes, so redacting the rest would only cost the hook time (a
    multi-megabyte output). Returns {field: original size} of the strings cut. A secret that
    starts before ``limit`` is whole in what is kept unless it is longer than MARGIN."""
    from .. import records

    return {cut["field"]: cut["original_bytes"] for cut in records.truncate_strings(record, limit + MARGIN)}


def redact_event(event_data) -> dict:
    """A redacted copy of an event (a dict or mapping), with ``redactions`` when anything was. Never raises."""
    record = dict(event_data)
    apply(record)
    return record


def _withhold(record: dict, why: str) -> None:
    for key in list(record):
        if key not in _KEPT_ON_FAILURE:
            record[key] = _blank(record[key])
    record["redaction_error"] = why[:500]


def _blank(value):
    if isinstance(value, str):
        return FAILED
    if isinstance(value, dict):
        return {FAILED + ("#%d" % n if n else ""): _blank(v) for n, v in enumerate(value.values())}
    if isinstance(value, list):
        return [_blank(item) for item in value]
    return value
