"""The redaction engine, one conformance suite over both kernels: the rule format
and dialect, the steps of the engine (rust/src/redact/mod.rs), the record walk,
golden vectors (tests/vectors/redaction.json) and a differential test of the
two kernels on generated text with secrets planted in it."""

from __future__ import annotations

import json
import os
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_session import _python

VECTORS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "vectors", "redaction.json")
BUILTIN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    "python",
    "nova_session",
    "guard",
    "rules",
    "redact.json",
)


def document(*rules, allow=None) -> bytes:
    top: dict = {"format": 1, "rules": list(rules)}
    if allow is not None:
        top["allow"] = allow
    return json.dumps(top).encode()


PASSWORD = {"id": "pw", "regex": r"(?i)password\s*[=:]\s*(\S+)", "keywords": ["password"]}
TOKEN = {"id": "tok", "regex": r"\btok_[A-Za-z0-9]{8,}", "keywords": ["tok_"], "entropy": 2.5}
PLACEHOLDERS = {"regexes": [r"(?i)example", r"^\$\{[A-Z_]+\}\z", r"^x+\z"], "stopwords": ["dummy"]}


def redactor(kernel, *rules, allow=PLACEHOLDERS, user=()):
    return kernel.Redactor([document(*rules, allow=allow), *user])


def text_of(kernel, rules, text):
    result = redactor(kernel, *rules).redact_text(text)
    return text if result is None else result[0]


# ------------------------------------------------------------------ the engine's steps


def test_a_secret_is_replaced_in_place(kernel):
    engine = redactor(kernel, PASSWORD, TOKEN)
    assert engine.redact_text("db password = hunter2!x and tok_a8F3k2M9q") == (
        "db password = [REDACTED:pw] and [REDACTED:tok]",
        [("pw", 1), ("tok", 1)],
    )
    assert engine.redact_text("nothing to see") is None
    assert engine.rule_count == 2 and engine.problems == []


def test_keywords_fold_ascii_case_and_pick_the_rules(kernel):
    rule = {"id": "k", "regex": "(?i)secret-[0-9]+", "keywords": ["SECRET-"]}
    assert text_of(kernel, [rule], "a Secret-123 b") == "a [REDACTED:k] b"
    no_keyword = {"id": "k", "regex": "secret-[0-9]+", "keywords": ["absent"]}
    assert text_of(kernel, [no_keyword], "secret-123") == "secret-123"  # the prefilter did not pick it
    always = {"id": "k", "regex": "secret-[0-9]+"}
    assert text_of(kernel, [always], "secret-123") == "[REDACTED:k]"


def test_the_secret_group_then_the_first_non_empty_group_then_the_match(kernel):
    both = {"id": "g", "regex": "(a*)(b+)=(c+)", "keywords": ["="]}
    assert text_of(kernel, [both], "bb=cc") == "[REDACTED:g]=cc"  # group 1 is empty: group 2
    chosen = dict(both, secret_group=3)
    assert text_of(kernel, [chosen], "bb=cc") == "bb=[REDACTED:g]"
    whole = dict(both, secret_group=0)
    assert text_of(kernel, [whole], "xbb=ccx") == "x[REDACTED:g]x"
    absent = {"id": "g", "regex": "k=(?:(x+)|(y+))", "keywords": ["k="], "secret_group": 1}
    assert text_of(kernel, [absent], "k=yy") == "k=yy"  # the secret group did not take part


def test_entropy_counts_bits_per_byte(kernel):
    low = "tok_aaaaaaaaaaaa"
    high = "tok_a8F3k2M9qZ"
    assert text_of(kernel, [TOKEN], "%s %s" % (low, high)) == "%s [REDACTED:tok]" % low


def test_allowlists_global_and_per_rule(kernel):
    assert text_of(kernel, [PASSWORD], "password=EXAMPLE_pass") == "password=EXAMPLE_pass"
    assert text_of(kernel, [PASSWORD], "password=${DB_PASS}") == "password=${DB_PASS}"
    assert text_of(kernel, [PASSWORD], "password=xxxxxx") == "password=xxxxxx"
    assert text_of(kernel, [PASSWORD], "password=my-dummy-1") == "password=my-dummy-1"
    on_line = dict(PASSWORD, allow=[{"regexes": ["^#"], "target": "line"}])
    assert text_of(kernel, [on_line], "# password=abc\npassword=def") == "# password=abc\npassword=[REDACTED:pw]"
    on_match = dict(PASSWORD, allow=[{"regexes": ["^PASSWORD"], "target": "match"}])
    assert text_of(kernel, [on_match], "PASSWORD=abc password=def") == "PASSWORD=abc password=[REDACTED:pw]"
    both = dict(PASSWORD, allow=[{"regexes": ["^a"], "stopwords": ["zz"], "condition": "and"}])
    assert text_of(kernel, [both], "password=abc password=azz") == "password=[REDACTED:pw] password=azz"


