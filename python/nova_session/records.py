"""Building the records hooks write: the files a tool touched, MCP and Skill
fields, and the truncation of large strings.

Standard library only, and nothing slow to import: this runs in every hook
process.
"""

from __future__ import annotations

import os
import time

TRUNCATE_VAR = "NOVA_SESSION_MAX_FIELD_BYTES"
DEFAULT_MAX_FIELD_BYTES = 10240

# Tool input keys that name one file or directory.
_PATH_KEYS = {
    "Read": ("file_path",),
    "Write": ("file_path",),
    "Edit": ("file_path",),
    "MultiEdit": ("file_path",),
    "NotebookEdit": ("notebook_path",),
    "NotebookRead": ("notebook_path",),
    "Glob": ("path",),
    "Grep": ("path",),
    "LS": ("path",),
}
# Tools whose response lists the files they found.
_LISTING_TOOLS = ("Glob", "Grep")
_REDIRECTS = (">", ">>", "<", ">|", "&>", "&>>", "<>")
_SEPARATORS = ("|", "||", "&&", ";", "&", "(", ")", "\n")
_OPERATOR_CHARS = "|&;<>()\n"
_GLOB_CHARS = "*?[]{}$`"


def max_field_bytes() -> int:
    """The truncation limit: NOVA_SESSION_MAX_FIELD_BYTES, default 10240 bytes."""
    return _env_int(TRUNCATE_VAR, DEFAULT_MAX_FIELD_BYTES)


# ----------------------------------------------------------------- truncation


def _cut(text: str, limit: int):
    """(text cut to at most limit UTF-8 bytes on a character boundary, its size in bytes) or None if it fits."""
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes
        return None
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return None
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # never split a character
        cut -= 1
    return data[:cut].decode("utf-8", "surrogatepass"), len(data)


def truncate_strings(record: dict, limit: int) -> list:
    """Cut every string in record longer than limit bytes, in place.

    Returns:
        One ``{"field", "original_bytes", "kept_bytes"}`` per cut string, ``field``
        a path such as ``tool_input.content`` or ``tool_output.filenames[3]``.
    """
    notes: list = []
    _truncate_in(record, "", limit, notes, 0)
    return notes


def _truncate_in(container, prefix: str, limit: int, notes: list, depth: int) -> None:
    if depth > 64:
        return
    if type(container) is dict:
        if any(type(key) is str and _cut(key, limit) is not None for key in container):
            _cut_keys(container, prefix, limit, notes)
        items = [(key, value, "%s%s" % (prefix + "." if prefix else "", key)) for key, value in container.items()]
    else:
        items = [(index, value, "%s[%d]" % (prefix, index)) for index, value in enumerate(container)]
    for key, value, field in items:
        kind = type(value)
        if kind is str:
            cut = _cut(value, limit)
            if cut is not None:
                container[key] = cut[0]
                notes.append(
                    {
                        "field": field,
                        "original_bytes": cut[1],
                        "kept_bytes": len(cut[0].encode("utf-8", "surrogatepass")),
                    }
                )
        elif kind is dict or kind is list:
            _truncate_in(value, field, limit, notes, depth + 1)


def _cut_keys(container: dict, prefix: str, limit: int, notes: list) -> None:
    """Cut the keys longer than limit bytes, keeping the order of the items."""
    items = list(container.items())
    container.clear()
    for key, value in items:
        cut = _cut(key, limit) if type(key) is str else None
        if cut is not None:
            key = cut[0]
            notes.append(
                {
                    "field": "%s%s (key)" % (prefix + "." if prefix else "", key),
                    "original_bytes": cut[1],
                    "kept_bytes": len(key.encode("utf-8", "surrogatepass")),
                }
            )
        container[key] = value


MAX_RECORD_VAR = "NOVA_SESSION_MAX_RECORD_BYTES"
DEFAULT_MAX_RECORD_BYTES = 1 << 20


def cap_record(record: dict, encode) -> list:
    """Keep one record within NOVA_SESSION_MAX_RECORD_BYTES (default 1 MiB) once
    encoded: strings are cut already, but a list of many can still be huge. Its
    largest top-level values are replaced by ``"<cut: N bytes>"``, largest first,
    until it fits; returns the notes for ``truncated_fields``."""
    limit = _env_int(MAX_RECORD_VAR, DEFAULT_MAX_RECORD_BYTES)
    size = len(encode(record))
    notes: list = []
    if size <= limit:
        return notes
    sizes = sorted(
        ((len(encode({"v": value})) - 6, key) for key, value in record.items() if key not in _KEPT), reverse=True
    )
    for value_size, key in sizes:
        if size <= limit or value_size < 64:
            break
        placeholder = "<cut: %d bytes>" % value_size
        record[key] = placeholder
        size -= value_size - len(placeholder) - 2
        notes.append({"field": str(key), "original_bytes": value_size, "kept_bytes": len(placeholder) + 2})
    return notes


