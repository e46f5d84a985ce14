"""Conformance of ``encode`` to the encoding rules of the README's "Records", for each kernel.

The golden vectors in ``vectors/encoding.json`` hold ``{"name", "input",
"expected"}``: ``input`` is a Python expression evaluated in ``NAMESPACE``
below, ``expected`` the exact text ``encode`` must return (as UTF-8 bytes).
The expected texts were derived from those rules by hand (and checked
against ``json.dumps(x, ensure_ascii=False, separators=(",", ":"))`` where the
standard library applies), never by running one of our encoders.

Beyond the vectors: every output is one line of valid UTF-8 and valid JSON,
hostile objects never make ``encode`` raise (or crash the process), and
generated data gives the same bytes from both kernels and, for plain JSON
data, the same bytes as the standard library.
"""

from __future__ import annotations

import collections
import collections.abc
import json
import math
import os
import struct
import subprocess
import sys
import textwrap
from datetime import date, datetime, time, timedelta, timezone  # noqa: F401 - NAMESPACE: the vectors' inputs
from decimal import Decimal
from enum import Enum, Flag, IntEnum, IntFlag
from fractions import Fraction  # noqa: F401 - NAMESPACE: the vectors' inputs use it
from pathlib import Path, PurePosixPath, PureWindowsPath  # noqa: F401 - NAMESPACE: the vectors' inputs
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nova_session
from nova_session import _python

VECTORS_FILE = Path(__file__).parent / "vectors" / "encoding.json"
MAX_DEPTH = 64
INT_DIGITS_LIMIT = 4300  # Python's default int-to-string limit (README, "Records")


# ----------------------------------------------------------------- the namespace
# Every name a vector's "input" may use. Class names matter: they appear in
# "<unserializable NAME>" placeholders.


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Num(IntEnum):
    ONE = 1
    TWO = 2


class Point(Enum):
    ORIGIN = (0, 0)
    UNIT = (1, 1)


class Mode(str, Enum):
    READ = "r"


class Perm(IntFlag):
    R = 4
    W = 2
    X = 1


class Shape(Flag):
    ROUND = 1
    RED = 2


class Config(Enum):
    DEFAULT = {"retries": 3, "paths": ["/tmp", b"\xff"]}


class Odd(Enum):
    NAN = float("nan")
    NOTHING = None
    RAW = b"caf\xc3\xa9\xff"
    BIG = 2**64


class Alias(Enum):
    PRIMARY = Color.RED


class CustomValue(Enum):
    A = 1

    @property
    def value(self):
        return ["custom", "value"]


class Named(Enum):
    A = 1

    def __str__(self):
        return "named"


class LyingStr(str):
    """A str subclass whose every Python-level view disagrees with its data."""

    def __str__(self):
        return "lie"

    def __repr__(self):
        return "lie"

    def __iter__(self):
        return iter("lie")

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return "l"

    def encode(self, *args, **kwargs):
        return b"lie"


class LyingInt(int):
    def __str__(self):
        return "lie"

    def __repr__(self):
        return "lie"

    def __format__(self, spec):
        return "lie"

    def __index__(self):
        return 0

    def __int__(self):
        return 0


class LyingFloat(float):
    def __str__(self):
        return "lie"

    def __repr__(self):
        return "lie"

    def __format__(self, spec):
        return "lie"

    def __float__(self):
        return 0.0