def test_rules_apply_in_order_to_the_text_the_earlier_left(kernel):
    header = {"id": "auth", "regex": r"(?i)authorization:\s*bearer\s+(\S+)", "keywords": ["authorization"]}
    specific = {"id": "ghp", "regex": r"ghp_[A-Za-z0-9]{10}", "keywords": ["ghp_"]}
    allow = {"regexes": [r"\[REDACTED:"]}
    engine = redactor(kernel, specific, header, allow=allow)
    assert engine.redact_text("Authorization: Bearer ghp_abcdefghij") == (
        "Authorization: Bearer [REDACTED:ghp]",
        [("ghp", 1)],
    )


def test_spans_cover_whole_utf8_characters(kernel):
    rule = {"id": "x", "regex": "s=[^ ]{0,2}", "keywords": ["s="]}
    assert text_of(kernel, [rule], "s=é! s=aé s=ab") == "[REDACTED:x]! [REDACTED:x] [REDACTED:x]"
    assert text_of(kernel, [rule], "s=\ud800z") == "[REDACTED:x]z"  # a lone surrogate: 3 bytes, whole


def test_empty_matches_are_skipped(kernel):
    rule = {"id": "e", "regex": "k=(v*)", "keywords": ["k="]}  # an empty group: the secret is the whole match
    assert text_of(kernel, [rule], "k= k=vv") == "[REDACTED:e] k=[REDACTED:e]"
    empty = {"id": "e", "regex": "(?:)q?", "keywords": ["q"]}
    assert text_of(kernel, [empty], "aqb") == "a[REDACTED:e]b"


def test_end_of_text_means_the_same_in_both(kernel):
    rule = {"id": "t", "regex": "key=([a-z]+)$", "keywords": ["key="]}
    assert text_of(kernel, [rule], "key=abc\n") == "key=abc\n"  # $ is the end of the text, not before "\n"
    assert text_of(kernel, [rule], "key=abc") == "key=[REDACTED:t]"
    lines = {"id": "t", "regex": r"(?m)key=([a-z]+)$", "keywords": ["key="]}
    assert text_of(kernel, [lines], "key=abc\nx") == "key=[REDACTED:t]\nx"
    z = {"id": "t", "regex": r"key=([a-z]+)\z", "keywords": ["key="]}
    assert text_of(kernel, [z], "key=abc\n") == "key=abc\n"


# ------------------------------------------------------------------ records


def test_a_record_is_walked_keys_included(kernel):
    engine = redactor(kernel, PASSWORD, TOKEN)
    record = {
        "type": "event",
        "id": 3,
        "timestamp": "password=abc",  # structure: never touched
        "tool_input": {"command": "echo password=abc", "args": ["x", "tok_a8F3k2M9q", 5, None]},
        "tok_Zx8y7W6v5U": "key named like a secret",
        "n": 1.5,
    }
    new, found, secrets = engine.redact_record(record)
    assert new == {
        "type": "event",
        "id": 3,
        "timestamp": "password=abc",
        "tool_input": {"command": "echo password=[REDACTED:pw]", "args": ["x", "[REDACTED:tok]", 5, None]},
        "[REDACTED:tok]": "key named like a secret",
        "n": 1.5,
    }
    assert found == [
        ("tool_input.command", "pw", 1),
        ("tool_input.args.1", "tok", 1),
        ("[REDACTED:tok]", "tok", 1),
    ]
    # The secrets themselves, once each, for the Python layer to remove their copies elsewhere.
    assert secrets == [("pw", "abc"), ("tok", "tok_a8F3k2M9q"), ("tok", "tok_Zx8y7W6v5U")]
    assert record["tool_input"]["command"] == "echo password=abc"  # a copy; the input is untouched
    assert engine.redact_record({"type": "event", "x": ["clean"]}) is None


def test_keys_redacted_alike_are_numbered_not_lost(kernel):
    engine = redactor(kernel, TOKEN)
    new, _, _ = engine.redact_record({"tok_a8F3k2M9q": 1, "tok_Zx8y7W6v5U": 2, "[REDACTED:tok]": 3})
    assert new == {"[REDACTED:tok]": 1, "[REDACTED:tok]#2": 2, "[REDACTED:tok]#3": 3}


# ------------------------------------------------------------------ the format and the dialect

REFUSED_PATTERNS = [
    "a(?i)b",
    "[[:alpha:]]",
    "[a&&b]",
    r"\p{L}",
    r"\x{41}",
    "a{,3}",
    "a*+",
    "(?=a)",
    "(?<n>a)",
    r"(a)\1",
    r"a\Z",
    "(?x)a",
    "(?-i)a",
    "é",
    "(a",
    "a)",
]


