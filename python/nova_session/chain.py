"""Checking the hash chain of a session file (README, "The hash chain"): the verifying side.

Every record the library writes after the init record ends with ``"prev"``: the
digest of the previous complete, parsable line, ``sha256:<hex>`` of its exact
bytes (without the newline) or, with a key file, ``hmac-sha256:<hex>`` keyed
with the file's bytes. ``ChainChecker`` is fed the complete, parsable lines of
a file in order and reports, through the verifier's ``problem`` callback:

- ``broken_link`` (on the record's line): its ``prev`` is not the digest of the
  complete, parsable line before it (that line was edited, or records were
  removed, inserted or moved there), is not a digest at all, or there is no
  line before it (the head of the file is gone).
- ``outside_chain`` (on the skipped line): a complete, parsable line the next
  record links past, to the line before it. The writer does that to a torn
  last line it completes before writing (even one that parses once ended),
  and an inserted line looks the same: never silently accepted. Unparsable
  lines are never links; they are reported as unparsable, not twice.
- ``torn_ended`` (on the skipped line): a line outside the chain shaped the
  way a writer's torn write is once a later write ended it: the record after
  it has the same id and the same ``prev`` (the crashed writer's id was never
  counted, so the next writer took it again) and other bytes. Reported, and
  not vouched for, but not tampering: a crash leaves exactly this. A copy of
  the next record (the same bytes) is a duplicate: ``outside_chain``.
- ``mixed_chain`` (on the record's line): a record after a keyed link whose
  link is plain sha256 or missing: anyone can write that, without the key (a
  tail re-chained or stripped after an edit).
- ``key_mismatch`` (the file): keyed links, a key, and no keyed link matches
  it: the wrong key, or a file re-chained with another key. Until one keyed
  link matches, failing keyed links are held back and reported as this one
  problem instead of one broken link per record.
- ``needs_key`` (the file): keyed links and no key: they cannot be checked.
- ``unkeyed`` (the file): a key was given, records follow the init record, and
  none is keyed: the key vouches for nothing (a session written without the
  key, or rewritten with a fresh plain chain or none).

Records without ``prev`` (an older version, or written by hand) are
"unchained": counted and noted, not a problem (unless after a keyed link).
The first four kinds are tampering evident (``TAMPER_KINDS``); the others say
the chain could not vouch for the file.

Memory is constant: the digests of the last two complete, parsable lines.
The digests come from the standard library (hashlib, hmac, imported when a
digest is made: the writers read their key file with ``read_key_file`` too).
"""

from __future__ import annotations

import os
import stat

KEY_FILE_ENV = "NOVA_SESSION_CHAIN_KEY_FILE"
PREV = "prev"
PLAIN = "sha256"
KEYED = "hmac-sha256"

BROKEN_LINK = "broken_link"
OUTSIDE_CHAIN = "outside_chain"
TORN_ENDED = "torn_ended"
MIXED_CHAIN = "mixed_chain"
KEY_MISMATCH = "key_mismatch"
NEEDS_KEY = "needs_key"
UNKEYED = "unkeyed"
KEY_FILE = "key_file"
# With the anchor's (anchor.py): a cut-off tail, or another line where the anchor's ended.
TAMPER_KINDS = frozenset((BROKEN_LINK, OUTSIDE_CHAIN, MIXED_CHAIN, KEY_MISMATCH, "anchor_cut", "anchor_mismatch"))

STATUS_INTACT = "intact"  # every link checked and matching
STATUS_TAMPERED = "tampered"  # a problem of TAMPER_KINDS
STATUS_NEEDS_KEY = "needs_key"  # keyed links, no key
STATUS_UNKEYED = "unkeyed"  # a key, and no keyed link
STATUS_NONE = "none"  # no link at all: an init-only or unchained file

LISTED_LINES = 20  # unchained line numbers listed; the rest are only counted
HELD_FAILURES = 200  # keyed failures held back until a keyed link matches the key

KEY_BYTES = 1 << 16  # a key file's bytes that make the key, as the writers read it

_HEX = frozenset("0123456789abcdef")


class KeyFileError(Exception):
    """The key file cannot be used; the message says why."""