class EqLiarFloat(float):
    """Equal to everything, unequal to nothing: a NaN check by `x != x` is fooled."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


class LyingDict(dict):
    def __iter__(self):
        return iter(["lie"])

    def __len__(self):
        return 0

    def __getitem__(self, key):
        return "lie"

    def items(self):
        return [("lie", "lie")]

    def keys(self):
        return ["lie"]

    def values(self):
        return ["lie"]

    def __str__(self):
        return "lie"

    def __repr__(self):
        return "lie"


class LyingList(list):
    def __iter__(self):
        return iter(["lie"])

    def __reversed__(self):
        return iter(["lie"])

    def __len__(self):
        return 0

    def __getitem__(self, index):
        return "lie"

    def __str__(self):
        return "lie"

    def __repr__(self):
        return "lie"


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


class RaisingDict(dict):
    __iter__ = __len__ = __getitem__ = items = keys = values = __str__ = __repr__ = _boom


class RaisingList(list):
    __iter__ = __reversed__ = __len__ = __getitem__ = __str__ = __repr__ = _boom


class Pairs(collections.abc.Mapping):
    """A read-only mapping that is not a dict, keeping its pairs in order."""

    def __init__(self, *pairs):
        self._pairs = list(pairs)

    def __getitem__(self, key):
        for k, v in self._pairs:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self):
        return iter([k for k, _ in self._pairs])

    def __len__(self):
        return len(self._pairs)


class MyDate(date):
    def isoformat(self):
        return "custom date"


class MyDateTime(datetime):
    def isoformat(self, sep="T", timespec="auto"):
        return "custom datetime"


class WithStr:
    def __str__(self):
        return "custom str"


class ReprOnly:
    def __repr__(self):
        return "only repr"


class StrRaises:
    __str__ = __repr__ = _boom


class StrNotStr:
    def __str__(self):
        return 42


class StrEscapes:
    def __str__(self):
        return 'q"b\\s\n\x00\x7f\ud800\u2028\u00e9\U0001f600'


class ClassLiar:
    """Claims to be an int through __class__ (isinstance believes it) and has no str()."""

    @property
    def __class__(self):
        return int

    __str__ = __repr__ = _boom


# A non-ASCII class name, for the placeholder.
Unicode = type("B\u00f6se", (), {"__str__": _boom, "__repr__": _boom})

Pt = collections.namedtuple("Pt", "x y")

EMPTY = object()  # "no leaf": the innermost container is empty


def nest(kinds, leaf=EMPTY):
    """Nested containers, outermost first: l list, t tuple, f frozenset, d dict (key "k"),
    m MappingProxyType (key "m"). The innermost holds leaf, or nothing. Built without recursion."""
    inner = leaf
    for kind in reversed(kinds):
        if kind == "l":
            inner = [] if inner is EMPTY else [inner]
        elif kind == "t":
            inner = () if inner is EMPTY else (inner,)
        elif kind == "f":
            inner = frozenset() if inner is EMPTY else frozenset([inner])
        elif kind == "d":
            inner = {} if inner is EMPTY else {"k": inner}
        elif kind == "m":
            inner = MappingProxyType({} if inner is EMPTY else {"m": inner})
        else:
            raise ValueError(kind)
    return inner


def self_dict():
    d = {}
    d["self"] = d
    return d


def self_dict_with_sibling():
    d = {"a": 1}
    d["me"] = d
    return d


def self_list():
    items = [1]
    items.append(items)
    return items


def mutual_dicts():
    a, b = {}, {}
    a["b"] = b
    b["a"] = a
    return a


def all_controls():
    return "".join(chr(i) for i in range(0x20))


NAMESPACE = {
    name: value
    for name, value in globals().items()
    if not name.startswith("_") and name not in ("NAMESPACE", "pytest", "st", "given", "settings", "HealthCheck")
}
NAMESPACE.update(
    {
        "OrderedDict": collections.OrderedDict,
        "Counter": collections.Counter,
        "UserDict": collections.UserDict,
        "UserList": collections.UserList,
        "deque": collections.deque,
    }
)


def load_vectors():
    with open(VECTORS_FILE, encoding="utf-8") as handle:
        vectors = json.load(handle)
    return vectors


VECTORS = load_vectors()


@pytest.fixture(autouse=True, scope="module")
def default_int_limit():
    """Pin Python's int-to-string limit at its default, whatever the environment says."""
    if not hasattr(sys, "set_int_max_str_digits"):
        yield
        return
    saved = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(INT_DIGITS_LIMIT)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(saved)


# ------------------------------------------------------------------ the vectors


def test_vector_file_is_well_formed():
    names = [v["name"] for v in VECTORS]
    assert len(VECTORS) >= 150
    assert len(names) == len(set(names)), "vector names must be unique"
    for vector in VECTORS:
        assert set(vector) == {"name", "input", "expected"}, vector
        # The expected text is itself one line of valid JSON.
        assert "\n" not in vector["expected"] and "\r" not in vector["expected"]
        json.loads(vector["expected"])
        vector["expected"].encode("utf-8")  # no lone surrogate in the file's text


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(kernel, vector):
    obj = eval(vector["input"], dict(NAMESPACE))  # noqa: S307 - trusted test data
    assert kernel.encode(obj) == vector["expected"].encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_output_is_one_line_of_valid_utf8_json(kernel, vector):
    out = kernel.encode(eval(vector["input"], dict(NAMESPACE)))  # noqa: S307
    assert type(out) is bytes
    assert b"\n" not in out and b"\r" not in out
    text = out.decode("utf-8")  # strict: raises on invalid UTF-8
    json.loads(text)