@pytest.mark.parametrize("pattern", REFUSED_PATTERNS)
def test_both_kernels_refuse_a_pattern_outside_the_dialect(kernel, pattern):
    user = document({"id": "u", "regex": pattern})
    engine = redactor(kernel, PASSWORD, user=[user])
    assert engine.rule_count == 1
    (problem,) = engine.problems
    assert problem.startswith('rule file 1, rule 0 (u): "regex": ') and problem.endswith("; not used")


def test_the_same_refusals_word_for_word(rust):
    refused = document(*({"id": "u%d" % n, "regex": p} for n, p in enumerate(REFUSED_PATTERNS)))
    rules = [
        {"id": "Bad"},
        {"id": "ok", "regex": "x", "keywords": ["X"], "entropy": 9},
        {"id": "ok", "regex": "(x)", "secret_group": 2},
        {"id": "ok", "regex": "x", "allow": [{"target": "line", "condition": "maybe"}]},
        {"id": "ok", "regex": "x", "keywords": ["é"]},
        "not an object",
    ]
    documents = [document(PASSWORD), refused, document(*rules), b"{", b'{"format": 2}', b"[]"]
    python_problems = _python.Redactor(documents).problems
    assert rust.Redactor(documents).problems == python_problems
    assert len(python_problems) == len(REFUSED_PATTERNS) + len(rules) + 3
    assert "rule file 3: not valid JSON; none of its rules used" in python_problems


def test_user_rules_add_and_replace_built_in_ones(kernel):
    user = document({"id": "pw", "regex": "pass:(\\S+)", "keywords": ["pass:"]}, {"id": "new", "regex": "zz+"})
    engine = redactor(kernel, PASSWORD, TOKEN, user=[user])
    assert engine.rule_count == 3
    assert engine.redact_text("password=abc pass:abc zzz")[0] == "password=abc pass:[REDACTED:pw] [REDACTED:new]"


def test_a_broken_built_in_document_is_an_error(kernel):
    for bad in (b"{", b'{"format": 1, "rules": [{"id": "x"}]}', b'{"format": 3}'):
        with pytest.raises(ValueError, match="bad rule file"):
            kernel.Redactor([bad])


# ------------------------------------------------------------------ golden vectors


def _vectors():
    with open(VECTORS, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.mark.parametrize("vector", _vectors()["vectors"], ids=lambda v: v["name"])
def test_golden_vectors(kernel, vector):
    engine = kernel.Redactor([document(*_vectors()["rules"], allow=_vectors()["allow"])])
    result = engine.redact_text(vector["text"])
    assert (
        (vector["text"], []) if result is None else result == (vector["redacted"], [tuple(f) for f in vector["fired"]])
    )
    if result is None:
        assert vector["redacted"] == vector["text"] and vector["fired"] == []


# ------------------------------------------------------------------ differential


def _builtin() -> bytes:
    with open(BUILTIN, "rb") as handle:
        return handle.read()


def _planted_secrets() -> list:
    """Texts that look like secrets, made from each built-in rule's examples."""
    rules = json.loads(_builtin())["rules"]
    return [text for rule in rules for text in rule.get("examples", {}).get("redact", [])]


FILLER = st.text(alphabet=string.printable + "é€\u2028😀", max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), filler=st.lists(FILLER, min_size=1, max_size=6))
def test_both_kernels_give_the_same_bytes_on_planted_secrets(rust, seed, filler):
    planted = _planted_secrets()
    chooser = random.Random(seed)
    parts = []
    for piece in filler:
        parts.append(piece)
        if planted and chooser.random() < 0.7:
            parts.append(chooser.choice(planted))
    text = chooser.choice(["", " ", "\n", "=", '"']).join(parts)
    documents = [_builtin()]
    assert rust.Redactor(documents).redact_text(text) == _python.Redactor(documents).redact_text(text)
    record = {"type": "event", "tool_input": {"command": text, text[:20]: [text[::-1]]}}
    assert rust.Redactor(documents).redact_record(record) == _python.Redactor(documents).redact_record(record)


def test_the_built_in_rules_pass_every_check_a_user_file_gets(kernel):
    """Loaded first, the package's own file is trusted (the Rust kernel has it compiled in,
    the fallback skips walking it); loaded as a user file it is checked and compiled whole."""
    builtin = _builtin()
    engine = kernel.Redactor([document(), builtin])
    assert engine.problems == [] and engine.rule_count == len(json.loads(builtin)["rules"])


def test_allowlist_regexes_are_joined_as_in_the_rust_kernel():
    """rust/src/redact/dialect.rs `any_of` has the same vectors."""
    from nova_session import _python_redact

    joined = _python_redact.any_of(["(?i)^a$", "b", "(?:c)", "(?m:d)"])
    assert joined == "(?i:^a$)|(?:b)|(?:(?:c))|(?:(?m:d))"
    assert _python_redact.any_of([]) is None
    assert _python_redact.translate_for_python(_python_redact.any_of(["(?i)^x+\\z", "(?m)a$"])) == "(?i:^x+\\Z)|(?m:a$)"