# Keys a record keeps whole however large it is: they say what the record is.
_KEPT = ("type", "id", "timestamp", "tool_use_id", "tool_name", "hook_event", "agent", "prev")


# --------------------------------------------------------------- tool details


def mcp_fields(tool_name: str):
    """``(server, function)`` of an ``mcp__server__function`` tool name, else None.

    Plugin servers keep their full name (``mcp__plugin_x_y__f`` -> ``plugin_x_y``).
    """
    if not tool_name.startswith("mcp__"):
        return None
    server, _, function = tool_name[5:].partition("__")
    return (server or None), (function or None)


def skill_name(tool_input) -> object:
    """The skill a Skill tool call ran, whichever key this Claude Code version uses."""
    if type(tool_input) is dict:
        for key in ("skill", "command", "name"):
            if isinstance(tool_input.get(key), str):
                return tool_input[key]
    return None


def files_accessed(tool_name: str, tool_input, tool_output, cwd: str, notes: list | None = None) -> list:
    """Absolute, normalised, deduplicated paths a tool call read, wrote or listed.

    At most NOVA_SESSION_MAX_FILES of them (default 1000), found within
    NOVA_SESSION_ENRICH_BUDGET_MS (default 1000 ms): when either runs out, what
    was found is kept and ``notes`` (the record's ``truncated_fields``) says so."""
    limit = _env_int(MAX_FILES_VAR, DEFAULT_MAX_FILES)
    deadline = time.monotonic() + _env_int(BUDGET_VAR, DEFAULT_BUDGET_MS) / 1000.0
    found: list = []
    cut = None
    if type(tool_input) is dict:
        for key in _PATH_KEYS.get(tool_name, ()):
            if isinstance(tool_input.get(key), str):
                found.append(tool_input[key])
        if tool_name == "Bash" and isinstance(tool_input.get("command"), str):
            named, cut = _bash_paths(tool_input["command"], cwd, limit, deadline)
            found.extend(named)
        if tool_name == "MultiEdit" and isinstance(tool_input.get("edits"), list):
            found.extend(
                e["file_path"] for e in tool_input["edits"] if type(e) is dict and isinstance(e.get("file_path"), str)
            )
    if tool_name in _LISTING_TOOLS and type(tool_output) is dict and isinstance(tool_output.get("filenames"), list):
        found.extend(name for name in tool_output["filenames"] if isinstance(name, str))
    paths = normalise_paths(found, cwd)
    if len(paths) > limit:
        cut = cut or "more than %d paths (%s)" % (limit, MAX_FILES_VAR)
        paths = paths[:limit]
    if cut is not None and notes is not None:
        notes.append({"field": "files_accessed", "kept_count": len(paths), "cut": cut})
    return paths


MAX_FILES_VAR = "NOVA_SESSION_MAX_FILES"
DEFAULT_MAX_FILES = 1000
BUDGET_VAR = "NOVA_SESSION_ENRICH_BUDGET_MS"
DEFAULT_BUDGET_MS = 1000
# A directory longer than this is no real one (PATH_MAX): a cd past it is not followed.
_MAX_DIRECTORY = 4096


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        from . import _log

        _log.warn("%s=%r is not a count (a whole number >= 0); using %d", name, raw, default)
        return default


def normalise_paths(paths, cwd: str) -> list:
    seen: dict = {}
    for path in paths:
        if not path or "\0" in path:
            continue
        path = os.path.expanduser(path) if path.startswith("~") else path
        seen.setdefault(os.path.normpath(os.path.join(cwd, path)), None)
    return list(seen)


def split_shell(command: str) -> list:
    """Split a shell command into ``(word, is_operator)`` pairs, honouring quotes,
    escapes and here-documents (whose bodies are text, not command words)."""
    return [(text, kind == "op") for text, kind in _shell_tokens(command)]


_HEREDOCS = ("<<", "<<-")
_STRING_OPERATORS = _HEREDOCS + ("<<<",)  # the next word is a delimiter or a string, not a file