def test_encode_returns_no_trailing_newline(kernel):
    assert kernel.encode({"a": 1}) == b'{"a":1}'
    assert kernel.encode("") == b'""'


def test_sets_follow_iteration_order(kernel):
    # String hashes are salted per process: compare with this process's order.
    for value in ({"alpha", "beta", "gamma", "delta"}, frozenset({"x", "yy", "zzz", "\u00e9"})):
        expected = "[" + ",".join('"%s"' % item for item in value) + "]"
        assert kernel.encode(value) == expected.encode("utf-8")


# ----------------------------------------------------------------- int limit


def test_int_limit_follows_the_interpreter_setting(kernel):
    if not hasattr(sys, "set_int_max_str_digits"):  # interpreters before the limit existed
        assert kernel.encode(10**5000) == ("1" + "0" * 5000).encode()
        return
    saved = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(5000)
        assert kernel.encode(10**4300) == ("1" + "0" * 4300).encode()
        assert kernel.encode(10**5000) == b'"<unserializable int>"'
        sys.set_int_max_str_digits(0)  # 0: no limit
        assert kernel.encode(-(10**6000)) == ("-1" + "0" * 6000).encode()
        sys.set_int_max_str_digits(640)  # the smallest limit Python accepts
        assert kernel.encode(10**639) == ("1" + "0" * 639).encode()
        assert kernel.encode(10**640) == b'"<unserializable int>"'
        assert kernel.encode({10**640: [10**640]}) == b'{"<unserializable int>":["<unserializable int>"]}'
    finally:
        sys.set_int_max_str_digits(saved)


# ------------------------------------------------------------ hostile objects


class RaisingSet(set):
    __iter__ = __len__ = __contains__ = __str__ = __repr__ = _boom


class RaisingFrozenSet(frozenset):
    __iter__ = __len__ = __str__ = __repr__ = _boom


class RaisingTuple(tuple):
    __iter__ = __len__ = __getitem__ = __str__ = __repr__ = _boom


class RaisingIterMapping(Pairs):
    __iter__ = _boom


class RaisingItemsMapping(Pairs):
    items = keys = values = __getitem__ = _boom


class RaisingLenMapping(Pairs):
    __len__ = __str__ = __repr__ = _boom


class BadPairsMapping(Pairs):
    """items() yields things that are not (key, value) pairs."""

    def items(self):
        return [1, (1, 2, 3), "ab"]


class StrRaisesMapping(Pairs):
    __iter__ = __str__ = __repr__ = _boom


class IsoformatRaises(datetime):
    isoformat = _boom


class IsoformatNotStr(date):
    def isoformat(self):
        return 20260110


class TimeIsoformatRaises(time):
    isoformat = _boom


class PathStrRaises(PurePosixPath):
    __str__ = __repr__ = __fspath__ = _boom


class ValueRaises(Enum):
    A = 1

    @property
    def value(self):
        raise RuntimeError("no value")


class ClassRaises:
    """isinstance() itself raises on this object (it looks up __class__)."""

    @property
    def __class__(self):
        raise RuntimeError("no class")

    def __str__(self):
        return "evil"


class StrRaisesHugeMessage:
    def __str__(self):
        raise ValueError("x" * 10_000)


HOSTILE = {
    "str-raises": lambda: StrRaises(),
    "str-returns-non-str": lambda: StrNotStr(),
    "str-raises-key": lambda: {StrRaises(): 1, StrNotStr(): 2},
    "dict-subclass-everything-raises": lambda: RaisingDict({"a": [1]}),
    "list-subclass-everything-raises": lambda: RaisingList([1, {"b": 2}]),
    "set-subclass-iter-raises": lambda: RaisingSet({1, 2}),
    "frozenset-subclass-iter-raises": lambda: RaisingFrozenSet({1, 2}),
    "tuple-subclass-iter-raises": lambda: RaisingTuple((1, 2)),
    "mapping-iter-raises": lambda: RaisingIterMapping(("a", 1)),
    "mapping-items-raises": lambda: RaisingItemsMapping(("a", 1)),
    "mapping-len-raises": lambda: RaisingLenMapping(("a", 1)),
    "mapping-items-not-pairs": lambda: BadPairsMapping(("a", 1)),
    "mapping-str-and-iter-raise": lambda: StrRaisesMapping(("a", 1)),
    "isoformat-raises": lambda: IsoformatRaises(2026, 1, 10),
    "isoformat-not-str": lambda: IsoformatNotStr(2026, 1, 10),
    "time-isoformat-raises": lambda: TimeIsoformatRaises(1, 2),
    "path-str-raises": lambda: PathStrRaises("/tmp/x"),
    "enum-value-raises": lambda: ValueRaises.A,
    "isinstance-raises": lambda: ClassRaises(),
    "isinstance-raises-key": lambda: {ClassRaises(): ClassRaises()},
    "huge-exception-message": lambda: StrRaisesHugeMessage(),
}


