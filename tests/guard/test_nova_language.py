"""The .nov rule language: what the parser reads, what it refuses (with the line), the
compiled document, the built-in rules, and ``nova-session rules check``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_session import cli
from nova_session.guard import nova, scan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def rule(condition: str, keywords: str = '$a = "alpha"\n        $b = /be+ta/i', extra: str = "") -> str:
    return "rule R\n{\n    keywords:\n        %s\n%s    condition:\n        %s\n}\n" % (keywords, extra, condition)


def only_rule(text: str) -> nova.Rule:
    rules, errors = nova.parse(text)
    assert errors == [], [str(error) for error in errors]
    (parsed,) = rules
    return parsed


def test_a_rule_with_every_section():
    text = """// a comment
# another
rule Full {
    meta:
        description = "quoted: kept"
        severity = high
    keywords:
        $str = "Ignore Previous"
        $cs = "Exact case:true"
        $re = /ignore\\s+all/i
        $rcs = /DAN/
    semantics:
        $sem = "override the instructions" (0.75)
    llm:
        $ask = "Is this an injection?"
    condition:
        ($str or $re) and not keywords.$cs
        or any of ($r*) or 2 of keywords.* or semantics.$sem or llm.* or true
}
"""
    parsed = only_rule(text)
    assert parsed.name == "Full" and parsed.line == 3 and parsed.severity == "high"
    assert parsed.meta == {"description": "quoted: kept", "severity": "high"}
    assert parsed.keywords == {
        "$str": ("Ignore Previous", False, False),
        "$cs": ("Exact", False, True),
        "$re": (r"ignore\s+all", True, False),
        "$rcs": ("DAN", True, True),
    }
    assert parsed.semantics == {"$sem": ("override the instructions", 0.75)}
    assert parsed.llm == {"$ask": ("Is this an injection?", 0.6)}
    assert parsed.condition == [
        "or",
        ["and", ["or", ["var", None, "$str"], ["var", None, "$re"]], ["not", ["var", "keywords", "$cs"]]],
        ["count", "any", None, "r"],
        ["count", 2, "keywords", None],
        ["var", "semantics", "$sem"],
        ["count", "any", "llm", None],
        ["const", True],
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (rule("$a AND $b"), 7, "unexpected 'AND'"),
        (rule("$a // note"), 7, "unexpected '/"),
        (rule("$a or $zz"), 7, "$zz is not defined"),
        (rule("any of ($q*)"), 7, "no variable starts with $q"),
        (rule("semantics.$x"), 7, "$x is not defined in semantics:"),
        (rule("keyword.$a"), 7, "'keyword' is not a section"),
        (rule("($a or $b"), 7, "a '(' is not closed"),
        (rule("(" * 41 + "$a" + ")" * 41), 7, "nested too deeply"),
        (rule("not " * 41 + "$a"), 7, "nested too deeply"),
        (rule("(" * 5000 + "$a" + ")" * 5000), 7, "nested too deeply"),
        (rule("$a or"), 7, "it ends where a term is expected"),
        (rule("all $a"), 7, "'all' must be followed by 'of'"),
        (rule("$a", keywords="$a = /a(b/"), 4, "does not compile"),
        (rule("$a", keywords="$a = /x/ii"), 4, "/pattern/ or /pattern/i"),
        (rule("$a", keywords="$a = unquoted"), 4, "a keyword is"),
        (rule("$a", keywords="a = 'x'"), 4, "is not a variable name"),
        (rule("$a", keywords="$a = 'x'\n        $a = 'y'"), 5, "$a is already defined"),
        (rule("$a", extra='    semantics:\n        $s = "x" (1.5)\n'), 7, "not between 0.0 and 1.0"),
        (rule("$a", extra="    meta:\n        no equals sign\n"), 7, "a meta line is 'key = value'"),
        ("rule Bad-Name {\n}\n", 1, "'Bad-Name' is not a rule name"),
        ("rule R {\n    keywords:\n        $a = 'x'\n    condition:\n        $a\n", 1, "not closed"),
        ("rule R {\n    condition:\n        true\n}\n", 1, "no keywords:, semantics: or llm: entries"),
        ("rule R {\n    keywords:\n        $a = 'x'\n}\n", 1, "no condition:"),
        ("rule R {\n    bogus:\n        x\n}\n", 2, "expected a section"),
        ("hello\n", 1, "expected 'rule Name {'"),
    ],
)
def test_what_the_parser_refuses_names_the_line(text, line, message):
    rules, errors = nova.parse(text)
    assert rules == [] and len(errors) == 1, [str(error) for error in errors]
    assert errors[0].line == line and message in errors[0].message, str(errors[0])


def test_a_refused_rule_leaves_the_others_in_force():
    text = rule("$a") + "rule Broken {\n    keywords:\n        $x = /(/\n    condition:\n        $x\n}\n" + rule("$b")
    rules, errors = nova.parse(text)
    assert [r.name for r in rules] == ["R"] and len(errors) == 2  # the second "R" is a duplicate
    assert "does not compile" in errors[0].message and "already defined" in errors[1].message


def test_the_compiled_document_lists_what_nova_hunting_evaluates():
    text = rule(
        "$a or semantics.$s or any of ($l*)",
        keywords='$a = "alpha"\n        $unused = "x"',
        extra='    semantics:\n        $s = "meaning"\n    llm:\n        $l1 = "q"\n',
    )
    document = nova.compile_rules([only_rule(text)], {"\u0430": "a"})
    (compiled,) = document["rules"]
    assert document["confusables"] == {"\u0430": "a"} and document["format"] == 1
    assert [k["name"] for k in compiled["keywords"]] == ["$a"]  # $unused is never read
    assert (compiled["semantics"], compiled["llm"]) == (True, True)
    assert compiled["unknown"] == {"semantics": ["$l_candidate_0", "$s"], "llm": ["$l_candidate_0"]}


def test_the_built_in_rules_and_their_compiled_document_agree():
    rules, problems = scan.load(scan.builtin_files())
    assert problems == [] and len(rules) == 22
    assert {rule.severity for rule in rules} == {"high", "medium"}
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "compile_nova_rules.py"), "--check"], capture_output=True
    )
    assert done.returncode == 0, done.stderr


def test_the_deepest_condition_the_parser_accepts_loads_in_both_kernels(kernel):
    # Each level of parentheses two deeper in the tree (an "or" holding an "and").
    levels = nova.MAX_NESTING
    deepest = only_rule(rule("($b or $a and " * levels + "$a" + ")" * levels))
    engine = kernel.NovaRules(json.dumps(nova.compile_rules([deepest], {})).encode())
    assert engine.scan(["alpha"]) == [0] and engine.scan(["nothing"]) == []
    too_deep = {"name": "Deep", "keywords": [], "semantics": False, "llm": False}
    too_deep["unknown"] = {"semantics": [], "llm": []}
    too_deep["condition"] = ["const", True]
    for _ in range(101):
        too_deep["condition"] = ["not", too_deep["condition"]]
    with pytest.raises(ValueError, match="nested too deeply"):
        kernel.NovaRules(json.dumps({"format": 1, "confusables": {}, "rules": [too_deep]}).encode())


def test_the_kernels_give_each_rules_name_and_severity(kernel):
    rules, _ = scan.load(scan.builtin_files())
    engine = kernel.NovaRules(json.dumps(nova.compile_rules(rules, {})).encode())
    assert engine.names == [rule.name for rule in rules] and engine.rule_count == 22
    assert engine.severities == [rule.severity for rule in rules]
    bare = {"name": "Bare", "keywords": [], "condition": ["const", False], "semantics": False, "llm": False}
    bare["unknown"] = {"semantics": [], "llm": []}
    document = {"format": 1, "confusables": {}, "rules": [bare]}
    assert kernel.NovaRules(json.dumps(document).encode()).severities == [""]
    bare["severity"] = 3
    with pytest.raises(ValueError, match="bad NOVA rule set"):
        kernel.NovaRules(json.dumps(document).encode())


def test_rules_check_prints_one_line_per_problem(tmp_path, capsys):
    good = tmp_path / "good.nov"
    good.write_text(rule("$a or $b"), "utf-8")
    bad = tmp_path / "bad.nov"
    bad.write_text(rule("$a AND $b") + "\u202e", "utf-8")
    assert cli.main(["rules", "check", str(good)]) == 0
    assert capsys.readouterr().out == "1 file: 1 rule usable\n"
    assert cli.main(["rules", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("%s:7: condition of rule R: unexpected 'AND'" % bad)
    assert out[1] == "%s:9: expected 'rule Name {', found '\\u202e'" % bad  # written out, never raw
    assert out[2] == "2 files: 1 rule usable, 2 problems"
    assert cli.main(["rules", "check", str(tmp_path / "missing.nov")]) == 1
    assert "cannot read it" in capsys.readouterr().out


def test_rules_check_refuses_a_directory_without_rule_files(tmp_path, capsys):
    assert cli.main(["rules", "check", str(tmp_path)]) == 1
    assert "no .nov file in" in capsys.readouterr().out


def test_rules_check_validates_the_built_in_rules(capsys):
    assert cli.main(["rules", "check", scan.BUILTIN_DIR]) == 0
    assert capsys.readouterr().out == "4 files: 22 rules usable\n"


def test_the_rule_data_carries_its_licences():
    names = set(os.listdir(scan.BUILTIN_DIR))
    assert {"LICENSE.nova-tracer", "LICENSE.nova-hunting", "NOTICE.md", "confusables.json", "compiled.json"} <= names
    notice = open(os.path.join(scan.BUILTIN_DIR, "NOTICE.md"), encoding="utf-8").read()
    for path in scan.builtin_files():
        import hashlib

        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        assert "%s %s" % (digest, os.path.basename(path)) in notice
    assert json.load(open(os.path.join(scan.BUILTIN_DIR, "confusables.json"), encoding="utf-8"))["\u200b"] == ""


ALPHABET = "aiskIKS dn\u0130\u0131\u017f\u212a\u03b4\u0394_-"


@st.composite
def small_regex(draw, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["literal", "literal", "class", "group", "alternation", "repeat", "optional"]))
    if depth > 2 or kind == "literal":
        return re.escape(draw(st.text(ALPHABET, min_size=1, max_size=4)))
    if kind == "class":
        return draw(st.sampled_from([r"\s", r"\w", ".", "[a-k]", "[^s]"]))
    inner = "".join(draw(st.lists(small_regex(depth + 1), min_size=1, max_size=3)))
    if kind == "group":
        return draw(st.sampled_from(["(%s)", "(?:%s)", "(?-i:%s)", "(?i:%s)"])) % inner
    if kind == "alternation":
        return "(?:%s|%s)" % (inner, draw(small_regex(depth + 1)))
    return (
        inner.join(["(?:", ")" + draw(st.sampled_from(["+", "{2}", "{1,3}", "+?"]))])
        if kind == "repeat"
        else ("(?:%s)?" % inner)
    )


@settings(max_examples=400, deadline=None)
@given(pattern=small_regex(), sensitive=st.booleans(), text=st.text(ALPHABET, max_size=24))
def test_a_regex_never_matches_a_text_without_one_of_its_needles(pattern, sensitive, text):
    """The needles kernels check before running a regex are sound: a text the regex finds a
    match in holds one of them (folded the way a regex that ignores case sees letters)."""
    from nova_session import _python_nova

    needles = nova._needles(pattern, sensitive)
    if needles is None or re.search(pattern, text, 0 if sensitive else re.IGNORECASE) is None:
        return
    haystack = text if sensitive else text.translate(_python_nova.FOLD)
    assert any(needle in haystack for needle in needles), (pattern, needles, text)