def _shell_tokens(command: str) -> list:
    """``(text, kind)`` with kind "op", "word" or "quoted" (a word that had quotes)."""
    tokens: list = []
    word: list = []
    quoted = False  # whether the current word had quotes (so '' is still a word)
    heredocs: list = []  # (delimiter, strip leading tabs) whose bodies start after this line
    expect_delimiter = None
    index = 0
    length = len(command)

    def flush() -> None:
        nonlocal quoted, expect_delimiter
        if word or quoted:
            text = "".join(word)
            tokens.append((text, "quoted" if quoted else "word"))
            if expect_delimiter is not None:
                heredocs.append((text, expect_delimiter == "<<-"))
                expect_delimiter = None
            word.clear()
        quoted = False

    while index < length:
        char = command[index]
        if char == "\\" and index + 1 < length:
            word.append(command[index + 1])
            index += 2
            continue
        if char == "'":
            end = command.find("'", index + 1)
            end = length if end == -1 else end
            word.append(command[index + 1 : end])
            quoted = True
            index = end + 1
            continue
        if char == '"':
            index += 1
            while index < length and command[index] != '"':
                if command[index] == "\\" and index + 1 < length and command[index + 1] in '"\\$`':
                    index += 1
                word.append(command[index])
                index += 1
            quoted = True
            index += 1
            continue
        if char in " \t":
            flush()
            index += 1
            continue
        if char == "\n":
            flush()
            index = _skip_heredoc_bodies(command, index + 1, heredocs)
            heredocs.clear()
            tokens.append(("\n", "op"))
            continue
        if char in _OPERATOR_CHARS:
            # A descriptor number right before a redirection belongs to it (2>, 1>>).
            if char in "<>" and word and "".join(word).isdigit() and not quoted:
                word.clear()
            else:
                flush()
            if command.startswith("<<", index):
                operator = (
                    "<<<" if command.startswith("<<<", index) else "<<-" if command.startswith("<<-", index) else "<<"
                )
                if operator in _HEREDOCS:
                    expect_delimiter = operator
            else:
                operator = char
                while (
                    index + len(operator) < length
                    and operator + command[index + len(operator)] in _REDIRECTS + _SEPARATORS
                ):
                    operator += command[index + len(operator)]
                if operator in (">", ">>") and index + len(operator) < length and command[index + len(operator)] == "&":
                    operator += "&"  # 2>&1: a descriptor, not a file
            tokens.append((operator, "op"))
            index += len(operator)
            continue
        word.append(char)
        index += 1
    flush()
    return tokens


def _skip_heredoc_bodies(command: str, index: int, heredocs: list) -> int:
    """The index after the here-document bodies that start at index (one per delimiter)."""
    for delimiter, strip_tabs in heredocs:
        while index < len(command):
            end = command.find("\n", index)
            end = len(command) if end == -1 else end
            line = command[index:end]
            index = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                break
    return min(index, len(command))


def bash_paths(command: str, cwd: str) -> list:
    """Paths a shell command names: redirection targets, and arguments that look like paths.

    Relative paths stay relative to cwd, except after a ``cd`` in the same
    command, which they follow (they are then joined to the new directory).
    A quoted word with a ``/`` counts only when it names an existing file
    (``"s/a/b/g"`` is a sed script, not a path).
    """
    return _bash_paths(command, cwd, DEFAULT_MAX_FILES, time.monotonic() + DEFAULT_BUDGET_MS / 1000.0)[0]


def _bash_paths(command: str, cwd: str, limit: int, deadline: float):
    """(bash_paths, why they were cut or None): at most limit + 1 paths, until deadline;
    linear in the command's size (a cd past PATH_MAX is not followed)."""
    paths: list = []
    base = cwd
    redirect = skip_next = change_directory = False
    command_position = True
    for count, (word, kind) in enumerate(_shell_tokens(command)):
        if len(paths) > limit:
            return paths, "more than %d paths (%s)" % (limit, MAX_FILES_VAR)
        if count % 256 == 255 and time.monotonic() > deadline:
            return paths, "time budget of %s ran out" % BUDGET_VAR
        if kind == "op":
            redirect = word in _REDIRECTS
            skip_next = word in _STRING_OPERATORS
            command_position = word in _SEPARATORS
            continue
        if skip_next:
            skip_next = False
            continue
        path = word if base == cwd else os.path.join(base, word)
        if redirect:
            if word and not word.startswith("&"):
                paths.append(path)
            redirect = False
            continue
        if command_position:
            if "=" in word.split("/", 1)[0]:
                continue  # VAR=value before the command
            command_position = False
            change_directory = word == "cd"
            if word.startswith(("./", "../")):
                paths.append(path)  # a script run from the project
            continue
        if change_directory:
            change_directory = False
            target = os.path.normpath(os.path.join(base, os.path.expanduser(word)))
            if len(target) > _MAX_DIRECTORY:
                continue  # no real directory: later words stay relative to the last real one
            base = target
            paths.append(base)  # the directory it went into was accessed too
            continue
        if kind == "quoted" and "/" in word and not os.path.exists(os.path.join(base, word)):
            continue  # "s/a/b/g" is a sed script; a quoted path counts when it is there
        if _looks_like_path(word, base):
            paths.append(path)
    return paths, None


def _looks_like_path(word: str, cwd: str) -> bool:
    if not word or word.startswith("-") or "://" in word or any(c in word for c in _GLOB_CHARS):
        return False
    if "/" in word or word.startswith("~") or word in (".", ".."):
        return True
    stem, dot, extension = word.rpartition(".")
    if dot and stem and 0 < len(extension) <= 8 and extension.isalnum() and not extension.isdigit():
        return True  # name.ext: a file, whether or not it exists yet
    return os.path.exists(os.path.join(cwd, word))  # another bare name counts when it is a file here