def _all_hostile():
    """Every hostile object alone, then all of them in one record at several depths."""
    cases = [(name, build) for name, build in HOSTILE.items()]
    cases.append(("all-in-one-record", lambda: {name: build() for name, build in HOSTILE.items()}))
    cases.append(("all-at-depth-64", lambda: nest("l" * 63, [build() for build in HOSTILE.values()])))
    cases.append(("all-at-depth-65", lambda: nest("l" * 64, [build() for build in HOSTILE.values()])))
    return cases


@pytest.mark.parametrize("name, build", _all_hostile(), ids=[name for name, _ in _all_hostile()])
def test_hostile_object_never_raises(kernel, name, build):
    obj = build()
    out = kernel.encode(obj)
    assert type(out) is bytes
    assert b"\n" not in out
    value = json.loads(out.decode("utf-8"))
    if name in ("all-in-one-record", "str-raises-key", "isinstance-raises-key"):
        assert type(value) is dict and len(value) == len(obj)
    elif name.startswith("all-at-depth"):
        assert type(value) is list


def test_hostile_subclasses_of_dict_and_list_are_written_as_base_type(kernel):
    # Their overridden methods all raise; the data is read as a dict / list would be.
    assert kernel.encode(RaisingDict({"a": [1]})) == b'{"a":[1]}'
    assert kernel.encode(RaisingList([1, {"b": 2}])) == b'[1,{"b":2}]'


def test_placeholder_for_str_raising(kernel):
    assert kernel.encode(StrRaises()) == b'"<unserializable StrRaises>"'
    assert kernel.encode(StrNotStr()) == b'"<unserializable StrNotStr>"'
    assert kernel.encode(StrRaisesHugeMessage()) == b'"<unserializable StrRaisesHugeMessage>"'


def test_hostile_object_leaves_no_pending_exception(kernel):
    """After a hostile object, the interpreter is clean: the next operations work normally."""
    for build in HOSTILE.values():
        kernel.encode(build())
        assert kernel.encode([1, "a"]) == b'[1,"a"]'
        assert kernel.encode({"k": [1.5, None]}) == b'{"k":[1.5,null]}'


# Cases that a careless native kernel could turn into a crash of the whole
# process (a panic, a stack overflow, a use-after-free): each kernel runs them
# in a child interpreter, so a crash is reported here instead of killing pytest.
MUTATION_SCRIPT = textwrap.dedent(
    r"""
    import importlib, json, sys
    from enum import Enum

    kernel = importlib.import_module(sys.argv[1])

    class Clearer:
        # Its str() empties the list that holds it, while the list is written.
        def __init__(self, target):
            self.target = target
        def __str__(self):
            self.target.clear()
            return "cleared"

    class Grower:
        # Its str() adds keys to the dict being written.
        def __init__(self, target):
            self.target = target
        def __str__(self):
            for i in range(100):
                self.target["new%d" % i] = i
            return "grown"

    class KeyDropper:
        # A key whose str() deletes every entry of the dict being written.
        def __init__(self, target):
            self.target = target
        def __hash__(self):
            return 1
        def __str__(self):
            self.target.clear()
            return "dropped"

    class SetGrower:
        def __init__(self, target):
            self.target = target
        def __str__(self):
            self.target.update(range(1000, 1100))
            return "set-grown"

    class SelfValued(Enum):
        A = 1
        @property
        def value(self):
            return self  # an Enum whose .value is itself, forever

    class Chain(Enum):
        A = 1
        @property
        def value(self):
            return [self]  # depth grows with each step: cut by the depth rule

    class DeepStr:
        # str() returns a huge string: written whole.
        def __str__(self):
            return "x" * (1 << 20)

    results = {}

    def run(name, build):
        obj = build()
        try:
            out = kernel.encode(obj)
        except BaseException as exc:
            results[name] = "raised %s: %s" % (type(exc).__name__, str(exc)[:200])
            return
        try:
            json.loads(out.decode("utf-8"))
        except Exception as exc:
            results[name] = "invalid output %r" % out[:200]
            return
        results[name] = "ok"

    def list_clearer():
        items = [0, 1, 2]
        items.insert(1, Clearer(items))
        items.extend(range(3, 50))
        return items

    def dict_grower():
        d = {"a": 1}
        d["g"] = Grower(d)
        d["z"] = 2
        return d

    def dict_key_dropper():
        d = {}
        d["a"] = 1
        d[KeyDropper(d)] = 2
        d["z"] = 3
        return d

    def set_grower():
        s = set(range(10))
        s.add(SetGrower(s))
        return s

    run("list-cleared-while-written", list_clearer)
    run("dict-grown-while-written", dict_grower)
    run("dict-emptied-by-a-key", dict_key_dropper)
    run("set-grown-while-written", set_grower)
    run("enum-value-is-itself", lambda: SelfValued.A)
    run("enum-value-chain", lambda: Chain.A)
    run("huge-str", lambda: [DeepStr()] * 8)
    run("deep-nesting-1e6", lambda: __import__("functools").reduce(lambda acc, _: [acc], range(10**6), []))
    print(json.dumps(results))
    """
)