def read_key_file(path: str) -> bytes:
    """The key in a key file, read as the writers read it (``sessions.chain_key``): a
    regular file, not a symbolic link, that only its owner may access (mode 0600
    or stricter: no permission for group or others); its first KEY_BYTES bytes.
    KeyFileError otherwise."""
    from . import paths

    try:
        fd = paths.open_regular(path, os.O_RDONLY)
    except OSError as exc:
        raise KeyFileError("cannot use the key file %s: %s" % (path, exc.strerror or exc)) from None
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            raise KeyFileError(
                "the key file %s has mode %04o: group or others have access (0600 or stricter needed)" % (path, mode)
            )
        return os.read(fd, KEY_BYTES)
    except OSError as exc:
        raise KeyFileError("cannot read the key file %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        os.close(fd)


def find_key(key: bytes | None = None, key_file: str | None = None, environ=None):
    """``(key or None, where it came from or None, why the key file was refused or None)``.

    The key argument wins; else ``key_file``; else the file ``NOVA_SESSION_CHAIN_KEY_FILE``
    names (unset or empty: no key). A refused file gives no key and the reason."""
    if key is not None:
        return bytes(key), "the key given", None
    source = "key file %s" % key_file if key_file else None
    if not key_file:
        key_file = (os.environ if environ is None else environ).get(KEY_FILE_ENV) or None
        source = "%s=%s" % (KEY_FILE_ENV, key_file) if key_file else None
    if not key_file:
        return None, None, None
    try:
        return read_key_file(key_file), source, None
    except KeyFileError as exc:
        return None, None, str(exc)


def digest(line: bytes, key: bytes | None = None) -> str:
    """The link to a line (its exact bytes, without the newline): ``sha256:…`` or, with a key, ``hmac-sha256:…``."""
    import hashlib
    import hmac

    if key is None:
        return "%s:%s" % (PLAIN, hashlib.sha256(line).hexdigest())
    return "%s:%s" % (KEYED, hmac.new(key, line, hashlib.sha256).hexdigest())


def parse_link(value):
    """``(scheme, 64 lowercase hex digits)`` of a ``prev`` value, or None when it is not a link."""
    if not isinstance(value, str):
        return None
    scheme, colon, digits = value.partition(":")
    if not colon or scheme not in (PLAIN, KEYED) or len(digits) != 64 or not _HEX.issuperset(digits):
        return None
    return scheme, digits


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


class ChainChecker:
    """Checks the links of one file, fed its complete, parsable lines in order.

    ``problem(line or None, kind, message)`` receives the findings and
    ``uncounted(kind, count)`` (optional) the number of those that were not
    listed (held-back failures beyond HELD_FAILURES); ``finish()`` adds the
    file-level ones and returns ``(summary dict, notes)``."""

    def __init__(self, key: bytes | None, problem, key_source: str | None = None, uncounted=None):
        import hashlib
        import hmac

        self.sha256, self.hmac, self.same = hashlib.sha256, hmac.new, hmac.compare_digest
        self.key = key
        self.key_source = key_source
        self.problem = problem
        self.uncounted = uncounted
        # (line number, sha256 hex, HMAC hex or None, its prev, its id) of the last
        # complete, parsable line and of the one before it: all the memory the check needs.
        self.previous: tuple | None = None
        self.before: tuple | None = None
        self.torn_ended_by: int | None = None  # the line that ended the last torn_ended line
        self.links = 0
        self.plain = 0
        self.keyed = 0
        self.unchecked = 0  # keyed links seen without the key
        self.malformed = 0
        self.unchained = 0
        self.unchained_lines: list = []
        self.unchained_after_links = 0
        self.first_keyed_line: int | None = None
        self.last_plain_before_keyed: int | None = None
        self.keyed_matched = False
        self.held: list = []  # keyed failures held back until a keyed link matches the key
        self.held_count = 0
        self.first_held_line: int | None = None
        self.tamper_count = 0
        self.broken = 0
        self.outside = 0
        self.key_mismatch = False

    def _tamper(self, line, kind: str, message: str) -> None:
        self.tamper_count += 1
        self.problem(line, kind, message)

    def add(self, number: int, raw: bytes, record: dict, is_init: bool = False) -> None:
        """A complete, parsable line: check its link, then make it the line the next one links to."""
        plain = self.sha256(raw).hexdigest()
        keyed = self.hmac(self.key, raw, self.sha256).hexdigest() if self.key is not None else None
        if PREV in record:
            self.check(number, record[PREV], plain, record.get("id"))
        elif not is_init:
            self.unchained += 1
            if len(self.unchained_lines) < LISTED_LINES:
                self.unchained_lines.append(number)
            if self.first_keyed_line is not None:
                self._tamper(
                    number,
                    MIXED_CHAIN,
                    "no prev after keyed links (from line %d): a record anyone can write without the key"
                    % self.first_keyed_line,
                )
            elif self.links:
                self.unchained_after_links += 1
        self.before, self.previous = self.previous, (number, plain, keyed, record.get(PREV), record.get("id"))

    def check(self, number: int, value, plain: str = "", record_id=None) -> None:
        self.links += 1
        link = parse_link(value)
        if link is None:
            self.malformed += 1
            self.broken += 1
            self._tamper(
                number, BROKEN_LINK, "prev is not a sha256: or hmac-sha256: digest of 64 hex digits: %s" % _shown(value)
            )
            return
        scheme, digits = link
        if scheme == KEYED:
            self.keyed += 1
            if self.first_keyed_line is None:
                self.first_keyed_line = number
        else:
            self.plain += 1
            if self.first_keyed_line is not None:
                self._tamper(
                    number,
                    MIXED_CHAIN,
                    "a plain sha256 link after keyed links (from line %d): anyone can compute it without the key"
                    % self.first_keyed_line,
                )
            else:
                self.last_plain_before_keyed = number
        previous, before = self.previous, self.before
        if previous is None:
            self.broken += 1
            self._tamper(
                number,
                BROKEN_LINK,
                "prev links to a line before it, but no complete record precedes it (the head of the file is gone)",
            )
            return
        if scheme == KEYED and self.key is None:
            self.unchecked += 1
            return
        index = 2 if scheme == KEYED else 1
        if self.same(digits, previous[index]):
            matched = True
        elif before is not None and self.same(digits, before[index]):
            matched = True
            self.outside += 1
            if previous[3] == value and type(record_id) is int and previous[4] == record_id and previous[1] != plain:
                self.torn_ended_by = number
                self.problem(
                    previous[0],
                    TORN_ENDED,
                    "a line outside the chain, not vouched for: a torn write that line %d ended (same id %d, same "
                    "link to line %d, written again after the crash)" % (number, record_id, before[0]),
                )
            else:
                self._tamper(
                    previous[0],
                    OUTSIDE_CHAIN,
                    "a line outside the chain: line %d links past it to line %d (a line inserted or duplicated there)"
                    % (number, before[0]),
                )
        else:
            matched = False
            message = (
                "prev does not match line %d, the complete record before it: that line was edited, or records "
                "were removed, inserted or moved there" % previous[0]
            )
        if scheme != KEYED:
            if not matched:
                self.broken += 1
                self._tamper(number, BROKEN_LINK, message)
            return
        if matched:
            if not self.keyed_matched:
                self.keyed_matched = True
                self._release_held()
            return
        if self.keyed_matched:
            self.broken += 1
            self._tamper(number, BROKEN_LINK, message)
            return
        # No keyed link has matched the key yet: a wrong key fails them all; hold them back.
        self.held_count += 1
        if self.first_held_line is None:
            self.first_held_line = number
        if len(self.held) < HELD_FAILURES:
            self.held.append((number, message))

    def _release_held(self) -> None:
        """A keyed link matched, so the key is right: the failures held back are broken links."""
        self.broken += self.held_count
        for number, message in self.held:
            self._tamper(number, BROKEN_LINK, message)
        if self.held_count > len(self.held) and self.uncounted is not None:
            self.uncounted(BROKEN_LINK, self.held_count - len(self.held))
        self.held, self.held_count = [], 0

    def finish(self):
        """Add the file-level problems; return ``(summary dict, notes)``."""
        notes = []
        if self.held_count:
            self.key_mismatch = True
            self._tamper(
                None,
                KEY_MISMATCH,
                "none of the %d keyed links checked matches the key (the first on line %d): the wrong key, a file "
                "re-chained with another key, or every linked record edited" % (self.held_count, self.first_held_line),
            )
        if self.unchecked:
            self.problem(
                None,
                NEEDS_KEY,
                "%d keyed (hmac-sha256) link%s from line %d cannot be checked without the key: pass --key-file or set %s"
                % (self.unchecked, "" if self.unchecked == 1 else "s", self.first_keyed_line, KEY_FILE_ENV),
            )
        unkeyed = self.key is not None and not self.keyed and (self.plain or self.unchained)
        if unkeyed:
            self.problem(
                None,
                UNKEYED,
                "a key was given but no record is keyed (%d plain sha256 links, %d unchained records): the key vouches "
                "for nothing here (written without the key, or rewritten)" % (self.plain, self.unchained),
            )
        if self.unchained:
            lines = ", ".join(str(line) for line in self.unchained_lines)
            more = ", …" if self.unchained > len(self.unchained_lines) else ""
            after = " (%d after chained records)" % self.unchained_after_links if self.unchained_after_links else ""
            notes.append(
                "%d unchained record%s%s without prev (an older version or written by hand; the chain does not cover "
                "them): line%s %s%s"
                % (
                    self.unchained,
                    "" if self.unchained == 1 else "s",
                    after,
                    "" if self.unchained == 1 else "s",
                    lines,
                    more,
                )
            )
        if self.first_keyed_line is not None and self.last_plain_before_keyed is not None:
            notes.append(
                "plain sha256 links up to line %d, keyed from line %d on"
                % (self.last_plain_before_keyed, self.first_keyed_line)
            )
        if self.tamper_count:
            status = STATUS_TAMPERED
        elif self.unchecked:
            status = STATUS_NEEDS_KEY
        elif unkeyed:
            status = STATUS_UNKEYED
        elif not self.links:
            status = STATUS_NONE
        else:
            status = STATUS_INTACT
        summary = {
            "status": status,
            "key": self.key_source,
            "links": self.links,
            "plain_links": self.plain,
            "keyed_links": self.keyed,
            "unchecked_links": self.unchecked,
            "broken_links": self.broken,
            "outside_chain": self.outside,
            "unchained": self.unchained,
            "unchained_lines": self.unchained_lines,
        }
        return summary, notes
