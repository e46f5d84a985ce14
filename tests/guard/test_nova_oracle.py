"""nova-hunting is the oracle: the same rules match in its scanner (0.3.1, no extras: the
semantic and LLM tiers unavailable, as in a hook) and in both kernels' NovaRules, on the
shipped rules over a corpus of tool inputs and outputs, and on generated rules and texts."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from nova_session.guard import nova as language
from nova_session.guard import scan

CORPUS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "nova_corpus", "corpus.json")


@pytest.fixture(autouse=True)
def quiet_oracle(monkeypatch):
    """nova-hunting logs every rule it cannot fully evaluate, and would call OpenAI with a key."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def oracle_matches(rule_texts: list, texts: list) -> list:
    """For each text, the sorted names of the rules nova-hunting's scanner matches."""
    from nova.core.rule_file import NovaRuleFileParser
    from nova.core.scanner import NovaScanner

    scanner = NovaScanner()
    with contextlib.redirect_stdout(io.StringIO()):  # its parser prints warnings to stdout
        for number, text in enumerate(rule_texts):
            scanner.add_rules(NovaRuleFileParser().parse_content(text, "rules-%d" % number))
    return [sorted(result["rule_name"] for result in scanner.scan(text)) for text in texts]


def our_matches(kernel, rule_texts: list, texts: list) -> list:
    rules = []
    for text in rule_texts:
        parsed, errors = language.parse(text)
        assert errors == [], [str(error) for error in errors]
        rules.extend(parsed)
    engine = kernel.NovaRules(json.dumps(language.compile_rules(rules, scan.confusables())).encode())
    return [sorted(rules[index].name for index in engine.scan([text])) for text in texts]


def shipped_rule_texts() -> list:
    return [open(path, encoding="utf-8").read() for path in scan.builtin_files()]


def test_the_shipped_rules_match_as_in_nova_hunting_on_the_corpus(kernel):
    with open(CORPUS, encoding="utf-8") as handle:
        corpus = json.load(handle)
    texts = [item["text"] for item in corpus]
    expected = oracle_matches(shipped_rule_texts(), texts)
    assert our_matches(kernel, shipped_rule_texts(), texts) == expected
    # The corpus exercises the rules: most attacks are flagged, and some rules fire on benign look-alikes.
    flagged = [item["category"] for item, names in zip(corpus, expected) if names]
    assert len(flagged) >= 40


# ------------------------------------------------- generated rules and texts

WORDS = ["alpha", "Beta", "gamma ray", "ignore previous", "δelta", "system prompt", "DAN"]
FILLER = ["the", "build", "passed", "\n", "  ", "ok:", "İstanbul", "ΣΑΣ", "straße", "x"]
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "i": "і"}  # Cyrillic look-alikes nova-hunting maps back


@st.composite
def keyword(draw, name: str):
    word = draw(st.sampled_from(WORDS))
    form = draw(st.sampled_from(["string", "string-case", "regex-i", "regex", "regex-class"]))
    if form == "string":
        return '%s = "%s"' % (name, word)
    if form == "string-case":
        return '%s = "%s case:true"' % (name, word)
    if form == "regex-class":
        return r"%s = /%s\s*[:=]?\s*\w+/i" % (name, word.split()[0])
    body = word.replace(" ", r"\s+")
    return "%s = /%s/%s" % (name, body, "i" if form == "regex-i" else "")


@st.composite
def rule_text(draw, name: str = "Generated"):
    keywords = draw(st.lists(st.sampled_from(["$kw_a", "$kw_b", "$k2", "$other"]), min_size=1, max_size=4, unique=True))
    semantics = draw(st.lists(st.sampled_from(["$sem_a", "$sem_b", "$s2"]), max_size=3, unique=True))
    llm = draw(st.lists(st.sampled_from(["$llm_a", "$l2"]), max_size=2, unique=True))
    sections = {"keywords": keywords, "semantics": semantics, "llm": llm}
    names = keywords + semantics + llm

    def atom():
        choices = ["var", "const"] + ["qualified"] * 2 + ["count"] * 2
        kind = draw(st.sampled_from(choices))
        if kind == "var":
            return draw(st.sampled_from(names))
        if kind == "const":
            return draw(st.sampled_from(["true", "false"]))
        present = [section for section in sections if sections[section]]
        section = draw(st.sampled_from(present))
        if kind == "qualified":
            form = draw(st.sampled_from(["name", "all", "prefix"]))
            if form == "name":
                return "%s.%s" % (section, draw(st.sampled_from(sections[section])))
            if form == "all":
                return "%s.*" % section
            return "%s.$%s*" % (section, sections[section][0][1:2])
        quantity = draw(st.sampled_from(["any", "all", "0", "1", "2", "3"]))
        target = draw(st.sampled_from(["section", "section.*", "prefix", "group"]))
        if target == "section":
            return "%s of %s" % (quantity, section)
        if target == "section.*":
            return "%s of %s.*" % (quantity, section)
        if target == "prefix":
            return "%s of %s.$%s*" % (quantity, section, sections[section][0][1:2])
        return "%s of ($%s*)" % (quantity, draw(st.sampled_from(names))[1:2])

    def expression(depth: int) -> str:
        if depth == 0 or draw(st.booleans()):
            return atom()
        operator = draw(st.sampled_from(["and", "or", "not", "paren"]))
        if operator == "not":
            return "not " + expression(depth - 1)
        if operator == "paren":
            return "(%s)" % expression(depth - 1)
        return "%s %s %s" % (expression(depth - 1), operator, expression(depth - 1))

    lines = ["rule %s" % name, "{", "    meta:", '        severity = "high"', "    keywords:"]
    lines += ["        " + draw(keyword(kw)) for kw in keywords]
    if semantics:
        lines += ["    semantics:"] + ['        %s = "meaning %d" (0.5)' % (s, n) for n, s in enumerate(semantics)]
    if llm:
        lines += ["    llm:"] + ['        %s = "question %d"' % (q, n) for n, q in enumerate(llm)]
    lines += ["    condition:", "        " + expression(3), "}"]
    return "\n".join(lines)


@st.composite
def planted_text(draw):
    pieces = draw(st.lists(st.sampled_from(WORDS + FILLER), max_size=8))
    text = " ".join(pieces)
    if draw(st.booleans()):
        text = "".join(HOMOGLYPHS.get(c, c) if draw(st.booleans()) else c for c in text[:40]) + text[40:]
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["\u200b", "\u00a0", "\t", "\u3000"])), 1)
    return text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rule=rule_text(), texts=st.lists(planted_text(), min_size=1, max_size=4))
def test_generated_rules_match_as_in_nova_hunting(kernel, rule, texts):
    # Blank texts are left out: nova-hunting's verdict on them depends on what its scanner saw
    # before (a semantic evaluator's last error outlives the scan); ours is no match (below).
    from nova.core.parser import NovaParserError
    from nova.utils.helpers import normalize_unicode

    texts = [text for text in texts if normalize_unicode(text).strip()] or ["x"]

    try:
        expected = oracle_matches([rule], texts)
    except NovaParserError:
        reject()  # what nova-hunting refuses (e.g. "(keywords.*)"): no oracle; ours may read it
    assert our_matches(kernel, [rule], texts) == expected, rule


def test_a_blank_text_matches_no_rule(kernel):
    rule = 'rule AlwaysTrue\n{\n    keywords:\n        $k = "x"\n    condition:\n        not $k\n}'
    assert our_matches(kernel, [rule], ["", " \t\n", "\u200b", "y"]) == [[], [], [], ["AlwaysTrue"]]