def _child_env():
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(nova_session.__file__)))
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_mutation_and_recursion_never_crash_the_process(kernel):
    proc = subprocess.run(
        [sys.executable, "-c", MUTATION_SCRIPT, kernel.__name__],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
    )
    assert proc.returncode == 0, "the child crashed (rc=%s): %s" % (proc.returncode, proc.stderr[-2000:])
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results == {name: "ok" for name in results}, results
    assert len(results) == 8


# ------------------------------------------------------------ generated data

# Characters that exercise every escaping rule.
SPECIAL_CHARS = st.sampled_from(
    list('"\\/\x7f\x80\x9f\u2028\u2029\ufeff\ufffd\ufffe\uffff\u00e9\u65e5\U0001f600\U0010ffff')
    + [chr(i) for i in range(0x20)]
)
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
ALL_TEXT = st.text(st.one_of(st.characters(exclude_categories=()), SPECIAL_CHARS, SURROGATES), max_size=12)
PLAIN_TEXT = st.text(st.one_of(st.characters(exclude_categories=("Cs",)), SPECIAL_CHARS), max_size=12)

# Built by .map: hypothesis cannot even repr() an int beyond the str() limit.
HUGE_INTS = st.one_of(
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, -(2**100)]),
    st.tuples(st.sampled_from([4299, 4300, 5000]), st.sampled_from([1, -1]), st.sampled_from([0, -1])).map(
        lambda t: t[1] * (10 ** t[0] + t[2])  # 10**4300 - 1 still has 4300 digits
    ),
)
ANY_INT = st.one_of(st.integers(), st.integers(min_value=-(2**300), max_value=2**300), HUGE_INTS)
PLAIN_INT = st.one_of(st.integers(), st.integers(min_value=-(2**300), max_value=2**300))


class StrOnlyRaises:
    """str() raises, repr() works (hypothesis needs repr to report an example)."""

    __str__ = _boom

    def __repr__(self):
        return "StrOnlyRaises()"


# A few leaves of the other encoded types (the vectors cover their edge cases).
EXOTIC_LEAVES = st.sampled_from(
    [
        Color.RED,
        Num.TWO,
        Point.ORIGIN,
        Odd.NAN,
        Odd.RAW,
        date(2026, 1, 10),
        datetime(2026, 1, 10, 16, 30, 45, 123456, tzinfo=timezone.utc),
        time(23, 59, 59),
        PurePosixPath("/tmp/\u00e9 x"),
        Decimal("1.10"),
        WithStr(),
        StrOnlyRaises(),
        StrEscapes(),
        MappingProxyType({"p": 1}),
        Pairs(("x", 1), (2, None)),
    ]
)

ANY_KEYS = st.one_of(
    ALL_TEXT,
    ANY_INT,
    st.floats(),
    st.booleans(),
    st.none(),
    st.tuples(st.integers(), PLAIN_TEXT),
    st.sampled_from([Color.RED, Num.ONE, date(2026, 1, 10), PurePosixPath("/k"), StrOnlyRaises(), b"k\xff"]),
)

ANY_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    ANY_INT,
    st.floats(),
    ALL_TEXT,
    st.binary(max_size=12),
    st.binary(max_size=12).map(bytearray),
    EXOTIC_LEAVES,
)

HASHABLE = st.one_of(st.none(), st.booleans(), ANY_INT, st.floats(), ALL_TEXT, st.binary(max_size=6))

ANY_DATA = st.recursive(
    ANY_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(ANY_KEYS, children, max_size=5),
        st.dictionaries(PLAIN_TEXT, children, max_size=3).map(MappingProxyType),
        st.frozensets(HASHABLE, max_size=4),
        st.sets(HASHABLE, max_size=4),
    ),
    max_leaves=40,
)

# Plain JSON data, where json.dumps is the oracle: finite floats, str keys, no
# surrogates, far from the depth limit, ints within the str() limit.
PLAIN_DATA = st.recursive(
    st.one_of(st.none(), st.booleans(), PLAIN_INT, st.floats(allow_nan=False, allow_infinity=False), PLAIN_TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(PLAIN_TEXT, children, max_size=5),
    ),
    max_leaves=40,
)
PLAIN_DATA_WITH_TUPLES = st.recursive(
    st.one_of(st.none(), st.booleans(), PLAIN_INT, st.floats(allow_nan=False, allow_infinity=False), PLAIN_TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(PLAIN_TEXT, children, max_size=5),
    ),
    max_leaves=40,
)


def stdlib_oracle(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(ANY_DATA)
def test_differential_rust_equals_python(rust, data):
    expected = _python.encode(data)
    assert rust.encode(data) == expected
    assert b"\n" not in expected
    json.loads(expected.decode("utf-8"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PLAIN_DATA_WITH_TUPLES)
def test_plain_data_matches_stdlib_json(kernel, data):
    assert kernel.encode(data) == stdlib_oracle(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PLAIN_DATA)
def test_plain_data_round_trips_through_json_loads(kernel, data):
    assert json.loads(kernel.encode(data).decode("utf-8")) == data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ALL_TEXT)
def test_any_text_is_one_line_of_valid_utf8(kernel, text):
    out = kernel.encode({text: [text]})
    assert b"\n" not in out and b"\r" not in out
    decoded = json.loads(out.decode("utf-8"))
    # json.loads pairs adjacent \ud83d\ude00 escapes; compare through surrogatepass.
    key = next(iter(decoded))
    assert key.encode("utf-16", "surrogatepass") == text.encode("utf-16", "surrogatepass")


def _double_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


FLOATS = st.one_of(
    st.floats(),
    st.integers(min_value=0, max_value=2**64 - 1).map(_double_from_bits),  # every exponent equally
    # Binary fractions with 16-17 significant digits: the exact ties between two
    # shortest round-tripping strings, where repr picks the even digit.
    st.integers(min_value=2**40, max_value=2**56).map(lambda k: k / 8),
    st.integers(min_value=-(2**56), max_value=-(2**40)).map(lambda k: k / 16),
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FLOATS)
def test_float_is_python_repr(kernel, x):
    expected = b"null" if math.isnan(x) or math.isinf(x) else float.__repr__(x).encode()
    assert kernel.encode(x) == expected
    assert kernel.encode({x: x}) == b'{"%s":%s}' % (json.dumps(x).encode(), expected)


def expected_nesting(kinds, leaf_text=None):
    """The text the encoding rules give for nest(kinds, leaf), with leaf_text the leaf's own text."""
    opens = {"l": "[", "t": "[", "f": "[", "d": '{"k":', "m": '{"m":'}
    closes = {"l": "]", "t": "]", "f": "]", "d": "}", "m": "}"}
    empties = {"l": "[]", "t": "[]", "f": "[]", "d": "{}", "m": "{}"}
    written = kinds[:MAX_DEPTH]
    if len(kinds) > MAX_DEPTH:
        inner = '"<max depth>"'
    elif leaf_text is None:
        inner = empties[kinds[-1]]
        written = kinds[:-1]
    else:
        inner = leaf_text
    return "".join(opens[k] for k in written) + inner + "".join(closes[k] for k in reversed(written))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # A frozenset holds only hashable things: tuples and frozensets come last.
    st.text(st.sampled_from("ltdm"), max_size=80),
    st.text(st.sampled_from("tf"), max_size=10),
    st.sampled_from([(EMPTY, None), (1, "1"), ("s", '"s"'), (Color.RED, '"red"'), (None, "null")]),
)
def test_nesting_at_any_depth(kernel, outer, inner, leaf):
    kinds = (outer + inner) or "l"
    value, text = leaf
    assert kernel.encode(nest(kinds, value)) == expected_nesting(kinds, text).encode()
